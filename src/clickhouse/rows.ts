// Turns a Harvest record into a ClickHouse row for a catalog resource. Pure: the
// activity calls it, the tests call it directly.
import { nestedTable, type ColumnSpec, type ColumnType, type NestedSpec, type ResourceSpec } from '../catalog';

export type Row = Record<string, unknown>;

/** Rows of one table as arrays in `columns` order (`_synced_at` last): what the encoder writes. */
export interface RowTable {
  columns: string[];
  rows: unknown[][];
}

export interface NestedTable {
  spec: NestedSpec;
  table: RowTable;
  /** Ids of the parents in this page: their lines not in `table` are gone. */
  parentIds: number[];
  /** Where lines carry their parent's `updated_at` (`_parent_updated_at`): each parent's, as `parentIds` (epoch seconds). */
  parentVersions?: Array<number | null>;
}

export interface BuiltTables {
  table: RowTable;
  nested: NestedTable[];
  /** Values whose JSON type did not fit the column: loaded as NULL, kept in `_raw`. */
  typeMismatches: number;
  /** Newest `updated_at` among the records (ISO), for progress and cursor bookkeeping. */
  maxUpdatedAt: string | null;
}

/** buildTables with each row as an object (readers and tests). */
export interface BuiltRows {
  rows: Row[];
  nested: Array<{ spec: NestedSpec; rows: Row[]; parentIds: number[]; parentVersions?: Array<number | null> }>;
  typeMismatches: number;
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

/** One column as buildTables fills it: where its value comes from and how it is coerced. */
interface ColumnPlan {
  /** Index of the column in the table's rows. */
  at: number;
  type: ColumnType;
  /** The record's value (null when absent); undefined for `$window_from` / `$window_to`. */
  read?: (source: unknown) => unknown;
  contextField?: '$window_from' | '$window_to';
  /** Key columns cannot be NULL: a missing key part (a report row without currency) is empty. */
  nullAs: unknown;
}

/**
 * The layout of one table's rows: `account_id`, the columns the context fills (a fan-out's
 * parent id, a nested line's parent key), the catalog columns, then `_raw`, `_deleted`,
 * `_sync_id` and `_synced_at` last (the encoder leaves it out of content hashes).
 */
interface TableLayout {
  columns: string[];
  /** Context columns after account_id: their indexes, in the order given. */
  lead: number[];
  plan: ColumnPlan[];
  /** Index of `_raw`; `_deleted`, `_sync_id` and `_synced_at` follow it. */
  raw: number;
}

function layoutOf(columns: readonly ColumnSpec[], key: readonly string[], lead: readonly string[], skip?: Record<string, string>): TableLayout {
  const names: string[] = ['account_id'];
  const at = (name: string): number => {
    const i = names.indexOf(name);
    if (i >= 0) return i;
    names.push(name);
    return names.length - 1;
  };
  const leadAt = lead.map(at);
  const plan = columns
    .filter((c) => !skip || !(c.name in skip))
    .map((col): ColumnPlan => {
      const path = col.from ?? col.name;
      const nullAs = key.includes(col.name) ? KEY_DEFAULT[col.type] : col.type === 'Array(String)' ? [] : null;
      const base = { at: at(col.name), type: col.type, nullAs };
      if (path === '$window_from' || path === '$window_to') return { ...base, contextField: path };
      return { ...base, read: reader(path) };
    });
  return { columns: names.concat(['_raw', '_deleted', '_sync_id', '_synced_at']), lead: leadAt, plan, raw: names.length };
}

// Layouts are derived from catalog entries, which never change while a process runs.
const layouts = new WeakMap<object, TableLayout>();
function mainLayout(spec: ResourceSpec): TableLayout {
  let l = layouts.get(spec);
  if (!l) layouts.set(spec, (l = layoutOf(spec.columns, spec.key, spec.parent ? [spec.parent.column] : [])));
  return l;
}
/** Whether a nested table's lines carry their parent's `updated_at` (their version; see versions.ts). */
const parentVersioned = (n: NestedSpec, parent: ResourceSpec): boolean => nestedTable(n, parent).versionColumn === '_parent_updated_at';
const versionedLayouts = new WeakMap<object, TableLayout>();
function nestedLayout(n: NestedSpec, parent: ResourceSpec): TableLayout {
  const versioned = parentVersioned(n, parent);
  const cache = versioned ? versionedLayouts : layouts;
  let l = cache.get(n);
  if (!l) {
    const lead = [...Object.keys(n.parentKey), ...(versioned ? ['_parent_updated_at'] : [])];
    cache.set(n, (l = layoutOf(n.columns, n.key, lead, n.parentKey)));
  }
  return l;
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

/** A page's records as rows of the resource's table and of its nested tables. */
export function buildTables(spec: ResourceSpec, records: Record<string, unknown>[], ctx: RowContext): BuiltTables {
  let typeMismatches = 0;
  let maxUpdatedAt: string | null = null;
  const syncedAt = clickhouseDateTime64(ctx.syncedAt);
  const windowFrom = ctx.window?.from ?? null;
  const windowTo = ctx.window?.to ?? null;
  // The context's columns first: a catalog column of the same name has the last word.
  const start = (layout: TableLayout, source: unknown, lead: readonly unknown[]): unknown[] => {
    const row = new Array<unknown>(layout.columns.length);
    row[0] = ctx.accountId;
    for (let k = 0; k < lead.length; k++) row[layout.lead[k]] = lead[k];
    const plan = layout.plan;
    for (let i = 0; i < plan.length; i++) {
      const col = plan[i];
      const raw = col.read ? col.read(source) : col.contextField === '$window_from' ? windowFrom : windowTo;
      let value = coerce(col.type, raw);
      if (value === MISMATCH) {
        typeMismatches++;
        value = null;
      }
      row[col.at] = value === null ? col.nullAs : value;
    }
    row[layout.raw] = rawValue(source);
    row[layout.raw + 1] = 0;
    row[layout.raw + 2] = ctx.syncId;
    row[layout.raw + 3] = syncedAt;
    return row;
  };
  const main = mainLayout(spec);
  const nestedSpecs = spec.nested ?? [];
  const nested = nestedSpecs.map((n) => {
    const layout = nestedLayout(n, spec);
    const versioned = parentVersioned(n, spec);
    const parentCols = [...Object.values(n.parentKey), ...(versioned ? ['updated_at'] : [])].map((c) => main.columns.indexOf(c));
    const out: NestedTable = { spec: n, table: { columns: layout.columns, rows: [] as unknown[][] }, parentIds: [], ...(versioned ? { parentVersions: [] } : {}) };
    return { out, layout, parentCols, parentIdAt: main.columns.indexOf(n.parentKey[n.parentColumn]), versionAt: versioned ? main.columns.indexOf('updated_at') : -1 };
  });
  const mainLead = spec.parent ? [ctx.parentId] : [];
  const rows = new Array<unknown[]>(records.length);
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    const row = start(main, record, mainLead);
    rows[r] = row;
    const updated = record.updated_at;
    if (typeof updated === 'string' && (maxUpdatedAt === null || updated > maxUpdatedAt)) maxUpdatedAt = updated;
    for (const n of nested) {
      n.out.parentIds.push(Number(row[n.parentIdAt]));
      if (n.out.parentVersions) n.out.parentVersions.push((row[n.versionAt] as number | null) ?? null);
      const items = record[n.out.spec.from];
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        n.out.table.rows.push(start(n.layout, item, n.parentCols.map((c) => row[c])));
      }
    }
  }
  return { table: { columns: main.columns, rows }, nested: nested.map((n) => n.out), typeMismatches, maxUpdatedAt };
}

/** buildTables, each row an object keyed by column. */
export function buildRows(spec: ResourceSpec, records: Record<string, unknown>[], ctx: RowContext): BuiltRows {
  const built = buildTables(spec, records, ctx);
  return {
    rows: objectsOf(built.table),
    nested: built.nested.map((n) => ({ spec: n.spec, rows: objectsOf(n.table), parentIds: n.parentIds, ...(n.parentVersions ? { parentVersions: n.parentVersions } : {}) })),
    typeMismatches: built.typeMismatches,
    maxUpdatedAt: built.maxUpdatedAt,
  };
}

function objectsOf(table: RowTable): Row[] {
  return table.rows.map((r) => Object.fromEntries(table.columns.map((c, i) => [c, r[i]])));
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
