// Control activities: everything but pages. The plan of an account sync (cursors and the
// catalog's view of each selected resource), the token's reach, parent ids for fan-outs,
// deletions, the dated listings' check, and committing cursors and the run log.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { CATALOG, getResource, resolveSelection, resourceNames, type ResourceSpec } from '../catalog';
import { ensureSchema as ensureTables } from '../clickhouse/schema';
import { AUDITED_REPORTS, disagreeingWindows, disturbedWindows, markUnseenDeleted, parentIds, readCursors, recordParentChecks, unseenCandidates, writeCursor, writeSyncRun, type WindowCheck } from '../clickhouse/store';
import { readSyncState } from '../core/plan';
import { deletionScope } from '../core/token-scope';
import type { AccountSyncPlan, DeletionCandidates, DeletionResult, ParentChunk, SyncRunRecord, TokenReach, TokenReachReading, WorkflowSpec } from '../core/types';
import { readTokenReach } from '../harvest/token-reach';
import type { ActivityDeps } from './deps';
import { toFailure } from './failures';

export function controlActivities(deps: ActivityDeps) {
  const ch = deps.clickhouse;
  const db = ch.database;
  return {
    /**
     * Tables ready; tells the workflow whether it may upsert search attributes and which
     * resources this release knows (the workflow validates its input against them).
     */
    async ensureSchema(): Promise<{ searchAttributes: boolean; resourceNames: string[]; taskQueue: string }> {
      await ensureTables(ch, db, CATALOG);
      // The task queue names the account lanes: taken from here so a replay elsewhere derives the same ids.
      return { searchAttributes: deps.searchAttributes ?? false, resourceNames: resourceNames(), taskQueue: Context.current().info.taskQueue };
    },

    /** A row of the run log (`_sync_runs`), at the start and at the end of a run. */
    async recordRun(run: SyncRunRecord): Promise<void> {
      await writeSyncRun(ch, db, run);
    },

    /** The accounts to sync: the configured ids, or every Harvest account the token reaches. */
    async resolveAccounts(): Promise<string[]> {
      const configured = deps.harvestConfig.accounts;
      if (configured !== 'all') return configured;
      try {
        return await deps.harvest.listAccounts();
      } catch (err) {
        throw toFailure(err);
      }
    },

    /**
     * What an account sync works from: the committed cursors, and the selected resources
     * (with everything they depend on) as the catalog of this release describes them. The
     * workflow keeps this in its history, so a later release replays the same graph.
     */
    async planAccountSync({ accountId, resources }: { accountId: string; resources?: string[] }): Promise<AccountSyncPlan> {
      let names: string[];
      try {
        names = resolveSelection(resources);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
      }
      const rows: Record<string, string> = {};
      for (const c of await readCursors(ch, db, accountId)) rows[c.resource] = c.cursor;
      const { cursors, fullAt, lastFullAt } = readSyncState(rows);
      // Marks of the selected resources only: the plan stays as small as the selection.
      const marks = Object.fromEntries(names.filter((n) => fullAt[n] !== undefined).map((n) => [n, fullAt[n]]));
      // Whose writes make report windows stale, selected or not: the workflow notes them.
      const windowInputs = [...new Set(CATALOG.filter((r) => r.report?.windowed).flatMap((r) => r.dependsOn))];
      // Windows whose last audit disagreed: their entries are listed again (no extra request to find them).
      const reread: Record<string, Array<{ from: string; to: string }>> = {};
      for (const w of await disagreeingWindows(ch, db, accountId)) {
        const entries = AUDITED_REPORTS.find((a) => a.report === w.report)?.entries;
        if (!entries || !names.includes(entries) || reread[entries]?.some((r) => r.from === w.from)) continue;
        (reread[entries] ??= []).push({ from: w.from, to: w.to });
      }
      return {
        accountId, cursors, startDate: deps.harvestConfig.startDate ?? null, fullAt: marks, lastFullAt, windowInputs,
        auditedReports: AUDITED_REPORTS.map((a) => a.report), ...(Object.keys(reread).length ? { reread } : {}),
        resources: names.map((n) => workflowSpec(getResource(n))),
      };
    },

    /**
     * Parent ids for fan-out resource `resource`; `changedIn`: only parents changed in that
     * sync, and the still-open ones its catalog entry asks again (`recheck`).
     */
    async listParentIds(req: { accountId: string; resource: string; afterId: number; limit: number; changedIn?: string }): Promise<ParentChunk> {
      return parentIds(ch, db, req.accountId, getResource(req.resource), req.afterId, req.limit, req.changedIn);
    },

    /**
     * Whose token this is and what it may see (`/users/me`; a Manager's teammates and
     * projects), and Harvest's clock from the first answer's `Date` header.
     */
    async readTokenReach({ accountId }: { accountId: string }): Promise<TokenReachReading> {
      try {
        return await readTokenReach(deps.harvest, deps.harvestConfig.baseUrl, accountId);
      } catch (err) {
        throw toFailure(err);
      }
    },

    /**
     * After a complete listing: records this sync did not see are gone from Harvest; with
     * `ids`, only those of them (candidates Harvest confirmed gone). Under a token below
     * Administrator (`reach`), only rows the token could see may be marked, and lists that
     * do not say whose a row is are not marked at all.
     */
    async markDeleted(req: { accountId: string; resource: string; syncId: string; syncStartedAt: string; ids?: string[]; reach?: TokenReach }): Promise<DeletionResult> {
      const spec = getResource(req.resource);
      if (!req.reach || req.reach.role === 'administrator') {
        return { deleted: await markUnseenDeleted(ch, db, spec, req.accountId, req.syncId, req.syncStartedAt, req.ids) };
      }
      const decision = deletionScope(spec, req.reach);
      if ('skip' in decision) {
        Context.current().log.warn('deletions not marked: the token does not see every record', { resource: spec.name, userId: req.reach.userId, role: req.reach.role });
        return { deleted: 0, note: decision.skip };
      }
      const deleted = await markUnseenDeleted(ch, db, spec, req.accountId, req.syncId, req.syncStartedAt, req.ids, decision.scope);
      return { deleted, note: decision.note };
    },

    /** Page-numbered resources after a complete listing: the live rows it did not see (the first `limit` ids). */
    async deletionCandidates(req: { accountId: string; resource: string; syncId: string; syncStartedAt: string; limit: number; reach?: TokenReach }): Promise<DeletionCandidates> {
      const spec = getResource(req.resource);
      if (!req.reach || req.reach.role === 'administrator') return unseenCandidates(ch, db, spec, req.accountId, req.syncId, req.syncStartedAt, req.limit);
      const decision = deletionScope(spec, req.reach);
      if ('skip' in decision) return { total: 0, ids: [], note: decision.skip };
      return { ...(await unseenCandidates(ch, db, spec, req.accountId, req.syncId, req.syncStartedAt, req.limit, decision.scope)), note: decision.note };
    },

    /** Paged date windows of a dated resource that an edit may have disturbed while they were read (docs/listings.md). */
    async disturbedWindows(req: { accountId: string; resource: string; windows: WindowCheck[] }): Promise<number[]> {
      return disturbedWindows(ch, db, getResource(req.resource), req.accountId, req.windows);
    },

    /**
     * The cursors of the resources an account sync finished, once its whole graph ended;
     * and for the fan-outs in `checkedParents` (done), when their still-open parents were asked.
     */
    async commitCursors(req: { accountId: string; syncId: string; cursors: Array<{ resource: string; cursor: string }>; checkedParents?: Array<{ resource: string; changedOnly: boolean }> }): Promise<void> {
      for (const c of req.cursors) await writeCursor(ch, db, req.accountId, c.resource, c.cursor, req.syncId);
      for (const c of req.checkedParents ?? []) await recordParentChecks(ch, db, req.accountId, getResource(c.resource), req.syncId, c.changedOnly);
    },
  };
}

/** The part of a catalog entry the workflows decide from (columns and nested tables stay with the activities). */
export function workflowSpec(spec: ResourceSpec): WorkflowSpec {
  const { name, paging, incremental, dateRange, parent, changeSignals, report, dependsOn, key } = spec;
  return {
    name, paging, incremental, dependsOn,
    ...(report ? { key } : {}),
    ...(dateRange !== undefined ? { dateRange } : {}),
    ...(parent ? { parent } : {}),
    ...(changeSignals ? { changeSignals } : {}),
    ...(report ? { report } : {}),
  };
}

