// Totals of a sync's per-resource progress. Pure: workflows and the CLI use it.
import type { ResourceProgress, SyncTotals } from './types';

export function totalsOf(resources: readonly ResourceProgress[]): SyncTotals {
  const sum = (f: (r: ResourceProgress) => number | undefined): number => resources.reduce((n, r) => n + (f(r) ?? 0), 0);
  return {
    rows: sum((r) => r.rows),
    pages: sum((r) => r.pages),
    requests: sum((r) => r.requests),
    rateLimited: sum((r) => r.rateLimited),
    deleted: sum((r) => r.deleted),
    failed: resources.filter((r) => r.state === 'failed').map((r) => r.resource),
    skipped: resources.filter((r) => r.state === 'skipped').map((r) => r.resource),
  };
}
