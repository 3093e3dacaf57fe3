// One listing that follows links.next to its end. Page-numbered lists shift while records
// are created or deleted meanwhile: each page's `total_entries` is compared with the pass's
// first, and a shifted pass is read again (docs/listings.md).
import { ApplicationFailure } from '@temporalio/workflow';
import type { ListingState } from '../../core/types';
import type { PageAsk, ResourceRun } from '../resource-run';
import { LINK_SLACK } from '../../core/tuning';

/** held: read to its end without shifting; unstable: still shifting on the last pass; gone: the parent is gone. */
export type ListingOutcome = 'held' | 'unstable' | 'gone';

export const freshListing = (): ListingState => ({ next: null, pass: 1, shifted: false, pages: 0 });

/**
 * Reads the listing that `ask` starts (its url is ignored: `state.next` says where it
 * stands). With `resumable`, the state is the run's carried one and the listing may
 * continue as new between pages.
 */
export async function readListing(run: ResourceRun, ask: Omit<PageAsk, 'url'>, state: ListingState, resumable = false): Promise<ListingOutcome> {
  for (;;) {
    // Links seen in this pass since this run began: a link met twice loops forever.
    const seen = new Set<string>();
    do {
      if (state.next !== null) {
        if (seen.has(state.next) || (state.totalPages !== undefined && state.pages > state.totalPages + LINK_SLACK)) {
          throw ApplicationFailure.nonRetryable(
            `${run.spec.name}: Harvest's links.next goes round in a loop (${state.pages} pages read, ${state.totalPages ?? 'unknown'} announced); the listing cannot end`,
            'Harvest.malformed',
          );
        }
        seen.add(state.next);
      }
      const page = await run.fetch({ ...ask, url: state.next });
      if (page.parentGone) return 'gone';
      state.pages++;
      if (state.pages === 1) {
        state.total = page.totalEntries;
        state.totalPages = page.totalPages;
        if (state.pass === 1 && page.totalPages !== undefined) run.progress.expectedPages = (run.progress.expectedPages ?? 0) + page.totalPages;
      } else if (page.totalEntries !== undefined && page.totalEntries !== state.total) state.shifted = true;
      state.next = page.next;
      // A shifted pass is read again from page 1, so the rest of it is not worth reading,
      // unless it is the last pass allowed: then everything it still holds is stored.
      if (state.shifted && state.pass < run.maxPasses) break;
      if (resumable && state.next !== null && run.historyFull()) await run.carryOn();
    } while (state.next !== null);
    if (!state.shifted) return 'held';
    run.progress.shifts = (run.progress.shifts ?? 0) + 1;
    if (state.pass >= run.maxPasses) return 'unstable';
    run.progress.passes = (run.progress.passes ?? 1) + 1;
    Object.assign(state, freshListing(), { pass: state.pass + 1 });
  }
}

/** A top-level list read by its links (cursor lists, single objects, page-numbered lists without a date filter). */
export async function readLinks(run: ResourceRun): Promise<void> {
  run.carry.listing ??= freshListing();
  run.progress.position = 'listing';
  if ((await readListing(run, {}, run.carry.listing, true)) === 'unstable') run.carry.unstable = true;
}
