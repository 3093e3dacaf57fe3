// The store as the rest of harvest-sync sees it: statements with bound parameters, and the
// encoded rows of an insert. Two implementations: the embedded engine (embedded.ts) and a
// server over HTTP (server.ts); connect.ts picks one. Every failure leaves a store as a
// ClickHouseStoreError (errors.ts): classified outage or mistake, naming the table, never
// holding credentials.

/** Settings of one statement (ClickHouse's names). */
export type StoreSettings = Readonly<Record<string, string | number>>;

/** Values bound to `{name:Type}` placeholders. */
export type StoreParams = Readonly<Record<string, unknown>>;

/** A table, by its unquoted names (quoted where a statement needs it). */
export interface TableName {
  database: string;
  table: string;
}

/** An insert's settings: every insert names its own dedup token (see store.ts, insertEncoded). */
export interface InsertSettings extends StoreSettings {
  insert_deduplication_token: string;
}

/** Output formats whose text `queryText` returns as it is (the `sql` command). */
export type TextFormat = 'JSONEachRow' | 'TabSeparatedWithNames';

export interface ClickHouseStore {
  /** The configured database (callers name the database of each statement themselves). */
  readonly database: string;
  /** The embedded engine: its directory is this process's alone. */
  readonly embedded: boolean;
  /** Where the store is, for messages: the server's URL (no credentials) or the embedded directory. */
  readonly where: string;
  /**
   * Rows already encoded as JSONCompactEachRow, one line each, `columns` in order: the
   * same bytes reach the engine on either implementation.
   */
  insertEncoded(table: TableName, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void>;
  /** The rows of a SELECT, each as one JSON object (JSONEachRow). */
  query<T>(sql: string, params?: StoreParams, settings?: StoreSettings): Promise<T[]>;
  /** The text of a SELECT in `format`. */
  queryText(sql: string, format: TextFormat, settings?: StoreSettings): Promise<string>;
  /** A statement without result rows (DDL, INSERT … SELECT, mutations). */
  command(sql: string, params?: StoreParams, settings?: StoreSettings): Promise<void>;
  close(): Promise<void>;
}
