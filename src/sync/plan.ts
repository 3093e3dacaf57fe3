// Pure rules of a sync run: which lower bound each resource reads from and which cursor
// it may commit. Workflows import this module: no I/O here.

/** Records changed this long before a run began are read again by the next run (clock skew, in-flight writes). */
export const CURSOR_SAFETY_MARGIN_MS = 5 * 60_000;

import type { DateRange, SyncMode } from './types';

export interface CursorPlanInput {
  mode: SyncMode;
  /** Explicit `since` of this run (ISO), if any. */
  since?: string;
  /** Committed cursor of the resource (ISO), if any. */
  committed?: string;
  /** HARVEST_START_DATE (ISO), if any. */
  startDate?: string | null;
  /** Backfills: last day to re-read. */
  until?: string;
  /** Whether the endpoint supports `updated_since` at all. */
  incremental: boolean;
  /** Whether the endpoint filters by a record date (from/to): backfills read by date then. */
  dateRanged?: boolean;
  /** When the run began (workflow time). */
  runStartedAt: Date;
}

export interface CursorPlan {
  updatedSince: string | null;
  /** Cursor to commit when the resource finishes; null: leave the committed one alone. */
  commit: string | null;
  /** Backfills of date-ranged lists: the records dated in this range. */
  range?: DateRange;
}

/**
 * The next cursor is never later than the run's start minus a margin, so anything
 * changed while the run read is picked up next time. A run that started from an explicit
 * `since` later than the committed cursor skipped a gap, so it must not move the cursor.
 */
export function planCursor(p: CursorPlanInput): CursorPlan {
  if (p.mode === 'backfill') {
    // A backfill never commits: only regular syncs own the cursors, so a backfill running
    // beside a scheduled sync can neither move a cursor past a gap nor back.
    const from = new Date(p.since!).toISOString();
    if (p.dateRanged) return { updatedSince: null, commit: null, range: { from: from.slice(0, 10), ...(p.until ? { to: p.until.slice(0, 10) } : {}) } };
    return { updatedSince: p.incremental ? from : null, commit: null };
  }
  const commitAt = new Date(p.runStartedAt.getTime() - CURSOR_SAFETY_MARGIN_MS).toISOString();
  if (!p.incremental || p.mode === 'full') return { updatedSince: null, commit: commitAt };
  if (p.since !== undefined) {
    const since = new Date(p.since).toISOString();
    const coversGap =
      p.committed !== undefined ? since <= p.committed : !p.startDate || since <= p.startDate;
    return { updatedSince: since, commit: coversGap ? commitAt : null };
  }
  return { updatedSince: p.committed ?? p.startDate ?? null, commit: commitAt };
}

/** "7d", "12h", "90m" → milliseconds; null when malformed. */
export function parseInterval(text: string): number | null {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) return null;
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

/**
 * Problems with a workflow input, all at once (the input comes from users and the UI).
 * Without `known` (the catalog's resource names), resource names are not checked.
 */
export function validateSyncInput(input: unknown, known?: readonly string[]): string[] {
  const problems: string[] = [];
  if (input === null || input === undefined) return problems;
  if (typeof input !== 'object' || Array.isArray(input)) return ['input must be a JSON object like {"mode":"incremental"}'];
  const i = input as Record<string, unknown>;
  const allowed = ['accountId', 'resources', 'mode', 'since', 'until', 'strict', 'fullEvery', 'historyLimit', 'concurrency', 'pageTimeout'];
  for (const k of Object.keys(i)) if (!allowed.includes(k)) problems.push(`unknown input field "${k}" (allowed: ${allowed.join(', ')})`);
  if (i.resources !== undefined) {
    if (!Array.isArray(i.resources) || !i.resources.every((r) => typeof r === 'string')) problems.push('resources must be an array of resource names');
    else if (known) {
      const unknown = i.resources.filter((r) => !known.includes(r as string));
      if (unknown.length) problems.push(`unknown resource(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
    }
  }
  if (i.accountId !== undefined && (typeof i.accountId !== 'string' || !/^\d+$/.test(i.accountId))) problems.push('accountId must be an account id as a string of digits');
  if (i.mode !== undefined && i.mode !== 'incremental' && i.mode !== 'full' && i.mode !== 'backfill') problems.push('mode must be "incremental", "full" or "backfill"');
  const since = i.since !== undefined && typeof i.since === 'string' && !Number.isNaN(Date.parse(i.since)) ? i.since : undefined;
  if (i.since !== undefined && since === undefined) problems.push('since must be an ISO date or timestamp');
  if (i.since !== undefined && i.mode === 'full') problems.push('since and mode "full" exclude each other');
  if (i.mode === 'backfill' && i.since === undefined) problems.push('mode "backfill" needs since (the first day of history to re-read)');
  if (i.until !== undefined) {
    if (i.mode !== 'backfill') problems.push('until only applies to mode "backfill"');
    if (typeof i.until !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(i.until) || Number.isNaN(Date.parse(i.until))) problems.push('until must be an ISO date (YYYY-MM-DD)');
    else if (since !== undefined && i.until.slice(0, 10) < new Date(since).toISOString().slice(0, 10)) problems.push('until must not be before since');
  }
  if (i.mode === 'backfill' && i.fullEvery !== undefined) problems.push('fullEvery does not apply to backfills');
  if (i.strict !== undefined && typeof i.strict !== 'boolean') problems.push('strict must be true or false');
  if (i.fullEvery !== undefined && (typeof i.fullEvery !== 'string' || parseInterval(i.fullEvery) === null)) problems.push('fullEvery must be an interval like "7d", "12h" or "90m"');
  for (const k of ['historyLimit', 'concurrency', 'pageTimeout']) {
    if (i[k] !== undefined && (typeof i[k] !== 'number' || !Number.isInteger(i[k]) || (i[k] as number) < 1)) problems.push(`${k} must be a positive integer`);
  }
  return problems;
}
