// Benchmark: syncs a generated account from the fake Harvest into embedded ClickHouse
// through a real Temporal dev server and a worker in its own process, then prints
// throughput, requests, 429s, the worker's peak RSS and the largest workflow history.
//
//   npm run bench -- [--time-entries 200000] [--users 25] [--rate-limit] [--rps 6.5]
//
// --rate-limit turns on the fake's real limit (100 requests / 15 s) and reports wall
// time against the budget bound (requests ÷ 6.67 per second).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../src/temporal';
import type { SyncSummary } from '../src/sync/types';
import { generateAccount, startFakeHarvest } from '../src/sandbox';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'time-entries': { type: 'string', default: '200000' },
      users: { type: 'string', default: '25' },
      'rate-limit': { type: 'boolean', default: false },
      rps: { type: 'string' },
      runs: { type: 'string', default: '2' },
    },
  });
  const timeEntries = Number(values['time-entries']);
  const rateLimited = Boolean(values['rate-limit']);
  const rps = values.rps ?? (rateLimited ? '6.5' : '100');

  const cli = findTemporalCli({ namespace: 'default', taskQueue: 'bench', cliPath: process.env.TEMPORAL_CLI_PATH });
  if (!cli) throw new Error('no temporal CLI: run scripts/ensure-deps.sh first');
  const t0 = Date.now();
  const data = generateAccount({ seed: 99, timeEntries, users: Number(values.users) });
  console.log(`generated ${timeEntries.toLocaleString('en-US')} time entries, ${data.users.length} users, ${data.projects.length} projects in ${Date.now() - t0} ms`);
  const fake = await startFakeHarvest({ data, rateLimit: rateLimited ? { limit: 100, windowMs: 15_000 } : false });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli }, ui: false, log: { format: 'pretty', level: 'error' } } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-sync-bench-'));
  const taskQueue = `bench-${Date.now()}`;
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      // The figures are the output; the worker speaks only when something is wrong.
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
      TEMPORAL_TASK_QUEUE: taskQueue,
      HARVEST_ACCOUNT_ID: String(data.accountId),
      HARVEST_ACCESS_TOKEN: 'test-pat',
      HARVEST_BASE_URL: fake.baseUrl,
      HARVEST_REQUESTS_PER_SECOND: rps,
      HARVEST_REPORTS_REQUESTS_PER_SECOND: rateLimited ? String(100 / 900) : '100',
      CLICKHOUSE_PATH: path.join(dir, 'clickhouse'),
      HARVEST_SYNC_STATE_DIR: path.join(dir, 'state'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const peak = watchPeakRss(worker);
  try {
    for (let run = 1; run <= Number(values.runs); run++) {
      const mode = run === 1 ? 'full' : 'incremental';
      fake.resetLog();
      const started = Date.now();
      const handle = await env.client.workflow.start('harvestSync', { taskQueue, workflowId: `bench-${run}-${Date.now()}`, args: [{ mode }] });
      const summary = (await handle.result()) as SyncSummary;
      const wallS = (Date.now() - started) / 1000;
      const rows = summary.resources.reduce((n, r) => n + r.rows, 0);
      const requests = fake.requests.filter((r) => r.path.startsWith('/v2/')).length;
      const limited = fake.requests.filter((r) => r.status === 429).length;
      console.log(`\nrun ${run} (${mode})`);
      console.log(`  rows synced            ${rows.toLocaleString('en-US')}`);
      console.log(`  wall time              ${wallS.toFixed(1)} s`);
      console.log(`  rows/s                 ${Math.round(rows / wallS).toLocaleString('en-US')}`);
      console.log(`  requests               ${requests} (${summary.resources.map((r) => `${r.resource} ${r.pages}`).join(', ')})`);
      console.log(`  429 answers            ${limited}`);
      if (rateLimited) {
        const bound = requests / (100 / 15);
        console.log(`  wall ÷ budget bound    ${(wallS / bound).toFixed(2)} (bound ${bound.toFixed(1)} s for ${requests} requests at 6.67/s)`);
      }
    }
    let largest = { id: '', events: 0 };
    for await (const wf of env.client.workflow.list()) {
      if (wf.historyLength > largest.events) largest = { id: wf.workflowId, events: wf.historyLength };
    }
    console.log(`\nworker peak RSS          ${(peak() / 1024).toFixed(0)} MiB`);
    console.log(`largest history          ${largest.events} events (${largest.id})`);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await env.teardown();
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak resident set of a child (VmHWM from /proc, in KiB), sampled until asked. */
function watchPeakRss(child: ChildProcess): () => number {
  let peak = 0;
  const read = (): void => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // process gone
    }
  };
  const timer = setInterval(read, 500);
  timer.unref();
  return () => {
    read();
    return peak;
  };
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
