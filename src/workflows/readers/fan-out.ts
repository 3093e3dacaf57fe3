// Per-parent lists (a user's rates, an invoice's payments): the parents' ids come from the
// store in chunks; each parent's listing is read by its links, lanes at a time.
import { runLanes } from '../lanes';
import type { ResourceRun } from '../resource-run';
import { controlActivities } from '../proxies';
import { PARENT_CHUNK } from '../../core/tuning';
import { freshListing, readListing } from './listing';

export async function readFanOut(run: ResourceRun): Promise<void> {
  const { input, progress } = run;
  for (;;) {
    const chunk = await controlActivities.listParentIds({
      accountId: input.accountId,
      resource: run.spec.name,
      afterId: run.carry.afterParentId ?? 0,
      limit: PARENT_CHUNK,
      ...(input.changedOnly ? { changedIn: input.syncId } : {}),
    });
    if (chunk.rechecked > 0) progress.recheckedParents = (progress.recheckedParents ?? 0) + chunk.rechecked;
    const ids = chunk.ids;
    if (ids.length === 0) return;
    progress.position = `parents ${ids[0]}..${ids[ids.length - 1]}`;
    let next = 0;
    await runLanes({
      width: () => run.lanes(),
      take: () => (next < ids.length ? ids[next++] : undefined),
      work: async (parentId) => {
        const outcome = await readListing(run, { parentId }, freshListing());
        if (outcome === 'gone') progress.parentsGone!++;
        else progress.parentsDone!++;
        if (outcome === 'unstable') run.carry.unstable = true;
      },
    });
    run.carry.afterParentId = ids[ids.length - 1];
    if (run.historyFull()) await run.carryOn();
  }
}
