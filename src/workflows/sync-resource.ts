// One resource of one sync: single-page activities, the next link and the progress in
// workflow state, continue-as-new before the history grows large. Page-numbered lists
// read their remaining pages in parallel once the first page told how many there are;
// resources with a parent fan out over the parent's ids in chunks with bounded concurrency.
// Page-numbered lists shift when records are created or deleted while they are read:
// every page's `total_entries` is compared with the pass's first one, a shifted pass is
// read again, and full reconciliations confirm deletion candidates with Harvest one by
// one before marking them (docs/listings.md).
// The resource's catalog entry comes in the input (from the account sync's history), never
// from the catalog module: see docs/releasing.md.
import { continueAsNew, defineQuery, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { QUERY_NAMES } from '../contracts';
import type { DeletionResult, PageRequest, PageResult, ParentChunk, ResourceCarry, ResourceProgress, ResourceSyncInput } from '../sync/types';
import { harvestActivities, pageActivities, reportActivities, storeActivities } from './activities';
import { paced } from './paced';

export const resourceProgressQuery = defineQuery<ResourceProgress>(QUERY_NAMES.progress);

const PARENT_CHUNK = 200;
/** Listing passes read at most while a page-numbered list keeps shifting. */
export const LISTING_PASSES = 3;
/** Deletion candidates of a page-numbered resource confirmed one by one at most per run. */
export const CONFIRM_BUDGET = 500;
/**
 * Patch id of the deletion confirmation: a sync started by a release without it went
 * straight from the listing to `markDeleted`, and must replay that way.
 */
export const CONFIRM_DELETIONS_PATCH = 'confirm-deletion-candidates';
/**
 * Patch id of the sliding window over numbered pages: a page that ends starts the next one
 * (syncs of older releases read them in batches that waited for their slowest page).
 */
export const SLIDING_PAGES_PATCH = 'numbered-pages-sliding';
/**
 * Patch id of report windows read side by side, `WINDOW_LANES` at a time (syncs of older
 * releases read one window after another through the resource's carried listing state).
 */
export const PARALLEL_WINDOWS_PATCH = 'report-windows-parallel';
/**
 * Report windows read at once. The reports budget (100 / 15 min) allows a fresh window's
 * worth at once, and each report is its own workflow: 9 reports × 4 windows stay within
 * it. Decides which activities a sync schedules: a change needs a new patch.
 */
const WINDOW_LANES = 4;
/** Patch id of per-parent fan-outs keeping at least `FAN_OUT_LANES` requests in flight (older syncs: `concurrency`). */
export const FAN_OUT_LANES_PATCH = 'fan-out-lanes-16';
/** Least requests in flight of a per-parent fan-out sized by latency. A change needs a new patch. */
const FAN_OUT_LANES = 16;
/** Headroom over budget rate × lane time, so a slower page does not idle the budget. */
const IN_FLIGHT_HEADROOM = 1.25;

export async function syncResource(input: ResourceSyncInput): Promise<ResourceProgress> {
  const spec = input.spec;
  const carry: ResourceCarry = input.carry ?? {
    progress: {
      resource: spec.name,
      state: 'running',
      pages: 0,
      rows: 0,
      requests: 0,
      rateLimited: 0,
      typeMismatches: 0,
      ...(spec.parent ? { parentsDone: 0, parentsGone: 0, changedParentsOnly: input.changedOnly } : {}),
      updatedSince: input.updatedSince,
      committedCursor: null,
      newestUpdatedAt: null,
      continuedAsNew: 0,
    },
    next: null,
    started: false,
    afterParentId: 0,
    totalPages: 0,
    nextPage: 0,
    pass: 1,
    passTotal: null,
    shifted: false,
  };
  const progress = carry.progress;
  const maxPasses = Math.max(1, input.listingPasses ?? LISTING_PASSES);
  if (spec.paging === 'page') progress.passes ??= 1;
  setHandler(resourceProgressQuery, () => progress);
  // Requests in flight: fixed, or (inFlight set) enough to spend the budget's rate while a
  // page holds its lane (Harvest's latency plus storing it), as the pages so far tell.
  const lanes = (): number => {
    let least = Math.max(1, input.concurrency);
    // A fan-out's pages are small and mostly latency: more of them share the budget, so
    // the last window's requests (often a fan-out's last parents) go out together.
    if (input.inFlight && spec.parent && patched(FAN_OUT_LANES_PATCH)) least = Math.max(least, FAN_OUT_LANES);
    if (!input.inFlight || spec.report || !carry.busyMs) return least;
    const wanted = Math.ceil(input.inFlight.requestsPerSecond * (carry.busyMs / 1000) * IN_FLIGHT_HEADROOM);
    return Math.max(least, Math.min(input.inFlight.max, wanted));
  };
  let inFlight = 0;
  const general = input.pageTimeout ? pageActivities(input.pageTimeout) : harvestActivities;
  const pages = spec.report ? reportActivities(input.pageTimeout) : general;
  // A page or record waiting in the workflow for Harvest's budget (src/workflows/paced.ts).
  const waiting = (untilMs: number): void => {
    progress.pacingWaits = (progress.pacingWaits ?? 0) + 1;
    if (!progress.waitingUntil || untilMs > Date.parse(progress.waitingUntil)) progress.waitingUntil = new Date(untilMs).toISOString();
  };
  const waited = (): void => {
    if (progress.waitingUntil && Date.parse(progress.waitingUntil) <= Date.now()) delete progress.waitingUntil;
  };

  const historyFull = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= input.historyLimit;
  };
  const carryOn = (): Promise<never> => {
    progress.continuedAsNew++;
    return continueAsNew<typeof syncResource>({ ...input, carry });
  };

  // `ownTotal`: the caller compares the pages' totals itself (a window read beside others).
  const fetch = async (req: Omit<PageRequest, 'accountId' | 'syncId' | 'resource' | 'updatedSince'>, ownTotal = false): Promise<PageResult> => {
    inFlight++;
    progress.mostInFlight = Math.max(progress.mostInFlight ?? 0, inFlight);
    let page: PageResult;
    try {
      page = await paced(() => pages.fetchPage({
        accountId: input.accountId,
        syncId: input.syncId,
        resource: spec.name,
        updatedSince: input.updatedSince,
        ...(input.range && spec.dateRange ? { range: input.range } : {}),
        ...req,
      }), waiting);
    } finally {
      inFlight--;
    }
    waited();
    if (page.busyMs !== undefined) carry.busyMs = carry.busyMs ? Math.round(carry.busyMs * 0.7 + page.busyMs * 0.3) : page.busyMs;
    progress.requests += page.requests ?? 0;
    progress.rateLimited += page.rateLimited ?? 0;
    // The pass's first page is read alone, so its total is the one every later page must tell.
    if (page.totalEntries !== undefined && req.parentId === undefined && !ownTotal) {
      if (carry.passTotal === null || carry.passTotal === undefined) carry.passTotal = page.totalEntries;
      else if (page.totalEntries !== carry.passTotal) carry.shifted = true;
    }
    if (!page.parentGone) {
      progress.pages++;
      progress.rows += page.rows;
      progress.typeMismatches += page.typeMismatches;
      if (page.maxUpdatedAt && (!progress.newestUpdatedAt || page.maxUpdatedAt > progress.newestUpdatedAt)) {
        progress.newestUpdatedAt = page.maxUpdatedAt;
      }
    }
    return page;
  };

  const windowLabel = (): string => (carry.windows?.[0] ? `window ${carry.windows[0].from}..${carry.windows[0].to}, ` : '');

  // Follows links.next from where the carried state stands (top-level lists).
  const numberedPending = (): boolean => spec.paging === 'page' && carry.nextPage >= 2 && carry.nextPage <= carry.totalPages;
  // A shifted pass is read again from page 1, so the rest of it is not worth reading, unless
  // it is the last pass allowed: then everything it still holds is stored.
  const abandonPass = (): boolean => carry.shifted === true && (carry.pass ?? 1) < maxPasses;
  const followLinks = async (): Promise<void> => {
    if (numberedPending()) return; // resumed mid-way through the numbered pages
    while ((!carry.started || carry.next !== null) && !abandonPass()) {
      progress.position = `${windowLabel()}${carry.started ? `next ${carry.next}` : 'first page'}`;
      const page = await fetch({ url: carry.started ? carry.next : null, window: carry.windows?.[0] });
      carry.started = true;
      carry.next = page.next;
      if (spec.paging === 'page' && carry.nextPage === 0) {
        carry.totalPages = page.totalPages ?? 0;
        carry.nextPage = 2;
        progress.expectedPages = (progress.expectedPages ?? 0) + carry.totalPages;
        if (carry.totalPages > 1) return;
      }
      if (carry.next !== null && historyFull()) await carryOn();
    }
  };

  // Pages 2..total of a page-numbered list, `lanes()` in flight: each page that ends starts
  // the next. Before continue-as-new (or abandoning a shifted pass) the pages in flight end,
  // so every page before `carry.nextPage` is stored.
  const readNumberedPages = async (): Promise<void> => {
    if (!patched(SLIDING_PAGES_PATCH)) return readNumberedBatches();
    for (;;) {
      const running = new Map<number, Promise<void>>();
      let failure: { err: unknown } | undefined;
      const start = (n: number): void => {
        running.set(n, fetch({ url: null, page: n, window: carry.windows?.[0] }).then(
          (result) => {
            // Records created meanwhile can push the list past the pages counted at the
            // start: the last page's links.next then says where it goes on.
            if (n === carry.totalPages) carry.next = result.next;
          },
          (err: unknown) => {
            failure ??= { err };
          },
        ).finally(() => running.delete(n)));
      };
      const stopping = (): boolean => failure !== undefined || abandonPass() || historyFull();
      while ((carry.nextPage <= carry.totalPages && !stopping()) || running.size > 0) {
        while (carry.nextPage <= carry.totalPages && running.size < lanes() && !stopping()) start(carry.nextPage++);
        progress.position = `${windowLabel()}pages up to ${carry.nextPage - 1} of ${carry.totalPages} (${running.size} in flight)`;
        if (running.size > 0) await Promise.race(running.values());
      }
      if (failure) throw failure.err;
      if (carry.nextPage > carry.totalPages || abandonPass()) return;
      await carryOn();
    }
  };

  // Older releases' reading of pages 2..total: `lanes` at a time, each batch waiting for its last page.
  const readNumberedBatches = async (): Promise<void> => {
    while (carry.nextPage <= carry.totalPages && !abandonPass()) {
      const last = Math.min(carry.totalPages, carry.nextPage + lanes() - 1);
      const batch: number[] = [];
      for (let n = carry.nextPage; n <= last; n++) batch.push(n);
      progress.position = `${windowLabel()}pages ${carry.nextPage}-${last} of ${carry.totalPages}`;
      const results = await Promise.all(batch.map((n) => fetch({ url: null, page: n, window: carry.windows?.[0] })));
      carry.nextPage = last + 1;
      // Records created meanwhile can push the list past the pages counted at the start:
      // the last page's links.next then says where it goes on.
      carry.next = results[results.length - 1].next;
      if (historyFull()) await carryOn();
    }
  };

  // Every page of one parent's listing; false when the parent is gone from Harvest. A
  // page-numbered one is read again while its total changes between pages.
  const readParent = async (parentId: number): Promise<boolean> => {
    for (let pass = 1; ; pass++) {
      let next: string | null = null;
      let total: number | undefined;
      let shifted = false;
      do {
        const page = await fetch({ url: next, parentId });
        if (page.parentGone) return false;
        if (page.totalEntries !== undefined) {
          total ??= page.totalEntries;
          shifted ||= page.totalEntries !== total;
        }
        next = page.next;
      } while (next !== null && !(shifted && pass < maxPasses));
      if (!shifted) return true;
      progress.shifts = (progress.shifts ?? 0) + 1;
      if (pass >= maxPasses) {
        carry.unstable = true;
        return true;
      }
      progress.passes = (progress.passes ?? 1) + 1;
    }
  };

  // Every page of one report window, following links.next; false when its total kept
  // changing through every pass allowed (then the window keeps its old rows).
  const readWindow = async (window: NonNullable<PageRequest['window']>): Promise<boolean> => {
    for (let pass = 1; ; pass++) {
      let next: string | null = null;
      let total: number | undefined;
      let shifted = false;
      let first = true;
      do {
        const page = await fetch({ url: next, window }, true);
        if (first && pass === 1) progress.expectedPages = (progress.expectedPages ?? 0) + (page.totalPages ?? 1);
        first = false;
        if (page.totalEntries !== undefined) {
          total ??= page.totalEntries;
          shifted ||= page.totalEntries !== total;
        }
        next = page.next;
      } while (next !== null && !(shifted && pass < maxPasses));
      if (!shifted) return true;
      progress.shifts = (progress.shifts ?? 0) + 1;
      if (pass >= maxPasses) return false;
      progress.passes = (progress.passes ?? 1) + 1;
    }
  };

  // One complete listing: passes until one reads every page without the total changing
  // (or the last pass allowed). Returns whether the listing held still.
  const readList = async (): Promise<boolean> => {
    for (;;) {
      await followLinks();
      if (spec.paging !== 'page') return true;
      await readNumberedPages();
      await followLinks();
      if (!carry.shifted) return true;
      progress.shifts = (progress.shifts ?? 0) + 1;
      if ((carry.pass ?? 1) >= maxPasses) return false;
      carry.pass = (carry.pass ?? 1) + 1;
      progress.passes = (progress.passes ?? 1) + 1;
      Object.assign(carry, { next: null, started: false, totalPages: 0, nextPage: 0, passTotal: null, shifted: false });
      if (historyFull()) await carryOn();
    }
  };

  if (spec.report?.windowed) {
    // One listing per window; a finished window's rows are replaced by what it now holds.
    carry.windows ??= await storeActivities.reportWindows({ accountId: input.accountId, syncId: input.syncId, all: input.allWindows, ...(input.range ? { range: input.range } : {}) });
    // Side by side: each window's listing is its own (state in this loop, not in the carry),
    // and continue-as-new only between batches, when every window before is replaced.
    while (carry.windows.length > 0 && patched(PARALLEL_WINDOWS_PATCH)) {
      const batch = carry.windows.slice(0, WINDOW_LANES);
      progress.position = `windows ${batch[0].from}..${batch[batch.length - 1].to} (${carry.windows.length} left)`;
      const held = await Promise.all(
        batch.map(async (window) => {
          if (!(await readWindow(window))) return false;
          await storeActivities.replaceWindow({ accountId: input.accountId, resource: spec.name, syncId: input.syncId, window, syncStartedAt: input.runStartedAt });
          return true;
        }),
      );
      if (held.includes(false)) carry.unstable = true;
      carry.windows = carry.windows.slice(batch.length);
      if (carry.windows.length > 0 && historyFull()) await carryOn();
    }
    while (carry.windows.length > 0) {
      // A window that never held still keeps its rows: what it missed is not gone.
      if (await readList()) {
        await storeActivities.replaceWindow({ accountId: input.accountId, resource: spec.name, syncId: input.syncId, window: carry.windows[0], syncStartedAt: input.runStartedAt });
      } else carry.unstable = true;
      carry.windows = carry.windows.slice(1);
      Object.assign(carry, { next: null, started: false, totalPages: 0, nextPage: 0, pass: 1, passTotal: null, shifted: false });
      if (carry.windows.length > 0 && historyFull()) await carryOn();
    }
  } else if (!spec.parent) {
    if (!(await readList())) carry.unstable = true;
  } else {
    for (;;) {
      const chunk: ParentChunk | number[] = await storeActivities.listParentIds({
        accountId: input.accountId,
        resource: spec.name,
        afterId: carry.afterParentId,
        limit: PARENT_CHUNK,
        ...(input.changedOnly ? { changedIn: input.syncId } : {}),
      });
      // Histories of older releases hold a plain id array.
      const ids = Array.isArray(chunk) ? chunk : chunk.ids;
      if (!Array.isArray(chunk) && chunk.rechecked > 0) progress.recheckedParents = (progress.recheckedParents ?? 0) + chunk.rechecked;
      if (ids.length === 0) break;
      progress.position = `parents ${ids[0]}..${ids[ids.length - 1]}`;
      let cursor = 0;
      const lane = async (): Promise<void> => {
        while (cursor < ids.length) {
          const present = await readParent(ids[cursor++]);
          if (present) progress.parentsDone!++;
          else progress.parentsGone!++;
        }
      };
      await Promise.all(Array.from({ length: lanes() }, lane));
      carry.afterParentId = ids[ids.length - 1];
      if (historyFull()) await carryOn();
    }
  }

  if (carry.unstable) {
    // A record missed now is read again by the next run: incremental runs list from the
    // old cursor again (its updated_at is still at or after it), full and first runs
    // list everything again.
    progress.unstable = true;
    progress.warning =
      `the listing kept changing while it was read (${progress.shifts ?? 0} shifted pass(es) of ${maxPasses}): ` +
      'records may be missing from this run, so no deletions were marked and the cursor was not moved; the next run reads it again';
  } else if (input.markDeletions) {
    // Only now, after every page of a complete listing arrived, can absence mean deletion.
    progress.position = 'marking deletions';
    if (confirmsDeletions() && patched(CONFIRM_DELETIONS_PATCH)) await confirmAndMark();
    else {
      const marked = await storeActivities.markDeleted({
        accountId: input.accountId,
        resource: spec.name,
        syncId: input.syncId,
        syncStartedAt: input.runStartedAt,
        ...(input.reach ? { reach: input.reach } : {}),
      });
      countDeleted(marked);
    }
  }
  // The account sync commits it once its whole graph ended (not if it was cancelled);
  // an unstable listing offers none, so the next run reads from the old cursor again.
  if (input.commitCursor && !carry.unstable) progress.pendingCursor = input.commitCursor;
  progress.state = 'done';
  delete progress.position;
  return progress;

  // Page-numbered lists with a record endpoint: as many creates as deletes between two
  // page reads leave the totals equal and can still slip a record past a page boundary,
  // so absence from the listing is only a candidate until Harvest confirms it.
  function confirmsDeletions(): boolean {
    // validateCatalog holds such entries to an `id` key (the record endpoint takes it).
    return spec.paging === 'page' && !spec.parent && !spec.report;
  }

  async function confirmAndMark(): Promise<void> {
    const budget = Math.max(0, input.confirmBudget ?? CONFIRM_BUDGET);
    const candidates = await storeActivities.deletionCandidates({
      accountId: input.accountId, resource: spec.name, syncId: input.syncId, syncStartedAt: input.runStartedAt, limit: budget,
      ...(input.reach ? { reach: input.reach } : {}),
    });
    progress.deletionCandidates = candidates.total;
    progress.confirmedAlive = 0;
    progress.confirmedGone = 0;
    progress.unconfirmed = candidates.total - candidates.ids.length;
    const gone: string[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < candidates.ids.length) {
        const id = candidates.ids[next++];
        progress.position = `confirming deletions (${next} of ${candidates.ids.length})`;
        const check = await paced(() => general.fetchRecord({ accountId: input.accountId, syncId: input.syncId, resource: spec.name, id }), waiting);
        waited();
        progress.requests += check.requests;
        progress.rateLimited += check.rateLimited;
        if (check.state === 'gone') {
          gone.push(id);
          progress.confirmedGone!++;
        } else if (check.state === 'alive') progress.confirmedAlive!++;
        else progress.unconfirmed!++;
      }
    };
    await Promise.all(Array.from({ length: lanes() }, lane));
    gone.sort();
    countDeleted(await storeActivities.markDeleted({
      accountId: input.accountId, resource: spec.name, syncId: input.syncId, syncStartedAt: input.runStartedAt, ids: gone,
      ...(input.reach ? { reach: input.reach } : {}),
    }));
    const notes = [candidates.note, progress.warning];
    if (progress.unconfirmed > 0) {
      notes.push(`${progress.unconfirmed} deletion candidate(s) not confirmed with Harvest in this run (budget ${budget}); they stay live until a later full run confirms them`);
    }
    const warning = [...new Set(notes.filter((n): n is string => Boolean(n)))].join('; ');
    if (warning) progress.warning = warning;
  }

  // markDeleted answers a count, or (given a token's reach) a count and a note.
  function countDeleted(marked: number | DeletionResult): void {
    if (typeof marked === 'number') {
      progress.deleted = marked;
      return;
    }
    progress.deleted = marked.deleted;
    if (marked.note) progress.warning = marked.note;
  }
}
