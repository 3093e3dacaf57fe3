// The `harvest-sync` command line: run, worker, status, resources, demo.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, readEnv, type Env } from '../config';
import { CATALOG } from '../catalog';
import { validateSyncInput } from '../core/plan';
import type { SyncInput } from '../core/types';
import type { Output } from './session';
import { CliUsageError, COMMANDS, commandHelp, overview, version, wantsHelp } from './help';

// The SDK, the ClickHouse engine and the Harvest client load only for the commands that
// use them: `--help`, `--version` and `resources` answer at once.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  session: () => require('./session') as typeof import('./session'),
  schedule: () => require('./schedule') as typeof import('./schedule'),
  status: () => require('./status') as typeof import('./status'),
  temporal: () => require('../temporal/connection') as typeof import('../temporal/connection'),
  worker: () => require('../worker/worker') as typeof import('../worker/worker'),
  observability: () => require('../worker/observability') as typeof import('../worker/observability'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** Ctrl-C: the sync was cancelled (cluster) or paused (embedded), as the message says. */
export const EXIT_INTERRUPTED = 130;

class UsageError extends Error {}

export async function main(argv: string[], env: Env = readEnv(), out: Output = { isTTY: Boolean(process.stdout.isTTY), write: (text) => process.stdout.write(text) }): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    out.write(`harvest-sync ${version()}\n`);
    return EXIT_OK;
  }
  if (command === 'help' || (command !== undefined && Object.hasOwn(COMMANDS, command) && wantsHelp(rest))) {
    const [topic, sub] = command === 'help' ? rest : [command, rest[0]];
    const text = topic === undefined ? overview() : commandHelp(topic, sub);
    if (text === undefined) {
      process.stderr.write(`harvest-sync: unknown command "${topic}"\n\n${overview()}`);
      return EXIT_USAGE;
    }
    out.write(text);
    return EXIT_OK;
  }
  try {
    installLogging(command, env);
    return await dispatch(command, rest, env, out);
  } catch (err) {
    return reportError(err, command, rest);
  } finally {
    const logged = lazy.observability().loggedToFile();
    if (logged && logged.warnings > 0) {
      process.stderr.write(`harvest-sync: ${logged.warnings} warning(s) with their details (retries, stack traces) in ${logged.file}\n`);
    }
  }
}

async function dispatch(command: string | undefined, rest: string[], env: Env, out: Output): Promise<number> {
  switch (command) {
    case 'run':
      return await runCommand(rest, env, out);
    case 'worker':
      return await workerCommand(rest, env);
    case 'status':
      return await statusCommand(rest, env, out);
    case 'backfill':
      return await runCommand(rest, env, out, 'backfill');
    case 'schedule':
      return await lazy.schedule().scheduleCommand(rest, env, out);
    case 'sql': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { sqlCommand } = require('./sql') as typeof import('./sql');
      return await sqlCommand(rest, env, out);
    }
    case 'codec-server':
      return await codecServerCommand(rest, env, out);
    case 'server': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runLocalServer } = require('./server') as typeof import('./server');
      return await runLocalServer(rest, env, out);
    }
    case 'resources':
      out.write(resourcesText());
      return EXIT_OK;
    case 'demo': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runDemo } = require('./demo') as typeof import('./demo');
      return await runDemo(rest, env, out);
    }
    case undefined:
    case '--help':
    case '-h':
      out.write(overview());
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function reportError(err: unknown, command: string | undefined, rest: string[]): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`harvest-sync: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof UsageError || err instanceof CliUsageError) {
    const help = (command && commandHelp(command, command === 'schedule' ? rest[0] : undefined)) || overview();
    process.stderr.write(`harvest-sync: ${err.message}\n\n${help}`);
    return EXIT_USAGE;
  }
  process.stderr.write(`harvest-sync: ${(err as Error).message}\n`);
  return EXIT_FAILED;
}

/**
 * LOG_FORMAT / LOG_LEVEL / HARVEST_SYNC_METRICS_ADDRESS, secrets redacted. Interactive
 * commands show their own progress, so unless told otherwise the SDK logs to a file.
 */
function installLogging(command: string | undefined, env: Env): void {
  lazy.observability().installRuntimeFromEnv(command === 'worker' ? 'worker' : 'interactive', env);
}

export function parseRunArgs(args: string[], command: 'run' | 'backfill' = 'run'): SyncInput & { detach?: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        resources: { type: 'string' },
        since: { type: 'string' },
        strict: { type: 'boolean' },
        account: { type: 'string' },
        detach: { type: 'boolean' },
        ...(command === 'run' ? { full: { type: 'boolean' } } : { until: { type: 'string' } }),
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as { resources?: string; full?: boolean; since?: string; until?: string; strict?: boolean; account?: string; detach?: boolean };
  const input: SyncInput & { detach?: boolean } = {};
  if (command === 'backfill') input.mode = 'backfill';
  if (v.account !== undefined) input.accountId = v.account;
  if (v.resources) input.resources = v.resources.split(',').map((s) => s.trim()).filter(Boolean);
  if (v.full) input.mode = 'full';
  if (v.since) input.since = v.since;
  if (v.until) input.until = v.until;
  if (v.strict) input.strict = true;
  if (v.detach) input.detach = true;
  return input;
}

async function runCommand(args: string[], env: Env, out: Output, command: 'run' | 'backfill' = 'run'): Promise<number> {
  const { detach, ...input } = parseRunArgs(args, command);
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
  if (detach && !cfg.temporal.address) {
    throw new UsageError('--detach needs TEMPORAL_ADDRESS: the embedded server ends with this command');
  }
  // Ctrl-C (or SIGTERM): on a cluster the sync is cancelled and waited for; on the
  // embedded server it is paused, its state kept for the next run. A second one exits at once.
  const interrupt = new AbortController();
  const onSignal = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const session = await lazy.session().openSession(cfg, out, { durable: true });
    try {
      const result = await session.runSync(input, { detach, interrupt: interrupt.signal });
      if (!result.ok) {
        process.stderr.write(result.interrupted ? `harvest-sync: ${result.message}\n` : `harvest-sync: sync failed: ${result.message}\n`);
        return result.interrupted ? EXIT_INTERRUPTED : EXIT_FAILED;
      }
      return EXIT_OK;
    } finally {
      await session.close();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function workerCommand(args: string[], env: Env): Promise<number> {
  if (args.length > 0) throw new UsageError(`worker takes no arguments (got ${args.join(' ')})`);
  const cfg = loadConfig(env, { requireHarvest: true, requireTemporalAddress: true });
  await lazy.worker().runWorker(cfg);
  return EXIT_OK;
}

async function statusCommand(args: string[], env: Env, out: Output): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'boolean' }, once: { type: 'boolean' }, limit: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const limit = parsed.values.limit === undefined ? 10 : Number(parsed.values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
  if (parsed.positionals.length > 1) throw new UsageError('status takes at most one workflow id');
  const cfg = loadConfig(env, { requireHarvest: false, requireTemporalAddress: true });
  const temporal = await lazy.temporal().connectTemporal(cfg.temporal);
  try {
    await lazy.status().showStatus(temporal.client, out, {
      workflowId: parsed.positionals[0],
      limit,
      json: Boolean(parsed.values.json),
      follow: !parsed.values.once,
    });
    return EXIT_OK;
  } finally {
    await temporal.close();
  }
}

async function codecServerCommand(args: string[], env: Env, out: Output): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const port = Number(values.port ?? '8888');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
  const cfg = loadConfig(env, { requireHarvest: false });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runCodecServer } = require('../temporal/codec-server') as typeof import('../temporal/codec-server');
  const server = await runCodecServer(cfg, port, values.host ?? '127.0.0.1');
  out.write(`codec server on ${server.url} (POST /encode, /decode); allowed origins: ${cfg.codecServer.corsOrigins.join(', ')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return EXIT_OK;
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
