// Reads the variables of src/config/variables.ts from an environment, one parser per type.
// A bad value becomes a problem naming the variable (never echoing a secret or a file's
// contents); the caller reports every problem at once.
import * as fs from 'node:fs';
import { ENV_VARIABLES, type EnvVariable, type Section, type VariableName, type VariableType } from './variables';
import { HARVEST_BUDGETS, type Budget, type BudgetName } from './budgets';

export type Env = Record<string, string | undefined>;
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
/** Harvest's largest `per_page`. */
export const MAX_PER_PAGE = 2000;

/** What each type reads as. */
interface TypeValues {
  text: string;
  url: string;
  positive: number;
  count: number;
  boolean: boolean;
  date: string;
  path: string;
  'pem-file': Buffer;
  identifier: string;
  'host-port': string;
  'account-ids': string[] | 'all';
  'api-key': string;
  'aes-key': Buffer;
  'key-id': string;
  'key-ring': Record<string, Buffer>;
  origins: string[];
  'log-format': LogFormat;
  'log-level': LogLevel;
  pacing: 'window' | 'queue';
  'page-size': number;
  budgets: Record<BudgetName, Budget>;
}

type Entry<N extends VariableName> = Extract<(typeof ENV_VARIABLES)[number], { name: N }>;
/** A variable's value: its type's, never undefined when the table gives a default. */
export type ValueOf<N extends VariableName> = Entry<N> extends { default: string }
  ? TypeValues[Entry<N>['type']]
  : TypeValues[Entry<N>['type']] | undefined;

type Parsed<T> = { value: T } | { problems: string[] };
type Parser<T> = (raw: string, v: EnvVariable) => Parsed<T>;

const ok = <T>(value: T): Parsed<T> => ({ value });
const bad = (...problems: string[]): Parsed<never> => ({ problems });

/** A URL as it may be shown: credentials in it (https://user:password@host) never are. */
export function withoutCredentials(value: string): string {
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

/** 32 bytes as base64 (`openssl rand -base64 32`) or hex (`openssl rand -hex 32`). The value is never echoed. */
function aesKey(value: string): Buffer | string {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const bytes = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
    if (bytes.length === 32) return bytes;
    return `must be 32 bytes (AES-256); it decodes to ${bytes.length} bytes as base64`;
  }
  return 'must be 32 bytes as base64 or hex (generate one with `openssl rand -base64 32`)';
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

const PARSERS: { [T in VariableType]: Parser<TypeValues[T]> } = {
  text: (raw) => ok(raw),
  path: (raw) => ok(raw),
  url: (raw, v) => {
    try {
      const u = new URL(raw);
      if (u.protocol === 'http:' || u.protocol === 'https:') return ok(raw.replace(/\/+$/, ''));
    } catch {
      // reported below
    }
    return bad(`${v.name} must be an http:// or https:// URL${v.example ? `, e.g. ${v.example.value}` : ''} (got "${withoutCredentials(raw)}")`);
  },
  positive: (raw, v) => {
    const n = Number(raw);
    return Number.isFinite(n) && n > 0 ? ok(n) : bad(`${v.name} must be a positive number (got "${raw}")`);
  },
  count: (raw, v) => {
    const n = Number(raw);
    return Number.isInteger(n) && n > 0 ? ok(n) : bad(`${v.name} must be a whole number of at least 1 (got "${raw}")`);
  },
  boolean: (raw, v) => {
    if (/^(1|true|yes|on)$/i.test(raw)) return ok(true);
    if (/^(0|false|no|off)$/i.test(raw)) return ok(false);
    return bad(`${v.name} must be true or false (got "${raw}")`);
  },
  date: (raw, v) => {
    const d = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(raw) ? new Date(raw) : new Date(NaN);
    return Number.isNaN(d.getTime()) ? bad(`${v.name} must be an ISO date like 2024-01-01 (got "${raw}")`) : ok(d.toISOString());
  },
  // Read now, so a wrong path fails before any connection. The contents are never echoed.
  'pem-file': (file, v) => {
    let contents: Buffer;
    try {
      contents = fs.readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
      return bad(`${v.name}: cannot read ${file} (${why})`);
    }
    return contents.includes('-----BEGIN ') ? ok(contents) : bad(`${v.name}: ${file} is not a PEM file (no "-----BEGIN" line)`);
  },
  identifier: (raw, v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw) ? ok(raw) : bad(`${v.name} must be a plain identifier (letters, digits, _) (got "${raw}")`),
  'host-port': (raw, v) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
    return m && Number(m[2]) > 0 && Number(m[2]) < 65536 ? ok(raw) : bad(`${v.name} must be host:port, e.g. 0.0.0.0:9464 (got "${raw}")`);
  },
  'account-ids': (raw, v) => {
    if (raw.toLowerCase() === 'all') return ok('all');
    const ids = raw.split(',').map((x) => x.trim()).filter(Boolean);
    if (ids.length === 0 || ids.some((x) => !/^\d+$/.test(x))) return bad(`${v.name} must be account ids (digits) separated by commas, or "all" (got "${raw}")`);
    return ok([...new Set(ids)]);
  },
  'api-key': (raw, v) => [...raw].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)
    ? bad(`${v.name} contains whitespace or control characters (was it pasted with a line break?)`)
    : ok(raw),
  'aes-key': (raw, v) => {
    const key = aesKey(raw);
    return typeof key === 'string' ? bad(`${v.name} ${key}`) : ok(key);
  },
  'key-id': (raw, v) => KEY_ID.test(raw) ? ok(raw) : bad(`${v.name} must be 1-64 letters, digits, ".", "_" or "-" (got "${raw}")`),
  'key-ring': (raw, v) => {
    const keys: Record<string, Buffer> = {};
    const problems: string[] = [];
    for (const [i, entry] of raw.split(',').map((e) => e.trim()).filter(Boolean).entries()) {
      const colon = entry.indexOf(':');
      const id = colon > 0 ? entry.slice(0, colon).trim() : '';
      if (!KEY_ID.test(id)) {
        problems.push(`${v.name} entry ${i + 1} must be id:key (an id of letters, digits, ".", "_" or "-", then the key)`);
        continue;
      }
      const key = aesKey(entry.slice(colon + 1).trim());
      if (typeof key === 'string') problems.push(`${v.name} key "${id}" ${key}`);
      else if (keys[id]) problems.push(`${v.name} names key id "${id}" twice`);
      else keys[id] = key;
    }
    return problems.length ? bad(...problems) : ok(keys);
  },
  origins: (raw, v) => {
    const origins = raw.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean);
    const wrong = origins.filter((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o));
    return wrong.length
      ? bad(`${v.name} must be origins like https://cloud.temporal.io, separated by commas (got ${wrong.map((o) => `"${o}"`).join(', ')})`)
      : ok(origins);
  },
  'log-format': (raw, v) => {
    const format = raw.toLowerCase();
    return format === 'json' || format === 'pretty' ? ok(format) : bad(`${v.name} must be json or pretty (got "${raw}")`);
  },
  pacing: (raw, v) => {
    const mode = raw.toLowerCase();
    return mode === 'window' || mode === 'queue' ? ok(mode) : bad(`${v.name} must be window or queue (got "${raw}")`);
  },
  'page-size': (raw, v) => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= 1 && n <= MAX_PER_PAGE ? ok(n) : bad(`${v.name} must be a whole number from 1 to ${MAX_PER_PAGE} (Harvest's largest page) (got "${raw}")`);
  },
  // `general=100/15,reports=100/900`: requests per seconds; a budget not named keeps Harvest's.
  budgets: (raw, v) => {
    const budgets: Record<BudgetName, Budget> = { general: { ...HARVEST_BUDGETS.general }, reports: { ...HARVEST_BUDGETS.reports } };
    for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
      const m = /^(general|reports)\s*=\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(entry);
      if (!m || Number(m[2]) < 1 || Number(m[3]) <= 0) return bad(`${v.name} must be like general=100/15,reports=100/900 (requests/seconds) (got "${raw}")`);
      budgets[m[1] as BudgetName] = { ...budgets[m[1] as BudgetName], limit: Number(m[2]), windowMs: Math.round(Number(m[3]) * 1000) };
    }
    return ok(budgets);
  },
  'log-level': (raw, v) => {
    const level = raw.toUpperCase() === 'WARNING' ? 'WARN' : raw.toUpperCase();
    return LOG_LEVELS.includes(level as LogLevel) ? ok(level as LogLevel) : bad(`${v.name} must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  },
};

const BY_NAME = new Map<string, EnvVariable>(ENV_VARIABLES.map((v) => [v.name, v]));

export function variable(name: VariableName): EnvVariable {
  return BY_NAME.get(name)!;
}

/** A set value, trimmed; blank counts as unset (docker compose passes `${X:-}` as ""). */
export function rawValue(env: Env, name: VariableName): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export interface Values {
  /** The parsed value; else the table's default; else undefined. */
  get<N extends VariableName>(name: N): ValueOf<N>;
  /** Whether the variable is set at all (valid or not). */
  isSet(name: VariableName): boolean;
  /** Whether it is set and parsed. */
  isValid(name: VariableName): boolean;
  problems: string[];
}

/** Parses the variables of the given sections (all the application's by default). */
export function readValues(env: Env, sections?: readonly Section[]): Values {
  const parsed = new Map<string, unknown>();
  const invalid = new Set<string>();
  const problems: string[] = [];
  for (const v of ENV_VARIABLES as readonly EnvVariable[]) {
    if (v.section === 'compose' || (sections && !sections.includes(v.section))) continue;
    const raw = rawValue(env, v.name as VariableName);
    const source = raw ?? v.default;
    if (source === undefined) continue;
    const parse = PARSERS[v.type] as Parser<unknown>;
    const result = parse(source, v);
    if ('value' in result) parsed.set(v.name, result.value);
    else {
      invalid.add(v.name);
      problems.push(...result.problems);
      // The default stands in, so a value with a default is never undefined (the Config is refused anyway).
      const fallback = raw !== undefined && v.default !== undefined ? parse(v.default, v) : undefined;
      if (fallback && 'value' in fallback) parsed.set(v.name, fallback.value);
    }
  }
  return {
    get: <N extends VariableName>(name: N) => parsed.get(name) as ValueOf<N>,
    isSet: (name) => rawValue(env, name) !== undefined,
    isValid: (name) => rawValue(env, name) !== undefined && !invalid.has(name),
    problems,
  };
}

/** Every configured secret value, for redaction from logs: the table's secrets, and passwords inside URLs. */
export function secretValues(env: Env): string[] {
  const out: string[] = [];
  for (const v of ENV_VARIABLES as readonly EnvVariable[]) {
    const raw = rawValue(env, v.name as VariableName);
    if (raw === undefined) continue;
    if (v.secret && v.type === 'key-ring') {
      for (const entry of raw.split(',')) {
        const key = entry.slice(entry.indexOf(':') + 1).trim();
        if (key) out.push(key);
      }
    } else if (v.secret) out.push(raw);
    if (v.type === 'url') {
      try {
        const u = new URL(raw);
        if (u.password) out.push(u.password, decodeURIComponent(u.password));
      } catch {
        // not a URL: loadConfig reports it
      }
    }
  }
  return [...new Set(out)];
}
