// Worker start-up: from the sources (tsx, workflows bundled by webpack at start) against
// the build (`node dist/src/cli/main.js worker`, the prebuilt bundle). For each, the time from
// spawn until the worker polls its task queue, and the resident memory then.
//
//   npm run build && node --import tsx bench/startup-bench.ts [--runs 3]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { findTemporalCli } from '../src/temporal/connection';

const ROOT = path.resolve(__dirname, '..');

const MODES = {
  'source (tsx, bundling at start)': ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'worker'],
  'dist (prebuilt bundle)': [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'worker'],
} as const;

interface Sample {
  readyMs: number;
  rssKiB: number;
  peakKiB: number;
}

function memory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0), peak: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('no dist/: run npm run build first');
  const cli = findTemporalCli({ namespace: 'default', taskQueue: 'bench', cliPath: process.env.TEMPORAL_CLI_PATH });
  if (!cli) throw new Error('no temporal CLI: run scripts/ensure-deps.sh first');
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli }, ui: false, log: { format: 'pretty', level: 'error' } } });
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(MODES).map((m) => [m, []]));
  try {
    for (let run = 0; run < Number(values.runs); run++) {
      for (const [mode, args] of Object.entries(MODES)) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-sync-startup-'));
        const taskQueue = `startup-${run}-${Date.now()}`;
        const started = Date.now();
        const worker = spawn(process.execPath, [...args], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            LOG_LEVEL: 'WARN',
            TEMPORAL_ADDRESS: env.address,
            TEMPORAL_TASK_QUEUE: taskQueue,
            HARVEST_ACCOUNT_ID: '1',
            HARVEST_ACCESS_TOKEN: 'startup-bench',
            HARVEST_BASE_URL: 'http://127.0.0.1:9/v2',
            CLICKHOUSE_PATH: path.join(dir, 'clickhouse'),
            HARVEST_SYNC_STATE_DIR: path.join(dir, 'state'),
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        try {
          for (;;) {
            if (worker.exitCode !== null) throw new Error(`${mode}: the worker exited with ${worker.exitCode}`);
            const { pollers } = await env.client.workflowService.describeTaskQueue({
              namespace: 'default',
              taskQueue: { name: taskQueue },
              taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            });
            if (pollers && pollers.length > 0) break;
            await new Promise((r) => setTimeout(r, 50));
          }
          const readyMs = Date.now() - started;
          const mem = memory(worker.pid!);
          samples[mode].push({ readyMs, rssKiB: mem.rss, peakKiB: mem.peak });
          console.log(`${mode.padEnd(34)} run ${run + 1}: polling after ${readyMs} ms, RSS ${(mem.rss / 1024).toFixed(0)} MiB (peak ${(mem.peak / 1024).toFixed(0)} MiB)`);
        } finally {
          worker.kill('SIGTERM');
          await exited;
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await env.teardown();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log('\nmedians');
  for (const [mode, xs] of Object.entries(samples)) {
    console.log(`  ${mode.padEnd(34)} ${median(xs.map((s) => s.readyMs))} ms to polling, RSS ${(median(xs.map((s) => s.rssKiB)) / 1024).toFixed(0)} MiB, peak ${(median(xs.map((s) => s.peakKiB)) / 1024).toFixed(0)} MiB`);
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
