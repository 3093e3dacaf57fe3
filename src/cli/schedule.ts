// `harvest-sync schedule …`: recurring syncs as Temporal schedules, one per account.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import { ConfigError, loadConfig, type Config, type Env } from '../config';
import { CATALOG } from '../catalog';
import { HarvestClient } from '../harvest/client';
import { validateSyncInput } from '../core/plan';
import {
  createSchedule,
  describeSchedule,
  listScheduleIds,
  scheduleIdFor,
  scheduleFullEvery,
  scheduleReportLines,
  updateSchedule,
  validateScheduleSettings,
  type ScheduleUpdate,
} from '../temporal/schedules';
import type { Output } from './session';
import { connectTemporal } from '../temporal/connection';

import { CliUsageError } from './help';

export { CliUsageError };

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;

export async function scheduleCommand(args: string[], env: Env, out: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest, env, out);
    case 'list':
    case 'describe':
    case 'update':
    case 'pause':
    case 'unpause':
    case 'trigger':
    case 'delete':
      return manage(sub, rest, env, out);
    default:
      throw new CliUsageError(sub ? `unknown schedule command "${sub}"` : 'schedule needs a command (create, list, describe, update, pause, unpause, trigger, delete)');
  }
}

async function withClient<T>(cfg: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const temporal = await connectTemporal(cfg.temporal);
  try {
    return await fn(temporal.client);
  } finally {
    await temporal.close();
  }
}

// The timing and input options create and update share.
const SETTING_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  every: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: 'string' },
  resources: { type: 'string' },
  'full-every': { type: 'string' },
  'catchup-window': { type: 'string' },
};

async function create(args: string[], env: Env, out: Output): Promise<number> {
  const { values, positionals } = parse(args, { ...SETTING_OPTIONS, account: { type: 'string' }, note: { type: 'string' } });
  if (positionals.length) throw new CliUsageError(`schedule create takes no positional arguments (got ${positionals.join(' ')})`);
  const settings = {
    every: values.every as string | undefined,
    cron: values.cron as string | undefined,
    timezone: values.timezone as string | undefined,
    resources: list(values.resources),
    fullEvery: scheduleFullEvery(values['full-every'] as string | undefined),
    catchupWindow: (values['catchup-window'] as string | undefined) ?? '1h',
    note: values.note as string | undefined,
  };
  const problems = [
    ...validateScheduleSettings({ ...settings, fullEvery: values['full-every'] as string | undefined }),
    ...validateSyncInput({ ...(settings.resources ? { resources: settings.resources } : {}) }, CATALOG.map((r) => r.name)).map((p) => `--${p}`),
  ];
  if (values.account !== undefined && !/^\d+$/.test(values.account as string)) problems.push('--account must be a Harvest account id (digits)');
  let cfg: Config | undefined;
  try {
    cfg = loadConfig(env, { requireHarvest: values.account === undefined, requireTemporalAddress: true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length || !cfg) throw new ConfigError(problems);
  const accounts = values.account !== undefined ? [values.account as string] : await configuredAccounts(cfg);
  return withClient(cfg, async (client) => {
    for (const accountId of accounts) {
      const { scheduleId, created } = await createSchedule(client, cfg.temporal.taskQueue, accountId, settings);
      out.write(created
        ? `created schedule ${scheduleId}: account ${accountId}, ${settings.cron ? `cron "${settings.cron}"` : `every ${settings.every ?? '1h'}`}, ` +
          `${settings.fullEvery ? `full reconciliation of each resource every ${settings.fullEvery}` : 'no periodic full reconciliation'}\n`
        : `schedule ${scheduleId} already exists; left as it is (change it with \`harvest-sync schedule update ${scheduleId}\`)\n`);
    }
    return 0;
  });
}

/** The configured account ids; `all` asks Harvest which accounts the token reaches. */
async function configuredAccounts(cfg: Config): Promise<string[]> {
  const configured = cfg.harvest!.accounts;
  if (configured !== 'all') return configured;
  const harvest = new HarvestClient(cfg.harvest!);
  try {
    return await harvest.listAccounts();
  } finally {
    await harvest.close();
  }
}

async function manage(sub: string, args: string[], env: Env, out: Output): Promise<number> {
  const { values, positionals } = parse(args, { ...SETTING_OPTIONS, account: { type: 'string' }, json: { type: 'boolean' }, note: { type: 'string' } });
  const allowed: Record<string, string[]> = {
    list: ['json'],
    describe: ['account', 'json'],
    update: ['account', 'every', 'cron', 'timezone', 'resources', 'full-every', 'catchup-window'],
    pause: ['account', 'note'],
    unpause: ['account', 'note'],
    trigger: ['account'],
    delete: ['account'],
  };
  const problems = Object.keys(values).filter((k) => !allowed[sub].includes(k)).map((k) => `schedule ${sub} does not take --${k}`);
  if (sub === 'list' && positionals.length) problems.push('schedule list takes no schedule ids');
  let update: ScheduleUpdate | undefined;
  if (sub === 'update') {
    const resources = values.resources === 'all' ? 'all' : list(values.resources);
    update = {
      every: values.every as string | undefined,
      cron: values.cron as string | undefined,
      timezone: values.timezone as string | undefined,
      resources,
      fullEvery: values['full-every'] as string | undefined,
      catchupWindow: values['catchup-window'] as string | undefined,
    };
    problems.push(...validateScheduleSettings({ ...update, resources: undefined }));
    if (Array.isArray(resources)) problems.push(...validateSyncInput({ resources }, CATALOG.map((r) => r.name)).map((p) => `--${p}`));
    if (Object.values(update).every((v) => v === undefined)) problems.push('schedule update needs something to change (--every, --cron, --resources, --full-every, --catchup-window)');
  }
  let cfg: Config | undefined;
  try {
    cfg = loadConfig(env, { requireHarvest: false, requireTemporalAddress: true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length || !cfg) throw new ConfigError(problems);
  const taskQueue = cfg.temporal.taskQueue;
  return withClient(cfg, async (client) => {
    let ids = positionals;
    if (values.account !== undefined) ids = [...ids, scheduleIdFor(taskQueue, values.account as string)];
    if (ids.length === 0) ids = await listScheduleIds(client, taskQueue);
    if (sub === 'list') {
      const reports = await Promise.all(ids.map((id) => describeSchedule(client, id)));
      if (values.json) out.write(JSON.stringify(reports, null, 2) + '\n');
      else if (reports.length === 0) out.write(`no harvest-sync schedules on task queue ${taskQueue}; create one with \`harvest-sync schedule create --every 1h\`\n`);
      else for (const r of reports) out.write(`${r.scheduleId.padEnd(28)} account ${(r.accountId ?? 'all').padEnd(10)} ${r.timing.padEnd(22)} ${r.paused ? 'paused ' : 'active '} next ${r.paused ? '-' : (r.nextRuns[0] ?? '-')}  last ${r.recent[0]?.status ?? '-'}\n`);
      return 0;
    }
    if (ids.length === 0) throw new Error(`no harvest-sync schedules on task queue ${taskQueue}; create one with \`harvest-sync schedule create --every 1h\``);
    if (sub === 'describe') {
      const reports = await Promise.all(ids.map((id) => describeSchedule(client, id)));
      out.write(values.json ? JSON.stringify(reports, null, 2) + '\n' : reports.map((r) => scheduleReportLines(r).join('\n')).join('\n\n') + '\n');
      return 0;
    }
    for (const id of ids) {
      // describe first: a mistyped id gets a clear "no schedule" instead of a gRPC error.
      await describeSchedule(client, id);
      const handle = client.schedule.getHandle(id);
      const note = values.note as string | undefined;
      switch (sub) {
        case 'update':
          await updateSchedule(client, id, update!);
          out.write(`updated schedule ${id}\n`);
          break;
        case 'pause':
          await handle.pause(note ?? 'paused with harvest-sync schedule pause');
          out.write(`paused schedule ${id}\n`);
          break;
        case 'unpause':
          await handle.unpause(note ?? 'unpaused with harvest-sync schedule unpause');
          out.write(`unpaused schedule ${id}\n`);
          break;
        case 'trigger':
          await handle.trigger();
          out.write(`triggered schedule ${id}: a sync starts now unless one of this account is running (overlap policy: skip)\n`);
          break;
        case 'delete':
          await handle.delete();
          out.write(`deleted schedule ${id} (runs already started go on; synced data stays)\n`);
          break;
      }
    }
    return 0;
  });
}
