// The store on a ClickHouse server, through @clickhouse/client over HTTP. (The embedded
// store, embedded.ts, runs its statements through the same client over chdb's connection.)
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { ClickHouseConfig } from '../config';
import { classified, tableLabel, tableOfSql, type ClickHouseTarget } from './errors';
import type { ClickHouseStore, InsertSettings, StoreParams, StoreSettings, TableName, TextFormat } from './port';

/** Every statement of either store: DateTime text as Harvest and the rows write it. */
export const CLIENT_SETTINGS: ClickHouseSettings = { date_time_input_format: 'best_effort' };

export const quoteIdent = (ident: string): string => `\`${ident.replace(/`/g, '')}\``;

/** The statements of a store, through a @clickhouse/client client. */
export class ClientStore implements ClickHouseStore {
  readonly embedded: boolean = false;

  constructor(
    protected readonly client: ClickHouseClient,
    readonly database: string,
    protected readonly target: ClickHouseTarget,
    private readonly release: () => Promise<void> = () => client.close(),
  ) {}

  get where(): string {
    return this.target.where;
  }

  query<T>(sql: string, params: StoreParams = {}, settings: StoreSettings = {}): Promise<T[]> {
    return classified(this.target, 'query', tableOfSql('query', sql), async () => {
      const res = await this.client.query({ query: sql, query_params: { ...params }, format: 'JSONEachRow', clickhouse_settings: settings as ClickHouseSettings });
      return res.json<T>();
    });
  }

  queryText(sql: string, format: TextFormat, settings: StoreSettings = {}): Promise<string> {
    return classified(this.target, 'query', tableOfSql('query', sql), async () => {
      const res = await this.client.query({ query: sql, format, clickhouse_settings: settings as ClickHouseSettings });
      return res.text();
    });
  }

  command(sql: string, params: StoreParams = {}, settings: StoreSettings = {}): Promise<void> {
    return classified(this.target, 'command', tableOfSql('command', sql), async () => {
      await this.client.command({ query: sql, query_params: { ...params }, clickhouse_settings: settings as ClickHouseSettings });
    });
  }

  /**
   * The bytes as the request body of `INSERT … FORMAT JSONCompactEachRow`. (The client's
   * `insert` takes a byte stream only for CSV/TSV-like formats: for JSON ones it wants
   * row objects, which it would serialize again.)
   */
  insertEncoded(table: TableName, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void> {
    return classified(this.target, 'insert', tableLabel(table), async () => {
      const result = await this.client.exec({
        query: insertStatement(table, columns),
        values: Readable.from([body], { objectMode: false }),
        clickhouse_settings: settings as ClickHouseSettings,
      });
      result.stream.resume();
      await finished(result.stream).catch(() => undefined);
    });
  }

  close(): Promise<void> {
    return this.release();
  }
}

export function insertStatement(table: TableName, columns: readonly string[]): string {
  return `INSERT INTO ${quoteIdent(table.database)}.${quoteIdent(table.table)} (${columns.map(quoteIdent).join(', ')}) FORMAT JSONCompactEachRow`;
}

/**
 * A server's store. https:// URLs (ClickHouse Cloud: port 8443) use TLS with the system's
 * CAs, or with CLICKHOUSE_CA_CERT for a private CA. Credentials go in a header, never in
 * the URL, and never in a message.
 */
export function openServer(cfg: ClickHouseConfig & { url: string }): ClickHouseStore {
  const client = createClient({
    url: cfg.url,
    username: cfg.user,
    password: cfg.password,
    ...(cfg.caCert ? { tls: { ca_cert: cfg.caCert } } : {}),
    request_timeout: 120_000,
    clickhouse_settings: CLIENT_SETTINGS,
  });
  return new ClientStore(client, cfg.database, { where: cfg.url, user: cfg.user, password: cfg.password });
}
