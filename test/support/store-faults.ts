// Faults injected into a ClickHouse store from outside: a store that wraps a real one and
// runs a hook ahead of every call (to fail it, or to act at that moment).
import { describeClickHouseError, tableLabel, tableOfSql } from '../../src/clickhouse/errors';
import type { ClickHouseStore, InsertSettings, StoreParams, StoreSettings, TableName, TextFormat } from '../../src/clickhouse/port';

/** A call a store is about to make. `table`: `db.table`, as errors name it. */
export type StoreCall =
  | { op: 'query' | 'command'; sql: string; table: string | undefined }
  | { op: 'insert'; table: string; columns: readonly string[]; body: Buffer };

/**
 * `store`, with `before` run ahead of each call. What `before` throws fails the call as
 * an error of the engine would: classified by its code (a socket error or TOO_MANY_PARTS
 * retries, UNKNOWN_TABLE fails at once) and naming the table.
 */
export function intercepted(store: ClickHouseStore, before: (call: StoreCall) => void | Promise<void>): ClickHouseStore {
  const ahead = async (call: StoreCall): Promise<void> => {
    try {
      await before(call);
    } catch (err) {
      throw describeClickHouseError(err, call.op, call.table, { where: store.where });
    }
  };
  return {
    database: store.database,
    embedded: store.embedded,
    where: store.where,
    async insertEncoded(table: TableName, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void> {
      await ahead({ op: 'insert', table: tableLabel(table), columns, body });
      return store.insertEncoded(table, columns, body, settings);
    },
    async query<T>(sql: string, params?: StoreParams, settings?: StoreSettings): Promise<T[]> {
      await ahead({ op: 'query', sql, table: tableOfSql('query', sql) });
      return store.query<T>(sql, params, settings);
    },
    async queryText(sql: string, format: TextFormat, settings?: StoreSettings): Promise<string> {
      await ahead({ op: 'query', sql, table: tableOfSql('query', sql) });
      return store.queryText(sql, format, settings);
    },
    async command(sql: string, params?: StoreParams, settings?: StoreSettings): Promise<void> {
      await ahead({ op: 'command', sql, table: tableOfSql('command', sql) });
      return store.command(sql, params, settings);
    },
    close: () => store.close(),
  };
}

/** The rows of an insert, as objects by column. */
export function insertedRows(call: Extract<StoreCall, { op: 'insert' }>): Array<Record<string, unknown>> {
  return call.body
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Object.fromEntries((JSON.parse(line) as unknown[]).map((v, i) => [call.columns[i], v])));
}
