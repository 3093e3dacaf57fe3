// A worker process killed with SIGKILL in the middle of a sync: a new worker picks the
// sync up where the workflow state says, and the data ends up complete, one row per record.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { generateAccount, startFakeHarvest, type FakeHarvest } from '../../fake-harvest/src';
import { servedTables } from '../support/oracle';
import { PROJECT_ROOT, TMP, temporalEnv, unique } from '../support/harness';

const run = promisify(execFile);

function startWorkerProcess(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'worker', 'worker.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.on('exit', (code, signal) => {
    if (code && code !== 0) process.stderr.write(`worker exited ${code} ${signal ?? ''}\n${log.slice(-3000)}\n`);
  });
  return child;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('crash recovery', () => {
  it('a worker killed with SIGKILL mid-sync: a restarted worker completes it, one row per record, none missing', async () => {
    const env = await temporalEnv();
    const fake: FakeHarvest = await startFakeHarvest({ data: generateAccount({ seed: 21, timeEntries: 9000, users: 20 }), rateLimit: false });
    const ids = unique('crash');
    const chPath = path.join(TMP, `crash-clickhouse-${Date.now()}`);
    const workerEnv = {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: ids.taskQueue,
      HARVEST_ACCOUNT_ID: String(fake.data.accountId),
      HARVEST_ACCESS_TOKEN: 'test-pat',
      HARVEST_BASE_URL: fake.baseUrl,
      HARVEST_TOKEN_URL: fake.tokenUrl,
      CLICKHOUSE_PATH: chPath,
      CLICKHOUSE_DATABASE: ids.database,
      HARVEST_SYNC_STATE_DIR: path.join(TMP, 'crash-state'),
      HARVEST_REPORTS_REQUESTS_PER_SECOND: '50',
    };
    let worker = startWorkerProcess({ ...workerEnv, HARVEST_REQUESTS_PER_SECOND: '3' });
    try {
      const workflowId = `crash-${Date.now()}`;
      const handle = await env.client.workflow.start('harvestSync', { taskQueue: ids.taskQueue, workflowId, args: [{}] });
      // Kill it once time entries are partly read and the fan-out has begun.
      await waitFor(
        'the sync to be under way',
        () => fake.requests.filter((r) => r.path === '/v2/time_entries').length >= 2 && fake.requests.some((r) => /project_assignments/.test(r.path)),
        90_000,
      );
      worker.kill('SIGKILL');
      await exited(worker);
      const beforeRestart = fake.requests.length;

      worker = startWorkerProcess({ ...workerEnv, HARVEST_REQUESTS_PER_SECOND: '50' });
      await handle.result();
      assert.ok(fake.requests.length > beforeRestart, 'the restarted worker did the rest');
      // Resumed, not restarted: time entries were not read again from page 1 in full.
      const tePages = fake.requests.filter((r) => r.path === '/v2/time_entries' && r.status === 200).length;
      assert.ok(tePages <= 5 + 1, `time entries read ${tePages} times for 5 pages`);

      worker.kill('SIGTERM');
      await exited(worker);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test', 'support', 'ch-dump.ts'), chPath, ids.database], { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 });
      const dump = JSON.parse(stdout) as Record<string, { keys: string[]; rawRows: number }>;
      for (const [table, want] of await servedTables(fake)) {
        const keys = dump[table].keys;
        assert.equal(new Set(keys).size, keys.length, `${table}: more than one row per record under FINAL`);
        assert.deepEqual([...keys].sort(), [...want.keys()].sort(), `${table}: records missing or extra`);
      }
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
      await fake.close();
    }
  });
});
