// After a complete listing, what it did not see is gone from Harvest. Page-numbered lists
// with a record endpoint confirm each candidate with Harvest first (a 404 is gone), so a
// record an edit hid from the listing is never marked deleted.
import type { DeletionResult, ResourceProgress } from '../../core/types';
import { runLanes } from '../lanes';
import type { ResourceRun } from '../resource-run';
import { controlActivities } from '../proxies';
import { CONFIRM_BUDGET } from '../../core/tuning';

export async function markDeletions(run: ResourceRun): Promise<void> {
  const { input, spec } = run;
  run.progress.position = 'marking deletions';
  // validateCatalog holds such entries to an `id` key (the record endpoint takes it).
  const confirms = spec.paging === 'page' && !spec.parent && !spec.report;
  const base = { accountId: input.accountId, resource: spec.name, syncId: input.syncId, syncStartedAt: input.runStartedAt, ...(input.reach ? { reach: input.reach } : {}) };
  if (!confirms) {
    countDeleted(run.progress, await controlActivities.markDeleted(base));
    return;
  }
  const budget = Math.max(0, input.confirmBudget ?? CONFIRM_BUDGET);
  const candidates = await controlActivities.deletionCandidates({ ...base, limit: budget });
  const progress = run.progress;
  Object.assign(progress, { deletionCandidates: candidates.total, confirmedAlive: 0, confirmedGone: 0, unconfirmed: candidates.total - candidates.ids.length });
  const gone: string[] = [];
  let next = 0;
  await runLanes({
    width: () => run.lanes(),
    take: () => (next < candidates.ids.length ? candidates.ids[next++] : undefined),
    work: async (id) => {
      progress.position = `confirming deletions (${next} of ${candidates.ids.length})`;
      const check = await run.checkRecord(id);
      if (check.state === 'gone') {
        gone.push(id);
        progress.confirmedGone!++;
      } else if (check.state === 'alive') progress.confirmedAlive!++;
      else progress.unconfirmed!++;
    },
  });
  gone.sort();
  countDeleted(progress, gone.length ? await controlActivities.markDeleted({ ...base, ids: gone }) : { deleted: 0 });
  const notes = [candidates.note, progress.warning];
  if (progress.unconfirmed! > 0) {
    notes.push(`${progress.unconfirmed} deletion candidate(s) not confirmed with Harvest in this run (budget ${budget}); they stay live until a later full run confirms them`);
  }
  const warning = [...new Set(notes.filter((n): n is string => Boolean(n)))].join('; ');
  if (warning) progress.warning = warning;
}

function countDeleted(progress: ResourceProgress, marked: DeletionResult): void {
  progress.deleted = marked.deleted;
  if (marked.note) progress.warning = marked.note;
}
