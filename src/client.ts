// The `harvest-sync` command line: run, worker, status, resources, demo.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, readEnv, type Env } from './config';
import { CATALOG } from './harvest/catalog';
import { validateSyncInput } from './sync/plan';
import type { SyncInput } from './sync/types';
import { openSession, stdoutOutput, fetchProgress, type Output } from './session';
import { progressLines } from './cli/progress';
import { connectTemporal } from './temporal';
import { runWorker } from './worker';
import { DefaultLogger, Runtime } from '@temporalio/worker';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const USAGE = `usage: harvest-sync <command> [options]

commands:
  run [--resources a,b] [--full] [--since ISO] [--strict]
                                                 one sync to completion, with live progress
  worker                                         a long-running worker (needs TEMPORAL_ADDRESS)
  status [--json]                                recent syncs and the progress of running ones
  resources                                      the resources harvest-sync copies
  demo                                           the whole pipeline against a built-in sandbox account

configuration is read from the environment and ./.env; see README.md.
`;

class UsageError extends Error {}

export async function main(argv: string[], env: Env = readEnv(), out: Output = stdoutOutput): Promise<number> {
  const [command, ...rest] = argv;
  // Interactive commands show their own progress; the SDK's INFO chatter would drown it.
  if (command !== 'worker') quietTemporalLogs();
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, env, out);
      case 'worker':
        return await workerCommand(rest, env);
      case 'status':
        return await statusCommand(rest, env, out);
      case 'resources':
        out.write(resourcesText());
        return EXIT_OK;
      case 'demo': {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runDemo } = require('./demo') as typeof import('./demo');
        return await runDemo(rest, env, out);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(USAGE);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`harvest-sync: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`harvest-sync: ${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    process.stderr.write(`harvest-sync: ${(err as Error).message}\n`);
    return EXIT_FAILED;
  }
}

let runtimeInstalled = false;
function quietTemporalLogs(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export function parseRunArgs(args: string[]): SyncInput {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        resources: { type: 'string' },
        full: { type: 'boolean' },
        since: { type: 'string' },
        strict: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const input: SyncInput = {};
  if (parsed.values.resources) input.resources = parsed.values.resources.split(',').map((s) => s.trim()).filter(Boolean);
  if (parsed.values.full) input.mode = 'full';
  if (parsed.values.since) input.since = parsed.values.since;
  if (parsed.values.strict) input.strict = true;
  return input;
}

async function runCommand(args: string[], env: Env, out: Output): Promise<number> {
  const input = parseRunArgs(args);
  // Input and configuration problems are reported together, before any network call.
  const problems = validateSyncInput(input, CATALOG.map((r) => r.name)).map((p) => `--${p}`);
  let cfg;
  try {
    cfg = loadConfig(env, { requireHarvest: true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || !cfg) throw new ConfigError(problems);
  const session = await openSession(cfg, out);
  try {
    const result = await session.runSync(input);
    if (!result.ok) {
      process.stderr.write(`harvest-sync: sync failed: ${result.message}\n`);
      return EXIT_FAILED;
    }
    return EXIT_OK;
  } finally {
    await session.close();
  }
}

async function workerCommand(args: string[], env: Env): Promise<number> {
  if (args.length > 0) throw new UsageError(`worker takes no arguments (got ${args.join(' ')})`);
  const cfg = loadConfig(env, { requireHarvest: true, requireTemporalAddress: true });
  await runWorker(cfg);
  return EXIT_OK;
}

async function statusCommand(args: string[], env: Env, out: Output): Promise<number> {
  let json = false;
  try {
    json = Boolean(parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true }).values.json);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const cfg = loadConfig(env, { requireHarvest: false, requireTemporalAddress: true });
  const temporal = await connectTemporal(cfg.temporal);
  try {
    const runs = [];
    for await (const wf of temporal.client.workflow.list({ query: "WorkflowType = 'harvestSync'" })) {
      runs.push(wf);
      if (runs.length >= 10) break;
    }
    const report = await Promise.all(
      runs.map(async (wf) => ({
        workflowId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
        resources: wf.status.name === 'RUNNING' ? await fetchProgress(temporal.client, wf.workflowId) : undefined,
      })),
    );
    if (json) {
      out.write(JSON.stringify(report, null, 2) + '\n');
    } else if (report.length === 0) {
      out.write('no harvestSync runs found\n');
    } else {
      for (const r of report) {
        out.write(`${r.workflowId}  ${r.status}  started ${r.startTime}${r.closeTime ? `  closed ${r.closeTime}` : ''}\n`);
        if (r.resources) out.write(progressLines(r.resources).map((l) => `    ${l}`).join('\n') + '\n');
      }
    }
    return EXIT_OK;
  } finally {
    await temporal.close();
  }
}

export function resourcesText(): string {
  const lines = CATALOG.map((r) => {
    const deps = r.dependsOn.length ? `after ${r.dependsOn.join(', ')}` : 'no dependencies';
    const inc = r.incremental ? `incremental (${r.incremental})` : r.parent ? 'complete listing per parent' : 'full listing every run';
    const fan = r.parent ? `, one listing per ${r.parent.resource.replace(/s$/, '')}${r.changeSignals ? ' (changed ones on incremental runs)' : ''}` : '';
    const nested = (r.nested ?? []).map((n) => `\n    + ${n.name}: ${n.description.toLowerCase()}, key (${['account_id', ...n.key].join(', ')})`).join('');
    const paging = r.paging === 'none' ? 'single object' : `${r.paging} paging`;
    return `${r.name.padEnd(24)} ${r.path.padEnd(38)} key (${['account_id', ...r.key].join(', ')}); ${paging}; ${inc}; ${deps}${fan}\n    ${r.description}${nested}`;
  });
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
