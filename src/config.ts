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
  /** Task-queue-wide activity rate: Harvest allows 100 requests per 15 s per token. */
  activitiesPerSecond: number;
  /** The reports API's own budget: 100 requests per 15 minutes. */
  reportsPerSecond: number;
  maxConcurrentActivities: number;
}

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFormat = 'json' | 'pretty';

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
  const get = getter(env);
  const url = (k: string, fallback?: string): string | undefined => {
    const v = get(k) ?? fallback;
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return v.replace(/\/+$/, '');
    } catch {
      // A URL may carry credentials (https://user:password@host): never echo them.
      problems.push(`${k} must be an http(s) URL (got "${withoutCredentials(v)}")`);
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
  const temporal: TemporalConfig = {
    address,
    namespace,
    taskQueue,
    cliPath: get('TEMPORAL_CLI_PATH'),
    ...temporalSecurity(get, problems),
    encryption: encryption(get, problems),
  };

  const database = get('CLICKHOUSE_DATABASE') ?? 'harvest';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    problems.push(`CLICKHOUSE_DATABASE must be a plain identifier (letters, digits, _) (got "${database}")`);
  }
  const clickhouse: ClickHouseConfig = {
    ...clickhouseServer(get, problems),
    path: path.resolve(get('CLICKHOUSE_PATH') ?? path.join('.harvest-sync', 'clickhouse')),
    database,
  };

  const pacing = get('HARVEST_PACING') ?? 'window';
  if (pacing !== 'window' && pacing !== 'queue') problems.push(`HARVEST_PACING must be window or queue (got "${pacing}")`);
  const worker: WorkerTuning = {
    pacing: pacing === 'queue' ? 'queue' : 'window',
    activitiesPerSecond: positive('HARVEST_REQUESTS_PER_SECOND', 6.5),
    reportsPerSecond: positive('HARVEST_REPORTS_REQUESTS_PER_SECOND', 100 / 900),
    // Window pacing spends a fresh window at once: enough pages in flight for that.
    maxConcurrentActivities: Math.floor(positive('HARVEST_CONCURRENCY', pacing === 'queue' ? 4 : 16)),
  };

  const observability = parseObservability(env);
  problems.push(...observability.problems);
  const codecServer: CodecServerConfig = { corsOrigins: DEFAULT_CODEC_CORS_ORIGINS };
  const origins = get('HARVEST_SYNC_CODEC_CORS_ORIGIN');
  if (origins !== undefined) {
    codecServer.corsOrigins = origins.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean);
    const bad = codecServer.corsOrigins.filter((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o));
    if (bad.length) problems.push(`HARVEST_SYNC_CODEC_CORS_ORIGIN must be origins like https://cloud.temporal.io, separated by commas (got ${bad.map((o) => `"${o}"`).join(', ')})`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { harvest, temporal, clickhouse, worker, observability: observability.config, codecServer };
}

type Get = (k: string) => string | undefined;

function getter(env: Env): Get {
  return (k) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
}

/** The Temporal Web UI of a dev server (8233) and of docker-compose (8080). */
export const DEFAULT_CODEC_CORS_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233', 'http://localhost:8080', 'http://127.0.0.1:8080'];

function withoutCredentials(value: string): string {
  try {
    const u = new URL(value);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return value.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}

function parseBool(get: Get, k: string, problems: string[]): boolean | undefined {
  const v = get(k);
  if (v === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  problems.push(`${k} must be true or false (got "${v}")`);
  return undefined;
}

/** A PEM file named by `k`: read now, so a wrong path fails before any connection. The contents are never echoed. */
function pemFile(get: Get, k: string, problems: string[]): Buffer | undefined {
  const file = get(k);
  if (file === undefined) return undefined;
  let contents: Buffer;
  try {
    contents = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    problems.push(`${k}: cannot read ${file} (${why})`);
    return undefined;
  }
  if (!contents.includes('-----BEGIN ')) {
    problems.push(`${k}: ${file} is not a PEM file (no "-----BEGIN" line)`);
    return undefined;
  }
  return contents;
}

function temporalSecurity(get: Get, problems: string[]): Pick<TemporalConfig, 'apiKey' | 'tls'> {
  const apiKey = get('TEMPORAL_API_KEY');
  if (apiKey !== undefined && [...apiKey].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) {
    problems.push('TEMPORAL_API_KEY contains whitespace or control characters (was it pasted with a line break?)');
  }
  const tlsSetting = parseBool(get, 'TEMPORAL_TLS', problems);
  const certSet = get('TEMPORAL_TLS_CERT') !== undefined;
  const keySet = get('TEMPORAL_TLS_KEY') !== undefined;
  const crt = pemFile(get, 'TEMPORAL_TLS_CERT', problems);
  const key = pemFile(get, 'TEMPORAL_TLS_KEY', problems);
  if (certSet !== keySet) {
    problems.push(`TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (an mTLS client certificate and its private key); ${certSet ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'} is missing`);
  }
  const ca = pemFile(get, 'TEMPORAL_TLS_CA', problems);
  const serverName = get('TEMPORAL_TLS_SERVER_NAME');
  const customized = certSet || keySet || get('TEMPORAL_TLS_CA') !== undefined || serverName !== undefined;
  if (tlsSetting === false && customized) {
    problems.push('TEMPORAL_TLS=false, but TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME are set: they need TLS');
  }
  const tlsOn = tlsSetting ?? (apiKey !== undefined || customized);
  if (!tlsOn) return { apiKey };
  return {
    apiKey,
    tls: {
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(serverName ? { serverNameOverride: serverName } : {}),
    },
  };
}

/** 32 bytes as base64 (`openssl rand -base64 32`) or hex (`openssl rand -hex 32`). The value is never echoed. */
function parseKey(value: string): Buffer | string {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const bytes = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
    if (bytes.length === 32) return bytes;
    return `must be 32 bytes (AES-256); it decodes to ${bytes.length} bytes as base64`;
  }
  return 'must be 32 bytes as base64 or hex (generate one with `openssl rand -base64 32`)';
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

function encryption(get: Get, problems: string[]): EncryptionConfig | undefined {
  const raw = get('HARVEST_SYNC_ENCRYPTION_KEY');
  const keyId = get('HARVEST_SYNC_ENCRYPTION_KEY_ID') ?? 'default';
  const oldRaw = get('HARVEST_SYNC_ENCRYPTION_OLD_KEYS');
  if (raw === undefined) {
    if (oldRaw !== undefined || get('HARVEST_SYNC_ENCRYPTION_KEY_ID') !== undefined) {
      problems.push('HARVEST_SYNC_ENCRYPTION_KEY_ID / HARVEST_SYNC_ENCRYPTION_OLD_KEYS need HARVEST_SYNC_ENCRYPTION_KEY (the current key)');
    }
    return undefined;
  }
  let ok = true;
  const key = parseKey(raw);
  if (typeof key === 'string') {
    problems.push(`HARVEST_SYNC_ENCRYPTION_KEY ${key}`);
    ok = false;
  }
  if (!KEY_ID.test(keyId)) {
    problems.push(`HARVEST_SYNC_ENCRYPTION_KEY_ID must be 1-64 letters, digits, ".", "_" or "-" (got "${keyId}")`);
    ok = false;
  }
  const oldKeys: Record<string, Buffer> = {};
  for (const [i, entry] of (oldRaw ?? '').split(',').map((e) => e.trim()).filter(Boolean).entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon).trim() : '';
    if (!KEY_ID.test(id)) {
      problems.push(`HARVEST_SYNC_ENCRYPTION_OLD_KEYS entry ${i + 1} must be id:key (an id of letters, digits, ".", "_" or "-", then the key)`);
      ok = false;
      continue;
    }
    const old = parseKey(entry.slice(colon + 1).trim());
    if (typeof old === 'string') problems.push(`HARVEST_SYNC_ENCRYPTION_OLD_KEYS key "${id}" ${old}`);
    else if (id === keyId) problems.push(`HARVEST_SYNC_ENCRYPTION_OLD_KEYS repeats the current key id "${id}"`);
    else if (oldKeys[id]) problems.push(`HARVEST_SYNC_ENCRYPTION_OLD_KEYS names key id "${id}" twice`);
    else {
      oldKeys[id] = old;
      continue;
    }
    ok = false;
  }
  return ok && typeof key !== 'string' ? { keyId, key, oldKeys } : undefined;
}

function clickhouseServer(get: Get, problems: string[]): Pick<ClickHouseConfig, 'url' | 'user' | 'password' | 'caCert'> {
  let user = get('CLICKHOUSE_USER');
  let password = get('CLICKHOUSE_PASSWORD');
  const caCert = pemFile(get, 'CLICKHOUSE_CA_CERT', problems);
  const raw = get('CLICKHOUSE_URL');
  if (raw === undefined) {
    if (get('CLICKHOUSE_CA_CERT') !== undefined) problems.push('CLICKHOUSE_CA_CERT needs an https:// CLICKHOUSE_URL (the embedded engine has no TLS)');
    return { user, password };
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    problems.push(`CLICKHOUSE_URL must be an http:// or https:// URL such as https://abc.clickhouse.cloud:8443 (got "${withoutCredentials(raw)}")`);
    return { user, password };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    problems.push(`CLICKHOUSE_URL must be an http:// or https:// URL (ClickHouse's HTTP interface, e.g. https://abc.clickhouse.cloud:8443), not ${u.protocol}// (got "${withoutCredentials(raw)}")`);
    return { user, password };
  }
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

const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * LOG_FORMAT, LOG_LEVEL and HARVEST_SYNC_METRICS_ADDRESS alone: the CLI installs the
 * logger before it reads the rest (an invalid value falls back to the default there, and
 * loadConfig reports it with every other problem).
 */
export function parseObservability(env: Env): { config: ObservabilityConfig; problems: string[] } {
  const get = getter(env);
  const problems: string[] = [];
  const config: ObservabilityConfig = {};
  const format = get('LOG_FORMAT')?.toLowerCase();
  if (format === 'json' || format === 'pretty') config.logFormat = format;
  else if (format !== undefined) problems.push(`LOG_FORMAT must be json or pretty (got "${get('LOG_FORMAT')}")`);
  const level = get('LOG_LEVEL')?.toUpperCase();
  const normalized = level === 'WARNING' ? 'WARN' : level;
  if (LOG_LEVELS.includes(normalized as LogLevel)) config.logLevel = normalized as LogLevel;
  else if (level !== undefined) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${get('LOG_LEVEL')}")`);
  const metrics = get('HARVEST_SYNC_METRICS_ADDRESS');
  if (metrics !== undefined) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(metrics);
    if (m && Number(m[2]) > 0 && Number(m[2]) < 65536) config.metricsAddress = metrics;
    else problems.push(`HARVEST_SYNC_METRICS_ADDRESS must be host:port, e.g. 0.0.0.0:9464 (got "${metrics}")`);
  }
  return { config, problems };
}

/** Every configured secret value, for redaction from logs. */
export function secretValues(env: Env): string[] {
  const get = getter(env);
  const out = ['HARVEST_ACCESS_TOKEN', 'HARVEST_CLIENT_SECRET', 'HARVEST_REFRESH_TOKEN', 'CLICKHOUSE_PASSWORD', 'TEMPORAL_API_KEY', 'HARVEST_SYNC_ENCRYPTION_KEY']
    .map(get)
    .filter((v): v is string => v !== undefined);
  for (const entry of (get('HARVEST_SYNC_ENCRYPTION_OLD_KEYS') ?? '').split(',')) {
    const key = entry.slice(entry.indexOf(':') + 1).trim();
    if (key) out.push(key);
  }
  const chUrl = get('CLICKHOUSE_URL');
  if (chUrl) {
    try {
      const u = new URL(chUrl);
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch {
      // not a URL: loadConfig reports it
    }
  }
  return [...new Set(out)];
}
