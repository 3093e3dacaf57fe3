// Shared real components for the test run: one Temporal dev server (the official CLI,
// started once per run), one workflow bundle, and one embedded ClickHouse directory
// (chdb allows one per process); every test gets its own database and task queue.
import * as fs from 'node:fs';
import { after } from 'node:test';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Runtime, DefaultLogger, type WorkflowBundle } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { loadConfig, type Config, type Env } from '../../src/config';
import { findTemporalCli } from '../../src/temporal/connection';
import { createSyncWorker } from '../../src/worker/worker';
import { createClient } from '@clickhouse/client';
import { openClickHouse } from '../../src/clickhouse/connect';
import type { ClickHouseStore } from '../../src/clickhouse/port';
import { CLIENT_SETTINGS, ClientStore } from '../../src/clickhouse/server';
import type { SyncInput, SyncSummary } from '../../src/core/types';
import type { FakeHarvest } from '../../fake-harvest/src';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

let envPromise: Promise<TestWorkflowEnvironment> | undefined;
let bundlePromise: Promise<WorkflowBundle> | undefined;
let clickhouse: ClickHouseStore | undefined;
let runtimeInstalled = false;
export const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-sync-test-'));
const CH_PATH = path.join(TMP, 'clickhouse');
let counter = 0;

function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // A test of the CLI's main() may have installed the process's runtime already.
  if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger((process.env.TEST_LOG_LEVEL as 'ERROR') ?? 'ERROR') });
}

export function temporalCli(): string {
  const cli = findTemporalCli({ namespace: 'default', taskQueue: 'x', cliPath: process.env.TEMPORAL_CLI_PATH });
  if (!cli) throw new Error('no temporal CLI found: run scripts/ensure-deps.sh (installs it into .venv) or set TEMPORAL_CLI_PATH');
  return cli;
}

export function temporalEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  envPromise ??= TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli() },
      ui: false,
      log: { format: 'pretty', level: 'error' },
      // A worker deployment version no pinned sync runs on any more shows as drained in seconds, not minutes.
      extraArgs: [
        '--dynamic-config-value', 'matching.wv.VersionDrainageStatusVisibilityGracePeriod="2s"',
        '--dynamic-config-value', 'matching.wv.VersionDrainageStatusRefreshInterval="1s"',
      ],
    },
  });
  return envPromise;
}

export function workflowBundle(): Promise<WorkflowBundle> {
  installRuntime();
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('WARN') });
  return bundlePromise;
}

/** The worker deployment of a test's task queue (its pacers' task queue derives from it). */
export const testDeployment = (taskQueue: string): string => `hs-${taskQueue}`;

/** A fresh database name and task queue for one test. */
export function unique(prefix: string): { database: string; taskQueue: string } {
  counter++;
  return { database: `t_${prefix}_${counter}`, taskQueue: `tq-${prefix}-${counter}-${Date.now()}` };
}

/** The test process's embedded ClickHouse (all tests share the directory, not the database). */
export function testClickHouse(): ClickHouseStore {
  clickhouse ??= openClickHouse({ path: CH_PATH, database: 'default' });
  return clickhouse;
}

/** Another store on the shared engine, whose configured database is `database` (close it). */
export function testStore(database: string): ClickHouseStore {
  return openClickHouse({ path: CH_PATH, database });
}

/**
 * The server's store (server.ts, @clickhouse/client) on the shared engine, through a
 * session of its own: what a ClickHouse server is sent, run by the embedded engine.
 */
export function serverStoreOnEmbedded(database: string): ClickHouseStore {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createChdbConnection } = require('chdb/connection') as typeof import('chdb/connection');
  type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const connection = createChdbConnection({ path: CH_PATH }) as unknown as ClientConnection;
  return new ClientStore(createClient({ connection, clickhouse_settings: CLIENT_SETTINGS }), database, { where: 'the embedded engine, as a server' });
}

export interface TestSetup {
  cfg: Config;
  env: Env;
}

/** Configuration pointing at the fake, the shared ClickHouse directory and its own database. */
export function testConfig(fake: FakeHarvest, ids: { database: string; taskQueue: string }, extra: Env = {}): TestSetup {
  const env: Env = {
    HARVEST_ACCOUNT_ID: String(fake.data.accountId),
    HARVEST_ACCESS_TOKEN: 'test-pat',
    HARVEST_BASE_URL: fake.baseUrl,
    HARVEST_TOKEN_URL: fake.tokenUrl,
    HARVEST_USER_AGENT: 'harvest-sync tests (tests@example.com)',
    // Steady task-queue rates keep the suite quick; window pacing (the default) has its own
    // tests (test/pacing.test.ts) and the recorded `full` history runs under it.
    HARVEST_PACING: 'queue',
    HARVEST_REQUESTS_PER_SECOND: '200',
    HARVEST_REPORTS_REQUESTS_PER_SECOND: '200',
    HARVEST_CONCURRENCY: '4',
    HARVEST_SYNC_STATE_DIR: path.join(TMP, 'state', ids.database),
    CLICKHOUSE_PATH: CH_PATH,
    CLICKHOUSE_DATABASE: ids.database,
    TEMPORAL_TASK_QUEUE: ids.taskQueue,
    // A worker deployment of its own: tests that share one dev server never route each other's syncs.
    TEMPORAL_DEPLOYMENT_NAME: testDeployment(ids.taskQueue),
    ...extra,
  };
  return { cfg: loadConfig(env, { requireHarvest: true }), env };
}

export interface SyncOutcome {
  summary?: SyncSummary;
  error?: Error;
  workflowId: string;
}

/** Runs one harvestSync with an in-process worker on the shared dev server. */
export async function runSync(
  cfg: Config,
  input: SyncInput = {},
  opts: { workflowId?: string; during?: (h: WorkflowHandle) => Promise<void>; wrapStore?: (store: ClickHouseStore) => ClickHouseStore } = {},
): Promise<SyncOutcome> {
  const env = await temporalEnv();
  testClickHouse(); // the worker shares this process's engine
  const sw = await createSyncWorker(cfg, { connection: env.nativeConnection, workflowBundle: await workflowBundle(), ...(opts.wrapStore ? { wrapStore: opts.wrapStore } : {}) });
  const workflowId = opts.workflowId ?? `sync-${cfg.clickhouse.database}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
  try {
    return await sw.worker.runUntil(async () => {
      const handle = await env.client.workflow.start('harvestSync', { taskQueue: cfg.temporal.taskQueue, workflowId, args: [input] });
      const during = opts.during?.(handle);
      try {
        return { summary: (await handle.result()) as SyncSummary, workflowId };
      } catch (error) {
        return { error: error as Error, workflowId };
      } finally {
        await during;
      }
    });
  } finally {
    await sw.release();
  }
}

export { rootMessage } from '../../src/core/failures';

/** Rows of a query on the shared test engine. */
export async function query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return testClickHouse().query<T>(sql, params, { output_format_json_quote_64bit_integers: 0 });
}

/** Stops what the run started; a second call finds nothing left to stop. */
export async function teardown(): Promise<void> {
  const [ch, env] = [clickhouse, envPromise];
  clickhouse = undefined;
  envPromise = undefined;
  if (ch) await ch.close();
  if (env) await (await env).teardown();
  fs.rmSync(TMP, { recursive: true, force: true });
}

// Every test file that uses the shared components stops them when it ends, run alone or in
// test/all.test.ts (one registration per process: this module loads once).
after(teardown);
