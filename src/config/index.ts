// Configuration from the environment (and a .env file in the working directory).
// The variables and their types are declared in ./variables.ts and read by ./values.ts;
// here they become the Config the rest of the program uses, with the rules that tie
// several variables together. Every problem is collected and reported at once, before
// any network call.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEnv } from 'node:util';
import { readValues, type Env, type LogFormat, type LogLevel, type Values } from './values';
import type { Budget, BudgetName } from './budgets';

export { DEFAULT_USER_AGENT, ENV_VARIABLES, APPLICATION_VARIABLES, type EnvVariable, type VariableName } from './variables';
export { secretValues, type Env, type LogFormat, type LogLevel } from './values';

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
  /** `per_page` of list requests (HARVEST_PER_PAGE; Harvest's maximum unless set lower). */
  perPage: number;
}

/** TLS to the Temporal frontend (named as the SDK's TLSConfig names them). */
export interface TemporalTls {
  /** mTLS client certificate and private key (PEM). */
  clientCertPair?: { crt: Buffer; key: Buffer };
  /** CA of a server certificate the system does not trust (PEM). */
  serverRootCACertificate?: Buffer;
  /** SNI / host name to verify instead of the address's host. */
  serverNameOverride?: string;
}

/** Payload encryption: new payloads with `key`, old ones also with `oldKeys`. */
export interface EncryptionConfig {
  keyId: string;
  key: Buffer;
  /** Decrypt-only keys by id, for payloads written before a rotation. */
  oldKeys: Record<string, Buffer>;
}

export interface TemporalConfig {
  /** Unset: an embedded dev server is started for the command's duration. */
  address?: string;
  namespace: string;
  taskQueue: string;
  cliPath?: string;
  /** Temporal Cloud API key (a bearer token; never logged). Cluster mode only. */
  apiKey?: string;
  /** Unset: plaintext gRPC. Cluster mode only. */
  tls?: TemporalTls;
  /** Unset: payloads are stored in Temporal as plain JSON. */
  encryption?: EncryptionConfig;
  /** HARVEST_SYNC_STATE_DIR (absolute): the embedded `run` keeps its Temporal database and lock file here. */
  stateDir: string;
  /** Worker Versioning: the deployment the workers join (null: unversioned workers). */
  deployment: string | null;
  /** Worker Versioning: this worker's build id (unset: the release and a hash of the workflow code). */
  buildId?: string;
}

export interface ClickHouseConfig {
  /** Unset: the embedded engine (chdb) at `path`. */
  url?: string;
  path: string;
  user?: string;
  password?: string;
  database: string;
  /** CA of a server certificate the system does not trust (PEM; https only). */
  caCert?: Buffer;
}

export interface WorkerTuning {
  /**
   * `window` (default): Harvest's windows per token, granted by the token's pacer workflow
   * (docs/pacing.md). `queue`: Temporal's task-queue rate limits alone (a steady rate).
   */
  pacing: 'window' | 'queue';
  /** The windows window pacing keeps to (Harvest's unless HARVEST_PACING_BUDGETS says otherwise: tests). */
  budgets?: Record<BudgetName, Budget>;
  /** Task-queue-wide activity rate: Harvest allows 100 requests per 15 s per token. */
  activitiesPerSecond: number;
  /** The reports API's own budget: 100 requests per 15 minutes. */
  reportsPerSecond: number;
  maxConcurrentActivities: number;
}

/** Unset values mean "the command's default" (see src/observability.ts). */
export interface ObservabilityConfig {
  logFormat?: LogFormat;
  logLevel?: LogLevel;
  /** host:port of the worker's Prometheus endpoint (`/metrics`). */
  metricsAddress?: string;
}

export interface CodecServerConfig {
  /** Origins (the Temporal Web UI's) allowed to call the codec server from a browser. */
  corsOrigins: string[];
}

export interface Config {
  harvest?: HarvestConfig;
  temporal: TemporalConfig;
  clickhouse: ClickHouseConfig;
  worker: WorkerTuning;
  observability: ObservabilityConfig;
  codecServer: CodecServerConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses a .env file (Node's own parser: KEY=value lines, # comments, quotes, `export`). */
export function parseDotEnv(text: string): Env {
  return parseEnv(text);
}

/** process.env over the .env file of the working directory (the real environment wins). */
export function readEnv(cwd = process.cwd(), env: Env = process.env): Env {
  const file = path.join(cwd, '.env');
  const fromFile = fs.existsSync(file) ? parseDotEnv(fs.readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

export interface LoadOptions {
  /** Commands that talk to Harvest need its credentials; others (status, resources) do not. */
  requireHarvest: boolean;
  /** Commands that need a Temporal cluster (worker, status). */
  requireTemporalAddress?: boolean;
}

export function loadConfig(env: Env, opts: LoadOptions): Config {
  const v = readValues(env, opts.requireHarvest ? undefined : ['tuning', 'temporal', 'clickhouse', 'encryption', 'observability']);
  const problems = [...v.problems];

  let harvest: HarvestConfig | undefined;
  if (opts.requireHarvest) {
    if (!v.isSet('HARVEST_ACCOUNT_ID')) problems.push('HARVEST_ACCOUNT_ID is required (an account id, several separated by commas, or "all")');
    const auth = harvestAuth(v, problems);
    const accounts = v.get('HARVEST_ACCOUNT_ID');
    const tokenUrl = v.get('HARVEST_TOKEN_URL');
    const accountsUrl = v.isSet('HARVEST_ACCOUNTS_URL') ? v.get('HARVEST_ACCOUNTS_URL') : tokenUrl.replace(/\/oauth2\/token$/, '/accounts');
    const baseUrl = v.get('HARVEST_BASE_URL');
    if (accounts && auth && baseUrl && tokenUrl && accountsUrl) {
      const label = accounts === 'all' ? 'all' : accounts.join('-');
      harvest = {
        accounts,
        auth,
        userAgent: v.get('HARVEST_USER_AGENT'),
        baseUrl,
        tokenUrl,
        accountsUrl,
        startDate: v.get('HARVEST_START_DATE'),
        tokenFile: v.get('HARVEST_TOKEN_FILE') ?? path.join(v.get('HARVEST_SYNC_STATE_DIR'), `oauth-${label}.json`),
        requestTimeoutMs: v.get('HARVEST_REQUEST_TIMEOUT_MS'),
        perPage: v.get('HARVEST_PER_PAGE'),
      };
    }
  }

  const address = v.get('TEMPORAL_ADDRESS');
  if (opts.requireTemporalAddress && !address) {
    problems.push('TEMPORAL_ADDRESS is required for this command (host:port of your Temporal frontend, e.g. localhost:7233)');
  }
  const temporal: TemporalConfig = {
    address,
    namespace: v.get('TEMPORAL_NAMESPACE'),
    taskQueue: v.get('TEMPORAL_TASK_QUEUE'),
    cliPath: v.get('TEMPORAL_CLI_PATH'),
    // Read outside the harvest section too (status, schedule): the default when it was not parsed.
    stateDir: path.resolve(v.get('HARVEST_SYNC_STATE_DIR') ?? '.harvest-sync'),
    deployment: v.get('TEMPORAL_WORKER_VERSIONING') ? v.get('TEMPORAL_DEPLOYMENT_NAME') : null,
    buildId: v.get('TEMPORAL_WORKER_BUILD_ID'),
    ...temporalSecurity(v, problems),
    encryption: encryption(v, problems),
  };

  const clickhouse: ClickHouseConfig = {
    ...clickhouseServer(v, problems),
    path: path.resolve(v.get('CLICKHOUSE_PATH') ?? path.join('.harvest-sync', 'clickhouse')),
    database: v.get('CLICKHOUSE_DATABASE'),
  };

  const worker: WorkerTuning = {
    pacing: v.get('HARVEST_PACING'),
    ...(v.get('HARVEST_PACING_BUDGETS') ? { budgets: v.get('HARVEST_PACING_BUDGETS') } : {}),
    activitiesPerSecond: v.get('HARVEST_REQUESTS_PER_SECOND'),
    reportsPerSecond: v.get('HARVEST_REPORTS_REQUESTS_PER_SECOND'),
    maxConcurrentActivities: v.get('HARVEST_CONCURRENCY'),
  };
  const codecServer: CodecServerConfig = { corsOrigins: v.get('HARVEST_SYNC_CODEC_CORS_ORIGIN') ?? DEFAULT_CODEC_CORS_ORIGINS };

  if (problems.length > 0) throw new ConfigError(problems);
  return { harvest, temporal, clickhouse, worker, observability: observabilityOf(v), codecServer };
}

function harvestAuth(v: Values, problems: string[]): HarvestAuth | undefined {
  const pat = v.get('HARVEST_ACCESS_TOKEN');
  const oauthKeys = ['HARVEST_CLIENT_ID', 'HARVEST_CLIENT_SECRET', 'HARVEST_REFRESH_TOKEN'] as const;
  const oauthSet = oauthKeys.filter((k) => v.isSet(k));
  if (pat && oauthSet.length > 0) {
    problems.push('set either HARVEST_ACCESS_TOKEN or the OAuth2 variables (HARVEST_CLIENT_ID, HARVEST_CLIENT_SECRET, HARVEST_REFRESH_TOKEN), not both');
  } else if (pat) {
    return { kind: 'pat', accessToken: pat };
  } else if (oauthSet.length === oauthKeys.length) {
    return { kind: 'oauth', clientId: v.get('HARVEST_CLIENT_ID')!, clientSecret: v.get('HARVEST_CLIENT_SECRET')!, refreshToken: v.get('HARVEST_REFRESH_TOKEN')! };
  } else if (oauthSet.length > 0) {
    const missing = oauthKeys.filter((k) => !oauthSet.includes(k));
    problems.push(`OAuth2 needs all of HARVEST_CLIENT_ID, HARVEST_CLIENT_SECRET, HARVEST_REFRESH_TOKEN; missing ${missing.join(', ')}`);
  } else {
    problems.push('HARVEST_ACCESS_TOKEN (a personal access token) or HARVEST_CLIENT_ID + HARVEST_CLIENT_SECRET + HARVEST_REFRESH_TOKEN (OAuth2) is required');
  }
  return undefined;
}

/** The Temporal Web UI of a dev server (8233) and of docker-compose (8080). */
export const DEFAULT_CODEC_CORS_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233', 'http://localhost:8080', 'http://127.0.0.1:8080'];

function temporalSecurity(v: Values, problems: string[]): Pick<TemporalConfig, 'apiKey' | 'tls'> {
  const apiKey = v.get('TEMPORAL_API_KEY');
  const tlsSetting = v.get('TEMPORAL_TLS');
  const certSet = v.isSet('TEMPORAL_TLS_CERT');
  const keySet = v.isSet('TEMPORAL_TLS_KEY');
  if (certSet !== keySet) {
    problems.push(`TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (an mTLS client certificate and its private key); ${certSet ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'} is missing`);
  }
  const serverName = v.get('TEMPORAL_TLS_SERVER_NAME');
  const customized = certSet || keySet || v.isSet('TEMPORAL_TLS_CA') || serverName !== undefined;
  if (tlsSetting === false && customized) {
    problems.push('TEMPORAL_TLS=false, but TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME are set: they need TLS');
  }
  const tlsOn = tlsSetting ?? (v.isSet('TEMPORAL_API_KEY') || customized);
  if (!tlsOn) return { apiKey };
  const crt = v.get('TEMPORAL_TLS_CERT');
  const key = v.get('TEMPORAL_TLS_KEY');
  const ca = v.get('TEMPORAL_TLS_CA');
  return {
    apiKey,
    tls: {
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(serverName ? { serverNameOverride: serverName } : {}),
    },
  };
}

function encryption(v: Values, problems: string[]): EncryptionConfig | undefined {
  if (!v.isSet('HARVEST_SYNC_ENCRYPTION_KEY')) {
    if (v.isSet('HARVEST_SYNC_ENCRYPTION_OLD_KEYS') || v.isSet('HARVEST_SYNC_ENCRYPTION_KEY_ID')) {
      problems.push('HARVEST_SYNC_ENCRYPTION_KEY_ID / HARVEST_SYNC_ENCRYPTION_OLD_KEYS need HARVEST_SYNC_ENCRYPTION_KEY (the current key)');
    }
    return undefined;
  }
  const key = v.get('HARVEST_SYNC_ENCRYPTION_KEY');
  const keyId = v.get('HARVEST_SYNC_ENCRYPTION_KEY_ID');
  const oldKeys = v.get('HARVEST_SYNC_ENCRYPTION_OLD_KEYS') ?? {};
  const keyIdValid = !v.isSet('HARVEST_SYNC_ENCRYPTION_KEY_ID') || v.isValid('HARVEST_SYNC_ENCRYPTION_KEY_ID');
  if (keyIdValid && oldKeys[keyId]) {
    problems.push(`HARVEST_SYNC_ENCRYPTION_OLD_KEYS repeats the current key id "${keyId}"`);
    return undefined;
  }
  const oldKeysOk = !v.isSet('HARVEST_SYNC_ENCRYPTION_OLD_KEYS') || v.isValid('HARVEST_SYNC_ENCRYPTION_OLD_KEYS');
  return key && keyId && oldKeysOk ? { keyId, key, oldKeys } : undefined;
}

function clickhouseServer(v: Values, problems: string[]): Pick<ClickHouseConfig, 'url' | 'user' | 'password' | 'caCert'> {
  let user = v.get('CLICKHOUSE_USER');
  let password = v.get('CLICKHOUSE_PASSWORD');
  const caCert = v.get('CLICKHOUSE_CA_CERT');
  if (!v.isSet('CLICKHOUSE_URL')) {
    if (v.isSet('CLICKHOUSE_CA_CERT')) problems.push('CLICKHOUSE_CA_CERT needs an https:// CLICKHOUSE_URL (the embedded engine has no TLS)');
    return { user, password };
  }
  const raw = v.get('CLICKHOUSE_URL');
  if (raw === undefined) return { user, password };
  const u = new URL(raw);
  if (caCert && u.protocol !== 'https:') problems.push('CLICKHOUSE_CA_CERT needs an https:// CLICKHOUSE_URL');
  // Credentials in the URL move to user/password, so the URL can be shown (demo, errors) safely.
  if (u.username || u.password) {
    if (user !== undefined || password !== undefined) {
      problems.push('CLICKHOUSE_URL carries credentials and CLICKHOUSE_USER/CLICKHOUSE_PASSWORD are set too: use one or the other');
    } else {
      user = decodeURIComponent(u.username) || undefined;
      password = decodeURIComponent(u.password) || undefined;
    }
    u.username = '';
    u.password = '';
  }
  return { url: u.toString().replace(/\/+$/, ''), user, password, caCert };
}

function observabilityOf(v: Values): ObservabilityConfig {
  const config: ObservabilityConfig = {};
  const logFormat = v.get('LOG_FORMAT');
  const logLevel = v.get('LOG_LEVEL');
  const metricsAddress = v.get('HARVEST_SYNC_METRICS_ADDRESS');
  if (logFormat) config.logFormat = logFormat;
  if (logLevel) config.logLevel = logLevel;
  if (metricsAddress) config.metricsAddress = metricsAddress;
  return config;
}

/**
 * LOG_FORMAT, LOG_LEVEL and HARVEST_SYNC_METRICS_ADDRESS alone: the CLI installs the
 * logger before it reads the rest (an invalid value falls back to the default there, and
 * loadConfig reports it with every other problem).
 */
export function parseObservability(env: Env): { config: ObservabilityConfig; problems: string[] } {
  const v = readValues(env, ['observability']);
  return { config: observabilityOf(v), problems: v.problems };
}
