// The state of one account's sync, shared by its steps: the plan (an activity result, so a
// replay decides from the same facts), each resource's progress, which resources this run
// reconciles in full, the token's reach and Harvest's clock.
import { log, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { CLOCK_SKEW_WARNING_MS, clockSkewWarning, dueForFull, harvestClockLag, parseInterval, planCursor, type CursorPlan } from '../core/plan';
import { ACCOUNTS_ATTRIBUTE, MODE_ATTRIBUTE } from '../core/search-attributes';
import type { AccountSyncInput, AccountSyncPlan, ResourceProgress, SyncMode, SyncRunRecord, TokenReach, WorkflowSpec } from '../core/types';
import { controlActivities } from './proxies';

export class AccountRun {
  readonly accountId: string;
  /** The account's lane (its workflow id): fixed per account and kind of sync. */
  readonly laneId: string;
  /** What this run writes is tagged with it (`_sync_id`, `_sync_runs.run_id`): unique per run. */
  readonly syncId: string;
  readonly startedAt: Date;
  readonly specs: Map<string, WorkflowSpec>;
  readonly progress = new Map<string, ResourceProgress>();
  /** Resources `fullEvery` found due: listed in full this run. */
  readonly due: Set<string>;
  /** Resources whose run is a full reconciliation (a complete listing that marks deletions, or every report window). */
  readonly full = new Set<string>();
  mode: SyncMode;
  /** The token's user and roles: below Administrator, listings are partial. */
  reach?: TokenReach;
  /** How far Harvest's clock is behind Temporal's: widens the cursors. */
  harvestLagMs = 0;
  plans = new Map<string, CursorPlan>();

  constructor(
    readonly input: AccountSyncInput,
    readonly plan: AccountSyncPlan,
  ) {
    const info = workflowInfo();
    this.accountId = input.accountId;
    this.laneId = info.workflowId;
    this.syncId = `${info.workflowId}@${info.runId}`;
    this.startedAt = info.runStartTime;
    this.mode = input.mode ?? 'incremental';
    this.specs = new Map(plan.resources.map((r) => [r.name, r]));
    for (const { name } of plan.resources) {
      this.progress.set(name, {
        resource: name, state: 'pending', pages: 0, rows: 0, requests: 0, rateLimited: 0, typeMismatches: 0,
        updatedSince: null, committedCursor: null, newestUpdatedAt: null, continuedAsNew: 0,
      });
    }
    // Periodic full reconciliation, per resource: decided before anything says which mode
    // this run is. The run is `full` when every selected resource is due.
    const fullEvery = input.fullEvery ? parseInterval(input.fullEvery) : null;
    this.due = this.mode === 'incremental' && fullEvery !== null && input.since === undefined
      ? dueForFull({ resources: plan.resources, fullAt: plan.fullAt ?? {}, lastFullAt: plan.lastFullAt, everyMs: fullEvery, now: this.startedAt })
      : new Set<string>();
    if (this.due.size > 0) {
      if (this.due.size === plan.resources.length) this.mode = 'full';
      log.info('periodic full reconciliation', { accountId: this.accountId, resources: [...this.due], fullEvery: input.fullEvery });
    }
  }

  modeOf(name: string): SyncMode {
    return this.due.has(name) ? 'full' : this.mode;
  }

  /** The memo and search attributes `status`, the UI and `temporal workflow list` show. */
  announce(): void {
    const { input, mode, due } = this;
    upsertMemo({
      accountId: this.accountId, mode, startedBy: input.origin.workflowId, trigger: input.origin.trigger,
      ...(mode !== (input.mode ?? 'incremental') ? { promotedFrom: input.mode ?? 'incremental' } : {}),
      ...(due.size > 0 && mode !== 'full' ? { fullResources: [...due] } : {}),
    });
    if (input.searchAttributes) upsertSearchAttributes([{ key: ACCOUNTS_ATTRIBUTE, value: [this.accountId] }, { key: MODE_ATTRIBUTE, value: mode }]);
  }

  /** A row of the run log (`_sync_runs`). */
  record(status: SyncRunRecord['status'], error = ''): Promise<void> {
    const { input, reach } = this;
    return controlActivities.recordRun({
      accountId: this.accountId, runId: this.syncId, workflowId: input.origin.workflowId, mode: this.mode, trigger: input.origin.trigger,
      scheduleId: input.origin.scheduleId, startedAt: this.startedAt.toISOString(), finishedAt: status === 'running' ? null : new Date().toISOString(),
      status, error, resources: [...this.progress.values()],
      ...(reach ? { token: { userId: reach.userId, accessRoles: reach.accessRoles, role: reach.role } } : {}),
    });
  }

  /** Whose token this is (`/users/me`), and how far Harvest's clock is behind Temporal's. */
  async readReach(): Promise<void> {
    const { clock, ...reach } = await controlActivities.readTokenReach({ accountId: this.accountId });
    this.reach = reach;
    this.harvestLagMs = clock ? harvestClockLag(clock, Date.now()) : 0;
    if (this.harvestLagMs > CLOCK_SKEW_WARNING_MS) log.warn(clockSkewWarning(this.harvestLagMs), { accountId: this.accountId, harvestLagMs: this.harvestLagMs });
    if (reach.role !== 'administrator') {
      log.warn('the token is not an Administrator\'s: it sees part of the account, so deletions are marked only where Harvest says whose a row is', {
        accountId: this.accountId, userId: reach.userId, accessRoles: reach.accessRoles,
      });
    }
  }

  /** Each resource's lower bound and the cursor it may commit. */
  planCursors(): void {
    const { input, plan } = this;
    for (const [name, spec] of this.specs) {
      this.plans.set(name, planCursor({
        mode: this.modeOf(name), since: input.since, until: input.until, committed: plan.cursors[name], startDate: plan.startDate,
        incremental: spec.incremental !== null, dateRanged: spec.dateRange !== undefined, runStartedAt: this.startedAt, harvestLagMs: this.harvestLagMs,
      }));
    }
  }
}
