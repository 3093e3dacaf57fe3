// Turns a Harvest record into a ClickHouse row for a catalog resource. Pure: the
// activity calls it, the tests call it directly.
import type { ColumnSpec, ColumnType, NestedSpec, ResourceSpec } from '../harvest/catalog';

export type Row = Record<string, unknown>;

export interface NestedRows {
  spec: NestedSpec;
  rows: Row[];
  /** Ids of the parents in this page: their lines not in `rows` are gone. */
  parentIds: number[];
}

export interface BuiltRows {
  rows: Row[];
  nested: NestedRows[];
  /** Values whose JSON type did not fit the column: loaded as NULL, kept in `_raw`. */
  typeMismatches: number;
  /** Newest `updated_at` among the records (ISO), for progress and cursor bookkeeping. */
  maxUpdatedAt: string | null;
}

export interface RowContext {
  accountId: string;
  parentId?: number;
  /** Report window of the page (`$window_from` / `$window_to` columns). */
  window?: { from: string; to: string };
  syncedAt: Date;
  syncId: string;
}

/** One column as buildRows fills it: where its value comes from and how it is coerced. */
interface ColumnPlan {
  name: string;
  type: ColumnType;
  /** The record's value (null when absent); undefined for `$window_from` / `$window_to`. */
  read?: (source: unknown) => unknown;
  contextField?: '$window_from' | '$window_to';
  /** Key columns cannot be NULL: a missing key part (a report row without currency) is empty. */
  nullAs: unknown;
}

// Plans are derived from catalog column arrays, which never change while a process runs.
const plans = new WeakMap<readonly ColumnSpec[], ColumnPlan[]>();

function planOf(columns: readonly ColumnSpec[], key: readonly string[], skip?: Record<string, string>): ColumnPlan[] {
  let plan = plans.get(columns);
  if (plan) return plan;
  plan = columns
    .filter((c) => !skip || !(c.name in skip))
    .map((col) => {
      const path = col.from ?? col.name;
      const nullAs = key.includes(col.name) ? KEY_DEFAULT[col.type] : col.type === 'Array(String)' ? [] : null;
      if (path === '$window_from' || path === '$window_to') return { name: col.name, type: col.type, contextField: path, nullAs };
      return { name: col.name, type: col.type, read: reader(path), nullAs };
    });
  plans.set(columns, plan);
  return plan;
}

/** A getter for a dotted path, split once: null where `pick` gives null. */
function reader(path: string): (source: unknown) => unknown {
  if (path === '$') return (source) => source;
  const parts = path.split('.');
  if (parts.length === 1) {
    const [p] = parts;
    return (source) => {
      if (source === null || typeof source !== 'object') return null;
      const v = (source as Record<string, unknown>)[p];
      return v === undefined ? null : v;
    };
  }
  return (source) => pickParts(source, parts);
}

export function buildRows(spec: ResourceSpec, records: Record<string, unknown>[], ctx: RowContext): BuiltRows {
  let typeMismatches = 0;
  let maxUpdatedAt: string | null = null;
  const syncedAt = clickhouseDateTime64(ctx.syncedAt);
  const windowFrom = ctx.window?.from ?? null;
  const windowTo = ctx.window?.to ?? null;
  const nested: NestedRows[] = (spec.nested ?? []).map((n) => ({ spec: n, rows: [], parentIds: [] }));
  const fill = (row: Row, source: unknown, plan: ColumnPlan[]): void => {
    for (let i = 0; i < plan.length; i++) {
      const col = plan[i];
      const raw = col.read ? col.read(source) : col.contextField === '$window_from' ? windowFrom : windowTo;
      let value = coerce(col.type, raw);
      if (value === MISMATCH) {
        typeMismatches++;
        value = null;
      }
      row[col.name] = value === null ? col.nullAs : value;
    }
  };
  const plan = planOf(spec.columns, spec.key);
  const nestedPlans = nested.map((n) => planOf(n.spec.columns, n.spec.key, n.spec.parentKey));
  const rows = records.map((record) => {
    const row: Row = { account_id: ctx.accountId };
    if (spec.parent) row[spec.parent.column] = ctx.parentId;
    fill(row, record, plan);
    const updated = record.updated_at;
    if (typeof updated === 'string' && (maxUpdatedAt === null || updated > maxUpdatedAt)) maxUpdatedAt = updated;
    row._raw = rawValue(record);
    row._synced_at = syncedAt;
    row._deleted = 0;
    row._sync_id = ctx.syncId;
    for (let k = 0; k < nested.length; k++) {
      const n = nested[k];
      n.parentIds.push(Number(row[n.spec.parentKey[n.spec.parentColumn]]));
      const items = record[n.spec.from];
      if (!Array.isArray(items)) continue;
      const parentKey = Object.entries(n.spec.parentKey);
      for (const item of items) {
        const child: Row = { account_id: ctx.accountId };
        for (const [childCol, parentCol] of parentKey) child[childCol] = row[parentCol];
        fill(child, item, nestedPlans[k]);
        child._raw = rawValue(item);
        child._synced_at = syncedAt;
        child._deleted = 0;
        child._sync_id = ctx.syncId;
        n.rows.push(child);
      }
    }
    return row;
  });
  return { rows, nested, typeMismatches, maxUpdatedAt };
}

/**
 * `_raw` as the row carries it: a JSON object stays an object, serialized once with the
 * row (ClickHouse stores an object read into a String column as its text, verbatim, with
 * `input_format_json_read_objects_as_strings`); anything else is its JSON text.
 */
function rawValue(source: unknown): unknown {
  return source !== null && typeof source === 'object' && !Array.isArray(source) ? source : JSON.stringify(source);
}

export function pick(record: Record<string, unknown>, dotted: string): unknown {
  return pickParts(record, dotted.split('.'));
}

function pickParts(record: unknown, parts: readonly string[]): unknown {
  let cur: unknown = record;
  for (const part of parts) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined ? null : cur;
}

const MISMATCH = Symbol('type mismatch');

const KEY_DEFAULT: Record<ColumnType, unknown> = {
  UInt64: 0, Int64: 0, Float64: 0, Bool: false, String: '', Date: '1970-01-01', DateTime: 0, 'Array(String)': [],
};

/** The value as ClickHouse's JSONEachRow wants it, null for null, MISMATCH when it does not fit. */
export function coerce(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return type === 'Array(String)' ? [] : null;
  switch (type) {
    case 'UInt64':
    case 'Int64': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || (type === 'UInt64' && n < 0)) return MISMATCH;
      return n;
    }
    case 'Float64':
      return typeof v === 'number' && Number.isFinite(v) ? v : MISMATCH;
    case 'Bool':
      return typeof v === 'boolean' ? v : MISMATCH;
    case 'String':
      if (typeof v === 'string') return v;
      return typeof v === 'number' || typeof v === 'boolean' ? String(v) : MISMATCH;
    case 'Date':
      return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : MISMATCH;
    case 'DateTime': {
      if (typeof v !== 'string') return MISMATCH;
      const ms = Date.parse(v);
      // Epoch seconds: unambiguous for a DateTime('UTC') column whatever the server's timezone.
      return Number.isNaN(ms) ? MISMATCH : Math.floor(ms / 1000);
    }
    case 'Array(String)':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : MISMATCH;
  }
}

/** `YYYY-MM-DD hh:mm:ss.sss` in UTC, the text form DateTime64(3, 'UTC') parses. */
export function clickhouseDateTime64(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** ClickHouse type of a catalog column in the table (key columns are never Nullable). */
export function columnDDLType(col: ColumnSpec, isKey: boolean): string {
  const base = col.type === 'DateTime' ? "DateTime('UTC')" : col.type;
  if (isKey || col.type === 'Array(String)') return base;
  return `Nullable(${base})`;
}
