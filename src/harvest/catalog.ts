// The declarative resource catalog: every Harvest resource harvest-sync copies is one
// entry here. The generic engine (workflows + activities) interprets these entries;
// adding a resource means adding an entry, not a module.
//
// This module is pure data and pure functions: workflows import it, so it must never
// import Node built-ins or I/O libraries.

/** ClickHouse column types the engine knows how to coerce JSON values into. */
export type ColumnType = 'UInt64' | 'Int64' | 'Float64' | 'Bool' | 'String' | 'Date' | 'DateTime' | 'Array(String)';

export interface ColumnSpec {
  /** Column name in ClickHouse. */
  name: string;
  type: ColumnType;
  /** Dotted path in the Harvest record (`user.id`); defaults to `name`. */
  from?: string;
}

/** cursor/page: list envelopes (follow links.next); none: a single object (company). */
export type Paging = 'cursor' | 'page' | 'none';

export interface ParentSpec {
  /** Resource whose rows supply the parent ids. */
  resource: string;
  /** Placeholder in `path` (`/users/{user_id}/...`). */
  param: string;
  /** Column added to every child row holding the parent id (part of the key). */
  column: string;
}

/**
 * An array inside each record stored as its own table (invoice line items, the task
 * assignments inside a user's project assignment, a user's roles). Rows carry the
 * parent's key; lines that disappear from a re-read parent are marked deleted.
 */
export interface NestedSpec {
  name: string;
  description: string;
  /** Array field of the parent record. */
  from: string;
  /** Child column → parent row column (the parent's key, e.g. invoice_id ← id). */
  parentKey: Record<string, string>;
  /** The child column holding the direct parent's id (used to replace a parent's lines). */
  parentColumn: string;
  key: string[];
  /** Columns read from each element; `from: '$'` is the element itself (arrays of strings). */
  columns: ColumnSpec[];
}

/**
 * How an incremental run finds the parents whose children may have changed, so a run
 * without changes makes no per-parent requests: ids written in this run by `resource`
 * (column `select`), optionally mapped through another table (`via`).
 */
export interface ChangeSignal {
  resource: string;
  select: string;
  via?: { resource: string; match: string; select: string };
}

export interface ResourceSpec {
  /** Resource and table name. */
  name: string;
  description: string;
  /** Path below the API base URL; `{param}` placeholders are filled from the parent. */
  path: string;
  /** Key of the record array in the list envelope. */
  dataKey: string;
  /** Key columns (without `account_id`, which every table has). */
  key: string[];
  paging: Paging;
  /** Query parameter for incremental reads, or null when the endpoint has none. */
  incremental: 'updated_since' | null;
  /** The list filters by this record date with `from`/`to`: backfills read history by date. */
  dateRange?: string;
  parent?: ParentSpec;
  /** Fan-out resources: where incremental runs learn which parents changed (default: all parents). */
  changeSignals?: ChangeSignal[];
  nested?: NestedSpec[];
  /**
   * Reports API (`/reports/...`): paced by its own budget. Windowed reports are read per
   * 365-day window (`$window_from`/`$window_to` columns), and re-reading a window
   * replaces its rows.
   */
  report?: { windowed: boolean };
  /** Resources that must finish in the same run before this one starts. */
  dependsOn: string[];
  columns: ColumnSpec[];
}

const ts = (name: string): ColumnSpec => ({ name, type: 'DateTime' });
const col = (name: string, type: ColumnType, from?: string): ColumnSpec => (from ? { name, type, from } : { name, type });
const ref = (prefix: string, fields: Array<[string, ColumnType]>): ColumnSpec[] =>
  fields.map(([field, type]) => ({ name: `${prefix}_${field}`, type, from: `${prefix}.${field}` }));
const cols = (spec: Record<string, ColumnType>): ColumnSpec[] => Object.entries(spec).map(([name, type]) => ({ name, type }));
const id = col('id', 'UInt64');
const timestamps: ColumnSpec[] = [ts('created_at'), ts('updated_at')];
const clientRef = ref('client', [['id', 'UInt64'], ['name', 'String']]);
const projectRef = ref('project', [['id', 'UInt64'], ['name', 'String'], ['code', 'String']]);
const userRef = ref('user', [['id', 'UInt64'], ['name', 'String']]);

const lineItems = (parent: 'invoice' | 'estimate'): NestedSpec => ({
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
const valuesOf = (name: string, description: string, from: string, parentColumn: string, column: ColumnSpec): NestedSpec => ({
  name,
  description,
  from,
  parentKey: { [parentColumn]: 'id' },
  parentColumn,
  key: [parentColumn, column.name],
  columns: [{ ...column, from: '$' }],
});

const messageColumns: ColumnSpec[] = [
  id,
  ...cols({ sent_by: 'String', sent_by_email: 'String', sent_from: 'String', sent_from_email: 'String', send_me_a_copy: 'Bool', event_type: 'String', subject: 'String', body: 'String' }),
  ...timestamps,
];

/** A top-level list at `/<name>` keyed by id (cursor paging and updated_since unless overridden). */
const list = (name: string, description: string, columns: ColumnSpec[], more: Partial<ResourceSpec> = {}): ResourceSpec => ({
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
 * A list per parent record (`/invoices/{invoice_id}/messages`): keyed by parent and id,
 * asked again on incremental runs only for parents written in the same run.
 */
const perParent = (
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
const userRates = (name: 'billable_rates' | 'cost_rates', what: string): ResourceSpec =>
  perParent('users', name, name, `Each user's ${what} history (per user)`, [id, ...cols({ amount: 'Float64', start_date: 'Date', end_date: 'Date' }), ...timestamps], null);

/**
 * A report: rows under `results`, keyed by window (when windowed) and the dimensions
 * Harvest groups by, including the currency (one row per currency).
 */
const report = (name: string, path: string, description: string, dims: string[], columns: ColumnSpec[], windowed = true): ResourceSpec => ({
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
const hours = cols({ total_hours: 'Float64', billable_hours: 'Float64', currency: 'String', billable_amount: 'Float64' });
const amounts = cols({ total_amount: 'Float64', billable_amount: 'Float64', currency: 'String' });
const idName = (prefix: string): ColumnSpec[] => cols({ [`${prefix}_id`]: 'UInt64', [`${prefix}_name`]: 'String' });

export const CATALOG: readonly ResourceSpec[] = [
  {
    name: 'company',
    description: 'The account itself (one row per account)',
    path: '/company',
    dataKey: '',
    key: [],
    paging: 'none',
    incremental: null,
    dependsOn: [],
    columns: [
      ...cols({
        name: 'String', base_uri: 'String', full_domain: 'String', is_active: 'Bool', week_start_day: 'String',
        wants_timestamp_timers: 'Bool', time_format: 'String', date_format: 'String', plan_type: 'String', clock: 'String',
        currency: 'String', weekly_capacity: 'Int64', expense_feature: 'Bool', invoice_feature: 'Bool', estimate_feature: 'Bool',
        approval_feature: 'Bool', team_feature: 'Bool', decimal_symbol: 'String', thousands_separator: 'String', color_scheme: 'String',
      }),
    ],
  },
  list('clients', 'Clients', [id, ...cols({ name: 'String', is_active: 'Bool', address: 'String', statement_key: 'String', currency: 'String' }), ...timestamps]),
  list("contacts", "Clients' contacts", [
    id,
    ...cols({ title: 'String', first_name: 'String', last_name: 'String', email: 'String', phone_office: 'String', phone_mobile: 'String', fax: 'String' }),
    ...clientRef,
    ...timestamps,
  ]),
  {
    name: 'roles',
    description: 'Roles and the users holding them (no updated_since: listed in full every run)',
    path: '/roles',
    dataKey: 'roles',
    key: ['id'],
    paging: 'cursor',
    incremental: null,
    dependsOn: [],
    columns: [id, col('name', 'String'), ...timestamps],
    nested: [valuesOf('role_users', 'Users of each role', 'user_ids', 'role_id', col('user_id', 'UInt64'))],
  },
  {
    name: 'users',
    description: 'People in the account',
    path: '/users',
    dataKey: 'users',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: [],
    columns: [
      id,
      ...cols({
        first_name: 'String', last_name: 'String', email: 'String', telephone: 'String', timezone: 'String', weekly_capacity: 'Int64',
        has_access_to_all_future_projects: 'Bool', is_contractor: 'Bool', is_active: 'Bool', default_hourly_rate: 'Float64',
        cost_rate: 'Float64', roles: 'Array(String)', access_roles: 'Array(String)', avatar_url: 'String',
      }),
      ...timestamps,
    ],
    nested: [valuesOf('user_roles', 'Roles of each user', 'roles', 'user_id', col('role', 'String'))],
  },
  userRates('billable_rates', 'billable rate'),
  userRates('cost_rates', 'cost rate'),
  {
    name: 'projects',
    description: 'Projects with their client and budget settings',
    path: '/projects',
    dataKey: 'projects',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: [],
    columns: [
      id,
      ...cols({ name: 'String', code: 'String' }),
      ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
      ...cols({
        is_active: 'Bool', is_billable: 'Bool', is_fixed_fee: 'Bool', bill_by: 'String', budget: 'Float64', budget_by: 'String',
        budget_is_monthly: 'Bool', notify_when_over_budget: 'Bool', over_budget_notification_percentage: 'Float64',
        show_budget_to_all: 'Bool', hourly_rate: 'Float64', fee: 'Float64', cost_budget: 'Float64',
        cost_budget_include_expenses: 'Bool', starts_on: 'Date', ends_on: 'Date', over_budget_notification_date: 'Date', notes: 'String',
      }),
      ...timestamps,
    ],
  },
  list('tasks', 'Task types that can be assigned to projects', [
    id,
    ...cols({ name: 'String', billable_by_default: 'Bool', default_hourly_rate: 'Float64', is_default: 'Bool', is_active: 'Bool' }),
    ...timestamps,
  ]),
  {
    name: 'project_tasks',
    description: 'Task assignments of every project (/task_assignments; the same rows as /projects/{id}/task_assignments)',
    path: '/task_assignments',
    dataKey: 'task_assignments',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: ['projects', 'tasks'],
    columns: [
      id,
      ...projectRef,
      ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
      ...cols({ is_active: 'Bool', billable: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
      ...timestamps,
    ],
  },
  {
    name: 'user_assignments',
    description: 'User assignments of every project (/user_assignments)',
    path: '/user_assignments',
    dataKey: 'user_assignments',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: ['projects', 'users'],
    columns: [
      id,
      ...projectRef,
      ...userRef,
      ...cols({ is_project_manager: 'Bool', is_active: 'Bool', use_default_rates: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
      ...timestamps,
    ],
  },
  {
    name: 'user_projects',
    description: "Each user's active project assignments with their task assignments (per user)",
    path: '/users/{user_id}/project_assignments',
    dataKey: 'project_assignments',
    key: ['user_id', 'id'],
    paging: 'cursor',
    incremental: 'updated_since',
    parent: { resource: 'users', param: 'user_id', column: 'user_id' },
    // A user's assignments change with the user, their user assignments, or the
    // project's task assignments; other users are not asked again.
    changeSignals: [
      { resource: 'users', select: 'id' },
      { resource: 'user_assignments', select: 'user_id' },
      { resource: 'project_tasks', select: 'project_id', via: { resource: 'user_assignments', match: 'project_id', select: 'user_id' } },
      { resource: 'projects', select: 'id', via: { resource: 'user_assignments', match: 'project_id', select: 'user_id' } },
    ],
    dependsOn: ['users', 'user_assignments', 'project_tasks', 'projects'],
    columns: [
      id,
      ...cols({ is_project_manager: 'Bool', is_active: 'Bool', use_default_rates: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
      ...projectRef,
      ...clientRef,
      ...timestamps,
    ],
    nested: [
      {
        name: 'user_project_tasks',
        description: 'Task assignments inside each user project assignment',
        from: 'task_assignments',
        parentKey: { user_id: 'user_id', project_assignment_id: 'id' },
        parentColumn: 'project_assignment_id',
        key: ['user_id', 'project_assignment_id', 'id'],
        columns: [
          id,
          ...cols({ billable: 'Bool', is_active: 'Bool', hourly_rate: 'Float64', budget: 'Float64' }),
          ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
          ...timestamps,
        ],
      },
    ],
  },
  list('expense_categories', 'Expense categories', [id, ...cols({ name: 'String', unit_name: 'String', unit_price: 'Float64', is_active: 'Bool' }), ...timestamps]),
  list('invoice_item_categories', 'Invoice item categories', [id, ...cols({ name: 'String', use_as_service: 'Bool', use_as_expense: 'Bool' }), ...timestamps]),
  list('estimate_item_categories', 'Estimate item categories', [id, col('name', 'String'), ...timestamps]),
  {
    name: 'time_entries',
    description: 'Tracked time, one row per entry',
    path: '/time_entries',
    dataKey: 'time_entries',
    key: ['id'],
    paging: 'page',
    incremental: 'updated_since',
    dateRange: 'spent_date',
    dependsOn: [],
    columns: [
      id,
      ...cols({
        spent_date: 'Date', hours: 'Float64', hours_without_timer: 'Float64', rounded_hours: 'Float64', notes: 'String',
        is_locked: 'Bool', locked_reason: 'String', is_closed: 'Bool', is_billed: 'Bool', is_running: 'Bool', timer_started_at: 'DateTime',
        // Clock times such as "3:00pm" are not datetimes.
        started_time: 'String', ended_time: 'String',
        billable: 'Bool', budgeted: 'Bool', billable_rate: 'Float64', cost_rate: 'Float64',
      }),
      ...userRef,
      ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
      ...projectRef,
      ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
      ...ref('user_assignment', [['id', 'UInt64']]),
      ...ref('task_assignment', [['id', 'UInt64']]),
      ...ref('invoice', [['id', 'UInt64'], ['number', 'String']]),
      ...ref('external_reference', [['id', 'String'], ['service', 'String'], ['permalink', 'String']]),
      ...timestamps,
    ],
  },
  {
    name: 'expenses',
    description: 'Expenses, one row per entry',
    path: '/expenses',
    dataKey: 'expenses',
    key: ['id'],
    paging: 'page',
    incremental: 'updated_since',
    dateRange: 'spent_date',
    dependsOn: [],
    columns: [
      id,
      ...cols({
        spent_date: 'Date', notes: 'String', total_cost: 'Float64', units: 'Float64', billable: 'Bool', is_closed: 'Bool',
        is_locked: 'Bool', is_billed: 'Bool', locked_reason: 'String',
      }),
      ...ref('receipt', [['url', 'String'], ['file_name', 'String']]),
      ...userRef,
      ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
      ...projectRef,
      ...ref('expense_category', [['id', 'UInt64'], ['name', 'String'], ['unit_price', 'Float64'], ['unit_name', 'String']]),
      ...ref('user_assignment', [['id', 'UInt64']]),
      ...ref('invoice', [['id', 'UInt64'], ['number', 'String']]),
      ...timestamps,
    ],
  },
  {
    name: 'invoices',
    description: 'Invoices (line items in invoice_line_items)',
    path: '/invoices',
    dataKey: 'invoices',
    key: ['id'],
    paging: 'page',
    incremental: 'updated_since',
    dateRange: 'issue_date',
    dependsOn: [],
    columns: [
      id,
      ...cols({
        client_key: 'String', number: 'String', purchase_order: 'String', amount: 'Float64', due_amount: 'Float64', tax: 'Float64',
        tax_amount: 'Float64', tax2: 'Float64', tax2_amount: 'Float64', discount: 'Float64', discount_amount: 'Float64',
        subject: 'String', notes: 'String', state: 'String', period_start: 'Date', period_end: 'Date', issue_date: 'Date',
        due_date: 'Date', payment_term: 'String', sent_at: 'DateTime', paid_at: 'DateTime', paid_date: 'Date', closed_at: 'DateTime',
        recurring_invoice_id: 'UInt64', currency: 'String',
      }),
      ...clientRef,
      ...ref('estimate', [['id', 'UInt64']]),
      ...ref('retainer', [['id', 'UInt64']]),
      ...ref('creator', [['id', 'UInt64'], ['name', 'String']]),
      ...timestamps,
    ],
    nested: [lineItems('invoice')],
  },
  perParent('invoices', 'invoice_messages', 'messages', 'Messages sent for each invoice (per invoice)', [
    ...messageColumns,
    ...cols({ include_link_to_client_invoice: 'Bool', attach_pdf: 'Bool', thank_you: 'Bool', reminder: 'Bool', send_reminder_on: 'Date' }),
  ]),
  perParent('invoices', 'invoice_payments', 'payments', 'Payments recorded for each invoice (per invoice)', [
    id,
    ...cols({ amount: 'Float64', paid_at: 'DateTime', paid_date: 'Date', recorded_by: 'String', recorded_by_email: 'String', notes: 'String', transaction_id: 'String' }),
    ...ref('payment_gateway', [['id', 'String'], ['name', 'String']]),
    ...timestamps,
  ]),
  {
    name: 'estimates',
    description: 'Estimates (line items in estimate_line_items)',
    path: '/estimates',
    dataKey: 'estimates',
    key: ['id'],
    paging: 'page',
    incremental: 'updated_since',
    dateRange: 'issue_date',
    dependsOn: [],
    columns: [
      id,
      ...cols({
        client_key: 'String', number: 'String', purchase_order: 'String', amount: 'Float64', tax: 'Float64', tax_amount: 'Float64',
        tax2: 'Float64', tax2_amount: 'Float64', discount: 'Float64', discount_amount: 'Float64', subject: 'String', notes: 'String',
        state: 'String', issue_date: 'Date', sent_at: 'DateTime', accepted_at: 'DateTime', declined_at: 'DateTime', currency: 'String',
      }),
      ...clientRef,
      ...ref('creator', [['id', 'UInt64'], ['name', 'String']]),
      ...timestamps,
    ],
    nested: [lineItems('estimate')],
  },
  perParent('estimates', 'estimate_messages', 'messages', 'Messages sent for each estimate (per estimate)', messageColumns),
  report('time_clients', 'time/clients', 'Time report by client, per 365-day window', ['client_id', 'currency'], [...idName('client'), ...hours]),
  report('time_projects', 'time/projects', 'Time report by project, per 365-day window', ['project_id', 'currency'], [...idName('project'), ...idName('client'), ...hours]),
  report('time_tasks', 'time/tasks', 'Time report by task, per 365-day window', ['task_id', 'currency'], [...idName('task'), ...hours]),
  report('time_team', 'time/team', 'Time report by person, per 365-day window', ['user_id', 'currency'], [...idName('user'), col('is_contractor', 'Bool'), ...hours]),
  report('expenses_clients', 'expenses/clients', 'Expense report by client, per 365-day window', ['client_id', 'currency'], [...idName('client'), ...amounts]),
  report('expenses_projects', 'expenses/projects', 'Expense report by project, per 365-day window', ['project_id', 'currency'], [...idName('client'), ...idName('project'), ...amounts]),
  report('expenses_categories', 'expenses/categories', 'Expense report by category, per 365-day window', ['expense_category_id', 'currency'], [...idName('expense_category'), ...amounts]),
  report('expenses_team', 'expenses/team', 'Expense report by person, per 365-day window', ['user_id', 'currency'], [...idName('user'), col('is_contractor', 'Bool'), ...amounts]),
  report('uninvoiced', 'uninvoiced', 'Uninvoiced report by project, per 365-day window', ['project_id', 'currency'], [
    ...idName('client'),
    ...idName('project'),
    ...cols({ currency: 'String', total_hours: 'Float64', uninvoiced_hours: 'Float64', uninvoiced_expenses: 'Float64', uninvoiced_amount: 'Float64' }),
  ]),
  report('project_budget', 'project_budget', 'Project budget report (current state, one row per project)', ['project_id'], [
    ...idName('project'),
    ...idName('client'),
    ...cols({ budget_is_monthly: 'Bool', budget_by: 'String', is_active: 'Bool', budget: 'Float64', budget_spent: 'Float64', budget_remaining: 'Float64' }),
  ], false),
];

const BY_NAME = new Map(CATALOG.map((r) => [r.name, r]));

export function resourceNames(): string[] {
  return CATALOG.map((r) => r.name);
}

export function getResource(name: string): ResourceSpec {
  const spec = BY_NAME.get(name);
  if (!spec) throw new Error(`unknown resource "${name}"; known: ${resourceNames().join(', ')}`);
  return spec;
}

/**
 * The resources to sync for a selection: the selection plus everything it depends on
 * (a child cannot be fanned out without its parents' rows), in catalog order.
 * Throws on unknown names, listing the valid ones.
 */
export function resolveSelection(selected?: readonly string[]): string[] {
  if (!selected || selected.length === 0) return resourceNames();
  const unknown = selected.filter((n) => !BY_NAME.has(n));
  if (unknown.length > 0) {
    throw new Error(`unknown resource(s): ${unknown.join(', ')}; known: ${resourceNames().join(', ')}`);
  }
  const wanted = new Set<string>();
  const visit = (name: string): void => {
    if (wanted.has(name)) return;
    wanted.add(name);
    getResource(name).dependsOn.forEach(visit);
  };
  selected.forEach(visit);
  return resourceNames().filter((n) => wanted.has(n));
}

/** One physical table: a resource's own, or one of its nested arrays. */
export interface TableDef {
  name: string;
  /** Sorting (deduplication) key, after `account_id`. */
  key: string[];
  /** UInt64 columns identifying the parent (fan-out parent id, or the nested parent's key). */
  parentColumns: string[];
  columns: ColumnSpec[];
}

export function resourceTable(spec: ResourceSpec): TableDef {
  return { name: spec.name, key: spec.key, parentColumns: spec.parent ? [spec.parent.column] : [], columns: spec.columns };
}

export function nestedTable(n: NestedSpec): TableDef {
  return { name: n.name, key: n.key, parentColumns: Object.keys(n.parentKey), columns: n.columns };
}

/** Every table of a resource: its own first, then its nested arrays'. */
export function tablesOf(spec: ResourceSpec): TableDef[] {
  return [resourceTable(spec), ...(spec.nested ?? []).map(nestedTable)];
}

/** Checks the catalog's own consistency; the tests run it so a bad entry fails CI. */
export function validateCatalog(catalog: readonly ResourceSpec[] = CATALOG): string[] {
  const problems: string[] = [];
  const names = new Set(catalog.map((r) => r.name));
  const tableNames = new Set<string>();
  for (const t of catalog.flatMap(tablesOf)) {
    if (tableNames.has(t.name)) problems.push(`table ${t.name} is defined twice`);
    tableNames.add(t.name);
    const columns = new Set([...t.parentColumns, ...t.columns.map((c) => c.name)]);
    for (const k of t.key) if (!columns.has(k)) problems.push(`${t.name}: key column ${k} is not a column`);
  }
  for (const r of catalog) {
    if (r.paging === 'none' && (r.parent || r.key.length > 0)) problems.push(`${r.name}: a single-object resource has no key or parent`);
    if (r.report?.windowed && (r.paging !== 'page' || r.parent)) problems.push(`${r.name}: a windowed report is a page-numbered top-level list`);
    for (const n of r.nested ?? []) {
      const parentCols = new Set([...(r.parent ? [r.parent.column] : []), ...r.columns.map((c) => c.name)]);
      for (const [child, parentCol] of Object.entries(n.parentKey)) {
        if (!parentCols.has(parentCol)) problems.push(`${n.name}: parent key ${child} <- ${parentCol} is not a column of ${r.name}`);
      }
      if (!(n.parentColumn in n.parentKey)) problems.push(`${n.name}: parentColumn ${n.parentColumn} is not in parentKey`);
    }
    for (const sig of r.changeSignals ?? []) {
      for (const dep of [sig.resource, sig.via?.resource].filter((x): x is string => Boolean(x))) {
        if (!r.dependsOn.includes(dep)) problems.push(`${r.name}: change signal ${dep} must be a dependency`);
      }
    }
    for (const d of r.dependsOn) if (!names.has(d)) problems.push(`${r.name}: depends on unknown ${d}`);
    if (r.parent) {
      if (!r.dependsOn.includes(r.parent.resource)) problems.push(`${r.name}: parent ${r.parent.resource} must be a dependency`);
      if (!r.path.includes(`{${r.parent.param}}`)) problems.push(`${r.name}: path lacks {${r.parent.param}}`);
    }
    const seen = new Set<string>();
    for (const c of r.columns) {
      if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) problems.push(`${r.name}: bad column name ${c.name}`);
      if (seen.has(c.name)) problems.push(`${r.name}: duplicate column ${c.name}`);
      seen.add(c.name);
    }
  }
  // Dependency cycles would deadlock the run.
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(catalog.map((r) => [r.name, r]));
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') {
      problems.push(`dependency cycle: ${[...path, n].join(' -> ')}`);
      return;
    }
    state.set(n, 'visiting');
    for (const d of byName.get(n)?.dependsOn ?? []) visit(d, [...path, n]);
    state.set(n, 'done');
  };
  for (const r of catalog) visit(r.name, []);
  return problems;
}
