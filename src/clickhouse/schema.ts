// DDL derived from the catalog. Valid on ClickHouse 24.8+ and the embedded 26.x engine.
import type { ClickHouseStore } from './port';
import { tablesOf, type ColumnSpec, type ResourceSpec, type TableDef } from '../catalog';
import { columnDDLType } from './rows';
import { createSchemaChangesTableSQL, recordChange, schemaChanges } from './schema-changes';
import { migrateToVersions, readColumns, VERSION_COLUMN, versionExpression } from './versions';

export const STATE_TABLE = '_sync_state';
export { SCHEMA_CHANGES_TABLE } from './schema-changes';
/** The run log: one row per sync of an account (newest version per run under FINAL). */
export const RUNS_TABLE = '_sync_runs';
/** When each still-open parent last had its child list asked (the re-check rotates through them). */
export const PARENT_CHECKS_TABLE = '_sync_parent_checks';
/** Each audit of a report window against the synced entries (the newest per window counts). */
export const AUDIT_TABLE = '_sync_audit';
/** Report windows whose entries changed, when and by which sync that was noted (a report re-reads those noted since its cursor). */
export const REPORT_WINDOWS_TABLE = '_sync_report_windows';

const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
export const tableRef = (db: string, table: string): string => `${q(db)}.${q(table)}`;

/** (name, type) of every column of a table, in order. */
export function tableColumns(table: TableDef): Array<[string, string]> {
  const key = new Set(table.key);
  const cols: Array<[string, string]> = [['account_id', 'UInt64']];
  for (const p of table.parentColumns) cols.push([p, 'UInt64']);
  const own = table.columns.filter((c: ColumnSpec) => !table.parentColumns.includes(c.name));
  for (const c of own) cols.push([c.name, columnDDLType(c, key.has(c.name))]);
  if (table.versionColumn === '_parent_updated_at') cols.push(['_parent_updated_at', "Nullable(DateTime('UTC'))"]);
  cols.push(
    ['_raw', 'String'],
    ['_synced_at', "DateTime64(3, 'UTC')"],
    ['_deleted', 'UInt8'],
    ['_sync_id', 'String'],
  );
  return cols;
}

/**
 * Every merge of a synced table is vertical: the key columns are merged first, then each
 * other column alone. A horizontal merge reads all ~40 columns of every part at once
 * (with `_raw`): 250-560 MB of the embedded engine's memory per merge at 1M time
 * entries, against ~50 MB vertical (bench/merge-memory-bench.ts). Both are MergeTree
 * settings of ClickHouse 24.8.
 */
export const DATA_TABLE_SETTINGS: ReadonlyArray<[string, number]> = [
  ['vertical_merge_algorithm_min_rows_to_activate', 1],
  ['vertical_merge_algorithm_min_columns_to_activate', 1],
];

// ReplacingMergeTree keeps the newest version per key (by `_version`, see versions.ts):
// retried and repeated pages collapse under FINAL. The dedup window lets the per-page
// insert token drop an exact retry before it is even stored.
export function createTableSQL(db: string, table: TableDef, name = table.name): string {
  const cols = [...tableColumns(table).map(([n, t]) => `  ${q(n)} ${t}`), `  ${q(VERSION_COLUMN)} UInt128 MATERIALIZED ${versionExpression(table)}`].join(',\n');
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, name)} (\n${cols}\n)`,
    `ENGINE = ReplacingMergeTree(${VERSION_COLUMN})`,
    `ORDER BY (${['account_id', ...table.key].map(q).join(', ')})`,
    `SETTINGS non_replicated_deduplication_window = 10000, ${DATA_TABLE_SETTINGS.map(([k, v]) => `${k} = ${v}`).join(', ')}`,
  ].join('\n');
}

export function createStateTableSQL(db: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, STATE_TABLE)} (`,
    '  account_id UInt64,',
    '  resource String,',
    "  cursor DateTime64(3, 'UTC'),",
    '  sync_id String,',
    "  committed_at DateTime64(3, 'UTC')",
    ')',
    'ENGINE = ReplacingMergeTree(committed_at)',
    'ORDER BY (account_id, resource)',
  ].join('\n');
}

export function createParentChecksTableSQL(db: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, PARENT_CHECKS_TABLE)} (`,
    '  account_id UInt64,',
    '  resource String,',
    '  parent_id UInt64,',
    "  checked_at DateTime64(3, 'UTC'),",
    '  sync_id String',
    ')',
    'ENGINE = ReplacingMergeTree(checked_at)',
    'ORDER BY (account_id, resource, parent_id)',
  ].join('\n');
}

export function createReportWindowsTableSQL(db: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, REPORT_WINDOWS_TABLE)} (`,
    '  account_id UInt64,',
    '  window_from Date,',
    '  window_to Date,',
    "  noted_at DateTime64(3, 'UTC'),",
    '  sync_id String',
    ')',
    // Every note is kept (a few rows a run): which sync noted a window matters.
    'ENGINE = MergeTree',
    'ORDER BY (account_id, noted_at)',
  ].join('\n');
}

export function createAuditTableSQL(db: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, AUDIT_TABLE)} (`,
    '  account_id UInt64,',
    '  report LowCardinality(String),',
    '  window_from Date,',
    '  window_to Date,',
    "  checked_at DateTime64(3, 'UTC'),",
    '  sync_id String,',
    '  projects UInt32,',
    '  disagreeing Array(UInt64),',
    '  report_values Array(Float64),',
    '  entry_values Array(Float64),',
    '  streak UInt32',
    ')',
    'ENGINE = MergeTree',
    'ORDER BY (account_id, report, window_from, checked_at)',
  ].join('\n');
}

const BACKFILL = 'backfill ';

/**
 * Fills a catalog column from `_raw` in every row. Idempotent (the value is a function of
 * `_raw`), so redoing it after a failure is safe. A mutation of the same column an earlier
 * attempt left failing is killed first: a failing mutation blocks every later one.
 */
async function backfillColumn(store: ClickHouseStore, db: string, table: string, spec: ColumnSpec): Promise<void> {
  const stuck = await store.query<{ mutation_id: string }>(
    `SELECT mutation_id FROM system.mutations
            WHERE database = {db:String} AND table = {table:String} AND is_done = 0 AND latest_fail_reason != '' AND position(command, {col:String}) > 0`,
    { db, table, col: q(spec.name) },
  );
  for (const { mutation_id } of stuck) {
    await store.command('KILL MUTATION WHERE database = {db:String} AND table = {table:String} AND mutation_id = {id:String}', { db, table, id: mutation_id });
  }
  await store.command(`ALTER TABLE ${tableRef(db, table)} UPDATE ${q(spec.name)} = ${extractFromRaw(spec)} WHERE 1`, {}, { mutations_sync: '2' });
}

/** Columns the run log gained after its first release: added to existing tables at start. */
const RUNS_ADDED_COLUMNS: Array<[string, string]> = [
  // Whose token ran the sync (`/users/me`), and its access roles.
  ['token_user_id', 'Nullable(UInt64)'],
  ['token_access_roles', 'Array(String)'],
  // Resources whose full reconciliation completed in the run (the reference point of fullEvery).
  ['reconciled', 'Array(String)'],
];

/** Creates the run log, or adds the columns an older one lacks (NULL / empty for old runs). */
export async function ensureRunsTable(store: ClickHouseStore, db: string): Promise<void> {
  await store.command(createRunsTableSQL(db));
  for (const [name, type] of RUNS_ADDED_COLUMNS) {
    await store.command(`ALTER TABLE ${tableRef(db, RUNS_TABLE)} ADD COLUMN IF NOT EXISTS ${q(name)} ${type}`);
  }
}

export function createRunsTableSQL(db: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, RUNS_TABLE)} (`,
    '  account_id UInt64,',
    '  run_id String,',
    '  workflow_id String,',
    '  mode LowCardinality(String),',
    '  trigger LowCardinality(String),',
    '  schedule_id String,',
    "  started_at DateTime64(3, 'UTC'),",
    "  finished_at Nullable(DateTime64(3, 'UTC')),",
    '  status LowCardinality(String),',
    '  rows UInt64,',
    '  requests UInt64,',
    '  rate_limited UInt64,',
    '  errors UInt32,',
    '  error String,',
    '  resources Nested(name String, state String, rows UInt64, pages UInt64, requests UInt64, rate_limited UInt64, deleted UInt64, error String),',
    ...RUNS_ADDED_COLUMNS.map(([name, type]) => `  ${name} ${type},`),
    "  _synced_at DateTime64(3, 'UTC')",
    ')',
    'ENGINE = ReplacingMergeTree(_synced_at)',
    'ORDER BY (account_id, run_id)',
  ].join('\n');
}

/**
 * Creates the database and tables, and moves tables created before `_version` to it
 * (versions.ts; `soleWriter`: no other process writes them). A catalog column a table lacks (a field typed later)
 * is added and back-filled from `_raw`, so existing rows get it without a re-sync. The
 * back-fill is recorded as pending before the column is added and as done after: one that
 * failed or was cut short is redone at the next start. Returns the columns it added or
 * back-filled, as `table.column`.
 */
export async function ensureSchema(store: ClickHouseStore, db: string, specs: readonly ResourceSpec[], opts: { soleWriter?: boolean } = {}): Promise<string[]> {
  await store.command(`CREATE DATABASE IF NOT EXISTS ${q(db)}`);
  await store.command(createStateTableSQL(db));
  await store.command(createParentChecksTableSQL(db));
  await store.command(createReportWindowsTableSQL(db));
  await store.command(createAuditTableSQL(db));
  await store.command(createSchemaChangesTableSQL(db));
  await ensureRunsTable(store, db);
  const tables = specs.flatMap(tablesOf);
  for (const t of tables) await store.command(createTableSQL(db, t));
  const columns = await store.query<{ table: string; name: string }>('SELECT table, name FROM system.columns WHERE database = {db:String}', { db });
  const existing = new Set(columns.map((r) => `${r.table}.${r.name}`));
  // Tables created by an earlier release get the merge settings too (once: then they are in engine_full).
  const engines = await store.query<{ name: string; engine_full: string }>('SELECT name, engine_full FROM system.tables WHERE database = {db:String}', { db });
  const engineOf = new Map(engines.map((r) => [r.name, r.engine_full]));
  for (const t of tables) {
    const missing = DATA_TABLE_SETTINGS.filter(([k]) => !(engineOf.get(t.name) ?? '').includes(k));
    if (missing.length === 0) continue;
    await store.command(`ALTER TABLE ${tableRef(db, t.name)} MODIFY SETTING ${missing.map(([k, v]) => `${k} = ${v}`).join(', ')}`);
  }
  const added: string[] = [];
  const toFill: Array<{ table: string; spec: ColumnSpec }> = [];
  for (const t of tables) {
    const byName = new Map(t.columns.map((c) => [c.name, c]));
    for (const [name, type] of tableColumns(t)) {
      if (existing.has(`${t.name}.${name}`)) continue;
      const spec = byName.get(name);
      if (spec) await recordChange(store, db, t.name, BACKFILL + name, 'pending');
      await store.command(`ALTER TABLE ${tableRef(db, t.name)} ADD COLUMN IF NOT EXISTS ${q(name)} ${type}`);
      if (spec) toFill.push({ table: t.name, spec });
      added.push(`${t.name}.${name}`);
    }
  }
  // Every back-fill not recorded done: this start's, and those an earlier start left unfinished.
  for (const { table, change } of await schemaChanges(store, db, 'pending')) {
    if (!change.startsWith(BACKFILL) || toFill.some((f) => f.table === table && f.spec.name === change.slice(BACKFILL.length))) continue;
    const spec = tables.find((t) => t.name === table)?.columns.find((c) => c.name === change.slice(BACKFILL.length));
    // A column the catalog no longer has stays pending until a release that has it again.
    if (spec && existing.has(`${table}.${spec.name}`)) {
      toFill.push({ table, spec });
      added.push(`${table}.${spec.name}`);
    }
  }
  for (const { table, spec } of toFill) {
    await backfillColumn(store, db, table, spec);
    await recordChange(store, db, table, BACKFILL + spec.name, 'done');
  }
  // Tables created before `_version` move to it (their columns complete first: the copy takes them all).
  await migrateToVersions(store, db, tables, await readColumns(store, db), { soleWriter: opts.soleWriter ?? false, createSQL: (t, name) => createTableSQL(db, t, name) });
  return added;
}

/** SQL reading a catalog column's value out of `_raw`, typed as the column (NULL when absent or mistyped). */
export function extractFromRaw(c: ColumnSpec): string {
  const path = (c.from ?? c.name) === '$' ? '' : (c.from ?? c.name).split('.').map((p) => `, '${p.replace(/[^A-Za-z0-9_]/g, '')}'`).join('');
  const raw = path ? `JSONExtractRaw(_raw${path})` : '_raw';
  switch (c.type) {
    case 'UInt64':
    case 'Int64':
    case 'Float64':
    case 'Bool':
      return `JSONExtract(${raw}, 'Nullable(${c.type})')`;
    case 'String':
      return `if(JSONType(${raw}) = 'String', JSONExtractString(${raw}), if(JSONType(${raw}) IN ('Int64', 'UInt64', 'Double', 'Bool'), ${raw}, NULL))`;
    case 'Date':
      return `toDateOrNull(JSONExtractString(${raw}))`;
    case 'DateTime':
      return `parseDateTimeBestEffortOrNull(JSONExtractString(${raw}), 'UTC')`;
    case 'Array(String)':
      return `JSONExtract(${raw}, 'Array(String)')`;
  }
}
