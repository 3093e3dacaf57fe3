// The store on the embedded engine (chdb). The engine locks its data directory, so exactly
// one process (the worker) may own it; a second one gets a clear message instead of a
// crash. In one process, every store on the directory shares one engine.
import * as fs from 'node:fs';
import { createClient } from '@clickhouse/client';
import type { ChdbConnection } from 'chdb/connection';
import type { ClickHouseConfig } from '../config';
import { classified, tableLabel } from './errors';
import type { ClickHouseStore, InsertSettings, TableName } from './port';
import { CLIENT_SETTINGS, ClientStore } from './server';

export class ClickHouseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClickHouseUnavailableError';
  }
}

/** Embedded engine sessions for page inserts, beside the one of the statements. */
const PAGE_SESSIONS = 2;

/**
 * The engine runs one statement at a time per session, but sessions on one directory
 * share its tables and run side by side: pages are inserted through sessions of their
 * own, so an insert neither waits for the sync's queries nor for every other insert.
 * Each takes the bytes as they are (no SQL statement built around them).
 */
class InsertSessions {
  private readonly busy: number[];

  constructor(private readonly sessions: readonly ChdbConnection[]) {
    this.busy = sessions.map(() => 0);
  }

  async insert(table: TableName, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void> {
    const i = this.busy.indexOf(Math.min(...this.busy));
    this.busy[i]++;
    try {
      await this.sessions[i].chdb.rawInsert({ table: `${table.database}.${table.table}`, columns, values: body, format: 'JSONCompactEachRow', settings });
    } finally {
      this.busy[i]--;
    }
  }

  async close(): Promise<void> {
    for (const s of this.sessions) await s.close();
  }
}

interface Engine {
  path: string;
  /** Statements, through @clickhouse/client over chdb's connection (one session). */
  client: ReturnType<typeof createClient>;
  inserts: InsertSessions;
  refs: number;
}
let engine: Engine | undefined;

/** chdb's raw insert takes only plain identifiers ([A-Za-z0-9_], a dot between database and table). */
const PLAIN_IDENT = /^[A-Za-z0-9_]+$/;

class EmbeddedStore extends ClientStore {
  override readonly embedded = true;

  constructor(
    private readonly engine: Engine,
    database: string,
  ) {
    super(engine.client, database, { where: `the embedded engine at ${engine.path}` }, releaseOnce(engine));
  }

  override insertEncoded(table: TableName, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void> {
    // Other names (a Nested column's `resources.name`) go as a statement, like a server's.
    if (![table.database, table.table, ...columns].every((id) => PLAIN_IDENT.test(id))) return super.insertEncoded(table, columns, body, settings);
    return classified(this.target, 'insert', tableLabel(table), () => this.engine.inserts.insert(table, columns, body, settings));
  }
}

export function openEmbedded(cfg: ClickHouseConfig): ClickHouseStore {
  if (engine && engine.path !== cfg.path) {
    throw new ClickHouseUnavailableError(`this process already uses the embedded ClickHouse at ${engine.path}; it cannot also open ${cfg.path}`);
  }
  engine ??= startEngine(cfg.path);
  engine.refs++;
  return new EmbeddedStore(engine, cfg.database);
}

function startEngine(path: string): Engine {
  fs.mkdirSync(path, { recursive: true });
  // Loaded lazily: server mode never needs the native engine.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createChdbConnection } = require('chdb/connection') as typeof import('chdb/connection');
  let connection;
  try {
    connection = createChdbConnection({ path });
  } catch (err) {
    const text = String((err as { cause?: Error }).cause?.message ?? (err as Error).message);
    const inUse = /lock|already running/i.test(text) || /Failed to create connection/.test(text);
    throw new ClickHouseUnavailableError(
      inUse
        ? `the embedded ClickHouse directory ${path} is in use by another process (a running harvest-sync worker?). ` +
          'Stop that process, read through it, or set CLICKHOUSE_PATH / CLICKHOUSE_URL.'
        : `cannot open the embedded ClickHouse at ${path}: ${text}`,
    );
  }
  // chdb bundles its own copy of client-common's types; the runtime contract is the same.
  type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const client = createClient({ connection: connection as unknown as ClientConnection, clickhouse_settings: CLIENT_SETTINGS });
  const inserts = new InsertSessions(Array.from({ length: PAGE_SESSIONS }, () => createChdbConnection({ path })));
  return { path, client, inserts, refs: 0 };
}

/** A store's release of the engine (a second close of the store does nothing); it closes with the last store on it. */
function releaseOnce(e: Engine): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--e.refs > 0 || engine !== e) return;
    engine = undefined;
    await e.client.close();
    await e.inserts.close();
  };
}
