// Reads and writes of synced data and sync state. Values are always bound as query
// parameters; identifiers come only from the catalog.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { ENCODED_INSERT, type EncodedInserter } from './connect';
import { getResource, type ResourceSpec } from '../harvest/catalog';
import type { BuiltTables, NestedTable, Row, RowTable } from './rows';
import { clickhouseDateTime64 } from './rows';
import { RUNS_TABLE, STATE_TABLE, tableRef } from './schema';
import { VERSION_COLUMN } from './versions';
import type { ParentChunk, SyncRunRecord } from '../sync/types';
import type { RowScope } from '../sync/reach';

/**
 * Inserts one page. The dedup token is derived from the sync and the page's content, so
 * an activity retried after its insert landed stores nothing new, while a retry that
 * fetched different content (records changed meanwhile) is stored.
 */
export async function insertRows(client: ClickHouseClient, db: string, table: string, syncId: string, rows: Row[], pageHash?: string): Promise<void> {
  if (rows.length === 0) return;
  const encoded = encodeRows(rows, pageHash);
  await insertEncoded(client, db, table, encoded, `${syncId}:${table}:${encoded.contentHash}`);
}

/** Rows as JSONCompactEachRow, `_synced_at` last, and a hash of everything but `_synced_at`. */
export interface EncodedRows {
  columns: string[];
  body: Buffer;
  contentHash: string;
}

/** Row objects as one table (the first row's keys, `_synced_at` moved last), then encodeTable. */
export function encodeRows(rows: readonly Row[], pageHash?: string): EncodedRows {
  const columns = Object.keys(rows[0]).filter((c) => c !== '_synced_at');
  if ('_synced_at' in rows[0]) columns.push('_synced_at');
  return encodeTable({ columns, rows: rows.map((row) => columns.map((c) => row[c])) }, pageHash);
}

/**
 * Serializes a table once: each row one JSON array in `columns` order. The content hash
 * is `pageHash` when the caller has one (a hash of the Harvest answer and the row
 * context, of which the rows are a pure function); else it covers each line without a
 * last `_synced_at`, which differs between attempts that read the same records.
 */
export function encodeTable(table: RowTable, pageHash?: string): EncodedRows {
  const { columns, rows } = table;
  const lines = new Array<string>(rows.length);
  if (pageHash !== undefined) {
    for (let r = 0; r < rows.length; r++) lines[r] = JSON.stringify(rows[r]);
    return { columns, body: joinLines(lines), contentHash: pageHash };
  }
  // Rows without a page hash (a confirmed record, tombstones): off the page path, so each
  // line is simply stringified twice, once without `_synced_at` for the hash.
  const hash = createHash('sha256');
  const syncedLast = columns[columns.length - 1] === '_synced_at';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    hash.update(JSON.stringify(syncedLast ? row.slice(0, -1) : row)).update('\n');
    lines[r] = JSON.stringify(row);
  }
  return { columns, body: joinLines(lines), contentHash: hash.digest('hex') };
}

/**
 * Lines as UTF-8, each ended by a newline, written straight into one buffer: joining them
 * first makes one string that is two-byte as soon as one line is (any non-ASCII name),
 * and encoding that costs ~4× the writes (2,000-row page: 10.8 ms → 3.0 ms).
 */
function joinLines(lines: readonly string[]): Buffer {
  let total = 0;
  for (let i = 0; i < lines.length; i++) total += Buffer.byteLength(lines[i]) + 1;
  const body = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    at += body.write(lines[i], at);
    body[at++] = 0x0a;
  }
  return body;
}

const PLAIN_IDENT = /^[A-Za-z0-9_]+$/;

/**
 * Every insert names its own dedup token. The embedded engine keeps settings for the
 * session, so an insert without one would inherit the previous insert's token and be
 * silently dropped as its duplicate.
 */
async function insertEncoded(client: ClickHouseClient, db: string, table: string, encoded: EncodedRows, token: string): Promise<void> {
  // `_raw` may be a JSON object (rows.ts): stored as its text.
  const settings = { insert_deduplication_token: token, async_insert: 0 as const, input_format_json_read_objects_as_strings: 1 as const };
  const direct = (client as unknown as Record<symbol, EncodedInserter | undefined>)[ENCODED_INSERT];
  if (direct && [db, table, ...encoded.columns].every((id) => PLAIN_IDENT.test(id))) {
    await direct({ table: `${db}.${table}`, columns: encoded.columns, body: encoded.body, settings });
    return;
  }
  // A server (or names chdb's raw insert does not take): the same bytes as the request body.
  const result = await client.exec({
    query: `INSERT INTO ${tableRef(db, table)} (${encoded.columns.map(quoteIdent).join(', ')}) FORMAT JSONCompactEachRow`,
    values: Readable.from([encoded.body], { objectMode: false }),
    clickhouse_settings: settings,
  });
  result.stream.resume();
  await finished(result.stream).catch(() => undefined);
}

/** One-off rows (state, run log): small, through the client's own JSONEachRow insert. */
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

/** A page's rows serialized for every table it writes: all a page waiting for its insert keeps. */
export interface EncodedPage {
  nested: Array<{ spec: NestedTable['spec']; parentIds: NestedTable['parentIds']; parentVersions?: NestedTable['parentVersions']; rows: EncodedRows | null }>;
  rows: EncodedRows | null;
}

/**
 * Serializes a page's rows (and nested lines) at once, so the records and row objects can
 * be collected before the inserts are awaited: with many pages in flight, those waiting
 * for the engine hold their bytes, not three copies of their records.
 */
export function encodePage(built: BuiltTables, pageHash?: string): EncodedPage {
  return {
    nested: built.nested.map((n) => ({
      spec: n.spec,
      parentIds: n.parentIds,
      ...(n.parentVersions ? { parentVersions: n.parentVersions } : {}),
      rows: n.table.rows.length ? encodeTable(n.table, pageHash) : null,
    })),
    rows: built.table.rows.length ? encodeTable(built.table, pageHash) : null,
  };
}

/**
 * Stores one page: nested lines first, then lines that vanished from these parents are
 * marked deleted, then the parents, so a reader never sees a finished parent without
 * its lines.
 */
export async function storePage(client: ClickHouseClient, db: string, spec: ResourceSpec, accountId: string, syncId: string, built: BuiltTables, pageHash?: string): Promise<void> {
  await storeEncodedPage(client, db, spec, accountId, syncId, encodePage(built, pageHash));
}

export async function storeEncodedPage(client: ClickHouseClient, db: string, spec: ResourceSpec, accountId: string, syncId: string, page: EncodedPage): Promise<void> {
  for (const n of page.nested) {
    if (n.rows) await insertEncoded(client, db, n.spec.name, n.rows, `${syncId}:${n.spec.name}:${n.rows.contentHash}`);
    // The parent column is part of every line's key: the same in all its versions. A line
    // gone from its parent's version is deleted as of that version (a late insert of an
    // older version of the parent cannot bring it back).
    const versions = n.parentVersions && new Map(n.parentIds.map((id, i) => [String(id), n.parentVersions![i]]));
    const asOfParent = versions && ((row: Row): Row => {
      const v = versions.get(String(row[n.spec.parentColumn]));
      return v === null || v === undefined ? row : { ...row, _parent_updated_at: v };
    });
    await tombstone(client, db, n.spec.name, n.spec.key, accountId, syncId, '_sync_id != {sync:String}', { parents: n.parentIds }, `${quoteIdent(n.spec.parentColumn)} IN {parents:Array(UInt64)}`, asOfParent);
  }
  if (page.rows) await insertEncoded(client, db, spec.name, page.rows, `${syncId}:${spec.name}:${page.rows.contentHash}`);
}

const quoteIdent = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;

/**
 * The newest version of every row of one account, as a subquery: the row FINAL keeps
 * (the highest `_version`, see versions.ts). Used instead of FINAL where the pipeline
 * itself reads its tables back: explicit, and the same on every engine. Callers select
 * only the columns they need (ClickHouse reads and sorts only those). `keyScope` narrows
 * it before versions are compared: a condition on key columns only.
 */
export function latestRows(db: string, table: string, key: string[], keyScope?: string): string {
  const by = ['account_id', ...key].map(quoteIdent).join(', ');
  // `_version` is MATERIALIZED: `*` leaves it out.
  return `(SELECT *, ${VERSION_COLUMN} FROM ${tableRef(db, table)} WHERE account_id = {account:UInt64}${keyScope ? ` AND ${keyScope}` : ''} ORDER BY ${by}, ${VERSION_COLUMN} DESC LIMIT 1 BY ${by})`;
}

/**
 * Inserts a deleted version of the live rows matching `where` (the newest version wins
 * under FINAL). Returns how many rows it marked. The newest versions are picked from the
 * key, version and `where` columns only; whole rows (with `_raw`) are read back just for
 * the rows to mark, so the cost follows the table's key columns, not its bytes. The
 * tombstone keeps the row's `updated_at` (or `patch` sets the version it is deleted as
 * of): it beats that version and every older one, however late they are inserted.
 */
async function tombstone(
  client: ClickHouseClient,
  db: string,
  table: string,
  key: string[],
  accountId: string,
  syncId: string,
  where: string,
  params: Record<string, unknown>,
  keyScope?: string,
  patch?: (row: Row) => Row,
): Promise<number> {
  const by = ['account_id', ...key].map(quoteIdent).join(', ');
  const res = await client.query({
    query: `SELECT * FROM ${tableRef(db, table)} WHERE account_id = {account:UInt64}${keyScope ? ` AND ${keyScope}` : ''}
            AND (${by}, ${VERSION_COLUMN}) IN (SELECT ${by}, ${VERSION_COLUMN} FROM ${latestRows(db, table, key, keyScope)} WHERE _deleted = 0 AND ${where})
            LIMIT 1 BY ${by}`,
    query_params: { account: accountId, sync: syncId, ...params },
    format: 'JSONEachRow',
    // 64-bit integers come back as strings: exact above 2^53, and inserted back as they are.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  });
  const rows = await res.json<Row>();
  if (rows.length === 0) return 0;
  const meta = { _deleted: 1, _synced_at: clickhouseDateTime64(new Date()), _sync_id: syncId };
  // A repeated tombstone finds nothing left to mark, so a fresh token is safe.
  await insertEncoded(client, db, table, encodeRows(rows.map((r) => ({ ...(patch ? patch(r) : r), ...meta }))), uniqueToken(`${syncId}:${table}:deleted`));
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
export async function unseenCandidates(
  client: ClickHouseClient,
  db: string,
  spec: ResourceSpec,
  accountId: string,
  syncId: string,
  syncStartedAt: string,
  limit: number,
  scope?: RowScope,
): Promise<{ total: number; ids: string[] }> {
  const scoped = scope ? scopeCondition(scope) : { where: '', params: {} };
  if (spec.key.length !== 1 || spec.key[0] !== 'id') throw new Error(`${spec.name}: deletion candidates need a resource keyed by id`);
  const res = await client.query({
    query: `SELECT toString(id) AS id, count() OVER () AS total FROM ${latestRows(db, spec.name, spec.key)}
            WHERE _deleted = 0 AND ${UNSEEN}${scoped.where} ORDER BY id LIMIT {limit:UInt32}`,
    query_params: { account: accountId, sync: syncId, before: syncStartedAt, limit, ...scoped.params },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await res.json<{ id: string; total: number }>();
  return { total: rows.length ? Number(rows[0].total) : 0, ids: rows.map((r) => r.id) };
}

/**
 * After a complete listing of a resource in sync `syncId`: every live row this sync did
 * not see is gone from Harvest. Marks them deleted, with the nested lines of deleted
 * parents; with `onlyIds`, only those of them (candidates Harvest confirmed gone); with
 * `scope`, only rows a token below Administrator could see.
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
  scope?: RowScope,
): Promise<number> {
  if (onlyIds !== undefined && onlyIds.length === 0) return 0;
  const scoped = scope ? scopeCondition(scope) : { where: '', params: {} };
  const inIds = onlyIds === undefined ? undefined : 'toString(id) IN {ids:Array(String)}';
  // Where `id` is the key, the confirmed ids narrow the versions compared.
  const idScope = inIds && spec.key.length === 1 && spec.key[0] === 'id' ? inIds : undefined;
  const where = (inIds && !idScope ? `${UNSEEN} AND ${inIds}` : UNSEEN) + scoped.where;
  const marked = await tombstone(client, db, spec.name, spec.key, accountId, syncId, where, { before: syncStartedAt, ...(onlyIds ? { ids: onlyIds } : {}), ...scoped.params }, idScope);
  for (const n of spec.nested ?? []) {
    const parentCol = n.parentKey[n.parentColumn];
    await tombstone(
      client,
      db,
      n.name,
      n.key,
      accountId,
      syncId,
      '1',
      {},
      // The parent column is part of the line's key.
      `${quoteIdent(n.parentColumn)} IN (SELECT ${quoteIdent(parentCol)} FROM ${latestRows(db, spec.name, spec.key)} WHERE _deleted = 1)`,
    );
  }
  return marked;
}

function scopeCondition(scope: RowScope): { where: string; params: Record<string, unknown> } {
  const parts = [`${quoteIdent(scope.userColumn)} IN {scope_users:Array(UInt64)}`];
  if (scope.projectColumn && scope.projectIds?.length) parts.push(`${quoteIdent(scope.projectColumn)} IN {scope_projects:Array(UInt64)}`);
  return { where: ` AND (${parts.join(' OR ')})`, params: { scope_users: scope.userIds, scope_projects: scope.projectIds ?? [] } };
}

/** Marks the rows of a report window that sync `syncId` did not write (the report no longer has them). */
export async function replaceReportWindow(client: ClickHouseClient, db: string, spec: ResourceSpec, accountId: string, syncId: string, window: { from: string; to: string }, syncStartedAt: string): Promise<number> {
  const inWindow = 'window_from = {from:Date} AND window_to = {to:Date}';
  const windowInKey = spec.key.includes('window_from') && spec.key.includes('window_to');
  return tombstone(
    client,
    db,
    spec.name,
    spec.key,
    accountId,
    syncId,
    `${windowInKey ? '1' : inWindow} AND _sync_id != {sync:String} AND ${WRITTEN_BEFORE}`,
    { from: window.from, to: window.to, before: syncStartedAt },
    windowInKey ? inWindow : undefined,
  );
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
export async function parentIds(client: ClickHouseClient, db: string, accountId: string, child: ResourceSpec, afterId: number, limit: number, changedIn?: string): Promise<ParentChunk> {
  if (!child.parent) throw new Error(`${child.name} has no parent`);
  const parent = getResource(child.parent.resource);
  let changed = '';
  let recheck = '';
  const recheckParams: Record<string, unknown> = {};
  if (changedIn !== undefined && child.recheck) {
    // Still-open parents, newest first, up to the budget: the same set for every chunk of
    // this run, since the parent finished before its children started.
    const { column, values, budget } = child.recheck;
    const typed = values.every((v) => typeof v === 'boolean') ? 'Array(Bool)' : 'Array(String)';
    recheck = `SELECT id FROM ${latestRows(db, parent.name, parent.key)}
               WHERE _deleted = 0 AND ${quoteIdent(column)} IN {recheck_values:${typed}}
               ORDER BY updated_at DESC, id DESC LIMIT {recheck_budget:UInt32}`;
    Object.assign(recheckParams, { recheck_values: values, recheck_budget: budget });
  }
  let signalled = '';
  if (changedIn !== undefined) {
    const signals = (child.changeSignals ?? []).map((sig) => {
      const written = `SELECT toUInt64(${quoteIdent(sig.select)}) FROM ${tableRef(db, sig.resource)} WHERE account_id = {account:UInt64} AND _sync_id = {sync:String}`;
      if (!sig.via) return written;
      return `SELECT toUInt64(${quoteIdent(sig.via.select)}) FROM ${latestRows(db, sig.via.resource, getResource(sig.via.resource).key)}
              WHERE _deleted = 0 AND ${quoteIdent(sig.via.match)} IN (${written})`;
    });
    signalled = signals.length ? signals.join(' UNION DISTINCT ') : 'SELECT toUInt64(0) WHERE 0';
    changed = recheck ? `AND (id IN (${signalled}) OR id IN (${recheck}))` : `AND id IN (${signalled})`;
  }
  const res = await client.query({
    query: `SELECT id, ${recheck ? `id NOT IN (${signalled})` : '0'} AS rechecked FROM ${latestRows(db, parent.name, parent.key)}
            WHERE _deleted = 0 AND id > {after:UInt64} ${changed}
            ORDER BY id LIMIT {limit:UInt32}`,
    query_params: { account: accountId, after: afterId, limit, sync: changedIn ?? '', ...recheckParams },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await res.json<{ id: number; rechecked: number | boolean }>();
  return { ids: rows.map((r) => Number(r.id)), rechecked: rows.filter((r) => Number(r.rechecked) === 1 || r.rechecked === true).length };
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
    token_user_id: run.token?.userId ?? null,
    token_access_roles: run.token?.accessRoles ?? [],
    _synced_at: clickhouseDateTime64(new Date()),
  };
  await insertWithToken(client, tableRef(db, RUNS_TABLE), [row], uniqueToken(`${run.runId}:run:${run.status}`));
}
