// Reads and writes of synced data and sync state. Values are always bound as query
// parameters; identifiers come only from the catalog.
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { getResource, type ResourceSpec } from '../harvest/catalog';
import type { BuiltRows, Row } from './rows';
import { clickhouseDateTime64 } from './rows';
import { RUNS_TABLE, STATE_TABLE, tableRef } from './schema';
import type { SyncRunRecord } from '../sync/types';

/**
 * Inserts one page. The dedup token is derived from the sync and the page's content, so
 * an activity retried after its insert landed stores nothing new, while a retry that
 * fetched different content (records changed meanwhile) is stored.
 */
export async function insertRows(client: ClickHouseClient, db: string, table: string, syncId: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const hash = createHash('sha256');
  for (const r of rows) hash.update(JSON.stringify(r, (k, v: unknown) => (k === '_synced_at' ? undefined : v))).update('\n');
  await insertWithToken(client, tableRef(db, table), rows, `${syncId}:${table}:${hash.digest('hex')}`);
}

/**
 * Every insert names its own dedup token. The embedded engine keeps settings for the
 * session, so an insert without one would inherit the previous insert's token and be
 * silently dropped as its duplicate.
 */
async function insertWithToken(client: ClickHouseClient, table: string, values: Row[], token: string): Promise<void> {
  await client.insert({
    table,
    values,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: token, async_insert: 0 },
  });
}

let uniqueCounter = 0;
/** A token no other insert uses (for writes that must never be taken for a retry). */
function uniqueToken(prefix: string): string {
  return `${prefix}:${Date.now()}:${process.pid}:${++uniqueCounter}:${Math.random().toString(36).slice(2)}`;
}

/**
 * Stores one page: nested lines first, then lines that vanished from these parents are
 * marked deleted, then the parents, so a reader never sees a finished parent without
 * its lines.
 */
export async function storePage(client: ClickHouseClient, db: string, spec: ResourceSpec, accountId: string, syncId: string, built: BuiltRows): Promise<void> {
  for (const n of built.nested) {
    await insertRows(client, db, n.spec.name, syncId, n.rows);
    await tombstone(client, db, n.spec.name, n.spec.key, accountId, syncId, `${quoteIdent(n.spec.parentColumn)} IN {parents:Array(UInt64)} AND _sync_id != {sync:String}`, {
      parents: n.parentIds,
    });
  }
  await insertRows(client, db, spec.name, syncId, built.rows);
}

const quoteIdent = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;

/**
 * The newest version of every row of one account, as a subquery. Used instead of FINAL
 * where the pipeline itself reads its tables back: explicit, and the same on every engine.
 */
function latestRows(db: string, table: string, key: string[]): string {
  const by = ['account_id', ...key].map(quoteIdent).join(', ');
  return `(SELECT * FROM ${tableRef(db, table)} WHERE account_id = {account:UInt64} ORDER BY ${by}, _synced_at DESC LIMIT 1 BY ${by})`;
}

/**
 * Inserts a deleted version of the live rows matching `where` (the newest version wins
 * under FINAL). Returns how many rows it marked.
 */
async function tombstone(client: ClickHouseClient, db: string, table: string, key: string[], accountId: string, syncId: string, where: string, params: Record<string, unknown>): Promise<number> {
  const res = await client.query({
    query: `SELECT * FROM ${latestRows(db, table, key)} WHERE _deleted = 0 AND ${where}`,
    query_params: { account: accountId, sync: syncId, ...params },
    format: 'JSONEachRow',
    // 64-bit integers come back as strings: exact above 2^53, and inserted back as they are.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  });
  const rows = await res.json<Row>();
  if (rows.length === 0) return 0;
  const meta = { _deleted: 1, _synced_at: clickhouseDateTime64(new Date()), _sync_id: syncId };
  // A repeated tombstone finds nothing left to mark, so a fresh token is safe.
  await insertWithToken(client, tableRef(db, table), rows.map((r) => ({ ...r, ...meta })), uniqueToken(`${syncId}:${table}:deleted`));
  return rows.length;
}

/**
 * Live rows a complete listing in sync `syncId` did not see: this sync did not write them,
 * and no other sync (a backfill) wrote them after this one began (those were live then).
 */
const UNSEEN = `_sync_id != {sync:String} AND _synced_at < parseDateTime64BestEffort({before:String}, 3, 'UTC')`;

/**
 * Deletion candidates of a page-numbered resource after a complete listing: how many live
 * rows it did not see, and the first `limit` of their ids (as strings: ids are UInt64).
 */
export async function unseenCandidates(client: ClickHouseClient, db: string, spec: ResourceSpec, accountId: string, syncId: string, syncStartedAt: string, limit: number): Promise<{ total: number; ids: string[] }> {
  if (spec.key.length !== 1 || spec.key[0] !== 'id') throw new Error(`${spec.name}: deletion candidates need a resource keyed by id`);
  const res = await client.query({
    query: `SELECT toString(id) AS id, count() OVER () AS total FROM ${latestRows(db, spec.name, spec.key)}
            WHERE _deleted = 0 AND ${UNSEEN} ORDER BY id LIMIT {limit:UInt32}`,
    query_params: { account: accountId, sync: syncId, before: syncStartedAt, limit },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await res.json<{ id: string; total: number }>();
  return { total: rows.length ? Number(rows[0].total) : 0, ids: rows.map((r) => r.id) };
}

/**
 * After a complete listing of a resource in sync `syncId`: every live row this sync did
 * not see is gone from Harvest. Marks them deleted, with the nested lines of deleted
 * parents; with `onlyIds`, only those of them (candidates Harvest confirmed gone).
 * Returns the number of records marked.
 */
export async function markUnseenDeleted(
  client: ClickHouseClient,
  db: string,
  spec: ResourceSpec,
  accountId: string,
  syncId: string,
  syncStartedAt: string,
  onlyIds?: readonly string[],
): Promise<number> {
  if (onlyIds !== undefined && onlyIds.length === 0) return 0;
  const where = onlyIds === undefined ? UNSEEN : `${UNSEEN} AND toString(id) IN {ids:Array(String)}`;
  const marked = await tombstone(client, db, spec.name, spec.key, accountId, syncId, where, { before: syncStartedAt, ...(onlyIds ? { ids: onlyIds } : {}) });
  for (const n of spec.nested ?? []) {
    const parentCol = n.parentKey[n.parentColumn];
    await tombstone(
      client,
      db,
      n.name,
      n.key,
      accountId,
      syncId,
      `${quoteIdent(n.parentColumn)} IN (SELECT ${quoteIdent(parentCol)} FROM ${latestRows(db, spec.name, spec.key)} WHERE _deleted = 1)`,
      {},
    );
  }
  return marked;
}

/** Marks the rows of a report window that sync `syncId` did not write (the report no longer has them). */
export async function replaceReportWindow(client: ClickHouseClient, db: string, spec: ResourceSpec, accountId: string, syncId: string, window: { from: string; to: string }, syncStartedAt: string): Promise<number> {
  return tombstone(client, db, spec.name, spec.key, accountId, syncId, `window_from = {from:Date} AND window_to = {to:Date} AND _sync_id != {sync:String} AND ${WRITTEN_BEFORE}`, {
    from: window.from,
    to: window.to,
    before: syncStartedAt,
  });
}

const WRITTEN_BEFORE = "_synced_at < parseDateTime64BestEffort({before:String}, 3, 'UTC')";

/**
 * Spent dates of the account's time entries and expenses: with `writtenIn`, only of the
 * rows that sync wrote (changed entries); without, just the oldest one. Ascending.
 */
export async function entryDates(client: ClickHouseClient, db: string, accountId: string, writtenIn?: string): Promise<string[]> {
  const parts = ['time_entries', 'expenses'].map((t) =>
    writtenIn
      ? `SELECT DISTINCT spent_date AS d FROM ${tableRef(db, t)} WHERE account_id = {account:UInt64} AND _sync_id = {sync:String} AND spent_date IS NOT NULL`
      : `SELECT min(spent_date) AS d FROM ${tableRef(db, t)} WHERE account_id = {account:UInt64} AND spent_date IS NOT NULL HAVING count() > 0`,
  );
  const res = await client.query({
    query: `SELECT DISTINCT toString(d) AS d FROM (${parts.join(' UNION ALL ')}) ORDER BY d ${writtenIn ? '' : 'LIMIT 1'}`,
    query_params: { account: accountId, sync: writtenIn ?? '' },
    format: 'JSONEachRow',
  });
  return (await res.json<{ d: string }>()).map((r) => r.d);
}

export interface CommittedCursor {
  resource: string;
  cursor: string;
}

export async function readCursors(client: ClickHouseClient, db: string, accountId: string): Promise<CommittedCursor[]> {
  const res = await client.query({
    query: `SELECT resource, formatDateTime(cursor, '%Y-%m-%dT%H:%i:%S.%fZ') AS cursor
            FROM ${tableRef(db, STATE_TABLE)} FINAL WHERE account_id = {account:UInt64}`,
    query_params: { account: accountId },
    format: 'JSONEachRow',
  });
  const rows = await res.json<{ resource: string; cursor: string }>();
  // %f prints microseconds; normalise to ISO milliseconds.
  return rows.map((r) => ({ resource: r.resource, cursor: new Date(r.cursor.replace(/(\.\d{3})\d*Z$/, '$1Z')).toISOString() }));
}

export async function writeCursor(client: ClickHouseClient, db: string, accountId: string, resource: string, cursor: string, syncId: string): Promise<void> {
  const row = { account_id: accountId, resource, cursor: clickhouseDateTime64(new Date(cursor)), sync_id: syncId, committed_at: clickhouseDateTime64(new Date()) };
  await insertWithToken(client, tableRef(db, STATE_TABLE), [row], uniqueToken(`${syncId}:cursor:${resource}`));
}

/**
 * A chunk of live parent ids of fan-out resource `child` after `afterId`, ascending
 * (keyset paging). With `changedIn`, only parents its change signals name for that sync.
 */
export async function parentIds(client: ClickHouseClient, db: string, accountId: string, child: ResourceSpec, afterId: number, limit: number, changedIn?: string): Promise<number[]> {
  if (!child.parent) throw new Error(`${child.name} has no parent`);
  const parent = getResource(child.parent.resource);
  let changed = '';
  if (changedIn !== undefined) {
    const signals = (child.changeSignals ?? []).map((sig) => {
      const written = `SELECT toUInt64(${quoteIdent(sig.select)}) FROM ${tableRef(db, sig.resource)} WHERE account_id = {account:UInt64} AND _sync_id = {sync:String}`;
      if (!sig.via) return written;
      return `SELECT toUInt64(${quoteIdent(sig.via.select)}) FROM ${latestRows(db, sig.via.resource, getResource(sig.via.resource).key)}
              WHERE _deleted = 0 AND ${quoteIdent(sig.via.match)} IN (${written})`;
    });
    changed = signals.length ? `AND id IN (${signals.join(' UNION DISTINCT ')})` : 'AND 0';
  }
  const res = await client.query({
    query: `SELECT id FROM ${latestRows(db, parent.name, parent.key)}
            WHERE _deleted = 0 AND id > {after:UInt64} ${changed}
            ORDER BY id LIMIT {limit:UInt32}`,
    query_params: { account: accountId, after: afterId, limit, sync: changedIn ?? '' },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await res.json<{ id: number }>()).map((r) => Number(r.id));
}

/**
 * One version of a run in `_sync_runs` (the newest per run wins under FINAL): written
 * when the run starts and again when it ends, with per-resource counts.
 */
export async function writeSyncRun(client: ClickHouseClient, db: string, run: SyncRunRecord): Promise<void> {
  const sum = (f: (r: SyncRunRecord['resources'][number]) => number): number => run.resources.reduce((n, r) => n + f(r), 0);
  const row: Row = {
    account_id: run.accountId,
    run_id: run.runId,
    workflow_id: run.workflowId,
    mode: run.mode,
    trigger: run.trigger,
    schedule_id: run.scheduleId,
    started_at: clickhouseDateTime64(new Date(run.startedAt)),
    finished_at: run.finishedAt ? clickhouseDateTime64(new Date(run.finishedAt)) : null,
    status: run.status,
    rows: sum((r) => r.rows),
    requests: sum((r) => r.requests ?? 0),
    rate_limited: sum((r) => r.rateLimited ?? 0),
    errors: run.resources.filter((r) => r.state === 'failed').length + (run.status === 'failed' && run.resources.every((r) => r.state !== 'failed') ? 1 : 0),
    error: run.error,
    'resources.name': run.resources.map((r) => r.resource),
    'resources.state': run.resources.map((r) => r.state),
    'resources.rows': run.resources.map((r) => r.rows),
    'resources.pages': run.resources.map((r) => r.pages),
    'resources.requests': run.resources.map((r) => r.requests ?? 0),
    'resources.rate_limited': run.resources.map((r) => r.rateLimited ?? 0),
    'resources.deleted': run.resources.map((r) => r.deleted ?? 0),
    'resources.error': run.resources.map((r) => r.error ?? r.warning ?? ''),
    _synced_at: clickhouseDateTime64(new Date()),
  };
  await insertWithToken(client, tableRef(db, RUNS_TABLE), [row], uniqueToken(`${run.runId}:run:${run.status}`));
}
