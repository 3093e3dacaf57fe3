// One resource of one sync: a loop of single-page activities, the next link and the
// progress in workflow state, continue-as-new before the history grows large. Resources
// with a parent fan out over the parent's ids in chunks with bounded concurrency.
import { continueAsNew, defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import { getResource } from '../harvest/catalog';
import type { ResourceCarry, ResourceProgress, ResourceSyncInput } from '../sync/types';
import { harvestActivities, storeActivities } from './activities';

export const resourceProgressQuery = defineQuery<ResourceProgress>('progress');

const PARENT_CHUNK = 200;

export async function syncResource(input: ResourceSyncInput): Promise<ResourceProgress> {
  const spec = getResource(input.resource);
  const carry: ResourceCarry = input.carry ?? {
    progress: {
      resource: spec.name,
      state: 'running',
      pages: 0,
      rows: 0,
      typeMismatches: 0,
      ...(spec.parent ? { parentsDone: 0, parentsGone: 0 } : {}),
      updatedSince: input.updatedSince,
      committedCursor: null,
      newestUpdatedAt: null,
      continuedAsNew: 0,
    },
    next: null,
    started: false,
    afterParentId: 0,
  };
  const progress = carry.progress;
  setHandler(resourceProgressQuery, () => progress);

  const historyFull = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= input.historyLimit;
  };
  const carryOn = (): Promise<never> => {
    progress.continuedAsNew++;
    return continueAsNew<typeof syncResource>({ ...input, carry });
  };

  // Reads every page of one listing; returns false when the parent turned out to be gone.
  const readPages = async (parentId: number | undefined, resume: { next: string | null; started: boolean } | null): Promise<boolean> => {
    let next = resume?.next ?? null;
    let started = resume?.started ?? false;
    while (!started || next !== null) {
      const page = await harvestActivities.fetchPage({
        syncId: input.syncId,
        resource: spec.name,
        url: started ? next : null,
        parentId,
        updatedSince: input.updatedSince,
      });
      if (page.parentGone) return false;
      started = true;
      next = page.next;
      progress.pages++;
      progress.rows += page.rows;
      progress.typeMismatches += page.typeMismatches;
      if (page.maxUpdatedAt && (!progress.newestUpdatedAt || page.maxUpdatedAt > progress.newestUpdatedAt)) {
        progress.newestUpdatedAt = page.maxUpdatedAt;
      }
      if (parentId === undefined) {
        carry.next = next;
        carry.started = started;
        if (next !== null && historyFull()) await carryOn();
      }
    }
    return true;
  };

  if (!spec.parent) {
    await readPages(undefined, carry);
  } else {
    const parent = spec.parent;
    for (;;) {
      const ids = await storeActivities.listParentIds({ resource: parent.resource, afterId: carry.afterParentId, limit: PARENT_CHUNK });
      if (ids.length === 0) break;
      let cursor = 0;
      const lane = async (): Promise<void> => {
        while (cursor < ids.length) {
          const id = ids[cursor++];
          const present = await readPages(id, null);
          if (present) progress.parentsDone!++;
          else progress.parentsGone!++;
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, input.fanOutConcurrency) }, lane));
      carry.afterParentId = ids[ids.length - 1];
      if (historyFull()) await carryOn();
    }
  }

  if (input.commitCursor) {
    await storeActivities.commitCursor({ resource: spec.name, cursor: input.commitCursor, syncId: input.syncId });
    progress.committedCursor = input.commitCursor;
  }
  progress.state = 'done';
  return progress;
}
