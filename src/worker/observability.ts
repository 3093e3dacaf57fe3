// Logs and metrics of a harvest-sync process, through the Temporal SDK's Runtime (one per
// process): every log line (the SDK's, the workflows' and activities' context loggers,
// and the native core's, which are forwarded here) as one JSON object per line or as
// readable text, with every configured secret value redacted; and the worker's
// Prometheus endpoint.
import { formatWithOptions } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DefaultLogger, Runtime, type LogEntry, type Logger, type LogLevel, type RuntimeOptions } from '@temporalio/worker';
import { parseObservability, secretValues, type Env, type LogFormat, type ObservabilityConfig } from '../config';

/** `worker`: long-running, logs for machines. `interactive`: commands that show their own progress. */
export type ProcessRole = 'worker' | 'interactive';

export interface RuntimeInstallOptions {
  role: ProcessRole;
  observability?: ObservabilityConfig;
  /** Values to redact from every log line (tokens, passwords, API keys, encryption keys). */
  secrets?: string[];
  /** Default: process.stdout.isTTY (a worker on a terminal logs text, under a supervisor JSON). */
  stdoutIsTTY?: boolean;
  /** Default: process.stderr. */
  write?: (line: string) => void;
}

const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const REDACTED = '[redacted]';
/** Shorter values would turn ordinary words into "[redacted]"; such a secret is too weak to matter anyway. */
const MIN_SECRET_LENGTH = 6;

export function resolveLogging(opts: Pick<RuntimeInstallOptions, 'role' | 'observability' | 'stdoutIsTTY'>): { format: LogFormat; level: LogLevel } {
  const tty = opts.stdoutIsTTY ?? Boolean(process.stdout.isTTY);
  return {
    format: opts.observability?.logFormat ?? (opts.role === 'worker' && !tty ? 'json' : 'pretty'),
    level: opts.observability?.logLevel ?? (opts.role === 'worker' ? 'INFO' : 'WARN'),
  };
}

/** Replaces every occurrence of a secret (and of its JSON-escaped form) in a string. */
export function createRedactor(secrets: readonly string[]): (s: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    needles.add(secret);
    needles.add(JSON.stringify(secret).slice(1, -1));
    needles.add(encodeURIComponent(secret));
  }
  // Longest first, so a secret containing another one is replaced whole.
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (s) => s;
  return (s) => {
    let out = s;
    for (const n of ordered) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  };
}

/** Log metadata made JSON-safe: errors as {name, message, stack}, bytes as a length, no cycles. */
function sanitize(value: unknown, redact: (s: string) => string, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return redact(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth > 8) return '[…]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const cause = (value as { cause?: unknown }).cause;
      return {
        name: value.name,
        message: redact(value.message),
        ...(value.stack ? { stack: redact(value.stack) } : {}),
        ...(cause !== undefined ? { cause: sanitize(cause, redact, seen, depth + 1) } : {}),
      };
    }
    if (value instanceof Date) return value.toISOString();
    if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
    if (Array.isArray(value)) return value.map((v) => sanitize(v, redact, seen, depth + 1));
    if (value instanceof Map) return sanitize(Object.fromEntries(value), redact, seen, depth + 1);
    if (value instanceof Set) return sanitize([...value], redact, seen, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const s = sanitize(v, redact, seen, depth + 1);
      if (s !== undefined) out[k] = s;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

export interface LogLineOptions {
  format: LogFormat;
  redact: (s: string) => string;
  colors?: boolean;
}

/** One log entry as one line (no trailing newline). */
export function formatLogLine(entry: LogEntry, opts: LogLineOptions): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta ? (sanitize(entry.meta, opts.redact, new WeakSet(), 0) as Record<string, unknown>) : {};
  const message = opts.redact(entry.message);
  if (opts.format === 'json') {
    // time, level, message first; a field of the same name is kept as meta_<name>.
    const line: Record<string, unknown> = { time, level: entry.level, message };
    for (const [k, v] of Object.entries(meta)) line[k in line ? `meta_${k}` : k] = v;
    return opts.redact(JSON.stringify(line));
  }
  const rest = Object.keys(meta).length ? ` ${formatWithOptions({ colors: opts.colors ?? false, breakLength: Infinity, depth: 6 }, meta)}` : '';
  return opts.redact(`${time} [${entry.level}] ${message}${rest}`);
}

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  secrets?: readonly string[];
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const redact = createRedactor(opts.secrets ?? []);
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const colors = opts.format === 'pretty' && !opts.write && Boolean(process.stderr.isTTY) && process.env.NO_COLOR === undefined;
  return new DefaultLogger(opts.level, (entry) => write(formatLogLine(entry, { format: opts.format, redact, colors }) + '\n'));
}

let installed: Logger | undefined;

/**
 * Installs the process's Temporal Runtime once: the logger (JSON or text, level, secrets
 * redacted), native core logs forwarded to it, and for workers the Prometheus endpoint.
 * Returns the logger. A second call, or a Runtime someone else installed (the test
 * harness), keeps what is there.
 */
export function installRuntime(opts: RuntimeInstallOptions): Logger {
  if (installed) return installed;
  if (Runtime._instance) return (installed = Runtime._instance.logger);
  const { format, level } = resolveLogging(opts);
  const logger = createLogger({ format, level, secrets: opts.secrets, write: opts.write });
  const metricsAddress = opts.role === 'worker' ? opts.observability?.metricsAddress : undefined;
  const options: RuntimeOptions = {
    logger,
    // Interactive commands handle Ctrl-C themselves (cancel or pause the sync, then stop the
    // worker in order); workers keep the SDK's graceful shutdown on SIGINT/SIGTERM.
    ...(opts.role === 'interactive' ? { shutdownSignals: [] } : {}),
    telemetryOptions: {
      // The core's own logs go through the same logger (and redaction) instead of straight to stderr.
      logging: { filter: { core: level, other: LEVELS.indexOf(level) < LEVELS.indexOf('WARN') ? 'WARN' : level }, forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  };
  try {
    Runtime.install(options);
  } catch (err) {
    throw new Error(
      metricsAddress
        ? `cannot start the Temporal runtime with metrics on ${metricsAddress} (HARVEST_SYNC_METRICS_ADDRESS; is the port in use?): ${(err as Error).message}`
        : `cannot start the Temporal runtime: ${(err as Error).message}`,
    );
  }
  installed = logger;
  return logger;
}

/**
 * installRuntime from LOG_FORMAT, LOG_LEVEL, HARVEST_SYNC_METRICS_ADDRESS and the configured
 * secrets. An interactive command given neither LOG_FORMAT nor LOG_LEVEL keeps the terminal
 * for its own progress and short retry lines: the SDK's log lines (retries with their stack
 * traces included) go as JSON, INFO and up, to `<state dir>/logs/harvest-sync.log`.
 */
export function installRuntimeFromEnv(role: ProcessRole, env: Env): Logger {
  const observability = parseObservability(env).config;
  if (role === 'interactive' && !observability.logFormat && !observability.logLevel) {
    const file = path.resolve(env.HARVEST_SYNC_STATE_DIR || '.harvest-sync', 'logs', LOG_FILE);
    return installRuntime({ role, observability: { ...observability, logFormat: 'json', logLevel: 'INFO' }, secrets: secretValues(env), write: fileLog(file) });
  }
  return installRuntime({ role, observability, secrets: secretValues(env) });
}

export const LOG_FILE = 'harvest-sync.log';
/** Where this process's log lines went, and how many were warnings or errors (undefined: stderr). */
let fileLogged: { file: string; warnings: number } | undefined;
export function loggedToFile(): { file: string; warnings: number } | undefined {
  return fileLogged;
}

/** Appends lines to `file`, opened at the first one; a file past 10 MiB starts again (the old one kept as .1). */
function fileLog(file: string): (line: string) => void {
  fileLogged = { file, warnings: 0 };
  const state = fileLogged;
  let fd: number | undefined;
  return (line) => {
    try {
      if (fd === undefined) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        if (fs.existsSync(file) && fs.statSync(file).size > 10 * 1024 * 1024) fs.renameSync(file, `${file}.1`);
        fd = fs.openSync(file, 'a');
      }
      fs.writeSync(fd, line);
      // The SDK's notes that a worker serves only workflows or only activities are by design.
      if (/"level":"(WARN|ERROR)"/.test(line) && !/No (workflows|activities) registered/.test(line)) state.warnings++;
    } catch {
      // A log that cannot be written must not stop a sync.
    }
  };
}
