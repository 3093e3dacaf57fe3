// Text rendering of sync progress and summaries (pure, so it is unit-tested).
import type { ResourceProgress } from '../sync/types';

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
    if (r.retrying) parts.push(`retrying: ${r.retrying}`);
    if (r.warning) parts.push(r.warning);
    if (r.error) parts.push(`error: ${r.error}`);
    return parts.join('  ');
  });
}

export function summaryLines(resources: readonly ResourceProgress[], elapsedMs: number): string[] {
  const rows = resources.reduce((n, r) => n + r.rows, 0);
  const pages = resources.reduce((n, r) => n + r.pages, 0);
  const lines = progressLines(resources);
  const skipped = resources.filter((r) => r.state === 'skipped');
  if (skipped.length) lines.push(`warning: ${skipped.length} resource(s) skipped: ${skipped.map((r) => r.resource).join(', ')} (run with --strict to fail instead)`);
  lines.push(`${formatCount(rows)} rows in ${formatCount(pages)} pages, ${(elapsedMs / 1000).toFixed(1)} s`);
  for (const r of resources) {
    const from = r.updatedSince ? `updated since ${r.updatedSince}` : 'everything';
    const cursor = r.committedCursor ? `next run reads from ${r.committedCursor}` : 'cursor unchanged';
    if (r.state === 'done') lines.push(`  ${r.resource}: read ${from}; ${cursor}`);
  }
  return lines;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
