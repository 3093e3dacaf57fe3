// Configuration from the environment (and a .env file in the working directory).
// Every problem is collected and reported at once, before any network call.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type HarvestAuth =
  | { kind: 'pat'; accessToken: string }
  | { kind: 'oauth'; clientId: string; clientSecret: string; refreshToken: string };

export interface HarvestConfig {
  /** Account ids to sync, or every Harvest account the token reaches. */
  accounts: string[] | 'all';
  auth: HarvestAuth;
  userAgent: string;
  baseUrl: string;
  tokenUrl: string;
  /** Lists the accounts a token reaches (for HARVEST_ACCOUNT_ID=all). */
  accountsUrl: string;
  /** First `updated_since` when a resource has no committed cursor yet (ISO). */
  startDate?: string;
  /** Where a rotated OAuth refresh token is kept between worker restarts. */
  tokenFile: string;
  requestTimeoutMs: number;
}

export interface TemporalConfig {
  /** Unset: an embedded dev server is started for the command's duration. */
  address?: string;
  namespace: string;
  taskQueue: string;
  cliPath?: string;
}

export interface ClickHouseConfig {
  /** Unset: the embedded engine (chdb) at `path`. */
  url?: string;
  path: string;
  user?: string;
  password?: string;
  database: string;
}

export interface WorkerTuning {
  /** Task-queue-wide activity rate: Harvest allows 100 requests per 15 s per token. */
  activitiesPerSecond: number;
  /** The reports API's own budget: 100 requests per 15 minutes. */
  reportsPerSecond: number;
  maxConcurrentActivities: number;
}

export interface Config {
  harvest?: HarvestConfig;
  temporal: TemporalConfig;
  clickhouse: ClickHouseConfig;
  worker: WorkerTuning;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Parses a .env file (KEY=value lines, # comments, optional quotes). */
export function parseDotEnv(text: string): Env {
  const out: Env = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    else value = value.replace(/\s+#.*$/, '');
    out[m[1]] = value;
  }
  return out;
}

/** process.env over the .env file of the working directory (the real environment wins). */
export function readEnv(cwd = process.cwd(), env: Env = process.env): Env {
  const file = path.join(cwd, '.env');
  const fromFile = fs.existsSync(file) ? parseDotEnv(fs.readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

const DEFAULT_BASE_URL = 'https://api.harvestapp.com/v2';
const DEFAULT_TOKEN_URL = 'https://id.getharvest.com/api/v2/oauth2/token';
export const DEFAULT_USER_AGENT = 'harvest-sync (https://github.com/harvest-sync/harvest-sync)';

export interface LoadOptions {
  /** Commands that talk to Harvest need its credentials; others (status, resources) do not. */
  requireHarvest: boolean;
  /** Commands that need a Temporal cluster (worker, status). */
  requireTemporalAddress?: boolean;
}

export function loadConfig(env: Env, opts: LoadOptions): Config {
  const problems: string[] = [];
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const url = (k: string, fallback?: string): string | undefined => {
    const v = get(k) ?? fallback;
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return v.replace(/\/+$/, '');
    } catch {
      problems.push(`${k} must be an http(s) URL (got "${v}")`);
      return undefined;
    }
  };
  const positive = (k: string, fallback: number): number => {
    const v = get(k);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      problems.push(`${k} must be a positive number (got "${v}")`);
      return fallback;
    }
    return n;
  };

  let harvest: HarvestConfig | undefined;
  const wantsHarvest = opts.requireHarvest;
  if (wantsHarvest) {
    const accountSetting = get('HARVEST_ACCOUNT_ID');
    let accounts: string[] | 'all' | undefined;
    if (!accountSetting) problems.push('HARVEST_ACCOUNT_ID is required (an account id, several separated by commas, or "all")');
    else if (accountSetting.toLowerCase() === 'all') accounts = 'all';
    else {
      const ids = accountSetting.split(',').map((x) => x.trim()).filter(Boolean);
      const bad = ids.filter((x) => !/^\d+$/.test(x));
      if (bad.length || ids.length === 0) problems.push(`HARVEST_ACCOUNT_ID must be account ids (digits) separated by commas, or "all" (got "${accountSetting}")`);
      else accounts = [...new Set(ids)];
    }

    const pat = get('HARVEST_ACCESS_TOKEN');
    const oauthKeys = ['HARVEST_CLIENT_ID', 'HARVEST_CLIENT_SECRET', 'HARVEST_REFRESH_TOKEN'] as const;
    const oauthSet = oauthKeys.filter((k) => get(k) !== undefined);
    let auth: HarvestAuth | undefined;
    if (pat && oauthSet.length > 0) {
      problems.push('set either HARVEST_ACCESS_TOKEN or the OAuth2 variables (HARVEST_CLIENT_ID, HARVEST_CLIENT_SECRET, HARVEST_REFRESH_TOKEN), not both');
    } else if (pat) {
      auth = { kind: 'pat', accessToken: pat };
    } else if (oauthSet.length === oauthKeys.length) {
      auth = {
        kind: 'oauth',
        clientId: get('HARVEST_CLIENT_ID')!,
        clientSecret: get('HARVEST_CLIENT_SECRET')!,
        refreshToken: get('HARVEST_REFRESH_TOKEN')!,
      };
    } else if (oauthSet.length > 0) {
      const missing = oauthKeys.filter((k) => !oauthSet.includes(k));
      problems.push(`OAuth2 needs all of HARVEST_CLIENT_ID, HARVEST_CLIENT_SECRET, HARVEST_REFRESH_TOKEN; missing ${missing.join(', ')}`);
    } else {
      problems.push('HARVEST_ACCESS_TOKEN (a personal access token) or HARVEST_CLIENT_ID + HARVEST_CLIENT_SECRET + HARVEST_REFRESH_TOKEN (OAuth2) is required');
    }

    const startDate = get('HARVEST_START_DATE');
    let startIso: string | undefined;
    if (startDate !== undefined) {
      const d = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(startDate) ? new Date(startDate) : new Date(NaN);
      if (Number.isNaN(d.getTime())) problems.push(`HARVEST_START_DATE must be an ISO date like 2024-01-01 (got "${startDate}")`);
      else startIso = d.toISOString();
    }
    const userAgent = get('HARVEST_USER_AGENT') ?? DEFAULT_USER_AGENT;
    const baseUrl = url('HARVEST_BASE_URL', DEFAULT_BASE_URL);
    const tokenUrl = url('HARVEST_TOKEN_URL', DEFAULT_TOKEN_URL);
    const accountsUrl = url('HARVEST_ACCOUNTS_URL', tokenUrl?.replace(/\/oauth2\/token$/, '/accounts'));
    const requestTimeoutMs = positive('HARVEST_REQUEST_TIMEOUT_MS', 60_000);
    const stateDir = get('HARVEST_SYNC_STATE_DIR') ?? '.harvest-sync';
    if (accounts && auth && baseUrl && tokenUrl && accountsUrl) {
      const label = accounts === 'all' ? 'all' : accounts.join('-');
      harvest = {
        accounts,
        auth,
        userAgent,
        baseUrl,
        tokenUrl,
        accountsUrl,
        startDate: startIso,
        tokenFile: get('HARVEST_TOKEN_FILE') ?? path.join(stateDir, `oauth-${label}.json`),
        requestTimeoutMs,
      };
    }
  }

  const address = get('TEMPORAL_ADDRESS');
  if (opts.requireTemporalAddress && !address) {
    problems.push('TEMPORAL_ADDRESS is required for this command (host:port of your Temporal frontend, e.g. localhost:7233)');
  }
  const taskQueue = get('TEMPORAL_TASK_QUEUE') ?? 'harvest-sync';
  const namespace = get('TEMPORAL_NAMESPACE') ?? 'default';
  const temporal: TemporalConfig = { address, namespace, taskQueue, cliPath: get('TEMPORAL_CLI_PATH') };

  const database = get('CLICKHOUSE_DATABASE') ?? 'harvest';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    problems.push(`CLICKHOUSE_DATABASE must be a plain identifier (letters, digits, _) (got "${database}")`);
  }
  const clickhouse: ClickHouseConfig = {
    url: url('CLICKHOUSE_URL'),
    path: path.resolve(get('CLICKHOUSE_PATH') ?? path.join('.harvest-sync', 'clickhouse')),
    user: get('CLICKHOUSE_USER'),
    password: get('CLICKHOUSE_PASSWORD'),
    database,
  };

  const worker: WorkerTuning = {
    activitiesPerSecond: positive('HARVEST_REQUESTS_PER_SECOND', 6.5),
    reportsPerSecond: positive('HARVEST_REPORTS_REQUESTS_PER_SECOND', 100 / 900),
    maxConcurrentActivities: Math.floor(positive('HARVEST_CONCURRENCY', 4)),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return { harvest, temporal, clickhouse, worker };
}
