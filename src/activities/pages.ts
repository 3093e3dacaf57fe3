// Page activities: the ones that send Harvest a request. `fetchPage` reads one page and
// stores it in ClickHouse in the same attempt, so records never travel through workflow
// history (only small metadata is returned); `fetchRecord` asks one deletion candidate.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { getResource, type ResourceSpec } from '../catalog';
import { firstPageUrl, type FetchedListPage, type RequestTiming } from '../harvest/client';
import { HarvestError } from '../harvest/errors';
import { buildTables } from '../clickhouse/rows';
import { encodePage, storedWithinScope, storeEncodedPage, storePage, type EncodedPage } from '../clickhouse/store';
import { datesOf } from '../core/date-windows';
import { deletionScope, reportScope } from '../core/token-scope';
import type { PageRequest, PageResult, RecordCheck, TokenReach } from '../core/types';
import type { ActivityDeps } from './deps';
import { budgetWait, toFailure, type AttemptCounts } from './failures';

export function pageActivities(deps: ActivityDeps) {
  const ch = deps.clickhouse;
  const db = ch.database;
  return {
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

  };

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
