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

export type Paging = 'cursor' | 'page';

export interface ParentSpec {
  /** Resource whose rows supply the parent ids. */
  resource: string;
  /** Placeholder in `path` (`/users/{user_id}/...`). */
  param: string;
  /** Column added to every child row holding the parent id (part of the key). */
  column: string;
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
  parent?: ParentSpec;
  /** Resources that must finish in the same run before this one starts. */
  dependsOn: string[];
  columns: ColumnSpec[];
}

const ts = (name: string): ColumnSpec => ({ name, type: 'DateTime' });
const ref = (prefix: string, fields: Array<[string, ColumnType]>): ColumnSpec[] =>
  fields.map(([field, type]) => ({ name: `${prefix}_${field}`, type, from: `${prefix}.${field}` }));
const timestamps: ColumnSpec[] = [ts('created_at'), ts('updated_at')];

export const CATALOG: readonly ResourceSpec[] = [
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
      { name: 'id', type: 'UInt64' },
      { name: 'first_name', type: 'String' },
      { name: 'last_name', type: 'String' },
      { name: 'email', type: 'String' },
      { name: 'telephone', type: 'String' },
      { name: 'timezone', type: 'String' },
      { name: 'weekly_capacity', type: 'Int64' },
      { name: 'has_access_to_all_future_projects', type: 'Bool' },
      { name: 'is_contractor', type: 'Bool' },
      { name: 'is_active', type: 'Bool' },
      { name: 'default_hourly_rate', type: 'Float64' },
      { name: 'cost_rate', type: 'Float64' },
      { name: 'roles', type: 'Array(String)' },
      { name: 'access_roles', type: 'Array(String)' },
      { name: 'avatar_url', type: 'String' },
      ...timestamps,
    ],
  },
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
      { name: 'id', type: 'UInt64' },
      { name: 'name', type: 'String' },
      { name: 'code', type: 'String' },
      ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
      { name: 'is_active', type: 'Bool' },
      { name: 'is_billable', type: 'Bool' },
      { name: 'is_fixed_fee', type: 'Bool' },
      { name: 'bill_by', type: 'String' },
      { name: 'budget', type: 'Float64' },
      { name: 'budget_by', type: 'String' },
      { name: 'budget_is_monthly', type: 'Bool' },
      { name: 'hourly_rate', type: 'Float64' },
      { name: 'fee', type: 'Float64' },
      { name: 'cost_budget', type: 'Float64' },
      { name: 'starts_on', type: 'Date' },
      { name: 'ends_on', type: 'Date' },
      { name: 'notes', type: 'String' },
      ...timestamps,
    ],
  },
  {
    name: 'tasks',
    description: 'Task types that can be assigned to projects',
    path: '/tasks',
    dataKey: 'tasks',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: [],
    columns: [
      { name: 'id', type: 'UInt64' },
      { name: 'name', type: 'String' },
      { name: 'billable_by_default', type: 'Bool' },
      { name: 'default_hourly_rate', type: 'Float64' },
      { name: 'is_default', type: 'Bool' },
      { name: 'is_active', type: 'Bool' },
      ...timestamps,
    ],
  },
  {
    name: 'time_entries',
    description: 'Tracked time, one row per entry',
    path: '/time_entries',
    dataKey: 'time_entries',
    key: ['id'],
    paging: 'page',
    incremental: 'updated_since',
    dependsOn: [],
    columns: [
      { name: 'id', type: 'UInt64' },
      { name: 'spent_date', type: 'Date' },
      { name: 'hours', type: 'Float64' },
      { name: 'hours_without_timer', type: 'Float64' },
      { name: 'rounded_hours', type: 'Float64' },
      { name: 'notes', type: 'String' },
      { name: 'is_locked', type: 'Bool' },
      { name: 'locked_reason', type: 'String' },
      { name: 'is_closed', type: 'Bool' },
      { name: 'is_billed', type: 'Bool' },
      { name: 'is_running', type: 'Bool' },
      { name: 'timer_started_at', type: 'DateTime' },
      // Clock times such as "3:00pm" are not datetimes.
      { name: 'started_time', type: 'String' },
      { name: 'ended_time', type: 'String' },
      { name: 'billable', type: 'Bool' },
      { name: 'budgeted', type: 'Bool' },
      { name: 'billable_rate', type: 'Float64' },
      { name: 'cost_rate', type: 'Float64' },
      ...ref('user', [['id', 'UInt64'], ['name', 'String']]),
      ...ref('client', [['id', 'UInt64'], ['name', 'String'], ['currency', 'String']]),
      ...ref('project', [['id', 'UInt64'], ['name', 'String'], ['code', 'String']]),
      ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
      ...ref('user_assignment', [['id', 'UInt64']]),
      ...ref('task_assignment', [['id', 'UInt64']]),
      ...ref('invoice', [['id', 'UInt64'], ['number', 'String']]),
      ...ref('external_reference', [['id', 'String'], ['service', 'String'], ['permalink', 'String']]),
      ...timestamps,
    ],
  },
  {
    name: 'user_projects',
    description: "Each user's active project assignments (per user)",
    path: '/users/{user_id}/project_assignments',
    dataKey: 'project_assignments',
    key: ['user_id', 'id'],
    paging: 'cursor',
    incremental: 'updated_since',
    parent: { resource: 'users', param: 'user_id', column: 'user_id' },
    dependsOn: ['users'],
    columns: [
      { name: 'id', type: 'UInt64' },
      { name: 'is_project_manager', type: 'Bool' },
      { name: 'is_active', type: 'Bool' },
      { name: 'use_default_rates', type: 'Bool' },
      { name: 'hourly_rate', type: 'Float64' },
      { name: 'budget', type: 'Float64' },
      ...ref('project', [['id', 'UInt64'], ['name', 'String'], ['code', 'String']]),
      ...ref('client', [['id', 'UInt64'], ['name', 'String']]),
      ...timestamps,
    ],
  },
  {
    name: 'project_tasks',
    description: 'Task assignments of every project (flat /task_assignments listing)',
    path: '/task_assignments',
    dataKey: 'task_assignments',
    key: ['id'],
    paging: 'cursor',
    incremental: 'updated_since',
    dependsOn: ['projects', 'tasks'],
    columns: [
      { name: 'id', type: 'UInt64' },
      ...ref('project', [['id', 'UInt64'], ['name', 'String'], ['code', 'String']]),
      ...ref('task', [['id', 'UInt64'], ['name', 'String']]),
      { name: 'is_active', type: 'Bool' },
      { name: 'billable', type: 'Bool' },
      { name: 'hourly_rate', type: 'Float64' },
      { name: 'budget', type: 'Float64' },
      ...timestamps,
    ],
  },
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

/** The table's sorting (deduplication) key: the account, then the resource key. */
export function tableKey(spec: ResourceSpec): string[] {
  return ['account_id', ...spec.key];
}

/** Checks the catalog's own consistency; the tests run it so a bad entry fails CI. */
export function validateCatalog(catalog: readonly ResourceSpec[] = CATALOG): string[] {
  const problems: string[] = [];
  const names = new Set(catalog.map((r) => r.name));
  for (const r of catalog) {
    const cols = new Set(r.columns.map((c) => c.name));
    if (r.parent) cols.add(r.parent.column);
    for (const k of r.key) if (!cols.has(k)) problems.push(`${r.name}: key column ${k} is not a column`);
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
