// One account's sync (`syncAccount`, a child of `harvestSync` whose workflow id is fixed per
// account and kind, so two regular syncs of an account never overlap): the plan, the
// token's reach, the dependency graph of its resources, then the cursors, committed
// together once the graph ended (never when the sync was cancelled).
//
// Replay safety: nothing here reads the catalog or other module state a release may
// change. Resource names, the graph and each resource's paging come from an activity
// result (in history); see docs/releasing.md.
import { ApplicationFailure, CancellationScope, CancelledFailure, isCancellation, log, setHandler } from '@temporalio/workflow';
import { capChildCursors } from '../core/account-plan';
import { QUERY_NAMES, type SyncProgress } from '../core/contracts';
import { rootMessage } from '../core/failures';
import { fullMark } from '../core/plan';
import { totalsOf } from '../core/summary';
import type { AccountSyncInput, AuditOutcome, SyncSummary } from '../core/types';
import { defineQuery } from '@temporalio/workflow';
import { AccountRun } from './account-run';
import { controlActivities } from './proxies';
import { runGraph } from './resource-graph';

export const syncProgressQuery = defineQuery<SyncProgress>(QUERY_NAMES.progress);

export async function syncAccount(input: AccountSyncInput): Promise<SyncSummary> {
  const plan = await controlActivities.planAccountSync({ accountId: input.accountId, ...(input.resources ? { resources: input.resources } : {}) });
  const run = new AccountRun(input, plan);
  setHandler(syncProgressQuery, () => ({ syncId: run.laneId, mode: run.mode, startedAt: run.startedAt.toISOString(), resources: [...run.progress.values()] }));
  run.announce();
  await run.record('running');
  try {
    await run.readReach();
    run.planCursors();
    await runGraph(run);
    // Cancelled: every child has stopped; nothing is committed, the next run starts from the old cursors.
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the sync was cancelled');
    await commit(run);
    const audit = await auditFindings(run);
    throwIfFailed(run);
    await run.record('succeeded');
    return summaryOf(run, audit);
  } catch (err) {
    if (isCancellation(err)) {
      // The run log must say so even though this scope is cancelled; no cursor moved.
      await CancellationScope.nonCancellable(() => run.record('cancelled', 'cancelled; no cursor was moved, the next run reads from the previous cursors'));
      throw err;
    }
    // The failure is the run's result too: charted and alerted on next to the data.
    await run.record('failed', rootMessage(err));
    throw err;
  }
}

/**
 * Cursors move only now, together, for the resources that finished (a failed one keeps its
 * old cursor; a child list's is capped by its parents'). Each resource whose full
 * reconciliation completed is its own reference point of `fullEvery`; one skipped, failed or
 * whose listing never held still stays due (docs/listings.md), and makes no other due.
 */
async function commit(run: AccountRun): Promise<void> {
  const resources = [...run.progress.values()];
  // Fan-outs that read their parents remember when they asked the open ones (the re-check rotates).
  const checkedParents = resources.flatMap((r) => (r.state === 'done' && r.pendingCursor && run.specs.get(r.resource)!.parent ? [{ resource: r.resource, changedOnly: r.changedParentsOnly === true }] : []));
  for (const cap of capChildCursors(run.progress, run.specs, run.plan.cursors)) {
    log.info(cap.cursor === null ? 'child cursor not moved: a resource it depends on has no cursor' : 'child cursor held back to a resource it depends on', { ...cap });
  }
  const cursors = resources.flatMap((r) => (r.state === 'done' && r.pendingCursor ? [{ resource: r.resource, cursor: r.pendingCursor }] : []));
  for (const r of resources) {
    if (!run.full.has(r.resource) || r.state !== 'done' || r.unstable) continue;
    r.reconciled = true;
    cursors.push({ resource: fullMark(r.resource), cursor: run.startedAt.toISOString() });
  }
  if (cursors.length > 0 || checkedParents.length > 0) {
    await controlActivities.commitCursors({ accountId: run.accountId, syncId: run.syncId, cursors, ...(checkedParents.length ? { checkedParents } : {}) });
  }
  for (const r of resources) {
    if (r.state === 'done' && r.pendingCursor) r.committedCursor = r.pendingCursor;
    delete r.pendingCursor;
  }
}

/** The report windows read were audited as they were replaced: which disagree with the entries. */
async function auditFindings(run: AccountRun): Promise<AuditOutcome | undefined> {
  const audited = (run.plan.auditedReports ?? []).some((name) => ['done', 'failed'].includes(run.progress.get(name)?.state ?? ''));
  if (!audited) return undefined;
  const audit = await controlActivities.auditFindings({ accountId: run.accountId, syncId: run.syncId });
  for (const w of audit.disagreeing) {
    const what = { accountId: run.accountId, report: w.report, window: `${w.from}..${w.to}`, projects: w.projects };
    if (w.flagged) log.warn('report window disagrees with the synced entries again: its entries were re-read and still differ', what);
    else log.info('report window disagrees with the synced entries: the next run re-reads them', what);
  }
  return audit;
}

function throwIfFailed(run: AccountRun): void {
  const resources = [...run.progress.values()];
  const failed = resources.filter((r) => r.state === 'failed');
  if (failed.length === 0) return;
  const skipped = resources.filter((r) => r.state === 'skipped' && r.warning?.startsWith('not started')).map((r) => r.resource);
  throw ApplicationFailure.nonRetryable(
    `harvest sync failed for ${failed.map((r) => `${r.resource}: ${r.error}`).join('; ')}` + (skipped.length ? ` (not started: ${skipped.join(', ')})` : ''),
    'SyncFailed',
    { resources },
  );
}

function summaryOf(run: AccountRun, audit: AuditOutcome | undefined): SyncSummary {
  const resources = [...run.progress.values()];
  const { reach, due } = run;
  return {
    syncId: run.laneId,
    accountId: run.plan.accountId,
    mode: run.mode,
    ...(due.size > 0 ? { fullEvery: { due: [...due], reconciled: resources.filter((r) => due.has(r.resource) && r.reconciled).map((r) => r.resource) } } : {}),
    ...(audit?.disagreeing.length ? { audit } : {}),
    status: 'succeeded',
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    resources,
    totals: totalsOf(resources),
    ...(reach ? { token: { userId: reach.userId, accessRoles: reach.accessRoles, role: reach.role } } : {}),
  };
}
