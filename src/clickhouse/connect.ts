// One ClickHouse client per process: a server when CLICKHOUSE_URL is set, otherwise the
// embedded engine (chdb). The embedded engine locks its data directory, so exactly one
// process (the worker) may own it; a second one gets a clear message instead of a crash.
import * as fs from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConfig } from '../config';

/**
 * An insert of rows already encoded as JSONCompactEachRow (`columns` in order), for the
 * page path: the embedded engine takes the bytes as they are (no SQL statement built
 * around them). Reached through the client as `client[ENCODED_INSERT]` when present, so
 * `withErrorKinds` classifies its failures like any insert. chdb takes only plain
 * identifiers ([A-Za-z0-9_], dot between database and table): callers check.
 */
export const ENCODED_INSERT = Symbol.for('harvest-sync.encoded-insert');
export interface EncodedInsert {
  /** `db.table`, unquoted. */
  table: string;
  columns: readonly string[];
  body: Buffer;
  settings: Record<string, string | number>;
}
export type EncodedInserter = (params: EncodedInsert) => Promise<void>;

let embedded: { path: string; client: ClickHouseClient; refs: number } | undefined;
/** Embedded engine sessions for page inserts, beside the one of the client's queries. */
const PAGE_SESSIONS = 2;

export class ClickHouseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClickHouseUnavailableError';
  }
}

export interface ClickHouseHandle {
  client: ClickHouseClient;
  database: string;
  embedded: boolean;
  close(): Promise<void>;
}

export function openClickHouse(cfg: ClickHouseConfig): ClickHouseHandle {
  if (cfg.url) {
    // https:// URLs (ClickHouse Cloud: port 8443) use TLS with the system's CAs, or with
    // CLICKHOUSE_CA_CERT for a private CA. Credentials go in a header, never in the URL.
    const client = createClient({
      url: cfg.url,
      username: cfg.user,
      password: cfg.password,
      ...(cfg.caCert ? { tls: { ca_cert: cfg.caCert } } : {}),
      request_timeout: 120_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    return { client, database: cfg.database, embedded: false, close: () => client.close() };
  }
  if (embedded && embedded.path !== cfg.path) {
    throw new ClickHouseUnavailableError(
      `this process already uses the embedded ClickHouse at ${embedded.path}; it cannot also open ${cfg.path}`,
    );
  }
  if (!embedded) {
    fs.mkdirSync(cfg.path, { recursive: true });
    // Loaded lazily: server mode never needs the native engine.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createChdbConnection } = require('chdb/connection') as typeof import('chdb/connection');
    let connection;
    try {
      connection = createChdbConnection({ path: cfg.path });
    } catch (err) {
      const text = String((err as { cause?: Error }).cause?.message ?? (err as Error).message);
      const inUse = /lock|already running/i.test(text) || /Failed to create connection/.test(text);
      throw new ClickHouseUnavailableError(
        inUse
          ? `the embedded ClickHouse directory ${cfg.path} is in use by another process (a running harvest-sync worker?). ` +
            'Stop that process, read through it, or set CLICKHOUSE_PATH / CLICKHOUSE_URL.'
          : `cannot open the embedded ClickHouse at ${cfg.path}: ${text}`,
      );
    }
    // chdb bundles its own copy of client-common's types; the runtime contract is the same.
    type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
    const client = createClient({ connection: connection as unknown as ClientConnection, clickhouse_settings: { date_time_input_format: 'best_effort' } });
    // The engine runs one statement at a time per session, but sessions on one directory
    // share its tables and run side by side: pages are inserted through sessions of their
    // own, so an insert neither waits for the sync's queries nor for every other insert.
    const lanes = Array.from({ length: PAGE_SESSIONS }, () => createChdbConnection({ path: cfg.path }));
    const busy = lanes.map(() => 0);
    const inserter: EncodedInserter = async (p) => {
      const i = busy.indexOf(Math.min(...busy));
      busy[i]++;
      try {
        await lanes[i].chdb.rawInsert({ table: p.table, columns: p.columns, values: p.body, format: 'JSONCompactEachRow', settings: p.settings });
      } finally {
        busy[i]--;
      }
    };
    Object.defineProperty(client, ENCODED_INSERT, { value: inserter, configurable: true });
    const closeClient = client.close.bind(client);
    // The page sessions close with the client.
    Object.defineProperty(client, 'close', {
      value: async () => {
        await closeClient();
        for (const lane of lanes) await lane.close();
      },
      configurable: true,
    });
    embedded = { path: cfg.path, client, refs: 0 };
  }
  const shared = embedded;
  shared.refs++;
  let closed = false;
  return {
    client: shared.client,
    database: cfg.database,
    embedded: true,
    close: async () => {
      if (closed) return;
      closed = true;
      if (--shared.refs === 0 && embedded === shared) {
        embedded = undefined;
        await shared.client.close();
      }
    },
  };
}
