// One resource of one sync: a reader for its way of listing, single-page activities, the
// position in workflow state, continue-as-new before the history grows large; then, after
// a complete listing, deletions, and the cursor the account sync commits.
// The resource's catalog entry comes in the input (from the account sync's history), never
// from the catalog module: see docs/releasing.md.
import { defineQuery, setHandler } from '@temporalio/workflow';
import { QUERY_NAMES } from '../core/contracts';
import type { ResourceProgress, ResourceSyncInput, WorkflowSpec } from '../core/types';
import { ResourceRun } from './resource-run';
import { readDated } from './readers/dated';
import { markDeletions } from './readers/deletions';
import { readFanOut } from './readers/fan-out';
import { readLinks } from './readers/listing';
import { readReportWindows } from './readers/report-windows';

export const resourceProgressQuery = defineQuery<ResourceProgress>(QUERY_NAMES.progress);

/** The reader of each way Harvest lists a resource. */
export function readerFor(spec: WorkflowSpec): (run: ResourceRun) => Promise<void> {
  if (spec.report?.windowed) return readReportWindows;
  if (spec.parent) return readFanOut;
  if (spec.dateRange !== undefined && spec.paging === 'page') return readDated;
  return readLinks;
}

export async function syncResource(input: ResourceSyncInput): Promise<ResourceProgress> {
  const run = new ResourceRun(input);
  setHandler(resourceProgressQuery, () => run.progress);
  await readerFor(input.spec)(run);
  const progress = run.progress;
  if (run.carry.unstable) {
    // A record missed now is read again by the next run: incremental runs list from the
    // old cursor again (its updated_at is still at or after it), full and first runs
    // list everything again.
    progress.unstable = true;
    progress.warning =
      `the listing kept changing while it was read (${progress.shifts ?? 0} shifted pass(es) of ${run.maxPasses}): ` +
      'records may be missing from this run, so no deletions were marked and the cursor was not moved; the next run reads it again';
  } else if (input.markDeletions) {
    // Only now, after every page of a complete listing arrived, can absence mean deletion.
    await markDeletions(run);
  }
  // The account sync commits it once its whole graph ended (not if it was cancelled);
  // an unstable listing offers none, so the next run reads from the old cursor again.
  if (input.commitCursor && !run.carry.unstable) progress.pendingCursor = input.commitCursor;
  progress.state = 'done';
  delete progress.position;
  return progress;
}
