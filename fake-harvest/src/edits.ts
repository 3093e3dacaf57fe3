/**
 * Edits of the account while a listing is being read, as they happen in Harvest: someone
 * deletes or creates records between two page requests of one sync. The edit runs just
 * before a chosen request of a list path is served, so the pages served before it show
 * the old account and every later page the new one, whatever order parallel page
 * requests arrive in.
 */
import type { FakeHarvest, RequestInfo } from './server';

export interface ListingEdit {
  /** The list path, e.g. '/v2/time_entries'. */
  path: string;
  /** Only requests this accepts count (e.g. only those without updated_since). */
  match?: (req: RequestInfo) => boolean;
  /** The edit runs before the request after this many requests of the path were let through (default 1: after page 1). */
  after?: number;
  /** How many listing passes to disturb: after each edit the count starts again (default 1). */
  times?: number;
  /** The edit; `round` counts from 1. */
  edit: (fake: FakeHarvest, round: number) => void;
}

export interface ListingEditHandle {
  /** How many times the edit ran. */
  readonly rounds: number;
  stop(): void;
}

/** Installs `spec` on `fake`; stop() removes it. */
export function editWhileListing(fake: FakeHarvest, spec: ListingEdit): ListingEditHandle {
  const after = spec.after ?? 1;
  const times = spec.times ?? 1;
  let seen = 0;
  let rounds = 0;
  const stop = fake.onRequest((req) => {
    if (req.path !== spec.path || (spec.match && !spec.match(req)) || rounds >= times) return;
    // A request for page 1 starts a new pass: count from it.
    if ((req.query.page ?? '1') === '1') seen = 0;
    if (seen++ === after) {
      rounds++;
      spec.edit(fake, rounds);
    }
  });
  return {
    get rounds() {
      return rounds;
    },
    stop,
  };
}
