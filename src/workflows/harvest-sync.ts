// The `harvestSync` workflow: one sync of one or several Harvest accounts. Each account
// is synced by a `syncAccount` child whose workflow id is fixed per account and kind
// (regular or backfill): Temporal allows one running workflow per id, so two regular
// syncs of an account never overlap, whatever started them (schedule, CLI, UI). A
// `syncAccount` plans each resource's cursor, then runs the dependency graph: a resource
// starts as a child workflow as soon as every resource it depends on finished in this
// run; independent ones run in parallel.
//
// Replay safety: nothing here reads the catalog or other module state a release may
// change. Resource names, the dependency graph and each resource's paging come from
// activity results (in history); see docs/releasing.md.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  defineQuery,
  isCancellation,
  log,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { QUERY_NAMES, accountWorkflowId, resourceWorkflowId, type AccountSyncRef, type SyncProgress } from '../core/contracts';
import { CLOCK_SKEW_WARNING_MS, clockSkewWarning, dueForFull, fullMark, harvestClockLag, parseInterval, planCursor, validateSyncInput, type CursorPlan } from '../core/plan';
import { ACCOUNTS_ATTRIBUTE, MODE_ATTRIBUTE } from '../core/search-attributes';
import { rootMessage } from '../core/failures';
import { reportScope } from '../core/token-scope';
import { totalsOf } from '../core/summary';
import {
  FORBIDDEN_FAILURE,
  type AccountSummary,
  type AccountSyncInput,
  type AuditOutcome,
  type FullEveryOutcome,
  type ResourceProgress,
  type ResourceSyncInput,
  type SyncInput,
  type SyncMode,
  type SyncOrigin,
  type SyncRunRecord,
  type SyncSummary,
  type TokenReach,
  type WorkflowSpec,
} from '../core/types';
import { controlActivities } from './proxies';
import { syncResource } from './sync-resource';

export { accountWorkflowId, resourceWorkflowId, type AccountSyncRef, type SyncProgress } from '../core/contracts';

export const syncProgressQuery = defineQuery<SyncProgress>(QUERY_NAMES.progress);

/** Pages in flight per resource at least (or exactly, when the sync was given `concurrency`). */
export const PAGES_IN_FLIGHT = 8;
/** Most requests in flight of one resource when sized by latency. */
export const IN_FLIGHT_MAX = 24;
/** Harvest's general budget as a rate: 100 requests per 15 s. */
const GENERAL_REQUESTS_PER_SECOND = 100 / 15;

export async function harvestSync(rawInput?: SyncInput): Promise<SyncSummary> {
  // The shape first (no activity needed); resource names once the worker told which exist.
  const shapeProblems = validateSyncInput(rawInput);
  if (shapeProblems.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid harvestSync input: ${shapeProblems.join('; ')}`, 'InvalidInput');
  }
  const input: SyncInput = rawInput ?? {};
  const info = workflowInfo();
  const mode = input.mode ?? 'incremental';
  const startedAt = info.runStartTime.toISOString();
  const refs: AccountSyncRef[] = [];
  const tokens: Record<string, NonNullable<SyncSummary['token']>> = {};
  const fullEvery: Record<string, FullEveryOutcome> = {};
  const audit: Record<string, AuditOutcome> = {};
  setHandler(syncProgressQuery, () => ({ syncId: info.workflowId, mode, startedAt, resources: [], accountSyncs: refs }));

  const { searchAttributes, resourceNames, taskQueue } = await controlActivities.ensureSchema();
  const nameProblems = validateSyncInput(input, resourceNames);
  if (nameProblems.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid harvestSync input: ${nameProblems.join('; ')}`, 'InvalidInput');
  }
  const accounts = input.accountId !== undefined ? [input.accountId] : await controlActivities.resolveAccounts();
  if (accounts.length === 0) throw ApplicationFailure.nonRetryable('the token reaches no Harvest account', 'NoAccounts');
  upsertMemo({ accounts, mode, resources: input.resources ?? 'all', ...(input.since ? { since: input.since } : {}), ...(input.until ? { until: input.until } : {}) });
  if (searchAttributes) upsertSearchAttributes([{ key: ACCOUNTS_ATTRIBUTE, value: accounts }, { key: MODE_ATTRIBUTE, value: mode }]);
  const scheduledBy = (info.searchAttributes?.TemporalScheduledById as string[] | undefined)?.[0];
  const origin: SyncOrigin = { workflowId: info.workflowId, runId: info.runId, trigger: scheduledBy ? 'schedule' : 'manual', scheduleId: scheduledBy ?? '' };

  for (const accountId of accounts) refs.push({ accountId, workflowId: accountWorkflowId(taskQueue, accountId, mode), state: 'running' });
  const results = await Promise.allSettled(
    refs.map(async (ref): Promise<{ summary: SyncSummary; runId?: string }> => {
      try {
        const child = await startChild(syncAccount, {
          workflowId: ref.workflowId,
          args: [{ ...input, accountId: ref.accountId, origin, searchAttributes }],
        });
        const summary = await child.result();
        ref.state = 'done';
        if (summary.token) {
          // `harvest-sync status` shows whose token synced each account.
          tokens[ref.accountId] = summary.token;
          upsertMemo({ tokens });
        }
        if (summary.fullEvery) {
          // ...and which resources `fullEvery` reconciled, and which stay due (a run of one
          // account shows the mode it ran in: full when every resource was due).
          fullEvery[ref.accountId] = summary.fullEvery;
          upsertMemo({ fullEvery, ...(accounts.length === 1 ? { mode: summary.mode } : {}) });
        }
        if (summary.audit) {
          // ...and which report windows disagree with the synced entries.
          audit[ref.accountId] = summary.audit;
          upsertMemo({ audit });
        }
        return { summary, runId: child.firstExecutionRunId };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          ref.state = 'skipped';
          return { summary: await skipAccount(ref, mode, origin, startedAt) };
        }
        ref.state = isCancellation(err) ? 'cancelled' : 'failed';
        throw err;
      }
    }),
  );
  // A cancelled sync ends as cancelled, not as failed (each account logged `cancelled`).
  const cancelled = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && isCancellation(r.reason));
  if (cancelled && CancellationScope.current().consideredCancelled) throw cancelled.reason;
  if (accounts.length === 1) {
    const only = results[0];
    if (only.status === 'fulfilled') return only.value.summary;
    // The account sync's own failure (message, type, per-resource details) is the run's.
    const err = only.reason as Error;
    throw err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
  }
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`account ${accounts[i]}: ${rootMessage(r.reason)}`] : []));
  if (failed.length > 0) throw ApplicationFailure.nonRetryable(`harvest sync failed for ${failed.join('; ')}`, 'SyncFailed');
  // One short line per account: the per-resource progress stays in each account's own result.
  const outcomes: AccountSummary[] = results.map((r, i) => {
    const { summary, runId } = (r as PromiseFulfilledResult<{ summary: SyncSummary; runId?: string }>).value;
    return {
      accountId: summary.accountId,
      status: summary.status ?? 'succeeded',
      ...(summary.skippedBecause ? { skippedBecause: summary.skippedBecause } : {}),
      workflowId: refs[i].workflowId,
      ...(runId ? { runId } : {}),
      totals: summary.totals ?? totalsOf(summary.resources),
      ...(summary.token ? { token: summary.token } : {}),
    };
  });
  return {
    syncId: info.workflowId,
    accountId: accounts.join(','),
    mode,
    status: outcomes.every((s) => s.status === 'skipped') ? 'skipped' : 'succeeded',
    startedAt,
    finishedAt: new Date().toISOString(),
    resources: [],
    accounts: outcomes,
  };
}

/** Another sync of the account holds its workflow id: this one does nothing, visibly. */
async function skipAccount(ref: AccountSyncRef, mode: SyncMode, origin: SyncOrigin, startedAt: string): Promise<SyncSummary> {
  const reason = `another ${mode === 'backfill' ? 'backfill' : 'sync'} of account ${ref.accountId} is running (workflow ${ref.workflowId})`;
  log.warn('account skipped: already being synced', { accountId: ref.accountId, workflowId: ref.workflowId });
  const finishedAt = new Date().toISOString();
  await controlActivities.recordRun({
    accountId: ref.accountId, runId: `${origin.runId}/${ref.accountId}`, workflowId: origin.workflowId, mode,
    trigger: origin.trigger, scheduleId: origin.scheduleId, startedAt, finishedAt, status: 'skipped', error: reason, resources: [],
  });
  return { syncId: origin.workflowId, accountId: ref.accountId, mode, status: 'skipped', skippedBecause: reason, startedAt, finishedAt, resources: [], totals: totalsOf([]) };
}

/** One account: plan each resource's cursor, then run the dependency graph. */
export async function syncAccount(input: AccountSyncInput): Promise<SyncSummary> {
  const info = workflowInfo();
  const laneId = info.workflowId;
  // What this run writes is tagged with it (`_sync_id`, `_sync_runs.run_id`): unique per run.
  const syncId = `${laneId}@${info.runId}`;
  const startedAt = info.runStartTime;
  const accountId = input.accountId;
  let mode: SyncMode = input.mode ?? 'incremental';
  const progress = new Map<string, ResourceProgress>();
  setHandler(syncProgressQuery, () => ({ syncId: laneId, mode, startedAt: startedAt.toISOString(), resources: [...progress.values()] }));

  // The token's user and roles: below Administrator, listings are partial (see runGraph).
  let reach: TokenReach | undefined;
  // How far Harvest's clock is behind ours (Temporal's), read with the reach: widens the cursors.
  let harvestLagMs = 0;
  const token = (): SyncRunRecord['token'] => (reach ? { userId: reach.userId, accessRoles: reach.accessRoles, role: reach.role } : undefined);
  const record = (status: SyncRunRecord['status'], error = ''): Promise<void> =>
    controlActivities.recordRun({
      accountId, runId: syncId, workflowId: input.origin.workflowId, mode, trigger: input.origin.trigger, scheduleId: input.origin.scheduleId,
      startedAt: startedAt.toISOString(), finishedAt: status === 'running' ? null : new Date().toISOString(), status, error, resources: [...progress.values()],
      ...(reach ? { token: token() } : {}),
    });

  // The plan (cursors, the selected resources and their catalog entries) is an activity
  // result: a replay, on whatever release, decides from the same facts.
  const plan = await controlActivities.planAccountSync({ accountId, ...(input.resources ? { resources: input.resources } : {}) });
  const specs = new Map<string, WorkflowSpec>(plan.resources.map((r) => [r.name, r]));
  const selected = plan.resources.map((r) => r.name);
  for (const name of selected) {
    progress.set(name, {
      resource: name, state: 'pending', pages: 0, rows: 0, requests: 0, rateLimited: 0, typeMismatches: 0,
      updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0,
    });
  }
  // Periodic full reconciliation, per resource: decided before anything says which mode
  // this run is. The run is `full` when every selected resource is due.
  const fullEvery = input.fullEvery ? parseInterval(input.fullEvery) : null;
  const due = mode === 'incremental' && fullEvery !== null && input.since === undefined
    ? dueForFull({ resources: plan.resources, fullAt: plan.fullAt ?? {}, lastFullAt: plan.lastFullAt, everyMs: fullEvery, now: startedAt })
    : new Set<string>();
  if (due.size > 0) {
    if (due.size === selected.length) mode = 'full';
    log.info('periodic full reconciliation', { accountId, resources: [...due], fullEvery: input.fullEvery });
  }
  const modeOf = (name: string): SyncMode => (due.has(name) ? 'full' : mode);
  upsertMemo({
    accountId, mode, startedBy: input.origin.workflowId, trigger: input.origin.trigger,
    ...(mode !== (input.mode ?? 'incremental') ? { promotedFrom: input.mode ?? 'incremental' } : {}),
    ...(due.size > 0 && mode !== 'full' ? { fullResources: [...due] } : {}),
  });
  if (input.searchAttributes) upsertSearchAttributes([{ key: ACCOUNTS_ATTRIBUTE, value: [accountId] }, { key: MODE_ATTRIBUTE, value: mode }]);

  await record('running');
  try {
    const { clock, ...read } = await controlActivities.readTokenReach({ accountId });
    reach = read;
    harvestLagMs = clock ? harvestClockLag(clock, Date.now()) : 0;
    if (harvestLagMs > CLOCK_SKEW_WARNING_MS) log.warn(clockSkewWarning(harvestLagMs), { accountId, harvestLagMs });
    if (reach.role !== 'administrator') {
      log.warn('the token is not an Administrator\'s: it sees part of the account, so deletions are marked only where Harvest says whose a row is', {
        accountId, userId: reach.userId, accessRoles: reach.accessRoles,
      });
    }
    const summary = { ...(await runGraph()), ...(reach ? { token: token() } : {}) };
    await record('succeeded');
    return summary;
  } catch (err) {
    if (isCancellation(err)) {
      // The run log must say so even though this scope is cancelled; no cursor moved.
      await CancellationScope.nonCancellable(() => record('cancelled', 'cancelled; no cursor was moved, the next run reads from the previous cursors'));
      throw err;
    }
    // The failure is the run's result too: charted and alerted on next to the data.
    await record('failed', rootMessage(err));
    throw err;
  }

  async function runGraph(): Promise<SyncSummary> {
    const plans = new Map<string, CursorPlan>();
    for (const name of selected) {
      const spec = specs.get(name)!;
      plans.set(name, planCursor({
        mode: modeOf(name),
        since: input.since,
        until: input.until,
        committed: plan.cursors[name],
        startDate: plan.startDate,
        incremental: spec.incremental !== null,
        dateRanged: spec.dateRange !== undefined,
        runStartedAt: startedAt,
        harvestLagMs,
      }));
    }
    // A fan-out asks only parents that may have changed when it has read before and every
    // change signal was read this run from no later than its own lower bound.
    const changedOnly = (name: string): boolean => {
      const spec = specs.get(name)!;
      const since = modeOf(name) === 'incremental' ? (input.since ?? plan.cursors[name]) : undefined;
      if (!spec.parent || !spec.changeSignals || since === undefined) return false;
      return spec.changeSignals.every((sig) =>
        [sig.resource, sig.via?.resource].every((r) => {
          if (r === undefined) return true;
          const bound = plans.get(r)?.updatedSince;
          return bound === null || (bound !== undefined && bound <= new Date(since).toISOString());
        }),
      );
    };
    const backfillRange = mode === 'backfill' ? { from: new Date(input.since!).toISOString().slice(0, 10), ...(input.until ? { to: input.until.slice(0, 10) } : {}) } : undefined;

    // Resources whose run is a full reconciliation: a complete listing that marks deletions,
    // or (windowed reports) every window read again.
    const full = new Set<string>();
    const finished = new Map<string, Promise<boolean>>();
    const run = (name: string): Promise<boolean> => {
      let p = finished.get(name);
      if (!p) {
        p = runResource(name);
        finished.set(name, p);
      }
      return p;
    };
    const runResource = async (name: string): Promise<boolean> => {
      const spec = specs.get(name)!;
      const depsOk = await Promise.all(spec.dependsOn.filter((d) => progress.has(d)).map(run));
      const entry = progress.get(name)!;
      if (CancellationScope.current().consideredCancelled) {
        entry.state = 'cancelled';
        return false;
      }
      if (!depsOk.every(Boolean)) {
        const missing = spec.dependsOn.filter((d) => progress.has(d) && progress.get(d)?.state !== 'done');
        entry.state = 'skipped';
        entry.warning = `not started: it needs ${missing.join(', ')}, which did not finish`;
        return false;
      }
      // Below Administrator a report's totals cover what the token sees: written only where complete.
      const scope = spec.report && reach && reach.role !== 'administrator' ? reportScope(spec, reach) : undefined;
      if (scope && 'skip' in scope) {
        entry.state = 'skipped';
        entry.warning = scope.skip;
        log.warn('report not read: the token is not an Administrator\'s', { resource: name, userId: reach!.userId });
        return false;
      }
      const cursorPlan = plans.get(name)!;
      const onlyChanged = changedOnly(name);
      entry.state = 'running';
      entry.updatedSince = cursorPlan.updatedSince;
      const range = cursorPlan.range ?? (spec.report?.windowed ? backfillRange : undefined);
      const markDeletions = mode !== 'backfill' && cursorPlan.updatedSince === null && !onlyChanged && !spec.report?.windowed;
      const allWindows = modeOf(name) === 'full' || plan.cursors[name] === undefined;
      if (mode !== 'backfill' && (markDeletions || (spec.report?.windowed && allWindows))) {
        full.add(name);
        entry.full = true;
      }
      const childInput: ResourceSyncInput = {
        accountId,
        syncId,
        resource: name,
        spec,
        updatedSince: cursorPlan.updatedSince,
        commitCursor: cursorPlan.commit,
        changedOnly: onlyChanged,
        // Windowed reports replace window by window instead; a backfill lists only part of history.
        markDeletions,
        allWindows,
        ...(range ? { range } : {}),
        // Windows whose report disagreed with the entries last time: listed again in full
        // (an incremental listing only; a full one reads them anyway).
        ...(plan.reread?.[name]?.length && cursorPlan.updatedSince !== null && mode !== 'backfill' ? { reread: plan.reread[name] } : {}),
        runStartedAt: startedAt.toISOString(),
        ...(reach && reach.role !== 'administrator' ? { reach } : {}),
        historyLimit: Math.max(20, input.historyLimit ?? 5000),
        // Pages in flight per resource: with window pacing a fresh window is spent at once.
        concurrency: Math.min(16, input.concurrency ?? PAGES_IN_FLIGHT),
        // Unless the sync was given a concurrency: as many as the budget's rate needs while
        // a page holds its lane, up to IN_FLIGHT_MAX (docs/pacing.md).
        ...(input.concurrency === undefined ? { inFlight: { max: IN_FLIGHT_MAX, requestsPerSecond: GENERAL_REQUESTS_PER_SECOND } } : {}),
      };
      // What an input of the windowed reports wrote, even partly, makes their windows stale:
      // noted as it ends, so a report that does not run now re-reads them later.
      const noteWindows = async (): Promise<void> => {
        if (!plan.windowInputs?.includes(name)) return;
        try {
          await controlActivities.noteReportWindows({ accountId, syncId });
        } catch (err) {
          if (isCancellation(err)) throw err;
          // A safety net only (the reports derive the same windows from the entries' versions).
          log.warn('report windows not noted', { resource: name, error: rootMessage(err) });
        }
      };
      try {
        const child = await startChild(syncResource, {
          workflowId: resourceWorkflowId(laneId, name),
          args: [childInput],
        });
        const result = await child.result();
        if (scope) result.warning = [scope.note, result.warning].filter(Boolean).join('; ');
        if (cursorPlan.commit && harvestLagMs > CLOCK_SKEW_WARNING_MS) result.warning = [result.warning, clockSkewWarning(harvestLagMs)].filter(Boolean).join('; ');
        progress.set(name, { ...result, ...(full.has(name) ? { full: true } : {}) });
        await noteWindows();
        return true;
      } catch (err) {
        if (isCancellation(err)) {
          entry.state = 'cancelled';
          return false;
        }
        await noteWindows();
        if (!input.strict && failureTypes(err).includes(FORBIDDEN_FAILURE)) {
          entry.state = 'skipped';
          entry.warning = `skipped: ${rootMessage(err)}`;
          log.warn('resource skipped: Harvest answered 403', { resource: name, message: entry.warning });
          return false;
        }
        entry.state = 'failed';
        entry.error = rootMessage(err);
        return false;
      }
    };
    await Promise.all(selected.map(run));

    // A child list asks only the parents its parent (and change signals) named, so it may
    // not move past what they read: its new cursor is capped by each one's cursor after
    // this commit (the new one, else the old one; none: the child commits none). A payment
    // between the two cursors is then read by the next run, once its invoice is read.
    function capChildCursors(): ResourceProgress[] {
      const after = new Map<string, string | null>();
      const cursorAfter = (name: string): string | null => {
        if (after.has(name)) return after.get(name)!;
        const r = progress.get(name)!;
        const spec = specs.get(name)!;
        if (r.state === 'done' && r.pendingCursor) {
          const bounds = new Set([spec.parent?.resource, ...(spec.changeSignals ?? []).flatMap((sig) => [sig.resource, sig.via?.resource])]);
          for (const b of bounds) {
            if (b === undefined || b === name || !progress.has(b) || !r.pendingCursor) continue;
            const limit = cursorAfter(b);
            if (limit === null) {
              log.info('child cursor not moved: a resource it depends on has no cursor', { resource: name, bound: b });
              r.pendingCursor = null;
            } else if (limit < r.pendingCursor) {
              log.info('child cursor held back to a resource it depends on', { resource: name, bound: b, cursor: limit });
              r.pendingCursor = limit;
            }
          }
        }
        const cursor = r.state === 'done' && r.pendingCursor ? r.pendingCursor : (plan.cursors[name] ?? null);
        after.set(name, cursor);
        return cursor;
      };
      for (const name of selected) cursorAfter(name);
      return [...progress.values()];
    }

    const resources = [...progress.values()];
    // Cancelled: every child has stopped; nothing is committed, the next run starts from the old cursors.
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the sync was cancelled');

    // Fan-outs that read their parents through this run remember when they asked the open
    // ones (the re-check rotates through them).
    const checkedParents = resources.flatMap((r) => (r.state === 'done' && r.pendingCursor && specs.get(r.resource)!.parent ? [{ resource: r.resource, changedOnly: r.changedParentsOnly === true }] : []));
    // Cursors move only now, together, for the resources that finished (a failed one keeps its old cursor).
    const cursors = capChildCursors().flatMap((r) => (r.state === 'done' && r.pendingCursor ? [{ resource: r.resource, cursor: r.pendingCursor }] : []));
    // Each resource whose full reconciliation completed is its own reference point of
    // `fullEvery`; one skipped, failed or whose listing never held still stays due
    // (docs/listings.md), and makes no other resource due.
    for (const r of resources) {
      if (!full.has(r.resource) || r.state !== 'done' || r.unstable) continue;
      r.reconciled = true;
      cursors.push({ resource: fullMark(r.resource), cursor: startedAt.toISOString() });
    }
    if (cursors.length > 0 || checkedParents.length > 0) {
      await controlActivities.commitCursors({ accountId, syncId, cursors, ...(checkedParents.length ? { checkedParents } : {}) });
    }
    for (const r of resources) {
      if (r.state === 'done' && r.pendingCursor) r.committedCursor = r.pendingCursor;
      delete r.pendingCursor;
    }

    // The report windows read are audited as they are replaced: which disagree with the entries.
    const audited = (plan.auditedReports ?? []).some((name) => ['done', 'failed'].includes(progress.get(name)?.state ?? ''));
    const audit = audited ? await controlActivities.auditFindings({ accountId, syncId }) : undefined;
    for (const w of audit?.disagreeing ?? []) {
      const what = { accountId, report: w.report, window: `${w.from}..${w.to}`, projects: w.projects };
      if (w.flagged) log.warn('report window disagrees with the synced entries again: its entries were re-read and still differ', what);
      else log.info('report window disagrees with the synced entries: the next run re-reads them', what);
    }

    const failed = resources.filter((r) => r.state === 'failed');
    if (failed.length > 0) {
      const skipped = resources.filter((r) => r.state === 'skipped' && r.warning?.startsWith('not started')).map((r) => r.resource);
      throw ApplicationFailure.nonRetryable(
        `harvest sync failed for ${failed.map((r) => `${r.resource}: ${r.error}`).join('; ')}` +
          (skipped.length ? ` (not started: ${skipped.join(', ')})` : ''),
        'SyncFailed',
        { resources },
      );
    }
    return {
      syncId: laneId,
      accountId: plan.accountId,
      mode,
      ...(due.size > 0 ? { fullEvery: { due: [...due], reconciled: resources.filter((r) => due.has(r.resource) && r.reconciled).map((r) => r.resource) } } : {}),
      ...(audit?.disagreeing.length ? { audit } : {}),
      status: 'succeeded',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      resources,
      totals: totalsOf(resources),
    };
  }
}

function failureTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string') types.push(e.type);
  }
  return types;
}
