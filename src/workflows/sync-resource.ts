// One resource of one sync: single-page activities, the next link and the progress in
// workflow state, continue-as-new before the history grows large. Page-numbered lists
// read their remaining pages in parallel once the first page told how many there are;
// resources with a parent fan out over the parent's ids in chunks with bounded concurrency.
// The resource's catalog entry comes in the input (from the account sync's history), never
// from the catalog module: see docs/releasing.md.
import { continueAsNew, defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import { QUERY_NAMES } from '../contracts';
import type { PageRequest, PageResult, ResourceCarry, ResourceProgress, ResourceSyncInput } from '../sync/types';
import { harvestActivities, reportActivities, storeActivities } from './activities';

export const resourceProgressQuery = defineQuery<ResourceProgress>(QUERY_NAMES.progress);

const PARENT_CHUNK = 200;

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
  };
  const progress = carry.progress;
  setHandler(resourceProgressQuery, () => progress);
  const lanes = Math.max(1, input.concurrency);
  const pages = spec.report ? reportActivities() : harvestActivities;

  const historyFull = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= input.historyLimit;
  };
  const carryOn = (): Promise<never> => {
    progress.continuedAsNew++;
    return continueAsNew<typeof syncResource>({ ...input, carry });
  };

  const fetch = async (req: Omit<PageRequest, 'accountId' | 'syncId' | 'resource' | 'updatedSince'>): Promise<PageResult> => {
    const page = await pages.fetchPage({
      accountId: input.accountId,
      syncId: input.syncId,
      resource: spec.name,
      updatedSince: input.updatedSince,
      ...(input.range && spec.dateRange ? { range: input.range } : {}),
      ...req,
    });
    progress.requests += page.requests ?? 0;
    progress.rateLimited += page.rateLimited ?? 0;
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
  const followLinks = async (): Promise<void> => {
    if (numberedPending()) return; // resumed mid-way through the numbered pages
    while (!carry.started || carry.next !== null) {
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

  // Pages 2..total of a page-numbered list, `lanes` at a time.
  const readNumberedPages = async (): Promise<void> => {
    while (carry.nextPage <= carry.totalPages) {
      const last = Math.min(carry.totalPages, carry.nextPage + lanes - 1);
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

  // Every page of one parent's listing; false when the parent is gone from Harvest.
  const readParent = async (parentId: number): Promise<boolean> => {
    let next: string | null = null;
    do {
      const page = await fetch({ url: next, parentId });
      if (page.parentGone) return false;
      next = page.next;
    } while (next !== null);
    return true;
  };

  const readList = async (): Promise<void> => {
    await followLinks();
    if (spec.paging === 'page') {
      await readNumberedPages();
      await followLinks();
    }
  };

  if (spec.report?.windowed) {
    // One listing per window; a finished window's rows are replaced by what it now holds.
    carry.windows ??= await storeActivities.reportWindows({ accountId: input.accountId, syncId: input.syncId, all: input.allWindows, ...(input.range ? { range: input.range } : {}) });
    while (carry.windows.length > 0) {
      await readList();
      await storeActivities.replaceWindow({ accountId: input.accountId, resource: spec.name, syncId: input.syncId, window: carry.windows[0], syncStartedAt: input.runStartedAt });
      carry.windows = carry.windows.slice(1);
      Object.assign(carry, { next: null, started: false, totalPages: 0, nextPage: 0 });
      if (carry.windows.length > 0 && historyFull()) await carryOn();
    }
  } else if (!spec.parent) {
    await readList();
  } else {
    for (;;) {
      const ids = await storeActivities.listParentIds({
        accountId: input.accountId,
        resource: spec.name,
        afterId: carry.afterParentId,
        limit: PARENT_CHUNK,
        ...(input.changedOnly ? { changedIn: input.syncId } : {}),
      });
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
      await Promise.all(Array.from({ length: lanes }, lane));
      carry.afterParentId = ids[ids.length - 1];
      if (historyFull()) await carryOn();
    }
  }

  // Only now, after every page of a complete listing arrived, can absence mean deletion.
  if (input.markDeletions) {
    progress.position = 'marking deletions';
    progress.deleted = await storeActivities.markDeleted({ accountId: input.accountId, resource: spec.name, syncId: input.syncId, syncStartedAt: input.runStartedAt });
  }
  // The account sync commits it once its whole graph ended (not if it was cancelled).
  if (input.commitCursor) progress.pendingCursor = input.commitCursor;
  progress.state = 'done';
  delete progress.position;
  return progress;
}
