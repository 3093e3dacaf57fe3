// DDL derived from the catalog. Valid on ClickHouse 24.8+ and the embedded 26.x engine.
import type { ClickHouseClient } from '@clickhouse/client';
import { tableKey, type ResourceSpec } from '../harvest/catalog';
import { columnDDLType } from './rows';

export const STATE_TABLE = '_sync_state';

const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
export const tableRef = (db: string, table: string): string => `${q(db)}.${q(table)}`;

/** (name, type) of every column of a resource table, in order. */
export function tableColumns(spec: ResourceSpec): Array<[string, string]> {
  const key = new Set(spec.key);
  const cols: Array<[string, string]> = [['account_id', 'UInt64']];
  if (spec.parent) cols.push([spec.parent.column, 'UInt64']);
  for (const c of spec.columns) cols.push([c.name, columnDDLType(c, key.has(c.name))]);
  cols.push(
    ['_raw', 'String'],
    ['_synced_at', "DateTime64(3, 'UTC')"],
    ['_deleted', 'UInt8'],
    ['_sync_id', 'String'],
  );
  return cols;
}

// ReplacingMergeTree keeps the newest observation per key (by _synced_at): retried and
// repeated pages collapse under FINAL. The dedup window lets the per-page insert token
// drop an exact retry before it is even stored.
export function createTableSQL(db: string, spec: ResourceSpec): string {
  const cols = tableColumns(spec).map(([n, t]) => `  ${q(n)} ${t}`).join(',\n');
  return [
    `CREATE TABLE IF NOT EXISTS ${tableRef(db, spec.name)} (\n${cols}\n)`,
    'ENGINE = ReplacingMergeTree(_synced_at)',
    `ORDER BY (${tableKey(spec).map(q).join(', ')})`,
    'SETTINGS non_replicated_deduplication_window = 10000',
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

/** Creates the database and tables; adds catalog columns a table lacks (new fields). */
export async function ensureSchema(client: ClickHouseClient, db: string, specs: readonly ResourceSpec[]): Promise<void> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${q(db)}` });
  await client.command({ query: createStateTableSQL(db) });
  for (const spec of specs) await client.command({ query: createTableSQL(db, spec) });
  const res = await client.query({
    query: 'SELECT table, name FROM system.columns WHERE database = {db:String}',
    query_params: { db },
    format: 'JSONEachRow',
  });
  const existing = new Set((await res.json<{ table: string; name: string }>()).map((r) => `${r.table}.${r.name}`));
  for (const spec of specs) {
    for (const [name, type] of tableColumns(spec)) {
      if (!existing.has(`${spec.name}.${name}`)) {
        await client.command({ query: `ALTER TABLE ${tableRef(db, spec.name)} ADD COLUMN IF NOT EXISTS ${q(name)} ${type}` });
      }
    }
  }
}
