// Reads and writes of synced data and sync state. Values are always bound as query
// parameters; identifiers come only from the catalog.
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ResourceSpec } from '../harvest/catalog';
import type { Row } from './rows';
import { clickhouseDateTime64 } from './rows';
import { STATE_TABLE, tableRef } from './schema';

/**
 * Inserts one page. The dedup token is derived from the sync and the page's content, so
 * an activity retried after its insert landed stores nothing new, while a retry that
 * fetched different content (records changed meanwhile) is stored.
 */
export async function insertPage(client: ClickHouseClient, db: string, spec: ResourceSpec, syncId: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const hash = createHash('sha256');
  for (const r of rows) hash.update(String(r._raw)).update('\n');
  const token = `${syncId}:${spec.name}:${hash.digest('hex')}`;
  await client.insert({
    table: tableRef(db, spec.name),
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: token, async_insert: 0 },
  });
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
  await client.insert({
    table: tableRef(db, STATE_TABLE),
    values: [{
      account_id: accountId,
      resource,
      cursor: clickhouseDateTime64(new Date(cursor)),
      sync_id: syncId,
      committed_at: clickhouseDateTime64(new Date()),
    }],
    format: 'JSONEachRow',
  });
}

/** A chunk of live parent ids after `afterId`, ascending (keyset paging over the table). */
export async function parentIds(client: ClickHouseClient, db: string, accountId: string, parent: ResourceSpec, afterId: number, limit: number): Promise<number[]> {
  const res = await client.query({
    query: `SELECT id FROM ${tableRef(db, parent.name)} FINAL
            WHERE account_id = {account:UInt64} AND _deleted = 0 AND id > {after:UInt64}
            ORDER BY id LIMIT {limit:UInt32}`,
    query_params: { account: accountId, after: afterId, limit },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await res.json<{ id: number }>()).map((r) => Number(r.id));
}
