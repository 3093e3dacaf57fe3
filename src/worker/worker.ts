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
import { NO_PACING, pacerWorkflowId, pacingTaskQueue, WorkflowPacer } from '../pacing/pacer';
import { HARVEST_BUDGETS } from '../core/budget-window';
import type { HarvestConfig } from '../config';
import { prebuiltWorkflowBundle, sourceWorkflowBundle } from './workflow-bundle';
import { buildIdOf, makeCurrent } from './versioning';
import type { WorkerDeploymentVersion } from '@temporalio/common';

/**
 * The workers of one process: the main task queue (workflows and Harvest pages) and its
 * reports queue (report pages, paced by the reports API's own budget). They start and
 * stop together.
 */
export class WorkerGroup {
  private readied: Promise<void> | undefined;

  /** `activate`: once the workers poll, what must happen before they take work (their build made current). */
  constructor(
    private readonly workers: Worker[],
    private readonly activate: (signal: AbortSignal) => Promise<void> = async () => undefined,
  ) {}

  /**
   * Runs every worker; when one fails, the others are stopped too, and the promise
   * rejects (with the first failure) only once all have stopped, so the caller never
   * releases connections that a still-running worker uses.
   */
  async run(): Promise<void> {
    let failure: { error: unknown } | undefined;
    const stopped = new AbortController();
    const fail = (error: unknown): void => {
      failure ??= { error };
      this.shutdown();
    };
    this.readied = this.activate(stopped.signal);
    this.readied.catch(fail);
    await Promise.all(this.workers.map((w) => w.run().catch(fail)));
    stopped.abort();
    if (failure) throw failure.error;
  }

  /** Resolves once the workers run and may take work (call after run()). */
  async ready(): Promise<void> {
    if (!this.readied) throw new Error('the workers are not running');
    await this.readied;
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Runs the workers until `fn` settles, then stops them (like Worker.runUntil); `fn` starts once they are ready. */
  async runUntil<T>(fn: () => Promise<T>): Promise<T> {
    const running = this.run();
    try {
      await this.ready();
      return await fn();
    } finally {
      this.shutdown();
      await running;
    }
  }
}

export interface SyncWorker {
  worker: WorkerGroup;
  /** The Worker Versioning version these workers run (absent: unversioned). */
  version?: WorkerDeploymentVersion;
  /** The workflow code they run (replayed against the histories of syncs of another build). */
  workflowBundle: WorkflowBundleOption;
  /** Releases the Harvest and ClickHouse connections; call after the workers stopped. */
  release(): Promise<void>;
}

export interface SyncWorkerOptions {
  connection: NativeConnection;
  /** A workflow bundle (tests build one per run); else dist's prebuilt one, else bundled from source. */
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  /** A build id other than the one derived from the release and the workflow code (tests of two builds). */
  buildId?: string;
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
        cfg.worker.budgets,
        undefined,
        pacingTaskQueue(cfg.temporal.deployment),
      )
    : NO_PACING;
  // Report pages run on their own queue, up to a whole reports window at once.
  const reportsInFlight = windowPacing ? HARVEST_BUDGETS.reports.limit : 2;
  // A socket for every activity that may be sending: none waits for one after its slot.
  const harvest = new HarvestClient(cfg.harvest, undefined, pacer, cfg.worker.maxConcurrentActivities + reportsInFlight);
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
    const version: WorkerDeploymentVersion | undefined = cfg.temporal.deployment
      ? { deploymentName: cfg.temporal.deployment, buildId: opts.buildId ?? cfg.temporal.buildId ?? buildIdOf(workflowBundle) }
      : undefined;
    // Syncs stay on the build that started them (PINNED); the pacer, long-lived, moves on to
    // each new build (AUTO_UPGRADE). Set per worker: a workflow that names its own behaviour
    // fails its tasks on a worker without versioning.
    const deployed = (behavior: 'PINNED' | 'AUTO_UPGRADE') =>
      ({ ...common, ...(version ? { workerDeploymentOptions: { version, useWorkerVersioning: true as const, defaultVersioningBehavior: behavior } } : {}) });
    const versioned = deployed('PINNED');
    const main = await Worker.create({
      ...versioned,
      taskQueue: cfg.temporal.taskQueue,
      workflowBundle,
      activities,
      // Window pacing grants every request its slot; a task-queue rate would only add a steady trickle.
      ...(windowPacing ? {} : { maxTaskQueueActivitiesPerSecond: cfg.worker.activitiesPerSecond }),
      maxConcurrentActivityTaskExecutions: cfg.worker.maxConcurrentActivities,
    });
    const reports = await Worker.create({
      ...versioned,
      taskQueue: reportsTaskQueue(cfg.temporal.taskQueue),
      activities: { fetchPage: activities.fetchPage },
      ...(windowPacing ? {} : { maxTaskQueueActivitiesPerSecond: cfg.worker.reportsPerSecond }),
      // Report pages are small (aggregates), and one waits for its slot inside its activity
      // only briefly (longer waits are workflow timers): a whole reports window (100) may go
      // out together, whatever the number of accounts (each sync reads 9 reports × 4 windows).
      maxConcurrentActivityTaskExecutions: reportsInFlight,
    });
    const workers = [main, reports];
    if (windowPacing) {
      // Every deployment's workers serve the pacers, so a token shared across deployments
      // keeps its pacer whichever of them is up.
      workers.push(await Worker.create({ ...deployed('AUTO_UPGRADE'), taskQueue: pacingTaskQueue(cfg.temporal.deployment), workflowBundle, maxConcurrentWorkflowTaskExecutions: 4 }));
    }
    const client = new Client({ connection: opts.connection, namespace: cfg.temporal.namespace, dataConverter: dataConverterFor(cfg.temporal) });
    return {
      worker: new WorkerGroup(workers, async (signal) => {
        if (version) await makeCurrent(client, version, signal);
      }),
      ...(version ? { version } : {}),
      workflowBundle,
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
