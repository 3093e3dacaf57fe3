// The dependency graph of an account sync: a resource starts as a child workflow as soon
// as every resource it depends on finished in this run; independent ones run in parallel.
// A resource whose dependency did not finish is skipped, naming it; a 403 skips the
// resource unless the run is strict.
import { CancellationScope, isCancellation, log, startChild } from '@temporalio/workflow';
import { askChangedParentsOnly, failureTypes } from '../core/account-plan';
import { resourceWorkflowId } from '../core/contracts';
import { CLOCK_SKEW_WARNING_MS, clockSkewWarning } from '../core/plan';
import { rootMessage } from '../core/failures';
import { reportScope } from '../core/token-scope';
import { GENERAL_REQUESTS_PER_SECOND, IN_FLIGHT_MAX, PAGES_IN_FLIGHT } from '../core/tuning';
import { FORBIDDEN_FAILURE, type ResourceProgress, type ResourceSyncInput } from '../core/types';
import type { AccountRun } from './account-run';
import { controlActivities } from './proxies';
import { syncResource } from './sync-resource';

export async function runGraph(run: AccountRun): Promise<void> {
  const finished = new Map<string, Promise<boolean>>();
  const once = (name: string): Promise<boolean> => {
    let p = finished.get(name);
    if (!p) finished.set(name, (p = runResource(run, name, once)));
    return p;
  };
  await Promise.all([...run.specs.keys()].map(once));
}

async function runResource(run: AccountRun, name: string, after: (name: string) => Promise<boolean>): Promise<boolean> {
  const spec = run.specs.get(name)!;
  const depsOk = await Promise.all(spec.dependsOn.filter((d) => run.progress.has(d)).map(after));
  const entry = run.progress.get(name)!;
  if (CancellationScope.current().consideredCancelled) return end(entry, 'cancelled');
  if (!depsOk.every(Boolean)) {
    const missing = spec.dependsOn.filter((d) => run.progress.has(d) && run.progress.get(d)?.state !== 'done');
    return end(entry, 'skipped', `not started: it needs ${missing.join(', ')}, which did not finish`);
  }
  // Below Administrator a report's totals cover what the token sees: written only where complete.
  const scope = spec.report && run.reach && run.reach.role !== 'administrator' ? reportScope(spec, run.reach) : undefined;
  if (scope && 'skip' in scope) {
    log.warn('report not read: the token is not an Administrator\'s', { resource: name, userId: run.reach!.userId });
    return end(entry, 'skipped', scope.skip);
  }
  const childInput = resourceInput(run, name);
  entry.state = 'running';
  entry.updatedSince = childInput.updatedSince;
  try {
    const child = await startChild(syncResource, { workflowId: resourceWorkflowId(run.laneId, name), args: [childInput] });
    const result = await child.result();
    const notes = [scope?.note, result.warning, childInput.commitCursor && run.harvestLagMs > CLOCK_SKEW_WARNING_MS ? clockSkewWarning(run.harvestLagMs) : undefined];
    result.warning = notes.filter(Boolean).join('; ') || undefined;
    if (!result.warning) delete result.warning;
    run.progress.set(name, { ...result, ...(run.full.has(name) ? { full: true } : {}) });
    await noteReportWindows(run, name);
    return true;
  } catch (err) {
    if (isCancellation(err)) return end(entry, 'cancelled');
    await noteReportWindows(run, name);
    if (!run.input.strict && failureTypes(err).includes(FORBIDDEN_FAILURE)) {
      log.warn('resource skipped: Harvest answered 403', { resource: name, message: rootMessage(err) });
      return end(entry, 'skipped', `skipped: ${rootMessage(err)}`);
    }
    entry.state = 'failed';
    entry.error = rootMessage(err);
    return false;
  }
}

function end(entry: ResourceProgress, state: 'cancelled' | 'skipped', warning?: string): false {
  entry.state = state;
  if (warning) entry.warning = warning;
  return false;
}

/** A resource child's input: its cursor plan, what it reconciles, its lanes. */
function resourceInput(run: AccountRun, name: string): ResourceSyncInput {
  const { input, plan, mode } = run;
  const spec = run.specs.get(name)!;
  const cursorPlan = run.plans.get(name)!;
  const since = run.modeOf(name) === 'incremental' ? (input.since ?? plan.cursors[name]) : undefined;
  const changedOnly = askChangedParentsOnly(spec, since, run.plans);
  const backfillRange = mode === 'backfill' ? { from: new Date(input.since!).toISOString().slice(0, 10), ...(input.until ? { to: input.until.slice(0, 10) } : {}) } : undefined;
  const range = cursorPlan.range ?? (spec.report?.windowed ? backfillRange : undefined);
  // Windowed reports replace window by window instead; a backfill lists only part of history.
  const markDeletions = mode !== 'backfill' && cursorPlan.updatedSince === null && !changedOnly && !spec.report?.windowed;
  const allWindows = run.modeOf(name) === 'full' || plan.cursors[name] === undefined;
  if (mode !== 'backfill' && (markDeletions || (spec.report?.windowed && allWindows))) {
    run.full.add(name);
    run.progress.get(name)!.full = true;
  }
  // Windows whose report disagreed with the entries last time: listed again in full (an
  // incremental listing only; a full one reads them anyway).
  const reread = plan.reread?.[name]?.length && cursorPlan.updatedSince !== null && mode !== 'backfill' ? plan.reread[name] : undefined;
  return {
    accountId: run.accountId,
    syncId: run.syncId,
    resource: name,
    spec,
    updatedSince: cursorPlan.updatedSince,
    commitCursor: cursorPlan.commit,
    changedOnly,
    markDeletions,
    allWindows,
    ...(range ? { range } : {}),
    ...(reread ? { reread } : {}),
    runStartedAt: run.startedAt.toISOString(),
    ...(run.harvestLagMs > 0 ? { harvestLagMs: run.harvestLagMs } : {}),
    ...(run.reach && run.reach.role !== 'administrator' ? { reach: run.reach } : {}),
    historyLimit: Math.max(20, input.historyLimit ?? 5000),
    ...(input.pageTimeout !== undefined ? { pageTimeout: input.pageTimeout } : {}),
    // Pages in flight per resource: with window pacing a fresh window is spent at once.
    concurrency: Math.min(16, input.concurrency ?? PAGES_IN_FLIGHT),
    // Unless the sync was given a concurrency: as many as the budget's rate needs while a
    // page holds its lane, up to IN_FLIGHT_MAX (docs/pacing.md).
    ...(input.concurrency === undefined ? { inFlight: { max: IN_FLIGHT_MAX, requestsPerSecond: GENERAL_REQUESTS_PER_SECOND } } : {}),
  };
}

/**
 * What an input of the windowed reports (time entries, expenses) wrote, even partly, makes
 * their windows stale: noted as it ends, so a report that does not run now re-reads them later.
 */
async function noteReportWindows(run: AccountRun, name: string): Promise<void> {
  if (!run.plan.windowInputs?.includes(name)) return;
  try {
    await controlActivities.noteReportWindows({ accountId: run.accountId, syncId: run.syncId });
  } catch (err) {
    if (isCancellation(err)) throw err;
    // A safety net only (the reports derive the same windows from the entries' versions).
    log.warn('report windows not noted', { resource: name, error: rootMessage(err) });
  }
}
