// `_schema_changes`: schema changes made at start-up, recorded before they begin and once
// they finished, so what a crash or a failure left half done is found and finished by the
// next start. Newest state per (table, change) under FINAL.
import { randomBytes } from 'node:crypto';
import type { ClickHouseStore } from './port';

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

export async function recordChange(store: ClickHouseStore, db: string, table: string, change: string, state: string, detail = ''): Promise<void> {
  const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await store.insertEncoded(
    { database: db, table: SCHEMA_CHANGES_TABLE },
    ['table', 'change', 'state', 'detail', 'at'],
    Buffer.from(`${JSON.stringify([table, change, state, detail, at])}\n`),
    // Its own token: the embedded engine's session would otherwise lend it the previous insert's.
    { insert_deduplication_token: `schema:${table}:${change}:${state}:${randomBytes(8).toString('hex')}`, async_insert: 0 },
  );
}

/** The newest state of every change recorded (optionally only those in `state`). */
export async function schemaChanges(store: ClickHouseStore, db: string, state?: string): Promise<SchemaChange[]> {
  const changes = await store.query<SchemaChange>(
    `SELECT table, change, state, detail, formatDateTime(at, '%Y-%m-%dT%H:%i:%S.%fZ') AS at FROM ${ref(db)} FINAL${state ? ' WHERE state = {state:String}' : ''}`,
    state ? { state } : {},
  );
  return changes.map((c) => ({ ...c, at: new Date(c.at.replace(/(\.\d{3})\d*Z$/, '$1Z')).toISOString() }));
}
