// The harvest-sync worker: polls the task queue, runs the workflows and the activities.
// Pacing: every Harvest request first takes a slot from the token's pacer workflow,
// which models Harvest's windows for every worker of every process (docs/pacing.md).
import { Client } from '@temporalio/client';
import * as path from 'node:path';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../config';
import { openClickHouse } from '../clickhouse/connect';
import type { ClickHouseStore } from '../clickhouse/port';
import { ensureSchema } from '../clickhouse/schema';
import { ensureViews } from '../clickhouse/views';
import { CATALOG } from '../catalog';
import { HarvestClient } from '../harvest/client';
import { reportsTaskQueue } from '../core/windows';
import { connectNative } from '../temporal/connection';
import { dataConverterFor } from '../temporal/codec';
import { ensureSearchAttributes } from '../temporal/namespace';
import { NO_PACING, PACING_TASK_QUEUE, pacerWorkflowId, WorkflowPacer } from '../pacing/pacer';
import type { HarvestConfig } from '../config';
import { prebuiltWorkflowBundle, sourceWorkflowBundle } from './workflow-bundle';

/**
 * The workers of one process: the main task queue (workflows and Harvest pages) and its
 * reports queue (report pages, paced by the reports API's own budget). They start and
 * stop together.
 */
export class WorkerGroup {
  constructor(private readonly workers: Worker[]) {}

  /**
   * Runs every worker; when one fails, the others are stopped too, and the promise
   * rejects (with the first failure) only once all have stopped, so the caller never
   * releases connections that a still-running worker uses.
   */
  async run(): Promise<void> {
    let failure: { error: unknown } | undefined;
    await Promise.all(
      this.workers.map((w) =>
        w.run().catch((error: unknown) => {
          failure ??= { error };
          this.shutdown();
        }),
      ),
    );
    if (failure) throw failure.error;
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Runs the workers until `fn` settles, then stops them (like Worker.runUntil). */
  async runUntil<T>(fn: () => Promise<T>): Promise<T> {
    const running = this.run();
    try {
      return await fn();
    } finally {
      this.shutdown();
      await running;
    }
  }
}

export interface SyncWorker {
  worker: WorkerGroup;
  /** Releases the Harvest and ClickHouse connections; call after the workers stopped. */
  release(): Promise<void>;
}

export interface SyncWorkerOptions {
  connection: NativeConnection;
  /** A workflow bundle (tests build one per run); else dist's prebuilt one, else bundled from source. */
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  /** Wraps the ClickHouse store the worker opens (tests inject faults so). */
  wrapStore?: (store: ClickHouseStore) => ClickHouseStore;
}

export async function createSyncWorker(cfg: Config, opts: SyncWorkerOptions): Promise<SyncWorker> {
  if (!cfg.harvest) throw new Error('the worker needs the Harvest configuration');
  const opened = openClickHouse(cfg.clickhouse);
  const clickhouse = opts.wrapStore ? opts.wrapStore(opened) : opened;
  const windowPacing = cfg.worker.pacing === 'window';
  const pacer = windowPacing
    ? new WorkflowPacer(
        new Client({ connection: opts.connection, namespace: cfg.temporal.namespace, dataConverter: dataConverterFor(cfg.temporal) }),
        pacerWorkflowId(credentialOf(cfg.harvest), cfg.harvest.baseUrl),
      )
    : NO_PACING;
  const harvest = new HarvestClient(cfg.harvest, undefined, pacer);
  try {
    // Fail at start-up, not in the first activity, when ClickHouse is unreachable or
    // refuses the credentials (classified: the message names the cause). The embedded
    // engine's directory is this process's alone: tables move to `_version` without waiting for other writers.
    await ensureSchema(clickhouse, clickhouse.database, CATALOG, { soleWriter: clickhouse.embedded });
    // Once per worker, not per sync: concurrent CREATE OR REPLACE VIEW statements collide.
    await ensureViews(clickhouse, clickhouse.database);
    const attributes = await ensureSearchAttributes(opts.connection, cfg.temporal.namespace);
    if (!attributes.ready) process.stderr.write(`harvest-sync worker: warning: ${attributes.problem}\n`);
    const activities = createActivities({ harvest, harvestConfig: cfg.harvest, clickhouse, searchAttributes: attributes.ready });
    const common = {
      connection: opts.connection,
      namespace: cfg.temporal.namespace,
      // Payload encryption when HARVEST_SYNC_ENCRYPTION_KEY is set (the same codec as the client's).
      dataConverter: dataConverterFor(cfg.temporal),
      ...(opts.identity ? { identity: opts.identity } : {}),
      // Heartbeats carry cancellations back: a cancelled sync aborts its page requests within seconds.
      maxHeartbeatThrottleInterval: '3 seconds',
    };
    // One bundle for both workflow workers (the deployment's queue and the pacing queue).
    // Given, else dist's prebuilt one, else this source version's in the state directory.
    const workflowBundle = opts.workflowBundle ?? prebuiltWorkflowBundle() ?? (await sourceWorkflowBundle(path.join(cfg.temporal.stateDir, 'workflow-bundles')));
    const main = await Worker.create({
      ...common,
      taskQueue: cfg.temporal.taskQueue,
      workflowBundle,
      activities,
      // Window pacing grants every request its slot; a task-queue rate would only add a steady trickle.
      ...(windowPacing ? {} : { maxTaskQueueActivitiesPerSecond: cfg.worker.activitiesPerSecond }),
      maxConcurrentActivityTaskExecutions: cfg.worker.maxConcurrentActivities,
    });
    const reports = await Worker.create({
      ...common,
      taskQueue: reportsTaskQueue(cfg.temporal.taskQueue),
      activities: { fetchPage: activities.fetchPage },
      ...(windowPacing ? {} : { maxTaskQueueActivitiesPerSecond: cfg.worker.reportsPerSecond }),
      // Report pages are small (aggregates): a full sync's windows (9 reports × 4) go out together.
      maxConcurrentActivityTaskExecutions: windowPacing ? 36 : 2,
    });
    const workers = [main, reports];
    if (windowPacing) {
      // Every deployment's workers serve the pacers, so a token shared across deployments
      // keeps its pacer whichever of them is up.
      workers.push(await Worker.create({ ...common, taskQueue: PACING_TASK_QUEUE, workflowBundle, maxConcurrentWorkflowTaskExecutions: 4 }));
    }
    return {
      worker: new WorkerGroup(workers),
      release: async () => {
        await harvest.close();
        await clickhouse.close();
      },
    };
  } catch (err) {
    await harvest.close();
    await clickhouse.close();
    throw err;
  }
}

/** What identifies the token's budget (hashed into the pacer's id; never sent anywhere). */
function credentialOf(h: HarvestConfig): string {
  return h.auth.kind === 'pat' ? `pat:${h.auth.accessToken}` : `oauth:${h.auth.clientId}:${h.auth.refreshToken}`;
}

/** `harvest-sync worker`: runs until SIGINT/SIGTERM, finishing in-flight activities. */
export async function runWorker(cfg: Config): Promise<void> {
  const connection = await connectNative(cfg.temporal);
  try {
    const { worker, release } = await createSyncWorker(cfg, { connection });
    try {
      // The SDK's runtime turns SIGINT/SIGTERM into a graceful worker.shutdown().
      await worker.run();
    } finally {
      await release();
    }
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  // Allows `node --import tsx src/worker/worker.ts` (what the tests' crash drill runs).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadConfig, readEnv } = require('../config') as typeof import('../config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { installRuntimeFromEnv } = require('./observability') as typeof import('./observability');
  const env = readEnv();
  const logger = installRuntimeFromEnv('worker', env);
  Promise.resolve()
    .then(() => runWorker(loadConfig(env, { requireHarvest: true, requireTemporalAddress: true })))
    .catch((err: Error) => {
      logger.error(`harvest-sync worker: ${err.message}`);
      process.exit(1);
    });
}
