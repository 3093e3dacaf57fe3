// Text rendering of sync progress and summaries (pure, so it is unit-tested).
import type { ResourceProgress } from '../core/types';

const STATE_MARK: Record<ResourceProgress['state'], string> = {
  pending: '·', running: '▶', done: '✔', failed: '✖', skipped: '–', cancelled: '■',
};

/** A bar for terminals: done is full, a page-numbered list shows pages read of pages counted. */
export function progressBar(r: ResourceProgress, width = 12): string {
  let fraction: number | null;
  if (r.state === 'done' || r.state === 'skipped' || r.state === 'failed') fraction = 1;
  else if (r.state === 'pending') fraction = 0;
  else fraction = r.expectedPages ? Math.min(1, r.pages / r.expectedPages) : null;
  if (fraction === null) return `[${'░'.repeat(width)}]`;
  const full = Math.round(fraction * width);
  return `[${'█'.repeat(full)}${' '.repeat(width - full)}]`;
}

export function progressLines(resources: readonly ResourceProgress[], opts: { bars?: boolean } = {}): string[] {
  const width = Math.max(8, ...resources.map((r) => r.resource.length));
  return resources.map((r) => {
    const parts = [
      `${STATE_MARK[r.state]} ${r.resource.padEnd(width)}`,
      ...(opts.bars ? [progressBar(r)] : []),
      r.state.padEnd(7),
      `${formatCount(r.rows).padStart(9)} rows`,
      `${formatCount(r.pages).padStart(6)} pages`,
    ];
    if (r.requests) parts.push(`${formatCount(r.requests)} requests`);
    if (r.rateLimited) parts.push(`${formatCount(r.rateLimited)}×429`);
    if (r.parentsDone !== undefined) parts.push(`${formatCount(r.parentsDone)} parents`);
    if (r.deleted) parts.push(`${formatCount(r.deleted)} deleted`);
    if (r.typeMismatches > 0) parts.push(`${r.typeMismatches} type mismatches (kept in _raw)`);
    if (r.state === 'running' && r.position) parts.push(`at ${r.position}`);
    if (r.state === 'running' && r.waitingUntil) parts.push(`waiting for Harvest's budget until ${r.waitingUntil.slice(11, 19)} UTC`);
    if (r.retrying) parts.push(`retrying: ${r.retrying}`);
    if (r.warning) parts.push(r.warning);
    if (r.error) parts.push(`error: ${r.error}`);
    return parts.join('  ');
  });
}

/**
 * One short line for a resource that changed state (output that is not a terminal: logs,
 * CI, cron), e.g. `✔ time_entries done: 20,000 rows, 10 pages, 10 requests`.
 */
export function changeLine(r: ResourceProgress): string {
  const facts: string[] = [];
  if (r.state === 'running') facts.push(r.updatedSince ? `updated since ${r.updatedSince}` : 'everything');
  else if (r.state !== 'pending') {
    facts.push(`${formatCount(r.rows)} rows`, `${formatCount(r.pages)} pages`);
    if (r.requests) facts.push(`${formatCount(r.requests)} requests`);
    if (r.rateLimited) facts.push(`${formatCount(r.rateLimited)}×429`);
    if (r.deleted) facts.push(`${formatCount(r.deleted)} deleted`);
    if (r.typeMismatches > 0) facts.push(`${r.typeMismatches} type mismatches (kept in _raw)`);
  }
  const notes = [r.warning, r.error && `error: ${r.error}`].filter(Boolean);
  return `${STATE_MARK[r.state]} ${r.resource} ${r.state}: ${facts.join(', ')}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** The retry line of a resource (why a page is being tried again), for output that is not a terminal. */
export function retryLine(r: ResourceProgress): string {
  return `↻ ${r.resource} retrying: ${r.retrying}`;
}

/**
 * What a finished sync prints: on a terminal the table of every resource; elsewhere the
 * resources already had their lines, so the totals, warnings and cursors alone.
 */
export function summaryLines(resources: readonly ResourceProgress[], elapsedMs: number, opts: { table?: boolean } = {}): string[] {
  const rows = resources.reduce((n, r) => n + r.rows, 0);
  const pages = resources.reduce((n, r) => n + r.pages, 0);
  const lines = opts.table === false ? [] : progressLines(resources);
  const skipped = resources.filter((r) => r.state === 'skipped');
  if (skipped.length) lines.push(`warning: ${skipped.length} resource(s) skipped: ${skipped.map((r) => r.resource).join(', ')} (run with --strict to fail instead)`);
  const states = new Map<string, number>();
  for (const r of resources) states.set(r.state, (states.get(r.state) ?? 0) + 1);
  const counted = [...states].map(([state, n]) => `${n} ${state}`).join(', ');
  lines.push(`${formatCount(rows)} rows in ${formatCount(pages)} pages, ${(elapsedMs / 1000).toFixed(1)} s (${resources.length} resources: ${counted})`);
  // Resources that read from the same point and moved to the same cursor, on one line.
  const groups = new Map<string, string[]>();
  for (const r of resources.filter((x) => x.state === 'done')) {
    const from = r.updatedSince ? `updated since ${r.updatedSince}` : 'everything';
    const cursor = r.committedCursor ? `next run reads from ${r.committedCursor}` : 'cursor unchanged';
    const key = `read ${from}; ${cursor}`;
    groups.set(key, [...(groups.get(key) ?? []), r.resource]);
  }
  for (const [what, names] of groups) {
    lines.push(`  ${names.length > 4 ? `${names.length} resources (${names.slice(0, 3).join(', ')}, …)` : names.join(', ')}: ${what}`);
  }
  const unreconciled = resources.filter((r) => r.full && !r.reconciled).map((r) => r.resource);
  if (unreconciled.length) lines.push(`  not reconciled (a full listing did not complete; the next run tries again): ${unreconciled.join(', ')}`);
  return lines;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
