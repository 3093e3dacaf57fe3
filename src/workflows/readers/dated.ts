// Dated lists (time entries, expenses, invoices, estimates) read in date windows that each
// fit one page: one answer is one snapshot of its window, so no edit elsewhere can move an
// unread record into a page already read. The plan (src/sync/date-windows.ts) splits a
// window that holds more; once every window is read, a catch-up round lists what changed
// since the listing began, so a record whose date moved into a window already read still
// lands. docs/listings.md proves it.
import { CURSOR_SAFETY_MARGIN_MS } from '../../sync/plan';
import { firstRound, nextRound, rangeOf, recordAnswer, takeWindow } from '../../sync/date-windows';
import type { DatedState, DateWindow } from '../../sync/types';
import { runLanes } from '../lanes';
import type { ResourceRun } from '../resource-run';
import { CATCH_UP_ROUNDS } from '../../sync/tuning';
import { freshListing, readListing } from './listing';

export async function readDated(run: ResourceRun): Promise<void> {
  const { input, progress } = run;
  const state = (run.carry.dated ??= firstRound(input.range, input.reread, input.updatedSince, new Date().toISOString()));
  for (;;) {
    progress.position = state.round === 0 ? 'date windows' : `what changed meanwhile (round ${state.round})`;
    await runLanes({
      width: () => run.lanes(),
      take: (free) => takeWindow(state, free),
      work: (window) => readWindow(run, state, window),
      stop: () => run.historyFull(),
    });
    if (state.queue.length > 0) await run.carryOn();
    await readCrowded(run, state);
    // One answer was a snapshot of the whole listing; else list what changed meanwhile.
    if (state.answers <= 1 || state.round >= CATCH_UP_ROUNDS) return;
    const began = Date.parse(state.roundStartedAt) - CURSOR_SAFETY_MARGIN_MS;
    const floor = input.updatedSince ? Date.parse(input.updatedSince) : -Infinity;
    nextRound(state, input.range, new Date(Math.max(began, floor)).toISOString(), new Date().toISOString());
    progress.catchUpRounds = state.round;
    if (run.historyFull()) await run.carryOn();
  }
}

async function readWindow(run: ResourceRun, state: DatedState, w: DateWindow): Promise<void> {
  const page = await run.fetch({ url: null, range: rangeOf(w), updatedSince: w.all ? null : state.since });
  recordAnswer(state, w, page);
  run.progress.dateWindows = (run.progress.dateWindows ?? 0) + 1;
  if (state.answers === 1 && page.totalPages !== undefined) run.progress.expectedPages = (run.progress.expectedPages ?? 0) + page.totalPages;
}

/**
 * Days with more records than a page cannot be cut by date: they are read by their links,
 * and the totals check (a second line of defence) says whether the day held still.
 */
async function readCrowded(run: ResourceRun, state: DatedState): Promise<void> {
  while (state.crowded.length > 0) {
    const w = state.crowded[0];
    run.progress.position = `dates ${w.from ?? '…'}..${w.to ?? '…'} by their links (more records than a page)`;
    const outcome = await readListing(run, { range: rangeOf(w), updatedSince: w.all ? null : state.since }, freshListing());
    if (outcome === 'unstable') run.carry.unstable = true;
    state.crowded.shift();
    if (state.crowded.length > 0 && run.historyFull()) await run.carryOn();
  }
}
