// Reads and writes of synced data and sync state. Values are always bound as query
// parameters; identifiers come only from the catalog.
import { createHash } from 'node:crypto';
import type { ClickHouseStore } from './port';
import { getResource, type ResourceSpec } from '../catalog';
import type { BuiltTables, NestedTable, Row, RowTable } from './rows';
import { clickhouseDateTime64 } from './rows';
import { AUDIT_TABLE, PARENT_CHECKS_TABLE, REPORT_WINDOWS_TABLE, RUNS_TABLE, STATE_TABLE, tableRef } from './schema';
import { VERSION_COLUMN } from './versions';
import type { ParentChunk, SyncRunRecord } from '../core/types';
import type { RowScope } from '../core/token-scope';

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
 * and encoding that costs several times the writes.
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

/**
 * Every insert names its own dedup token. The embedded engine keeps settings for the
 * session, so an insert without one would inherit the previous insert's token and be
 * silently dropped as its duplicate.
 */
async function insertEncoded(store: ClickHouseStore, db: string, table: string, encoded: EncodedRows, token: string): Promise<void> {
  // `_raw` may be a JSON object (rows.ts): stored as its text.
  await store.insertEncoded({ database: db, table }, encoded.columns, encoded.body, { insert_deduplication_token: token, async_insert: 0, input_format_json_read_objects_as_strings: 1 });
}

/** One-off rows (state, run log, and tests' fixtures) under the token given: encoded like a page. */
export async function insertRowsWithToken(store: ClickHouseStore, db: string, table: string, rows: Row[], token: string): Promise<void> {
  if (rows.length === 0) return;
  await insertEncoded(store, db, table, encodeRows(rows), token);
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
export async function storePage(store: ClickHouseStore, db: string, spec: ResourceSpec, accountId: string, syncId: string, built: BuiltTables, pageHash?: string): Promise<void> {
  await storeEncodedPage(store, db, spec, accountId, syncId, encodePage(built, pageHash));
}

export async function storeEncodedPage(store: ClickHouseStore, db: string, spec: ResourceSpec, accountId: string, syncId: string, page: EncodedPage): Promise<void> {
  for (const n of page.nested) {
    if (n.rows) await insertEncoded(store, db, n.spec.name, n.rows, `${syncId}:${n.spec.name}:${n.rows.contentHash}`);
    // The parent column is part of every line's key: the same in all its versions. A line
    // gone from its parent's version is deleted as of that version (a late insert of an
    // older version of the parent cannot bring it back).
    const versions = n.parentVersions && new Map(n.parentIds.map((id, i) => [String(id), n.parentVersions![i]]));
    const asOfParent = versions && ((row: Row): Row => {
      const v = versions.get(String(row[n.spec.parentColumn]));
      return v === null || v === undefined ? row : { ...row, _parent_updated_at: v };
    });
    await tombstone(store, db, n.spec.name, n.spec.key, accountId, syncId, '_sync_id != {sync:String}', { parents: n.parentIds }, `${quoteIdent(n.spec.parentColumn)} IN {parents:Array(UInt64)}`, asOfParent);
  }
  if (page.rows) await insertEncoded(store, db, spec.name, page.rows, `${syncId}:${spec.name}:${page.rows.contentHash}`);
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
  store: ClickHouseStore,
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
  // 64-bit integers come back as strings: exact above 2^53, and inserted back as they are.
  const rows = await store.query<Row>(
    `SELECT * FROM ${tableRef(db, table)} WHERE account_id = {account:UInt64}${keyScope ? ` AND ${keyScope}` : ''}
            AND (${by}, ${VERSION_COLUMN}) IN (SELECT ${by}, ${VERSION_COLUMN} FROM ${latestRows(db, table, key, keyScope)} WHERE _deleted = 0 AND ${where})
            LIMIT 1 BY ${by}`,
    { account: accountId, sync: syncId, ...params },
    { output_format_json_quote_64bit_integers: 1 },
  );
  if (rows.length === 0) return 0;
  const meta = { _deleted: 1, _synced_at: clickhouseDateTime64(new Date()), _sync_id: syncId };
  // A repeated tombstone finds nothing left to mark, so a fresh token is safe.
  await insertEncoded(store, db, table, encodeRows(rows.map((r) => ({ ...(patch ? patch(r) : r), ...meta }))), uniqueToken(`${syncId}:${table}:deleted`));
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
  store: ClickHouseStore,
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
  const rows = await store.query<{ id: string; total: number }>(
    `SELECT toString(id) AS id, count() OVER () AS total FROM ${latestRows(db, spec.name, spec.key)}
            WHERE _deleted = 0 AND ${UNSEEN}${scoped.where} ORDER BY id LIMIT {limit:UInt32}`,
    { account: accountId, sync: syncId, before: syncStartedAt, limit, ...scoped.params },
    { output_format_json_quote_64bit_integers: 0 },
  );
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
  store: ClickHouseStore,
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
  const marked = await tombstone(store, db, spec.name, spec.key, accountId, syncId, where, { before: syncStartedAt, ...(onlyIds ? { ids: onlyIds } : {}), ...scoped.params }, idScope);
  for (const n of spec.nested ?? []) {
    const parentCol = n.parentKey[n.parentColumn];
    await tombstone(
      store,
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

/** Whether the newest stored version of record `id` is one a token with `scope` sees (its user's, or a managed project's). */
export async function storedWithinScope(store: ClickHouseStore, db: string, spec: ResourceSpec, accountId: string, id: string, scope: RowScope): Promise<boolean> {
  const scoped = scopeCondition(scope);
  const [{ n }] = await store.query<{ n: number | string }>(
    `SELECT count() AS n FROM ${latestRows(db, spec.name, spec.key, 'toString(id) = {id:String}')} WHERE 1${scoped.where}`,
    { account: accountId, id, ...scoped.params },
  );
  return Number(n) > 0;
}

function scopeCondition(scope: RowScope): { where: string; params: Record<string, unknown> } {
  const parts = [`${quoteIdent(scope.userColumn)} IN {scope_users:Array(UInt64)}`];
  if (scope.projectColumn && scope.projectIds?.length) parts.push(`${quoteIdent(scope.projectColumn)} IN {scope_projects:Array(UInt64)}`);
  return { where: ` AND (${parts.join(' OR ')})`, params: { scope_users: scope.userIds, scope_projects: scope.projectIds ?? [] } };
}

/**
 * Marks the rows of a report window that sync `syncId` did not write (the report no longer
 * has them); with `projectIds`, only rows of those projects (the rest were not read whole).
 */
export async function replaceReportWindow(
  store: ClickHouseStore,
  db: string,
  spec: ResourceSpec,
  accountId: string,
  syncId: string,
  window: { from: string; to: string },
  syncStartedAt: string,
  projectIds?: readonly number[],
): Promise<number> {
  const inWindow = 'window_from = {from:Date} AND window_to = {to:Date}';
  const windowInKey = spec.key.includes('window_from') && spec.key.includes('window_to');
  if (projectIds && !spec.key.includes('project_id')) throw new Error(`${spec.name}: rows are not per project`);
  // project_id is part of the key: it narrows the versions compared too.
  const scope = [windowInKey ? inWindow : undefined, projectIds ? 'project_id IN {scope_projects:Array(UInt64)}' : undefined].filter(Boolean).join(' AND ');
  return tombstone(
    store,
    db,
    spec.name,
    spec.key,
    accountId,
    syncId,
    `${windowInKey ? '1' : inWindow} AND _sync_id != {sync:String} AND ${WRITTEN_BEFORE}`,
    { from: window.from, to: window.to, before: syncStartedAt, scope_projects: projectIds ?? [] },
    scope || undefined,
  );
}

const WRITTEN_BEFORE = "_synced_at < parseDateTime64BestEffort({before:String}, 3, 'UTC')";

/**
 * Spent dates of the account's time entries and expenses: with `writtenIn`, only of the
 * rows that sync wrote (changed entries); without, just the oldest one. Ascending.
 */
export async function entryDates(store: ClickHouseStore, db: string, accountId: string, writtenIn?: string): Promise<string[]> {
  const parts = ['time_entries', 'expenses'].map((t) =>
    writtenIn
      ? `SELECT DISTINCT spent_date AS d FROM ${tableRef(db, t)} WHERE account_id = {account:UInt64} AND _sync_id = {sync:String} AND spent_date IS NOT NULL`
      : `SELECT min(spent_date) AS d FROM ${tableRef(db, t)} WHERE account_id = {account:UInt64} AND spent_date IS NOT NULL HAVING count() > 0`,
  );
  const rows = await store.query<{ d: string }>(
    `SELECT DISTINCT toString(d) AS d FROM (${parts.join(' UNION ALL ')}) ORDER BY d ${writtenIn ? '' : 'LIMIT 1'}`,
    { account: accountId, sync: writtenIn ?? '' },
  );
  return rows.map((r) => r.d);
}

/**
 * Report windows go stale when their entries change: the spent dates of every version
 * (older ones and deleted ones included) of the time entries and expenses that have a
 * version written by sync `writtenBy`, or since `since` (ISO) by any sync but `notBy`. An
 * entry moved to another date names its old date too, as long as its older version is
 * still stored (merges drop it: noteReportWindows keeps the windows it named). Ascending.
 */
export async function staleEntryDates(store: ClickHouseStore, db: string, accountId: string, by: { writtenBy: string } | { since: string; notBy: string }): Promise<string[]> {
  const written = 'since' in by ? WRITTEN_SINCE : '_sync_id = {sync:String}';
  // Grouped by the table's own order (account_id, id), read in that order: memory stays
  // flat however many entries a sync wrote (a set of their ids: +321 MiB at 500,000,
  // `node --import tsx bench/converge-queries.ts`).
  const parts = ['time_entries', 'expenses'].map((t) =>
    `SELECT arrayJoin(groupUniqArrayIf(spent_date, spent_date IS NOT NULL)) AS d FROM ${tableRef(db, t)} WHERE account_id = {account:UInt64}
     GROUP BY account_id, id HAVING countIf(${written}) > 0`,
  );
  const rows = await store.query<{ d: string }>(
    `SELECT DISTINCT toString(d) AS d FROM (${parts.join(' UNION ALL ')}) ORDER BY d`,
    { account: accountId, ...('since' in by ? { since: by.since, sync: by.notBy } : { sync: by.writtenBy }) },
    { optimize_aggregation_in_order: 1 },
  );
  return rows.map((r) => r.d);
}

const WRITTEN_SINCE = "_synced_at >= parseDateTime64BestEffort({since:String}, 3, 'UTC') AND _sync_id != {sync:String}";

/** Remembers that sync `syncId` found these report windows stale. */
export async function noteReportWindows(store: ClickHouseStore, db: string, accountId: string, syncId: string, windows: ReadonlyArray<{ from: string; to: string }>): Promise<void> {
  if (windows.length === 0) return;
  const notedAt = clickhouseDateTime64(new Date());
  const rows = windows.map((w) => ({ account_id: accountId, window_from: w.from, window_to: w.to, noted_at: notedAt, sync_id: syncId }));
  await insertRowsWithToken(store, db, REPORT_WINDOWS_TABLE, rows, uniqueToken(`${syncId}:report-windows`));
}

/** Report windows noted stale since `since` (ISO) by any sync but `notBy`, oldest first. */
export async function notedReportWindows(store: ClickHouseStore, db: string, accountId: string, since: string, notBy: string): Promise<Array<{ from: string; to: string }>> {
  return store.query<{ from: string; to: string }>(
    `SELECT DISTINCT toString(window_from) AS from, toString(window_to) AS to FROM ${tableRef(db, REPORT_WINDOWS_TABLE)}
            WHERE account_id = {account:UInt64} AND noted_at >= parseDateTime64BestEffort({since:String}, 3, 'UTC') AND sync_id != {sync:String}
            ORDER BY from`,
    { account: accountId, since, sync: notBy },
  );
}

/**
 * Reports the sync audits itself against: Harvest's totals per project and window, and
 * the same sum over the synced entries. Time reports count `rounded_hours` (Harvest: the
 * hours "used in summary reports and invoices"); expense reports `total_cost`. A project
 * has one currency, so its rows are summed over currencies.
 */
export const AUDITED_REPORTS: ReadonlyArray<{ report: string; entries: string; reportValue: string; entryValue: string }> = [
  { report: 'report_time_projects', entries: 'time_entries', reportValue: 'total_hours', entryValue: 'rounded_hours' },
  { report: 'report_expenses_projects', entries: 'expenses', reportValue: 'total_amount', entryValue: 'total_cost' },
];

export interface WindowAudit {
  report: string;
  from: string;
  to: string;
  /** Projects compared, and those whose totals differ (report vs entries). */
  projects: number;
  disagreeing: Array<{ projectId: number; report: number; entries: number }>;
  /** Audits of this window in a row that disagreed, this one included (0: it agrees). */
  streak: number;
}

/**
 * After report window `window` of `report` was read and replaced: compares its per-project
 * totals with the live synced entries dated in the window (to the hundredth) and records
 * the result in `_sync_audit`. Repeatable within a sync (its own earlier audit is not
 * counted in the streak). Undefined for a report that is not audited.
 */
export async function auditReportWindow(store: ClickHouseStore, db: string, accountId: string, report: string, window: { from: string; to: string }, syncId: string): Promise<WindowAudit | undefined> {
  const audited = AUDITED_REPORTS.find((a) => a.report === report);
  if (!audited) return undefined;
  const reportSpec = getResource(audited.report);
  const inWindow = 'window_from = {from:Date} AND window_to = {to:Date}';
  const dated = 'spent_date >= {from:Date} AND spent_date <= {to:Date}';
  // The entries' newest versions by FINAL (its WHERE applies after the merge, to each key's
  // newest version): it merges sorted parts as it reads them. A window of 500,000 entries:
  // 58 ms and +2 MiB, where picking the newest versions by sorting took 485 ms and +311 MiB
  // (`node --import tsx bench/converge-queries.ts --time-entries 1000000`).
  const rows = await store.query<{ project_id: number; rep: number; ent: number }>(
    `SELECT project_id, round(sum(r), 2) AS rep, round(sum(e), 2) AS ent FROM (
              SELECT project_id, coalesce(${quoteIdent(audited.reportValue)}, 0) AS r, 0 AS e FROM ${latestRows(db, audited.report, reportSpec.key, inWindow)} WHERE _deleted = 0
              UNION ALL
              SELECT coalesce(project_id, 0) AS project_id, 0 AS r, coalesce(${quoteIdent(audited.entryValue)}, 0) AS e
              FROM ${tableRef(db, audited.entries)} FINAL WHERE account_id = {account:UInt64} AND _deleted = 0 AND ${dated}
            ) GROUP BY project_id ORDER BY project_id`,
    { account: accountId, from: window.from, to: window.to },
    { output_format_json_quote_64bit_integers: 0 },
  );
  const disagreeing = rows.filter((x) => Math.abs(Number(x.rep) - Number(x.ent)) >= 0.005).map((x) => ({ projectId: Number(x.project_id), report: Number(x.rep), entries: Number(x.ent) }));
  const [{ prior: before }] = await store.query<{ prior: number }>(
    `SELECT argMax(streak, checked_at) AS prior FROM ${tableRef(db, AUDIT_TABLE)}
            WHERE account_id = {account:UInt64} AND report = {report:String} AND ${inWindow} AND sync_id != {sync:String}`,
    { account: accountId, report, from: window.from, to: window.to, sync: syncId },
  );
  const audit: WindowAudit = { report, from: window.from, to: window.to, projects: rows.length, disagreeing, streak: disagreeing.length ? Number(before ?? 0) + 1 : 0 };
  await insertRowsWithToken(store, db, AUDIT_TABLE, [{
    account_id: accountId, report, window_from: window.from, window_to: window.to, checked_at: clickhouseDateTime64(new Date()), sync_id: syncId,
    projects: audit.projects, disagreeing: disagreeing.map((d) => d.projectId), report_values: disagreeing.map((d) => d.report), entry_values: disagreeing.map((d) => d.entries), streak: audit.streak,
  }], uniqueToken(`${syncId}:audit`));
  return audit;
}

/** The newest audit of every window of the account whose report and entries disagree, oldest window first. */
export async function disagreeingWindows(store: ClickHouseStore, db: string, accountId: string, syncId?: string): Promise<WindowAudit[]> {
  const rows = await store.query<{ report: string; from: string; to: string; compared: number; ids: number[]; rv: number[]; ev: number[]; last_streak: number }>(
    `SELECT report, toString(window_from) AS from, toString(window_to) AS to, argMax(projects, checked_at) AS compared,
                   argMax(disagreeing, checked_at) AS ids, argMax(report_values, checked_at) AS rv, argMax(entry_values, checked_at) AS ev,
                   argMax(streak, checked_at) AS last_streak, argMax(sync_id, checked_at) AS last_sync
            FROM ${tableRef(db, AUDIT_TABLE)} WHERE account_id = {account:UInt64}
            GROUP BY report, window_from, window_to HAVING last_streak > 0 ${syncId !== undefined ? 'AND last_sync = {sync:String}' : ''}
            ORDER BY window_from, report`,
    { account: accountId, sync: syncId ?? '' },
    { output_format_json_quote_64bit_integers: 0 },
  );
  return rows.map((r) => ({
    report: r.report, from: r.from, to: r.to, projects: Number(r.compared), streak: Number(r.last_streak),
    disagreeing: r.ids.map((id, i) => ({ projectId: Number(id), report: Number(r.rv[i]), entries: Number(r.ev[i]) })),
  }));
}

export interface CommittedCursor {
  resource: string;
  cursor: string;
  /** The sync that committed it. */
  syncId: string;
}

export async function readCursors(store: ClickHouseStore, db: string, accountId: string): Promise<CommittedCursor[]> {
  const rows = await store.query<{ resource: string; cursor: string; sync_id: string }>(
    `SELECT resource, formatDateTime(cursor, '%Y-%m-%dT%H:%i:%S.%fZ') AS cursor, sync_id
            FROM ${tableRef(db, STATE_TABLE)} FINAL WHERE account_id = {account:UInt64}`,
    { account: accountId },
  );
  // %f prints microseconds; normalise to ISO milliseconds.
  return rows.map((r) => ({ resource: r.resource, cursor: new Date(r.cursor.replace(/(\.\d{3})\d*Z$/, '$1Z')).toISOString(), syncId: r.sync_id }));
}

export async function writeCursor(store: ClickHouseStore, db: string, accountId: string, resource: string, cursor: string, syncId: string): Promise<void> {
  const row = { account_id: accountId, resource, cursor: clickhouseDateTime64(new Date(cursor)), sync_id: syncId, committed_at: clickhouseDateTime64(new Date()) };
  await insertRowsWithToken(store, db, STATE_TABLE, [row], uniqueToken(`${syncId}:cursor:${resource}`));
}

/**
 * A chunk of live parent ids of fan-out resource `child` after `afterId`, ascending
 * (keyset paging). With `changedIn`, only parents its change signals name for that sync,
 * and the still-open parents it asks again (`recheck`).
 */
export async function parentIds(store: ClickHouseStore, db: string, accountId: string, child: ResourceSpec, afterId: number, limit: number, changedIn?: string): Promise<ParentChunk> {
  const parent = parentOf(child);
  const asked = changedIn !== undefined ? askedParents(db, child, parent) : undefined;
  const rows = await store.query<{ id: number; rechecked: number | boolean }>(
    `SELECT id, ${asked?.recheck ? `id NOT IN (${asked.signalled})` : '0'} AS rechecked FROM ${latestRows(db, parent.name, parent.key)}
            WHERE _deleted = 0 AND id > {after:UInt64} ${asked ? `AND ${asked.where}` : ''}
            ORDER BY id LIMIT {limit:UInt32}`,
    { account: accountId, after: afterId, limit, sync: changedIn ?? '', child: child.name, ...asked?.params },
    { output_format_json_quote_64bit_integers: 0 },
  );
  return { ids: rows.map((r) => Number(r.id)), rechecked: rows.filter((r) => Number(r.rechecked) === 1 || r.rechecked === true).length };
}

/**
 * After fan-out `child` read its parents in sync `syncId`: remembers when each still-open
 * parent it asked (every one unless `changedOnly`) was last asked, so the re-check of open
 * parents rotates through all of them, the longest unasked first. Repeatable: the parents
 * asked are computed without this sync's own checks.
 */
export async function recordParentChecks(store: ClickHouseStore, db: string, accountId: string, child: ResourceSpec, syncId: string, changedOnly: boolean): Promise<void> {
  if (!child.recheck) return;
  const parent = parentOf(child);
  const asked = changedOnly ? askedParents(db, child, parent) : undefined;
  const open = openCondition(child.recheck);
  await store.command(
    `INSERT INTO ${tableRef(db, PARENT_CHECKS_TABLE)} (account_id, resource, parent_id, checked_at, sync_id)
     SELECT {account:UInt64}, {child:String}, id, now64(3, 'UTC'), {sync:String} FROM ${latestRows(db, parent.name, parent.key)}
     WHERE _deleted = 0 AND ${open.where} ${asked ? `AND ${asked.where}` : ''}`,
    { account: accountId, sync: syncId, child: child.name, ...open.params, ...asked?.params },
    { async_insert: 0 },
  );
}

function parentOf(child: ResourceSpec): ResourceSpec {
  if (!child.parent) throw new Error(`${child.name} has no parent`);
  return getResource(child.parent.resource);
}

function openCondition(recheck: NonNullable<ResourceSpec['recheck']>): { where: string; params: Record<string, unknown> } {
  const typed = recheck.values.every((v) => typeof v === 'boolean') ? 'Array(Bool)' : 'Array(String)';
  return { where: `${quoteIdent(recheck.column)} IN {recheck_values:${typed}}`, params: { recheck_values: recheck.values } };
}

/**
 * The parents an incremental fan-out asks in sync {sync}: those its change signals name,
 * and up to the budget of still-open ones (`recheck`), the longest unasked first (never
 * asked before any), then the newest. Checks written by {sync} itself are left out, so
 * every chunk of the sync, and the record of its checks, sees the same set.
 */
function askedParents(db: string, child: ResourceSpec, parent: ResourceSpec): { where: string; signalled: string; recheck?: string; params: Record<string, unknown> } {
  const signals = (child.changeSignals ?? []).map((sig) => {
    const written = `SELECT toUInt64(${quoteIdent(sig.select)}) FROM ${tableRef(db, sig.resource)} WHERE account_id = {account:UInt64} AND _sync_id = {sync:String}`;
    if (!sig.via) return written;
    return `SELECT toUInt64(${quoteIdent(sig.via.select)}) FROM ${latestRows(db, sig.via.resource, getResource(sig.via.resource).key)}
            WHERE _deleted = 0 AND ${quoteIdent(sig.via.match)} IN (${written})`;
  });
  const signalled = signals.length ? signals.join(' UNION DISTINCT ') : 'SELECT toUInt64(0) WHERE 0';
  if (!child.recheck) return { where: `id IN (${signalled})`, signalled, params: {} };
  const open = openCondition(child.recheck);
  const recheck = `SELECT p.id FROM ${latestRows(db, parent.name, parent.key)} AS p
                   LEFT JOIN (SELECT parent_id, max(checked_at) AS last_checked FROM ${tableRef(db, PARENT_CHECKS_TABLE)}
                              WHERE account_id = {account:UInt64} AND resource = {child:String} AND sync_id != {sync:String}
                              GROUP BY parent_id) AS c ON p.id = c.parent_id
                   WHERE p._deleted = 0 AND p.${open.where}
                   ORDER BY c.last_checked ASC, p.updated_at DESC, p.id DESC LIMIT {recheck_budget:UInt32}`;
  return {
    where: `(id IN (${signalled}) OR id IN (${recheck}))`,
    signalled,
    recheck,
    params: { ...open.params, recheck_budget: child.recheck.budget },
  };
}

/**
 * One version of a run in `_sync_runs` (the newest per run wins under FINAL): written
 * when the run starts and again when it ends, with per-resource counts.
 */
export async function writeSyncRun(store: ClickHouseStore, db: string, run: SyncRunRecord): Promise<void> {
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
    reconciled: run.resources.filter((r) => r.reconciled).map((r) => r.resource),
    _synced_at: clickhouseDateTime64(new Date()),
  };
  await insertRowsWithToken(store, db, RUNS_TABLE, [row], uniqueToken(`${run.runId}:run:${run.status}`));
}

/** A date window of a dated resource read by page number, and when edits could first have disturbed it. */
export interface WindowCheck {
  id: number;
  from?: string;
  to?: string;
  since: string;
}

/**
 * The windows an edit may have disturbed while they were read: a record updated since the
 * window's `since` with a stored version dated in the window (before or after the edit).
 * Reads every stored version of the records updated since the earliest `since`: what the
 * sync just listed as changed. docs/listings.md says why that is enough for windows read
 * page after page.
 */
export async function disturbedWindows(store: ClickHouseStore, db: string, spec: ResourceSpec, accountId: string, windows: readonly WindowCheck[]): Promise<number[]> {
  if (windows.length === 0) return [];
  if (!spec.dateRange || spec.key.length !== 1 || spec.key[0] !== 'id') throw new Error(`${spec.name}: not a dated list keyed by id`);
  const earliest = windows.map((w) => w.since).sort()[0];
  const rows = await store.query<{ id: string; date: string; updated: number }>(
    `SELECT toString(id) AS id, toString(${quoteIdent(spec.dateRange)}) AS date,
                   toUnixTimestamp(updated_at) AS updated
            FROM ${tableRef(db, spec.name)}
            WHERE account_id = {account:UInt64} AND id IN (
              SELECT id FROM ${tableRef(db, spec.name)}
              WHERE account_id = {account:UInt64} AND updated_at >= parseDateTime64BestEffort({since:String}, 3, 'UTC'))`,
    { account: accountId, since: earliest },
  );
  const versions = new Map<string, Array<{ date: string; updated: number }>>();
  for (const r of rows) {
    let list = versions.get(r.id);
    if (!list) versions.set(r.id, (list = []));
    list.push({ date: r.date, updated: Number(r.updated) });
  }
  return windows
    .filter((w) => {
      const since = Date.parse(w.since) / 1000;
      const inWindow = (date: string): boolean => (w.from === undefined || date >= w.from) && (w.to === undefined || date <= w.to);
      for (const list of versions.values()) {
        if (!list.some((v) => v.updated >= since)) continue;
        if (list.some((v) => inWindow(v.date))) return true;
      }
      return false;
    })
    .map((w) => w.id);
}
