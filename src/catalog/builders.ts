// Builders that keep the catalog entries short: column helpers and the shapes Harvest's
// endpoints share (top-level lists, per-parent lists, reports). Pure data and functions.

import type { ChangeSignal, ColumnSpec, ColumnType, NestedSpec, ResourceSpec } from './types';

export const ts = (name: string): ColumnSpec => ({ name, type: 'DateTime' });
export const col = (name: string, type: ColumnType, from?: string): ColumnSpec => (from ? { name, type, from } : { name, type });
export const ref = (prefix: string, fields: Array<[string, ColumnType]>): ColumnSpec[] =>
  fields.map(([field, type]) => ({ name: `${prefix}_${field}`, type, from: `${prefix}.${field}` }));
export const cols = (spec: Record<string, ColumnType>): ColumnSpec[] => Object.entries(spec).map(([name, type]) => ({ name, type }));
export const id = col('id', 'UInt64');
export const timestamps: ColumnSpec[] = [ts('created_at'), ts('updated_at')];
export const clientRef = ref('client', [['id', 'UInt64'], ['name', 'String']]);
export const projectRef = ref('project', [['id', 'UInt64'], ['name', 'String'], ['code', 'String']]);
export const userRef = ref('user', [['id', 'UInt64'], ['name', 'String']]);

export const lineItems = (parent: string): NestedSpec => ({
  name: `${parent}_line_items`,
  description: `Line items of each ${parent}`,
  from: 'line_items',
  parentKey: { [`${parent}_id`]: 'id' },
  parentColumn: `${parent}_id`,
  key: [`${parent}_id`, 'id'],
  columns: [
    id,
    ...cols({ kind: 'String', description: 'String', quantity: 'Float64', unit_price: 'Float64', amount: 'Float64', taxed: 'Bool', taxed2: 'Bool' }),
    ...projectRef,
  ],
});

/** An array of plain values (ids, names) of each record, one row per value. */
export const valuesOf = (name: string, description: string, from: string, parentColumn: string, column: ColumnSpec): NestedSpec => ({
  name,
  description,
  from,
  parentKey: { [parentColumn]: 'id' },
  parentColumn,
  key: [parentColumn, column.name],
  columns: [{ ...column, from: '$' }],
});

/** The recipients ({name, email}) of each message, one row per recipient. */
export const recipientsOf = (parent: string): NestedSpec => ({
  name: `${parent}_message_recipients`,
  description: `Recipients of each ${parent} message`,
  from: 'recipients',
  parentKey: { [`${parent}_id`]: `${parent}_id`, message_id: 'id' },
  parentColumn: 'message_id',
  key: [`${parent}_id`, 'message_id', 'email'],
  columns: cols({ name: 'String', email: 'String' }),
});

export const messageColumns: ColumnSpec[] = [
  id,
  ...cols({ sent_by: 'String', sent_by_email: 'String', sent_from: 'String', sent_from_email: 'String', send_me_a_copy: 'Bool', event_type: 'String', subject: 'String', body: 'String' }),
  ...timestamps,
];

/** A top-level list at `/<name>` keyed by id (cursor paging and updated_since unless overridden). */
export const list = (name: string, description: string, columns: ColumnSpec[], more: Partial<ResourceSpec> = {}): ResourceSpec => ({
  name,
  description,
  path: `/${name}`,
  dataKey: name,
  key: ['id'],
  paging: 'cursor',
  incremental: 'updated_since',
  dependsOn: [],
  columns,
  ...more,
});

/**
 * A page-numbered top-level list of dated records (time entries, expenses, invoices,
 * estimates): `updated_since` for increments, the date column for backfill ranges.
 */
export const dated = (name: string, description: string, dateRange: string, columns: ColumnSpec[], more: Partial<ResourceSpec> = {}): ResourceSpec =>
  list(name, description, columns, { paging: 'page', dateRange, ...more });

/** `projects` → `project`, `expense_categories` → `expense_category`: the default parent column's stem. */
export const singular = (plural: string): string => plural.replace(/ies$/, 'y').replace(/s$/, '');

/**
 * A list per parent record (`/invoices/{invoice_id}/payments`), for any parent keyed by
 * `id`. What Harvest's docs say of the list is required (path, dataKey, paging,
 * incremental); the rest has defaults that suit a list whose children change with their
 * parent. docs/contributing.md walks through one.
 */
export interface PerParentOptions {
  /** The parent resource: a catalog entry keyed by `id` (`users`, `projects`, `invoices`, …). */
  parent: string;
  /** Resource and table name: unique across tables (not necessarily Harvest's key). */
  name: string;
  description: string;
  /** The list below the parent record: the path is `/<parent>/{<param>}/<suffix>`. Give this or `path`. */
  suffix?: string;
  /** The whole path, when it is not `/<parent>/{<param>}/<suffix>`; it must hold `{<param>}`. */
  path?: string;
  /** Key of the record array in Harvest's answer (`{ "user_assignments": [...], "links": ... }`). */
  dataKey: string;
  /** As Harvest's docs give it; see `Paging` for what `page` adds. */
  paging: 'cursor' | 'page';
  /** `updated_since` when Harvest's docs list that filter for this endpoint, else null (every listing complete). */
  incremental: ResourceSpec['incremental'];
  /** The table column holding the parent's id, filled from the path: default `<singular parent>_id` (`project_id`). */
  column?: string;
  /** The placeholder in the path: default `column`. */
  param?: string;
  /** Default `[column, 'id']`: one row per child and parent. */
  key?: string[];
  /** Default: the parents this run wrote, `[{ resource: parent, select: 'id' }]` (see `ChangeSignal`). */
  changeSignals?: ChangeSignal[];
  recheck?: ResourceSpec['recheck'];
  emptyOnStatus?: number;
  visibleBy?: ResourceSpec['visibleBy'];
  nested?: NestedSpec[];
  /** More resources that must finish first; the parent and every change signal's resources are added. */
  dependsOn?: string[];
  columns: ColumnSpec[];
}

export const perParent = (o: PerParentOptions): ResourceSpec => {
  const column = o.column ?? `${singular(o.parent)}_id`;
  const param = o.param ?? column;
  if ((o.path === undefined) === (o.suffix === undefined)) throw new Error(`${o.name}: perParent takes either suffix or path`);
  const changeSignals = o.changeSignals ?? [{ resource: o.parent, select: 'id' }];
  // A signal may read the list's own previous rows (teammates), which is no dependency.
  const needed = [o.parent, ...changeSignals.flatMap((s) => [s.resource, ...(s.via ? [s.via.resource] : [])]), ...(o.dependsOn ?? [])];
  return {
    name: o.name,
    description: o.description,
    path: o.path ?? `/${o.parent}/{${param}}/${o.suffix}`,
    dataKey: o.dataKey,
    key: o.key ?? [column, 'id'],
    paging: o.paging,
    incremental: o.incremental,
    parent: { resource: o.parent, param, column },
    changeSignals,
    dependsOn: [...new Set(needed)].filter((d) => d !== o.name),
    columns: o.columns,
    ...(o.emptyOnStatus !== undefined ? { emptyOnStatus: o.emptyOnStatus } : {}),
    ...(o.recheck ? { recheck: o.recheck } : {}),
    ...(o.visibleBy ? { visibleBy: o.visibleBy } : {}),
    ...(o.nested ? { nested: o.nested } : {}),
  };
};

/** A per-user rate list (billable or cost rates): every listing is complete, no updated_since. */
export const userRates = (name: 'billable_rates' | 'cost_rates', what: string, more: Partial<PerParentOptions> = {}): ResourceSpec =>
  perParent({
    parent: 'users',
    name,
    suffix: name,
    dataKey: name,
    paging: 'cursor',
    incremental: null,
    description: `Each user's ${what} history (per user)`,
    columns: [id, ...cols({ amount: 'Float64', start_date: 'Date', end_date: 'Date' }), ...timestamps],
    ...more,
  });

/**
 * A report: rows under `results`, keyed by window (when windowed) and the dimensions
 * Harvest groups by, including the currency (one row per currency).
 */
export const report = (name: string, path: string, description: string, dims: string[], columns: ColumnSpec[], windowed = true): ResourceSpec => ({
  name: `report_${name}`,
  description,
  path: `/reports/${path}`,
  dataKey: 'results',
  key: windowed ? ['window_from', 'window_to', ...dims] : dims,
  paging: 'page',
  incremental: null,
  report: { windowed },
  // Windowed reports re-read the windows whose time entries or expenses changed.
  dependsOn: windowed ? ['time_entries', 'expenses'] : [],
  columns: [...(windowed ? [col('window_from', 'Date', '$window_from'), col('window_to', 'Date', '$window_to')] : []), ...columns],
});
export const hours = cols({ total_hours: 'Float64', billable_hours: 'Float64', currency: 'String', billable_amount: 'Float64' });
export const amounts = cols({ total_amount: 'Float64', billable_amount: 'Float64', currency: 'String' });
export const idName = (prefix: string): ColumnSpec[] => cols({ [`${prefix}_id`]: 'UInt64', [`${prefix}_name`]: 'String' });
