// Benchmark: syncs generated accounts from the fake Harvest into embedded ClickHouse
// through a real Temporal dev server and workers in their own processes, and prints, in
// one run, what tells whether Harvest's budget or our pipeline is the bound:
//
//   limited      Harvest's limits (100 requests / 15 s; reports 100 / 15 min) and its
//                latency (300 ms + 0.2 ms per row): a full sync of every resource, then an
//                incremental one. Wall ÷ the window-aware bound of each budget, 429s, most
//                requests in flight, peak RSS of the worker, largest history.
//   unthrottled  No limit, no latency, the six seed resources (users, time_entries,
//                projects, tasks, user_projects, project_tasks): rows/s of the page path,
//                and the dlt anchor (dlt's rest_api source, --dlt-anchor) on the same account.
//   shared       Three worker processes (three deployments, each its own account and
//                ClickHouse) sharing one token, limits and latency on: 429s after warm-up.
//
//   npm run bench -- [--time-entries 100000] [--scenarios limited,unthrottled,shared]
//                    [--users 25] [--latency-ms 300] [--latency-per-row-ms 0.2]
//                    [--first-year 2006] [--concurrency N] [--dlt-python <python with dlt>] [--dlt-anchor <script>]
//
// --first-year Y: the accounts' history starts on Y-01-01 and runs to today (default: the
// generator's two years), so a full sync reads one report window per year: from 2006,
// 9 reports × 21+ windows ≈ 200 report requests, more than the reports budget's 100 per
// 15 minutes. `--scenarios limited --first-year 2006` then takes about 16 minutes (its
// bound: one more reports window) plus the incremental sync.
//
// The window-aware bound of N requests against a budget of L per W: a fresh window may be
// spent at once, so N requests need floor((N-1)/L)·W plus one answer's latency.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { findTemporalCli } from '../src/temporal/connection';
import type { SyncInput, SyncSummary } from '../src/core/types';
import { generateAccount, startFakeHarvest, type FakeAccountData, type FakeHarvest, type FakeHarvestOptions } from '../fake-harvest/src';

const ROOT = path.resolve(__dirname, '..');
const SEED_RESOURCES = ['users', 'time_entries', 'projects', 'tasks', 'user_projects', 'project_tasks'];
const GENERAL = { limit: 100, windowS: 15 };
const REPORTS = { limit: 100, windowS: 900 };
const TOKEN = 'bench-pat';

interface Options {
  timeEntries: number;
  users: number;
  /** First year of the generated history (to today); unset: the generator's default. */
  firstYear?: number;
  latency: { baseMs: number; perRowMs: number };
  concurrency?: number;
  dltPython: string | undefined;
  dltAnchor: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'time-entries': { type: 'string', default: '100000' },
      users: { type: 'string', default: '25' },
      'first-year': { type: 'string' },
      scenarios: { type: 'string', default: 'limited,unthrottled' },
      'latency-ms': { type: 'string', default: '300' },
      'latency-per-row-ms': { type: 'string', default: '0.2' },
      concurrency: { type: 'string' },
      'dlt-python': { type: 'string', default: process.env.BENCH_DLT_PYTHON ?? 'python3' },
      'dlt-anchor': { type: 'string', default: process.env.BENCH_DLT_ANCHOR ?? '' },
    },
  });
  const opts: Options = {
    timeEntries: Number(values['time-entries']),
    users: Number(values.users),
    ...(values['first-year'] ? { firstYear: Number(values['first-year']) } : {}),
    latency: { baseMs: Number(values['latency-ms']), perRowMs: Number(values['latency-per-row-ms']) },
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    dltPython: values['dlt-python'] && values['dlt-anchor'] && fs.existsSync(values['dlt-anchor']) ? values['dlt-python'] : undefined,
    dltAnchor: values['dlt-anchor'],
  };
  const scenarios = values.scenarios.split(',').map((s) => s.trim());
  const cli = findTemporalCli({ namespace: 'default', taskQueue: 'bench', cliPath: process.env.TEMPORAL_CLI_PATH });
  if (!cli) throw new Error('no temporal CLI: run scripts/ensure-deps.sh first');
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli }, ui: false, log: { format: 'pretty', level: 'error' } } });
  console.log(`harvest-sync bench: ${opts.timeEntries.toLocaleString('en-US')} time entries, ${os.cpus().length} cores, scenarios ${scenarios.join(', ')}`);
  try {
    for (const s of scenarios) {
      if (s === 'limited') await limited(env, opts);
      else if (s === 'unthrottled') await unthrottled(env, opts);
      else if (s === 'shared') await shared(env, opts);
      else throw new Error(`unknown scenario ${s}`);
    }
  } finally {
    await env.teardown();
  }
}

function account(opts: Options, seed = 99): FakeAccountData {
  const t0 = Date.now();
  const history = opts.firstYear ? { firstDate: `${opts.firstYear}-01-01`, lastDate: new Date().toISOString().slice(0, 10) } : {};
  const data = generateAccount({ seed, timeEntries: opts.timeEntries, users: opts.users, ...history });
  const since = opts.firstYear ? ` since ${opts.firstYear}` : '';
  console.log(`  generated account ${data.accountId}: ${data.timeEntries.length.toLocaleString('en-US')} time entries${since}, ${data.users.length} users, ${data.projects.length} projects in ${Date.now() - t0} ms`);
  return data;
}

async function limited(env: TestWorkflowEnvironment, opts: Options): Promise<void> {
  console.log(`\n== limited: Harvest's windows and latency (${opts.latency.baseMs} ms + ${opts.latency.perRowMs} ms/row), every resource, 1 worker`);
  const data = account(opts);
  const fake = await startFakeHarvest({ data, tokens: [TOKEN], ...limits(opts) });
  const deployment = await startDeployment(env, fake, data, 'limited');
  try {
    for (const mode of ['full', 'incremental'] as const) {
      // Each run's bound assumes a fresh window, as a scheduled run finds it: the full
      // sync's last window passes first.
      if (mode === 'incremental') await new Promise((r) => setTimeout(r, (GENERAL.windowS + 1) * 1000));
      const r = await syncOnce(env, deployment, fake, { mode, ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) });
      printRun(`${mode} sync`, r, opts);
    }
    await printTotals(env, [deployment]);
  } finally {
    await deployment.stop(exactness(data));
    await fake.close();
  }
}

async function unthrottled(env: TestWorkflowEnvironment, opts: Options): Promise<void> {
  console.log('\n== unthrottled: no limit, no latency, the six seed resources, 1 worker');
  const data = account(opts);
  const fake = await startFakeHarvest({ data, tokens: [TOKEN], rateLimit: false, reportsRateLimit: false });
  // Nothing to pace against: the pacing steps aside. Window pacing would still hold the
  // fake to Harvest's 100 requests / 15 s (131 requests: a 15.7 s bound, the pacer's, not
  // the page path's), so this deployment paces by task-queue rates set out of reach.
  const deployment = await startDeployment(env, fake, data, 'unthrottled', { HARVEST_PACING: 'queue', HARVEST_REQUESTS_PER_SECOND: '1000', HARVEST_REPORTS_REQUESTS_PER_SECOND: '1000' });
  let ours = 0;
  try {
    const r = await syncOnce(env, deployment, fake, { mode: 'full', resources: SEED_RESOURCES, ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) });
    ours = r.rows / r.wallS;
    printRun('full sync', r, opts);
    await printTotals(env, [deployment]);
  } finally {
    await deployment.stop(exactness(data, SEED_RESOURCES));
  }
  try {
    if (!opts.dltPython) {
      console.log('  dlt anchor               skipped (give --dlt-anchor <script> and --dlt-python <a python with dlt[duckdb]>)');
      return;
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-sync-dlt-'));
    const started = Date.now();
    // Not spawnSync: the fake it reads lives in this process's event loop.
    const res = await runProcess(opts.dltPython, [opts.dltAnchor, fake.baseUrl, String(data.accountId), TOKEN, work], { ...process.env, RUNTIME__LOG_LEVEL: 'WARNING' });
    fs.rmSync(work, { recursive: true, force: true });
    const line = res.stdout.split('\n').find((l) => l.startsWith('dlt anchor:'));
    if (!line) {
      console.log(`  dlt anchor               failed (${res.status}): ${(res.stderr || res.stdout).slice(-400)}`);
      return;
    }
    const m = /: (\d+) rows in ([\d.]+) s/.exec(line)!;
    const dltRate = Number(m[1]) / Number(m[2]);
    console.log(`  dlt anchor               ${Number(m[1]).toLocaleString('en-US')} rows in ${m[2]} s = ${Math.round(dltRate).toLocaleString('en-US')} rows/s (process ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`  harvest-sync ÷ dlt       ${(ours / dltRate).toFixed(1)}× rows/s`);
  } finally {
    await fake.close();
  }
}

async function shared(env: TestWorkflowEnvironment, opts: Options): Promise<void> {
  console.log(`\n== shared: 3 worker processes, 3 accounts, one token, Harvest's windows and latency, every resource`);
  const accounts = [99, 100, 101].map((seed) => account({ ...opts, timeEntries: Math.round(opts.timeEntries / 3) }, seed));
  const fake = await startFakeHarvest({ data: accounts[0], accounts: accounts.slice(1), tokens: [TOKEN], ...limits(opts) });
  const deployments: Deployment[] = [];
  try {
    for (const [i, data] of accounts.entries()) deployments.push(await startDeployment(env, fake, data, `shared${i + 1}`));
    fake.resetLog();
    const started = Date.now();
    const results = await Promise.all(
      deployments.map(async (d) => {
        const handle = await env.client.workflow.start('harvestSync', { taskQueue: d.taskQueue, workflowId: `bench-${d.taskQueue}-full`, args: [{ mode: 'full', accountId: d.accountId }] });
        const summary = (await handle.result()) as SyncSummary;
        return { summary, wallS: (Date.now() - started) / 1000 };
      }),
    );
    const wallS = Math.max(...results.map((r) => r.wallS));
    const rows = results.reduce((n, r) => n + r.summary.resources.reduce((m, x) => m + x.rows, 0), 0);
    const c = countRequests(fake);
    // Warm-up: the first window, while the workers' pacing learns what the token already spent.
    const after = fake.requests.filter((r) => r.status === 429 && r.at - started > GENERAL.windowS * 1000).length;
    console.log(`  rows synced              ${rows.toLocaleString('en-US')} in ${wallS.toFixed(1)} s (${results.map((r) => r.wallS.toFixed(1)).join(' / ')} s per deployment)`);
    printBounds(wallS, c, opts);
    console.log(`  429 answers              ${c.limited} (${after} after the first window)`);
    console.log(`  most requests in flight  ${fake.maxInFlight}`);
    await printTotals(env, deployments);
  } finally {
    for (const [i, d] of deployments.entries()) await d.stop(exactness(accounts[i]));
    await fake.close();
  }
}

function limits(opts: Options): Partial<FakeHarvestOptions> {
  return {
    rateLimit: { limit: GENERAL.limit, windowMs: GENERAL.windowS * 1000 },
    reportsRateLimit: { limit: REPORTS.limit, windowMs: REPORTS.windowS * 1000 },
    latency: opts.latency,
  };
}

interface Deployment {
  taskQueue: string;
  accountId: string;
  worker: ChildProcess;
  peakRssKiB: () => number;
  /** Stops the worker; `check` (given) reads its ClickHouse before the directory goes. */
  stop(check?: (chPath: string) => Promise<void>): Promise<void>;
}

/** Top-level tables whose records the fake holds as they are served, by id. */
const EXACT_TABLES: Array<[string, keyof FakeAccountData]> = [
  ['time_entries', 'timeEntries'], ['users', 'users'], ['projects', 'projects'], ['tasks', 'tasks'],
  ['clients', 'clients'], ['expenses', 'expenses'], ['invoices', 'invoices'], ['estimates', 'estimates'],
];

/**
 * Every record exact: the live keys of the worker's tables against the fake's records
 * (missing, extra, more than one row per record), read in a separate process (the engine
 * allows one data directory per process).
 */
function exactness(data: FakeAccountData, only?: string[]): (chPath: string) => Promise<void> {
  return async (chPath) => {
    const res = await runProcess(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'support', 'ch-dump.ts'), chPath, 'harvest'], process.env);
    if (res.status !== 0) {
      console.log(`  exactness                not checked: ${res.stderr.slice(-300)}`);
      return;
    }
    const dump = JSON.parse(res.stdout) as Record<string, { keys: string[] }>;
    const parts: string[] = [];
    let wrong = 0;
    for (const [table, field] of EXACT_TABLES.filter(([t]) => !only || only.includes(t))) {
      const want = new Set((data[field] as Array<{ id: unknown }>).map((r) => String(r.id)));
      const keys = dump[table]?.keys ?? [];
      const have = new Set(keys);
      const missing = [...want].filter((k) => !have.has(k)).length;
      const extra = [...have].filter((k) => !want.has(k)).length;
      const dupes = keys.length - have.size;
      wrong += missing + extra + dupes;
      parts.push(`${table} ${have.size.toLocaleString('en-US')}/${want.size.toLocaleString('en-US')}${missing + extra + dupes ? ` (missing ${missing}, extra ${extra}, duplicated ${dupes})` : ''}`);
    }
    console.log(`  exactness                ${wrong === 0 ? 'EXACT' : 'NOT EXACT'}: ${parts.join(', ')}`);
  };
}

/** A worker process with its own task queue and embedded ClickHouse, on the fake's token. */
async function startDeployment(env: TestWorkflowEnvironment, fake: FakeHarvest, data: FakeAccountData, name: string, extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `harvest-sync-bench-${name}-`));
  const taskQueue = `bench-${name}-${Date.now()}`;
  // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the worker processes.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const worker = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'src', 'worker', 'worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      // The figures are the output; the worker speaks only when something is wrong.
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
      TEMPORAL_TASK_QUEUE: taskQueue,
      HARVEST_ACCOUNT_ID: String(data.accountId),
      HARVEST_ACCESS_TOKEN: TOKEN,
      HARVEST_BASE_URL: fake.baseUrl,
      CLICKHOUSE_PATH: path.join(dir, 'clickhouse'),
      HARVEST_SYNC_STATE_DIR: path.join(dir, 'state'),
      ...(process.env.HARVEST_PACING ? { HARVEST_PACING: process.env.HARVEST_PACING } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const peakRssKiB = watchPeakRss(worker);
  await waitForPoller(env, taskQueue, worker);
  return {
    taskQueue,
    accountId: String(data.accountId),
    worker,
    peakRssKiB,
    stop: async (check) => {
      if (worker.exitCode === null) {
        worker.kill('SIGTERM');
        await new Promise((r) => worker.once('exit', r));
      }
      try {
        if (check) await check(path.join(dir, 'clickhouse'));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

interface RunResult {
  rows: number;
  wallS: number;
  summary: SyncSummary;
  counts: RequestCounts;
  maxInFlight: number;
  /** Start to the first Harvest request, and the last request's arrival to the end (s). */
  startS: number;
  tailS: number;
  /** CPU seconds of the run: the worker process, this process (the fake Harvest), the Temporal server. */
  cpu: { worker: number; fake: number; temporal: number };
  /** General requests per window, each window from its first request (where the wall goes). */
  windows: Array<{ startS: number; requests: number }>;
}

async function syncOnce(env: TestWorkflowEnvironment, d: Deployment, fake: FakeHarvest, input: SyncInput): Promise<RunResult> {
  fake.resetLog();
  const temporalPid = childPids(process.pid).find((pid) => /temporal/.test(readProc(pid, 'comm')));
  const cpu0 = { worker: cpuSeconds(d.worker.pid), fake: process.cpuUsage(), temporal: cpuSeconds(temporalPid) };
  const started = Date.now();
  const handle = await env.client.workflow.start('harvestSync', { taskQueue: d.taskQueue, workflowId: `bench-${d.taskQueue}-${input.mode}-${Date.now()}`, args: [input] });
  const summary = (await handle.result()) as SyncSummary;
  const ended = Date.now();
  const fakeCpu = process.cpuUsage(cpu0.fake);
  const cpu = { worker: cpuSeconds(d.worker.pid) - cpu0.worker, fake: (fakeCpu.user + fakeCpu.system) / 1e6, temporal: cpuSeconds(temporalPid) - cpu0.temporal };
  const wallS = (ended - started) / 1000;
  const api = fake.requests.filter((r) => r.path.startsWith('/v2/'));
  const startS = api.length ? (Math.min(...api.map((r) => r.at)) - started) / 1000 : 0;
  const tailS = api.length ? (ended - Math.max(...api.map((r) => r.at))) / 1000 : 0;
  // BENCH_REQUEST_LOG=<file>: every Harvest request of the run (ms from its start, path, status), for a closer look.
  if (process.env.BENCH_REQUEST_LOG) {
    fs.appendFileSync(process.env.BENCH_REQUEST_LOG, api.map((r) => `${r.at - started}\t${r.status}\t${r.path}?${new URLSearchParams(r.query as Record<string, string>)}\n`).join(''));
  }
  // BENCH_TRACE=<resource>: that resource's child workflow, event by event (s from the run's start).
  for (const resource of (process.env.BENCH_TRACE ?? '').split(',').filter(Boolean)) await printTimeline(env, `${d.taskQueue}/${d.accountId}/sync/${resource}`, started);
  const general = api.filter((r) => r.status !== 429 && !r.path.startsWith('/v2/reports/')).map((r) => r.at).sort((a, b) => a - b);
  const windows: RunResult['windows'] = [];
  for (let i = 0; i < general.length; ) {
    const from = general[i];
    let j = i;
    while (j < general.length && general[j] < from + GENERAL.windowS * 1000) j++;
    windows.push({ startS: (from - started) / 1000, requests: j - i });
    i = j;
  }
  return { rows: summary.resources.reduce((n, r) => n + r.rows, 0), wallS, summary, counts: countRequests(fake), maxInFlight: fake.maxInFlight, startS, tailS, cpu, windows };
}

/** A workflow's events with their times from `started` (BENCH_TRACE), activities named. */
async function printTimeline(env: TestWorkflowEnvironment, workflowId: string, started: number): Promise<void> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory().catch(() => undefined);
  if (!history) {
    console.log(`  trace ${workflowId}: no history`);
    return;
  }
  console.log(`  trace ${workflowId}:`);
  for (const e of history.events ?? []) {
    const at = e.eventTime?.seconds ? Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) : 0;
    const type = String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace('EVENT_TYPE_', '');
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
    console.log(`    ${((at - started) / 1000).toFixed(2).padStart(8)} s  ${type} ${name}`);
  }
}

interface RequestCounts {
  general: number;
  reports: number;
  limited: number;
}

/** Answered requests per budget (429s apart: they are what pacing must avoid, not work). */
function countRequests(fake: FakeHarvest): RequestCounts {
  const api = fake.requests.filter((r) => r.path.startsWith('/v2/'));
  const ok = api.filter((r) => r.status !== 429);
  return {
    general: ok.filter((r) => !r.path.startsWith('/v2/reports/')).length,
    reports: ok.filter((r) => r.path.startsWith('/v2/reports/')).length,
    limited: api.length - ok.length,
  };
}

/** floor((N-1)/L)·W + one full page's answer time. */
function windowBound(n: number, budget: { limit: number; windowS: number }, opts: Options): number {
  if (n === 0) return 0;
  return Math.floor((n - 1) / budget.limit) * budget.windowS + (opts.latency.baseMs + opts.latency.perRowMs * 2000) / 1000;
}

function printBounds(wallS: number, c: RequestCounts, opts: Options): void {
  const g = windowBound(c.general, GENERAL, opts);
  const r = windowBound(c.reports, REPORTS, opts);
  const bound = Math.max(g, r);
  console.log(`  general requests         ${c.general} → window-aware bound ${g.toFixed(1)} s (wall ÷ bound ${(wallS / g).toFixed(2)})`);
  console.log(`  report requests          ${c.reports} → window-aware bound ${r.toFixed(1)} s${c.reports ? ` (wall ÷ bound ${(wallS / r).toFixed(2)})` : ''}`);
  console.log(`  WALL ÷ BOUND             ${(wallS / bound).toFixed(2)} (bound ${bound.toFixed(1)} s, the larger of the two)`);
}

function printRun(label: string, r: RunResult, opts: Options): void {
  console.log(`  -- ${label}`);
  console.log(`  rows synced              ${r.rows.toLocaleString('en-US')}`);
  console.log(`  wall time                ${r.wallS.toFixed(1)} s (to the first request ${r.startS.toFixed(1)} s, after the last one ${r.tailS.toFixed(1)} s)`);
  console.log(`  rows/s                   ${Math.round(r.rows / r.wallS).toLocaleString('en-US')}`);
  const pages = r.summary.resources.filter((x) => x.pages > 1).map((x) => `${x.resource} ${x.pages}`).join(', ');
  console.log(`  pages (> 1)              ${pages}`);
  printBounds(r.wallS, r.counts, opts);
  console.log(`  429 answers              ${r.counts.limited}`);
  console.log(`  most requests in flight  ${r.maxInFlight}`);
  if (r.windows.length > 1) {
    console.log(`  general windows          ${r.windows.map((w) => `${w.requests}@${w.startS.toFixed(1)}s`).join(' ')} (requests @ start of each ${GENERAL.windowS} s window)`);
  }
  const { worker, fake, temporal } = r.cpu;
  console.log(`  CPU seconds              worker ${worker.toFixed(1)} (${((worker / r.rows) * 1e6).toFixed(0)} µs/row), fake Harvest ${fake.toFixed(1)}, Temporal server ${temporal.toFixed(1)}; ${((worker + fake + temporal) / r.wallS).toFixed(2)} of ${os.cpus().length} cores busy`);
}

async function printTotals(env: TestWorkflowEnvironment, deployments: Deployment[]): Promise<void> {
  let largest = { id: '', events: 0 };
  for await (const wf of env.client.workflow.list()) {
    if (!deployments.some((d) => wf.taskQueue === d.taskQueue)) continue;
    if (wf.historyLength > largest.events) largest = { id: wf.workflowId, events: wf.historyLength };
  }
  console.log(`  worker peak RSS          ${deployments.map((d) => `${(d.peakRssKiB() / 1024).toFixed(0)} MiB`).join(' / ')}`);
  console.log(`  largest history          ${largest.events} events (${largest.id})`);
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Until a worker polls the task queue (bundling the workflows takes seconds; they are not the sync's time). */
async function waitForPoller(env: TestWorkflowEnvironment, taskQueue: string, worker: ChildProcess): Promise<void> {
  for (;;) {
    if (worker.exitCode !== null) throw new Error(`the worker for ${taskQueue} exited (${worker.exitCode})`);
    const res = await env.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
    if ((res.pollers ?? []).length > 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Direct children of a process (from /proc). */
function childPids(parent: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    const stat = readProc(pid, 'stat');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
  });
}

/** User + system CPU seconds a process has used (0 when unknown). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readProc(pid, 'stat');
  if (!stat) return 0;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Peak resident set of a child (VmHWM from /proc, in KiB), sampled until asked.
 * BENCH_RSS_TRACE=1: also prints its resident set every 5 s (s since start: MiB).
 */
function watchPeakRss(child: ChildProcess): () => number {
  let peak = 0;
  const started = Date.now();
  const trace: string[] = [];
  const read = (): void => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]));
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      const s = Math.floor((Date.now() - started) / 1000);
      if (process.env.BENCH_RSS_TRACE && rss && s >= trace.length * 5) trace.push(`${s}s:${Math.round(Number(rss[1]) / 1024)}`);
    } catch {
      // process gone
    }
  };
  if (process.env.BENCH_RSS_TRACE) child.once('exit', () => console.log(`  worker RSS (MiB)         ${trace.join(' ')}`));
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
