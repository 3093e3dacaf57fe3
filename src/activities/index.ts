// Activities: thin adapters between the workflows and the outside world. `fetchPage`
// reads one Harvest page and stores it in ClickHouse in the same attempt, so records
// never travel through workflow history; only small metadata is returned.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { HarvestConfig } from '../config';
import { CATALOG, getResource, resolveSelection, resourceNames, type ResourceSpec } from '../catalog';
import { firstPageUrl, type FetchedListPage, type HarvestClient, type RequestTiming } from '../harvest/client';
import { HarvestError } from '../harvest/errors';
import { PacingWait } from '../pacing/pacer';
import { ClickHouseStoreError } from '../clickhouse/errors';
import type { ClickHouseStore } from '../clickhouse/port';
import { buildTables } from '../clickhouse/rows';
import { ensureSchema as ensureTables } from '../clickhouse/schema';
import { AUDITED_REPORTS, auditReportWindow, disagreeingWindows, disturbedWindows, entryDates, markUnseenDeleted, storedWithinScope, noteReportWindows, notedReportWindows, parentIds, recordParentChecks, staleEntryDates, unseenCandidates, readCursors, replaceReportWindow, storePage, storeEncodedPage, encodePage, writeCursor, type CommittedCursor, type EncodedPage, type WindowCheck, writeSyncRun } from '../clickhouse/store';
import { windowOf, windowsBetween, windowsHolding, type ReportWindow } from '../core/windows';
import { datesOf } from '../core/date-windows';
import { deletionScope, reportScope } from '../core/token-scope';
import { readSyncState } from '../core/plan';
import { readTokenReach } from '../harvest/token-reach';
import {
  FORBIDDEN_FAILURE,
  type AccountSyncPlan,
  type AuditOutcome,
  type DateRange,
  type DeletionCandidates,
  type DeletionResult,
  type PageRequest,
  type PageResult,
  type ParentChunk,
  type RecordCheck,
  type SyncRunRecord,
  type TokenReach,
  type TokenReachReading,
  type WorkflowSpec,
} from '../core/types';

export interface ActivityDeps {
  harvest: HarvestClient;
  harvestConfig: HarvestConfig;
  /** Its failures come classified: outages retry, mistakes fail at once (toFailure). */
  clickhouse: ClickHouseStore;
  /** Whether the namespace has harvest-sync's search attributes (workflows upsert them only then). */
  searchAttributes?: boolean;
}

/** Request counts of one page, carried across attempts in the heartbeat details. */
interface AttemptCounts {
  requests: number;
  rateLimited: number;
}

export function createActivities(deps: ActivityDeps) {
  const ch = deps.clickhouse;
  const db = ch.database;

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
  // The reports of one sync share a cursor (they commit together): one query for them all.
  const staleAsked = new Map<string, { at: number; dates: Promise<string[]> }>();
  const staleDates = (accountId: string, syncId: string, since: CommittedCursor): Promise<string[]> => {
    const now = Date.now();
    for (const [k, v] of staleAsked) if (now - v.at > 60_000) staleAsked.delete(k);
    const key = `${accountId}\n${syncId}\n${since.cursor}\n${since.syncId}`;
    const known = staleAsked.get(key);
    if (known) return known.dates;
    const dates = staleEntryDates(ch, db, accountId, { since: since.cursor, notBy: since.syncId });
    staleAsked.set(key, { at: now, dates });
    dates.catch(() => staleAsked.delete(key));
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

    /**
     * One deletion candidate asked of Harvest (`GET /<resource>/{id}`, one request, so
     * the task queue's pacing counts it like a page): 404 is gone; a record is alive and
     * is stored like a listed one (so it counts as seen by this sync). Under a token below
     * Administrator (`reach`), Harvest may answer 404 for a record the token may not see:
     * gone only when its stored row is provably within reach (the token's user's, or on a
     * project it manages), else unknown.
     */
    async fetchRecord(req: { accountId: string; syncId: string; resource: string; id: string; reach?: TokenReach }): Promise<RecordCheck> {
      const ctx = Context.current();
      const prior = ctx.info.heartbeatDetails as Partial<AttemptCounts> | undefined;
      const counts: AttemptCounts = { requests: (prior?.requests ?? 0) + 1, rateLimited: prior?.rateLimited ?? 0 };
      ctx.heartbeat(counts);
      const spec = getResource(req.resource);
      try {
        const record = await deps.harvest.getRecord(spec, req.id, req.accountId);
        if (record === null) {
          if (!req.reach || req.reach.role === 'administrator') return { state: 'gone', ...counts };
          const decision = deletionScope(spec, req.reach);
          const within = 'scope' in decision && (await storedWithinScope(ch, db, spec, req.accountId, req.id, decision.scope));
          return { state: within ? 'gone' : 'unknown', ...counts };
        }
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
     * Windows a windowed report must read: all (from the oldest entry), or today's and the
     * stale ones; backfills: those covering their date range. Stale (given the report's
     * `resource`): the windows of every version of the entries written since the report's
     * own committed cursor, and the windows noted stale since then, except by the sync that
     * committed it (it wrote its entries, and noted them, before its report read them).
     * The cursor does not move when the report fails, is skipped or ends unstable, so the
     * next run derives the same windows again.
     */
    async reportWindows(req: { accountId: string; syncId: string; all: boolean; range?: DateRange; resource?: string }): Promise<ReportWindow[]> {
      const today = new Date().toISOString().slice(0, 10);
      if (req.range) {
        const last = req.range.to && req.range.to < today ? req.range.to : today;
        const first = req.range.from ?? (await syncEntryDates(req.accountId, req.syncId, true))[0] ?? last;
        return windowsBetween(first < last ? first : last, last);
      }
      const cursor = req.resource && !req.all ? (await readCursors(ch, db, req.accountId)).find((c) => c.resource === req.resource) : undefined;
      if (req.all || (req.resource && cursor === undefined)) {
        const dates = await syncEntryDates(req.accountId, req.syncId, true);
        return dates.length ? windowsBetween(dates[0] < today ? dates[0] : today, today) : [windowOf(today)];
      }
      // Callers that do not name the report: the windows of the entries this sync wrote.
      if (cursor === undefined) return windowsHolding([...(await syncEntryDates(req.accountId, req.syncId, false)), today]);
      const [dates, noted] = await Promise.all([staleDates(req.accountId, req.syncId, cursor), notedReportWindows(ch, db, req.accountId, cursor.cursor, cursor.syncId)]);
      // Noted now, the old windows of moved entries outlive the merges that drop older versions.
      const known = new Set(noted.map((w) => w.from));
      await noteReportWindows(ch, db, req.accountId, req.syncId, windowsHolding(dates).filter((w) => !known.has(w.from)));
      return windowsHolding([...dates, ...noted.map((w) => w.from), today]);
    },

    /**
     * After an input of the windowed reports (time entries, expenses) ended, in any state:
     * notes the windows its writes made stale (old dates of moved entries included), so
     * the reports re-read them whenever they next run, even if none runs in this sync.
     */
    async noteReportWindows(req: { accountId: string; syncId: string }): Promise<number> {
      const windows = windowsHolding(await staleEntryDates(ch, db, req.accountId, { writtenBy: req.syncId }));
      await noteReportWindows(ch, db, req.accountId, req.syncId, windows);
      return windows.length;
    },

    /** Paged date windows of a dated resource that an edit may have disturbed while they were read (docs/listings.md). */
    async disturbedWindows(req: { accountId: string; resource: string; windows: WindowCheck[] }): Promise<number[]> {
      return disturbedWindows(ch, db, getResource(req.resource), req.accountId, req.windows);
    },

    /**
     * After every page of a window: its rows this sync did not write are gone from the
     * report; under a token below Administrator (`reach`), only rows of the projects it
     * manages (the only ones it wrote: reportScope), and none of a report it may not read.
     */
    async replaceWindow(req: { accountId: string; resource: string; syncId: string; window: ReportWindow; syncStartedAt: string; reach?: TokenReach }): Promise<number> {
      const spec = getResource(req.resource);
      const scope = req.reach && req.reach.role !== 'administrator' ? reportScope(spec, req.reach) : undefined;
      if (scope && 'skip' in scope) return 0;
      const replaced = await replaceReportWindow(ch, db, spec, req.accountId, req.syncId, req.window, req.syncStartedAt, scope?.projectIds);
      // The window as Harvest totals it, against the synced entries (whole only for an Administrator's token).
      if (!scope) await auditReportWindow(ch, db, req.accountId, spec.name, req.window, req.syncId);
      return replaced;
    },

    /** The windows this sync audited whose report and entries disagree (for the summary and `status`). */
    async auditFindings(req: { accountId: string; syncId: string }): Promise<AuditOutcome> {
      const windows = await disagreeingWindows(ch, db, req.accountId, req.syncId);
      return { disagreeing: windows.map((w) => ({ report: w.report, from: w.from, to: w.to, projects: w.disagreeing.length, flagged: w.streak >= 2 })) };
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
    firstPageUrl(deps.harvestConfig.baseUrl, spec, { parentId: req.parentId, updatedSince: req.updatedSince ?? undefined, page: req.page, window: req.window, range: req.range, perPage: deps.harvestConfig.perPage });
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
  // A report read with a token below Administrator: only the rows it sees whole (reportScope).
  const scope = spec.report && req.reach && req.reach.role !== 'administrator' ? reportScope(spec, req.reach) : undefined;
  const projects = scope && 'projectIds' in scope ? new Set(scope.projectIds) : undefined;
  const records = scope ? (projects ? page.records.filter((r) => projects.has(Number(r.project_id))) : []) : page.records;
  const built = buildTables(spec, records, {
    accountId: req.accountId,
    parentId: req.parentId,
    window: req.window,
    syncedAt: new Date(),
    syncId: req.syncId,
  });
  // The rows are a pure function of Harvest's answer and this context: their dedup token.
  const pageHash = createHash('sha256').update(JSON.stringify([columnsOf(spec), req.accountId, req.parentId ?? null, req.window ?? null, page.bodyHash, ...(scope ? [projects ? [...projects] : []] : [])])).digest('hex');
  return {
    encoded: encodePage(built, pageHash),
    result: {
      next: page.next,
      rows: built.table.rows.length,
      maxUpdatedAt: built.maxUpdatedAt,
      typeMismatches: built.typeMismatches,
      ...(spec.paging === 'page' && page.totalPages !== undefined ? { totalPages: page.totalPages } : {}),
      ...(spec.paging === 'page' && page.totalEntries !== undefined ? { totalEntries: page.totalEntries } : {}),
      ...(spec.dateRange !== undefined ? datesOf(page.records, spec.dateRange) : {}),
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
