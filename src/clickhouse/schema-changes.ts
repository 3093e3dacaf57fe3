// `_schema_changes`: schema changes made at start-up, recorded before they begin and once
// they finished, so what a crash or a failure left half done is found and finished by the
// next start. Newest state per (table, change) under FINAL.
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';

export const SCHEMA_CHANGES_TABLE = '_schema_changes';

const q = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;
const ref = (db: string): string => `${q(db)}.${q(SCHEMA_CHANGES_TABLE)}`;

export function createSchemaChangesTableSQL(db: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${ref(db)} (`,
    '  table String,',
    '  change String,',
    '  state LowCardinality(String),',
    '  detail String,',
    "  at DateTime64(3, 'UTC')",
    ')',
    'ENGINE = ReplacingMergeTree(at)',
    'ORDER BY (table, change)',
  ].join('\n');
}

export interface SchemaChange {
  table: string;
  change: string;
  state: string;
  detail: string;
  /** ISO time of the record. */
  at: string;
}

export async function recordChange(client: ClickHouseClient, db: string, table: string, change: string, state: string, detail = ''): Promise<void> {
  await client.insert({
    table: ref(db),
    values: [{ table, change, state, detail, at: new Date().toISOString().replace('T', ' ').replace('Z', '') }],
    format: 'JSONEachRow',
    // Its own token: the embedded engine's session would otherwise lend it the previous insert's.
    clickhouse_settings: { insert_deduplication_token: `schema:${table}:${change}:${state}:${randomBytes(8).toString('hex')}`, async_insert: 0 },
  });
}

/** The newest state of every change recorded (optionally only those in `state`). */
export async function schemaChanges(client: ClickHouseClient, db: string, state?: string): Promise<SchemaChange[]> {
  const res = await client.query({
    query: `SELECT table, change, state, detail, formatDateTime(at, '%Y-%m-%dT%H:%i:%S.%fZ') AS at FROM ${ref(db)} FINAL${state ? ' WHERE state = {state:String}' : ''}`,
    query_params: state ? { state } : {},
    format: 'JSONEachRow',
  });
  return (await res.json<SchemaChange>()).map((c) => ({ ...c, at: new Date(c.at.replace(/(\.\d{3})\d*Z$/, '$1Z')).toISOString() }));
}
