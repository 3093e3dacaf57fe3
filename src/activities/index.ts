// Activities: thin adapters between the workflows and the outside world. `fetchPage`
// reads one Harvest page and stores it in ClickHouse in the same attempt, so records
// never travel through workflow history; only small metadata is returned.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { HarvestConfig } from '../config';
import { CATALOG, getResource, resolveSelection, resourceNames, type ResourceSpec } from '../harvest/catalog';
import { firstPageUrl, type FetchedListPage, type HarvestClient, type RequestTiming } from '../harvest/client';
import { HarvestError } from '../harvest/errors';
import { PacingWait } from '../pacing/pacer';
import type { ClickHouseHandle } from '../clickhouse/connect';
import { ClickHouseStoreError, withErrorKinds, type ClickHouseTarget } from '../clickhouse/errors';
import { buildTables } from '../clickhouse/rows';
import { ensureSchema as ensureTables } from '../clickhouse/schema';
import { entryDates, markUnseenDeleted, parentIds, unseenCandidates, readCursors, replaceReportWindow, storePage, storeEncodedPage, encodePage, writeCursor, type EncodedPage, writeSyncRun } from '../clickhouse/store';
import { windowOf, windowsBetween, windowsHolding, type ReportWindow } from '../sync/windows';
import { deletionScope } from '../sync/reach';
import { readTokenReach } from '../harvest/reach';
import {
  FORBIDDEN_FAILURE,
  FULL_SYNC_MARK,
  type AccountSyncPlan,
  type DateRange,
  type DeletionCandidates,
  type DeletionResult,
  type PageRequest,
  type PageResult,
  type ParentChunk,
  type RecordCheck,
  type SyncRunRecord,
  type TokenReach,
  type WorkflowSpec,
} from '../sync/types';

export interface ActivityDeps {
  harvest: HarvestClient;
  harvestConfig: HarvestConfig;
  clickhouse: ClickHouseHandle;
  /** Whether the namespace has harvest-sync's search attributes (workflows upsert them only then). */
  searchAttributes?: boolean;
  /** Where ClickHouse is, for error messages (no credentials). */
  clickhouseTarget?: ClickHouseTarget;
}

/** Request counts of one page, carried across attempts in the heartbeat details. */
interface AttemptCounts {
  requests: number;
  rateLimited: number;
}

export function createActivities(deps: ActivityDeps) {
  const { database: db } = deps.clickhouse;
  // Every ClickHouse failure is classified: outages retry, mistakes fail at once (toFailure).
  const ch = withErrorKinds(deps.clickhouse.client, deps.clickhouseTarget ?? { where: deps.clickhouse.embedded ? 'the embedded engine' : 'the ClickHouse server' });

  // Every windowed report of a sync asks for the same dates once its inputs (time entries,
  // expenses) are stored: one query answers them all. Settled answers are kept for a
  // minute; a failed one is not kept.
  const entryDatesAsked = new Map<string, { at: number; dates: Promise<string[]> }>();
  const syncEntryDates = (accountId: string, syncId: string, all: boolean): Promise<string[]> => {
    const now = Date.now();
    for (const [k, v] of entryDatesAsked) if (now - v.at > 60_000) entryDatesAsked.delete(k);
    const key = `${accountId}\n${syncId}\n${all}`;
    const known = entryDatesAsked.get(key);
    if (known) return known.dates;
    const dates = entryDates(ch, db, accountId, all ? undefined : syncId);
    entryDatesAsked.set(key, { at: now, dates });
    dates.catch(() => entryDatesAsked.delete(key));
    return dates;
  };
  const activities = {
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
      const cursors: Record<string, string> = {};
      for (const c of await readCursors(ch, db, accountId)) cursors[c.resource] = c.cursor;
      const lastFullAt = cursors[FULL_SYNC_MARK] ?? null;
      delete cursors[FULL_SYNC_MARK];
      return { accountId, cursors, startDate: deps.harvestConfig.startDate ?? null, lastFullAt, resources: names.map((n) => workflowSpec(getResource(n))) };
    },

    async fetchPage(req: PageRequest): Promise<PageResult> {
      // Heartbeats let Temporal notice a dead worker in seconds instead of waiting out
      // the start-to-close timeout of a page that will never finish.
      // The details carry the page's request counts from one attempt to the next (Temporal
      // hands the last details of a failed attempt to the retry).
      const ctx = Context.current();
      const prior = ctx.info.heartbeatDetails as Partial<AttemptCounts> | undefined;
      const counts: AttemptCounts = { requests: (prior?.requests ?? 0) + 1, rateLimited: prior?.rateLimited ?? 0 };
      ctx.heartbeat(counts);
      const beat = setInterval(() => ctx.heartbeat(counts), 2000);
      const began = Date.now();
      const timing: RequestTiming = { pacedMs: 0 };
      try {
        const page = await fetchAndStore(req, ctx.cancellationSignal, timing);
        return { ...page, ...counts, busyMs: Math.max(0, Date.now() - began - timing.pacedMs) };
      } catch (err) {
        // Cancelled (the sync was cancelled, or the worker is stopping): the request was
        // aborted; the SDK reports the activity cancelled when it gets the cancellation back.
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        // No slot soon, or Harvest said 429: the workflow waits (a durable timer) and asks again.
        const waitUntil = budgetWait(err, counts);
        if (waitUntil !== undefined) return { next: null, rows: 0, maxUpdatedAt: null, typeMismatches: 0, ...counts, waitUntil };
        if (err instanceof HarvestError && err.status === 429) counts.rateLimited++;
        ctx.heartbeat(counts);
        throw toFailure(err);
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Parent ids for fan-out resource `resource`; `changedIn`: only parents changed in that
     * sync, and the still-open ones its catalog entry asks again (`recheck`).
     */
    async listParentIds(req: { accountId: string; resource: string; afterId: number; limit: number; changedIn?: string }): Promise<ParentChunk> {
      return parentIds(ch, db, req.accountId, getResource(req.resource), req.afterId, req.limit, req.changedIn);
    },

    /** Whose token this is and what it may see (`/users/me`; a Manager's teammates and projects). */
    async readTokenReach({ accountId }: { accountId: string }): Promise<TokenReach> {
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
    async markDeleted(req: { accountId: string; resource: string; syncId: string; syncStartedAt: string; ids?: string[]; reach?: TokenReach }): Promise<number | DeletionResult> {
      const spec = getResource(req.resource);
      if (!req.reach || req.reach.role === 'administrator') {
        return markUnseenDeleted(ch, db, spec, req.accountId, req.syncId, req.syncStartedAt, req.ids);
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

    /**
     * One deletion candidate asked of Harvest (`GET /<resource>/{id}`, one request, so
     * the task queue's pacing counts it like a page): 404 is gone; a record is alive and
     * is stored like a listed one (so it counts as seen by this sync).
     */
    async fetchRecord(req: { accountId: string; syncId: string; resource: string; id: string }): Promise<RecordCheck> {
      const ctx = Context.current();
      const prior = ctx.info.heartbeatDetails as Partial<AttemptCounts> | undefined;
      const counts: AttemptCounts = { requests: (prior?.requests ?? 0) + 1, rateLimited: prior?.rateLimited ?? 0 };
      ctx.heartbeat(counts);
      const spec = getResource(req.resource);
      try {
        const record = await deps.harvest.getRecord(spec, req.id, req.accountId);
        if (record === null) return { state: 'gone', ...counts };
        const built = buildTables(spec, [record], { accountId: req.accountId, syncedAt: new Date(), syncId: req.syncId });
        await storePage(ch, db, spec, req.accountId, req.syncId, built);
        return { state: 'alive', ...counts };
      } catch (err) {
        const waitUntil = budgetWait(err, counts);
        if (waitUntil !== undefined) return { state: 'unknown', ...counts, waitUntil };
        if (err instanceof HarvestError && err.status === 429) counts.rateLimited++;
        ctx.heartbeat(counts);
        // Not readable now (e.g. 403 for a token that may list but not open it): it stays live.
        if (err instanceof HarvestError && err.status === 403) return { state: 'unknown', ...counts };
        throw toFailure(err);
      }
    },

    /**
     * Windows a windowed report must read: all (from the oldest entry) or those with
     * changes, plus today's; backfills: those covering their date range.
     */
    async reportWindows(req: { accountId: string; syncId: string; all: boolean; range?: DateRange }): Promise<ReportWindow[]> {
      const today = new Date().toISOString().slice(0, 10);
      if (req.range) {
        const last = req.range.to && req.range.to < today ? req.range.to : today;
        return windowsBetween(req.range.from < last ? req.range.from : last, last);
      }
      const dates = await syncEntryDates(req.accountId, req.syncId, req.all);
      if (req.all) return dates.length ? windowsBetween(dates[0] < today ? dates[0] : today, today) : [windowOf(today)];
      return windowsHolding([...dates, today]);
    },

    /** After every page of a window: its rows this sync did not write are gone from the report. */
    async replaceWindow(req: { accountId: string; resource: string; syncId: string; window: ReportWindow; syncStartedAt: string }): Promise<number> {
      return replaceReportWindow(ch, db, getResource(req.resource), req.accountId, req.syncId, req.window, req.syncStartedAt);
    },

    /** The cursors of the resources an account sync finished, once its whole graph ended. */
    async commitCursors(req: { accountId: string; syncId: string; cursors: Array<{ resource: string; cursor: string }> }): Promise<void> {
      for (const c of req.cursors) await writeCursor(ch, db, req.accountId, c.resource, c.cursor, req.syncId);
    },
  };

  // Store activities: their ClickHouse failures become retryable or non-retryable failures.
  type Fn = (...args: never[]) => Promise<unknown>;
  const classified = <T extends Fn>(fn: T): T =>
    (async (...args: Parameters<T>) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err);
      }
    }) as T;
  const { fetchPage, ...store } = activities;
  const wrapped = Object.fromEntries(Object.entries(store).map(([name, fn]) => [name, classified(fn as Fn)])) as typeof store;
  return { ...wrapped, fetchPage };

  async function fetchAndStore(req: PageRequest, signal?: AbortSignal, timing?: RequestTiming): Promise<Omit<PageResult, 'requests' | 'rateLimited'>> {
    const spec = getResource(req.resource);
    const url =
    req.url ??
    firstPageUrl(deps.harvestConfig.baseUrl, spec, { parentId: req.parentId, updatedSince: req.updatedSince ?? undefined, page: req.page, window: req.window, range: req.range });
    let page;
    try {
      page = await deps.harvest.listPage(spec, url, req.accountId, signal, timing);
    } catch (err) {
      if (err instanceof HarvestError && err.status === 404 && req.parentId !== undefined) {
        // The parent was deleted in Harvest after we listed it: nothing left to read.
        return { next: null, rows: 0, maxUpdatedAt: null, typeMismatches: 0, parentGone: true };
      }
      if (err instanceof HarvestError && req.parentId !== undefined && err.status !== undefined && err.status === spec.emptyOnStatus) {
        // This parent has no such list (teammates of a user who is not a Manager): an empty one.
        return { next: null, rows: 0, maxUpdatedAt: null, typeMismatches: 0 };
      }
      throw err;
    }
    const { encoded, result } = preparePage(spec, req, page);
    // Only the encoded bytes wait for the engine: the records and rows can be collected.
    page = undefined;
    await storeEncodedPage(ch, db, spec, req.accountId, req.syncId, encoded);
    if (result.typeMismatches > 0) {
      Context.current().log.warn('records with values of an unexpected type were loaded as NULL (kept in _raw)', {
        resource: spec.name,
        count: result.typeMismatches,
      });
    }
    return result;
  }
}

export type Activities = ReturnType<typeof createActivities>;

/** A fetched page as rows serialized for the engine, and what the workflow learns of it. */
function preparePage(spec: ResourceSpec, req: PageRequest, page: FetchedListPage): { encoded: EncodedPage; result: Omit<PageResult, 'requests' | 'rateLimited'> } {
  const built = buildTables(spec, page.records, {
    accountId: req.accountId,
    parentId: req.parentId,
    window: req.window,
    syncedAt: new Date(),
    syncId: req.syncId,
  });
  // The rows are a pure function of Harvest's answer and this context: their dedup token.
  const pageHash = createHash('sha256').update(JSON.stringify([columnsOf(spec), req.accountId, req.parentId ?? null, req.window ?? null, page.bodyHash])).digest('hex');
  return {
    encoded: encodePage(built, pageHash),
    result: {
      next: page.next,
      rows: built.table.rows.length,
      maxUpdatedAt: built.maxUpdatedAt,
      typeMismatches: built.typeMismatches,
      ...(spec.paging === 'page' && page.totalPages !== undefined ? { totalPages: page.totalPages } : {}),
      ...(spec.paging === 'page' && page.totalEntries !== undefined ? { totalEntries: page.totalEntries } : {}),
    },
  };
}

// What a release makes of a page: part of its dedup token, so a retry under another catalog is stored.
const columnText = new WeakMap<ResourceSpec, string>();
function columnsOf(spec: ResourceSpec): string {
  let text = columnText.get(spec);
  if (text === undefined) {
    text = JSON.stringify([spec.name, spec.columns, (spec.nested ?? []).map((n) => [n.name, n.columns])]);
    columnText.set(spec, text);
  }
  return text;
}

/** The part of a catalog entry the workflows decide from (columns and nested tables stay with the activities). */
export function workflowSpec(spec: ResourceSpec): WorkflowSpec {
  const { name, paging, incremental, dateRange, parent, changeSignals, report, dependsOn } = spec;
  return {
    name, paging, incremental, dependsOn,
    ...(dateRange !== undefined ? { dateRange } : {}),
    ...(parent ? { parent } : {}),
    ...(changeSignals ? { changeSignals } : {}),
    ...(report ? { report } : {}),
  };
}

/**
 * When a page or record request must wait for Harvest's budget (ms epoch): no pacing slot
 * soon (nothing was sent: not a request), or a 429 (a request, answered 429; the pacer
 * already holds the budget for its Retry-After). `counts` is corrected to match.
 */
function budgetWait(err: unknown, counts: AttemptCounts): number | undefined {
  if (err instanceof PacingWait) {
    counts.requests--;
    return err.waitUntil;
  }
  if (err instanceof HarvestError && err.status === 429) {
    counts.rateLimited++;
    return Date.now() + (err.retryAfterMs ?? 1000);
  }
  return undefined;
}

/**
 * Harvest errors become Temporal failures: 429 waits Retry-After, 4xx stops retrying.
 * ClickHouse errors by kind: outages retry with backoff, mistakes fail at once.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof ClickHouseStoreError) {
    return ApplicationFailure.create({ message: err.message, type: `ClickHouse.${err.kind.name}`, nonRetryable: !err.kind.retryable });
  }
  if (err instanceof PacingWait) {
    // Elsewhere than a page or record (e.g. the token's reach): Temporal's retry timer waits.
    return ApplicationFailure.create({ message: err.message, type: 'Harvest.paced', nextRetryDelay: Math.max(1000, err.waitUntil - Date.now()) });
  }
  if (!(err instanceof HarvestError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    // 403 has its own type: the workflow skips a forbidden resource unless strict.
    type: err.status === 403 ? FORBIDDEN_FAILURE : `Harvest.${err.kind}`,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryAfterMs,
    details: err.status !== undefined ? [{ status: err.status }] : undefined,
  });
}
