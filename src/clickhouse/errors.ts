// ClickHouse errors by kind. An outage (connection refused or reset, timeouts, too many
// parts, memory limits) costs time: the activity retries with backoff, and the reason
// shows in `harvest-sync status`. A mistake (syntax, types, schema, unknown table or
// column, credentials) never heals by itself: it fails at once, naming the table and
// ClickHouse's own message.
import type { TableName } from './port';

/** ClickHouse server error codes (src/Common/ErrorCodes.cpp) that a retry can outlive. */
const TRANSIENT_CODES: Record<number, string> = {
  3: 'UNEXPECTED_END_OF_FILE',
  23: 'CANNOT_READ_FROM_ISTREAM',
  24: 'CANNOT_WRITE_TO_OSTREAM',
  32: 'ATTEMPT_TO_READ_AFTER_EOF',
  159: 'TIMEOUT_EXCEEDED',
  202: 'TOO_MANY_SIMULTANEOUS_QUERIES',
  203: 'NO_FREE_CONNECTION',
  209: 'SOCKET_TIMEOUT',
  210: 'NETWORK_ERROR',
  236: 'ABORTED',
  241: 'MEMORY_LIMIT_EXCEEDED',
  242: 'TABLE_IS_READ_ONLY',
  252: 'TOO_MANY_PARTS',
  285: 'TOO_FEW_LIVE_REPLICAS',
  286: 'UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE',
  319: 'UNKNOWN_STATUS_OF_INSERT',
  394: 'QUERY_WAS_CANCELLED',
  425: 'SYSTEM_ERROR',
  439: 'CANNOT_SCHEDULE_TASK',
  999: 'KEEPER_EXCEPTION',
};

/** Codes no retry can fix: the query, the data's types, the schema or the credentials are wrong. */
const PERMANENT_CODES: Record<number, string> = {
  6: 'CANNOT_PARSE_TEXT',
  8: 'THERE_IS_NO_COLUMN',
  10: 'NOT_FOUND_COLUMN_IN_BLOCK',
  16: 'NO_SUCH_COLUMN_IN_TABLE',
  26: 'CANNOT_PARSE_QUOTED_STRING',
  27: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  36: 'BAD_ARGUMENTS',
  43: 'ILLEGAL_TYPE_OF_ARGUMENT',
  44: 'ILLEGAL_COLUMN',
  46: 'UNKNOWN_FUNCTION',
  47: 'UNKNOWN_IDENTIFIER',
  48: 'NOT_IMPLEMENTED',
  50: 'UNKNOWN_TYPE',
  53: 'TYPE_MISMATCH',
  60: 'UNKNOWN_TABLE',
  62: 'SYNTAX_ERROR',
  70: 'CANNOT_CONVERT_TYPE',
  72: 'CANNOT_PARSE_NUMBER',
  81: 'UNKNOWN_DATABASE',
  115: 'UNKNOWN_SETTING',
  117: 'INCORRECT_DATA',
  164: 'READONLY',
  192: 'UNKNOWN_USER',
  193: 'WRONG_PASSWORD',
  194: 'REQUIRED_PASSWORD',
  195: 'IP_ADDRESS_NOT_ALLOWED',
  386: 'NO_COMMON_TYPE',
  497: 'ACCESS_DENIED',
  516: 'AUTHENTICATION_FAILED',
};

const AUTH_CODES = new Set([192, 193, 194, 195, 497, 516]);

/** Node/undici socket errors of an unreachable or dropped server (and the client's own timeout). */
const TRANSIENT_NETWORK = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENETDOWN|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+)$/;

export interface ClickHouseErrorKind {
  retryable: boolean;
  /** ClickHouse's error name (TOO_MANY_PARTS), the socket error code (ECONNREFUSED), or TIMEOUT / HTTP_<status> / UNKNOWN. */
  name: string;
  /** The server's numeric code, when it sent one. */
  code?: number;
  auth: boolean;
}

/** Sorts an error thrown by @clickhouse/client or the embedded engine into retry or fail. */
export function classifyClickHouseError(err: unknown): ClickHouseErrorKind {
  const e = err as { code?: unknown; type?: unknown; message?: unknown; cause?: unknown } | undefined;
  // ClickHouseError: `code` is the server's number as a string, `type` its name. (chdb
  // bundles its own copy of the class, so it is recognised by shape, not instanceof.)
  const numeric = typeof e?.code === 'string' && /^\d+$/.test(e.code) ? Number(e.code) : typeof e?.code === 'number' ? e.code : undefined;
  if (numeric !== undefined) {
    const name = typeof e?.type === 'string' && e.type ? e.type : (PERMANENT_CODES[numeric] ?? TRANSIENT_CODES[numeric] ?? `CODE_${numeric}`);
    if (PERMANENT_CODES[numeric] !== undefined) return { retryable: false, name, code: numeric, auth: AUTH_CODES.has(numeric) };
    // Unlisted server codes retry: waiting costs time, failing a long sync for a passing
    // condition costs the sync. The reason is visible in `status` meanwhile.
    return { retryable: true, name, code: numeric, auth: false };
  }
  for (let c: unknown = err, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK.test(code)) return { retryable: true, name: code, auth: false };
  }
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (/^Timeout error\.?$/i.test(message) || /timed? ?out/i.test(message)) return { retryable: true, name: 'TIMEOUT', auth: false };
  if (/socket hang up|other side closed|ECONNRESET|ECONNREFUSED/i.test(message)) return { retryable: true, name: 'NETWORK', auth: false };
  // A proxy or load balancer in front of ClickHouse answering without an exception code.
  const http = /\b(401|403|502|503|504)\b/.exec(message);
  if (http && /unauthori[sz]ed|forbidden|bad gateway|service unavailable|gateway time-?out/i.test(message)) {
    const status = Number(http[1]);
    return { retryable: status >= 500, name: `HTTP_${status}`, auth: status < 500 };
  }
  return { retryable: true, name: 'UNKNOWN', auth: false };
}

/** A ClickHouse failure with its kind and the table it concerned. Never holds credentials. */
export class ClickHouseStoreError extends Error {
  constructor(
    message: string,
    readonly kind: ClickHouseErrorKind,
    readonly table: string | undefined,
  ) {
    super(message);
    this.name = 'ClickHouseStoreError';
  }
}

export interface ClickHouseTarget {
  /** Where ClickHouse is: its URL (no credentials) or the embedded directory. */
  where: string;
  user?: string;
  /** Only to scrub it from messages; never printed. */
  password?: string;
}

/** What a store does: its failures name it. */
export type StoreOp = 'query' | 'command' | 'insert';

/** The table a statement concerns: its first `db`.`table`, else (a command) the database it creates. */
export function tableOfSql(op: StoreOp, sql: string): string | undefined {
  const m = /`([^`]+)`\.`([^`]+)`/.exec(sql) ?? (op === 'command' ? /DATABASE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([\w-]+)`?/i.exec(sql) : null);
  if (!m) return undefined;
  return m.length > 2 && m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1];
}

export const tableLabel = (t: TableName): string => `${t.database}.${t.table}`;

/** The error a caller sees: what failed, on which table, ClickHouse's words, and what to do. */
export function describeClickHouseError(err: unknown, op: StoreOp, table: string | undefined, target: ClickHouseTarget): ClickHouseStoreError {
  if (err instanceof ClickHouseStoreError) return err;
  const kind = classifyClickHouseError(err);
  let text = String((err as { message?: unknown })?.message ?? err).trim();
  if (target.password) text = text.split(target.password).join('[redacted]');
  if (text.length > 600) text = `${text.slice(0, 600)}…`;
  const on = table ? ` on ${table}` : '';
  const code = kind.code !== undefined ? ` (ClickHouse error ${kind.code} ${kind.name})` : ` (${kind.name})`;
  let message = `ClickHouse ${op}${on} failed at ${target.where}: ${text}${code}`;
  if (kind.auth) message += `; check CLICKHOUSE_USER${target.user ? ` (now "${target.user}")` : ''} and CLICKHOUSE_PASSWORD`;
  else if (kind.retryable) message += '; retrying';
  return new ClickHouseStoreError(message, kind, table);
}

/** Runs one operation of a store: whatever it throws leaves as a ClickHouseStoreError. */
export async function classified<T>(target: ClickHouseTarget, op: StoreOp, table: string | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw describeClickHouseError(err, op, table, target);
  }
}
