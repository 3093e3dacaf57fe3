// Pure rules of a sync run: which lower bound each resource reads from and which cursor
// it may commit. Workflows import this module: no I/O here.

/** Records changed this long before a run began are read again by the next run (clock skew, in-flight writes). */
export const CURSOR_SAFETY_MARGIN_MS = 5 * 60_000;

/** Harvest's clock behind the sync's by more than this is worth a warning. */
export const CLOCK_SKEW_WARNING_MS = 60_000;

import { FULL_SYNC_MARK, type DateRange, type HarvestClockReading, type SyncMode, type WorkflowSpec } from './types';

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
  /** How far Harvest's clock is behind the workflow's at most (harvestClockLag); ≤ 0: not behind. */
  harvestLagMs?: number;
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
 * changed while the run read is picked up next time. The run's start is the workflow's
 * clock (Temporal's) and `updated_at` is Harvest's: when Harvest's clock is behind, the
 * cursor reaches back by that much more. A run that started from an explicit `since`
 * later than the committed cursor skipped a gap, so it must not move the cursor.
 */
export function planCursor(p: CursorPlanInput): CursorPlan {
  if (p.mode === 'backfill') {
    // A backfill never commits: only regular syncs own the cursors, so a backfill running
    // beside a scheduled sync can neither move a cursor past a gap nor back.
    const from = new Date(p.since!).toISOString();
    if (p.dateRanged) return { updatedSince: null, commit: null, range: { from: from.slice(0, 10), ...(p.until ? { to: p.until.slice(0, 10) } : {}) } };
    return { updatedSince: p.incremental ? from : null, commit: null };
  }
  const commitAt = new Date(p.runStartedAt.getTime() - CURSOR_SAFETY_MARGIN_MS - Math.max(0, p.harvestLagMs ?? 0)).toISOString();
  if (!p.incremental || p.mode === 'full') return { updatedSince: null, commit: commitAt };
  if (p.since !== undefined) {
    const since = new Date(p.since).toISOString();
    const coversGap =
      p.committed !== undefined ? since <= p.committed : !p.startDate || since <= p.startDate;
    return { updatedSince: since, commit: coversGap ? commitAt : null };
  }
  return { updatedSince: p.committed ?? p.startDate ?? null, commit: commitAt };
}

/** `_sync_state` pseudo-resource holding the start of the run that last reconciled `resource` in full. */
export function fullMark(resource: string): string {
  return `${FULL_SYNC_MARK}:${resource}`;
}

/** `_sync_state` rows (resource → cursor) as the committed cursors and the full marks. */
export function readSyncState(rows: Record<string, string>): { cursors: Record<string, string>; fullAt: Record<string, string>; lastFullAt: string | null } {
  const cursors: Record<string, string> = {};
  const fullAt: Record<string, string> = {};
  const prefix = `${FULL_SYNC_MARK}:`;
  for (const [resource, cursor] of Object.entries(rows)) {
    if (resource.startsWith(prefix)) fullAt[resource.slice(prefix.length)] = cursor;
    else if (resource !== FULL_SYNC_MARK) cursors[resource] = cursor;
  }
  return { cursors, fullAt, lastFullAt: rows[FULL_SYNC_MARK] ?? null };
}

/**
 * With `fullEvery`, the resources an incremental run lists in full: those whose last
 * complete full reconciliation is older than `everyMs` or unknown, and the children of a
 * due parent (a child reads every parent the parent's full listing writes anyway, so
 * reconciling it costs nothing more). `resources` in catalog order: parents first.
 */
export function dueForFull(p: { resources: readonly WorkflowSpec[]; fullAt: Record<string, string>; lastFullAt: string | null; everyMs: number; now: Date }): Set<string> {
  const due = new Set<string>();
  for (const r of p.resources) {
    const last = p.fullAt[r.name] ?? p.lastFullAt;
    if (last === null || p.now.getTime() - new Date(last).getTime() >= p.everyMs || (r.parent && due.has(r.parent.resource))) due.add(r.name);
  }
  return due;
}

/**
 * How far Harvest's clock is behind the workflow's, at most. The cursors are compared with
 * Harvest's `updated_at` but come from the workflow's clock (its start time: Temporal's
 * server clock), so that is the pair that matters; the worker's own clock plays no part.
 * `workflowNowMs` is the workflow time of the task that received the reading: Temporal
 * stamped it after the activity ended, so at least `ageMs` after Harvest answered. The
 * lag is therefore at most `workflowNowMs - ageMs - harvestDateMs`; what it overstates
 * (the `Date` header's truncation to the second, the hop from the activity's end to the
 * workflow task) only widens the lookback.
 */
export function harvestClockLag(reading: HarvestClockReading, workflowNowMs: number): number {
  return workflowNowMs - reading.ageMs - reading.harvestDateMs;
}

/** The warning of a run whose cursors reach back further because Harvest's clock is behind. */
export function clockSkewWarning(lagMs: number): string {
  return `Harvest's clock is up to ${Math.ceil(lagMs / 1000)} s behind this sync's (Temporal's); the cursors committed reach back that much further`;
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
