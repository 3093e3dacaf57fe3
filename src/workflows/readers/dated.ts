// Dated lists (time entries, expenses, invoices, estimates) read in date windows, as the
// plan in src/sync/date-windows.ts says: snapshot windows that each fit one page, paged
// windows where records are dense (checked against the edits made while they were read),
// and rounds that list what was updated meanwhile. docs/listings.md proves it complete.
import { checkRequest, firstRound, nextAsk, nextRound, rangeOf, recheck, recordPaged, recordSnapshot, settled, type DatedAsk } from '../../core/date-windows';
import type { DatedState } from '../../core/types';
import { CATCH_UP_MARGIN_MS, CATCH_UP_ROUNDS } from '../../core/tuning';
import { runLanes } from '../lanes';
import { controlActivities } from '../proxies';
import type { ResourceRun } from '../resource-run';

export async function readDated(run: ResourceRun): Promise<void> {
  const { input, progress } = run;
  const state = (run.carry.dated ??= firstRound(input.range, input.reread, input.updatedSince, new Date().toISOString()));
  for (;;) {
    progress.position = state.round === 0 ? 'date windows' : `what changed meanwhile (round ${state.round})`;
    await runLanes({
      width: () => run.lanes(),
      take: (free) => nextAsk(state, free, new Date().toISOString()),
      work: (ask) => readAsk(run, state, ask),
      stop: () => run.historyFull(),
    });
    if (state.queue.length > 0 || state.paged.length > 0) await run.carryOn();
    if (state.toCheck.length > 0) {
      // What was updated since the previous round began is stored now: the paged windows of
      // that round whose dates an edit touched meanwhile are read again.
      await checkPaged(run, state);
      continue;
    }
    if (settled(state)) return;
    if (state.round >= CATCH_UP_ROUNDS) {
      if (state.read.length > 0) {
        progress.warning = `${state.read.length} date window(s) read by page number were still being edited after ${CATCH_UP_ROUNDS} rounds: a record of them may be missing from this run (a full run confirms it with Harvest)`;
      }
      return;
    }
    const began = Date.parse(state.roundStartedAt) - margin(run);
    const floor = input.updatedSince ? Date.parse(input.updatedSince) : -Infinity;
    nextRound(state, input.range, new Date(Math.max(began, floor)).toISOString(), new Date().toISOString());
    progress.catchUpRounds = state.round;
    if (run.historyFull()) await run.carryOn();
  }
}

/** Harvest stamps `updated_at` by its clock: how far back from the workflow's time to list what changed. */
const margin = (run: ResourceRun): number => CATCH_UP_MARGIN_MS + Math.max(0, run.input.harvestLagMs ?? 0);

async function readAsk(run: ResourceRun, state: DatedState, ask: DatedAsk): Promise<void> {
  if ('snapshot' in ask) {
    const w = ask.snapshot;
    const page = await run.fetch({ url: null, range: rangeOf(w), updatedSince: w.since !== undefined ? w.since : state.since });
    if (state.round === 0 && state.answers === 0 && page.totalPages !== undefined) run.progress.expectedPages = (run.progress.expectedPages ?? 0) + page.totalPages;
    recordSnapshot(state, w, page);
  } else {
    const p = state.paged.find((x) => x.id === ask.paged)!;
    const page = await run.fetch({ url: null, page: ask.page, range: rangeOf(p), updatedSince: p.since });
    recordPaged(state, ask.paged, ask.page, page);
  }
  run.progress.dateWindows = (run.progress.dateWindows ?? 0) + ('snapshot' in ask || ask.page === 1 ? 1 : 0);
}

async function checkPaged(run: ResourceRun, state: DatedState): Promise<void> {
  const windows = checkRequest(state, margin(run));
  const disturbed = windows.length > 0 ? await controlActivities.disturbedWindows({ accountId: run.input.accountId, resource: run.spec.name, windows }) : [];
  const before = state.paged.length;
  recheck(state, disturbed);
  run.progress.windowsReread = (run.progress.windowsReread ?? 0) + state.paged.length - before;
}
