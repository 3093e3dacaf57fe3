// Builders that keep the catalog entries short: column helpers and the shapes Harvest's
// endpoints share (top-level lists, per-parent lists, reports). Pure data and functions.

import type { ColumnSpec, ColumnType, NestedSpec, ResourceSpec } from './types';

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

export const lineItems = (parent: 'invoice' | 'estimate'): NestedSpec => ({
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
export const recipientsOf = (parent: 'invoice' | 'estimate'): NestedSpec => ({
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

/**
 * A list per parent record (`/invoices/{invoice_id}/messages`): keyed by parent and id,
 * asked again on incremental runs only for parents written in the same run.
 */
export const perParent = (
  parent: 'users' | 'invoices' | 'estimates',
  name: string,
  suffix: string,
  description: string,
  columns: ColumnSpec[],
  incremental: ResourceSpec['incremental'] = 'updated_since',
): ResourceSpec => {
  const column = `${parent.replace(/s$/, '')}_id`;
  return {
    name,
    description,
    path: `/${parent}/{${column}}/${suffix}`,
    dataKey: name,
    key: [column, 'id'],
    paging: 'cursor',
    incremental,
    parent: { resource: parent, param: column, column },
    changeSignals: [{ resource: parent, select: 'id' }],
    dependsOn: [parent],
    columns,
  };
};

/** A per-user rate list (billable or cost rates): every listing is complete, no updated_since. */
export const userRates = (name: 'billable_rates' | 'cost_rates', what: string): ResourceSpec =>
  perParent('users', name, name, `Each user's ${what} history (per user)`, [id, ...cols({ amount: 'Float64', start_date: 'Date', end_date: 'Date' }), ...timestamps], null);

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
