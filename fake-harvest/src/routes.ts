/**
 * The fake's API surface as data: query filters and a route table. Adding an endpoint
 * means adding one row to ROUTES (and, if needed, one filter to FILTERS). Every list is
 * newest-created first unless its row says otherwise (see KIND_ORDER in store.ts).
 */
import { REPORTS, type ReportName } from './reports';
import {
  findById,
  KIND_ORDER,
  PARENT_FIELDS,
  presentRecord,
  projectAssignmentsFor,
  refId,
  sortedList,
  teammatesFor,
} from './store';
import type { FakeAccountData, Rec, ResourceKind, SortOrder } from './types';
import { isoSeconds, parseDate, parseIsoTimestamp, SECOND_MS } from './util';

// ---------------------------------------------------------------------------
// Filters: each compiles a raw query value into a predicate, or explains why it can't.

export type Predicate = (rec: Rec) => boolean;
export interface FilterError {
  error: string;
}
export type FilterCompiler = (raw: string, name: string) => Predicate | FilterError;

function booleanField(field: string): FilterCompiler {
  return (raw, name) => {
    if (raw !== 'true' && raw !== 'false') return { error: `${name} must be true or false` };
    const wanted = raw === 'true';
    return (rec) => rec[field] === wanted;
  };
}

/** `client_id=5` matches records whose nested `client.id` is 5. */
function referenceId(field: string): FilterCompiler {
  return (raw, name) => {
    if (!/^\d{1,16}$/.test(raw)) return { error: `${name} must be an integer id` };
    const wanted = Number(raw);
    return (rec) => refId(rec, field) === wanted;
  };
}

/** At-or-after: records whose updated_at equals the timestamp are included. */
const updatedSince: FilterCompiler = (raw, name) => {
  const ms = parseIsoTimestamp(raw);
  if (Number.isNaN(ms)) return { error: `${name} must be an ISO 8601 timestamp` };
  // Stored timestamps have whole seconds, so compare against the next whole second.
  const since = isoSeconds(Math.ceil(ms / SECOND_MS) * SECOND_MS);
  return (rec) => rec.updated_at >= since;
};

/** `from`/`to` on a date field (spent_date, or issue_date for invoices and estimates). */
function dateBound(field: string, bound: 'from' | 'to'): FilterCompiler {
  return (raw, name) => {
    const ms = parseDate(raw);
    if (Number.isNaN(ms)) return { error: `${name} must be a date (YYYY-MM-DD)` };
    const day = new Date(ms).toISOString().slice(0, 10);
    return bound === 'from' ? (rec) => String(rec[field]) >= day : (rec) => String(rec[field]) <= day;
  };
}

function oneOf(field: string, values: readonly string[]): FilterCompiler {
  return (raw, name) => {
    if (!values.includes(raw)) return { error: `${name} must be one of ${values.join(', ')}` };
    return (rec) => rec[field] === raw;
  };
}

/** Invoices have no project of their own: `project_id` matches any line item's project. */
const lineItemProject: FilterCompiler = (raw, name) => {
  if (!/^\d{1,16}$/.test(raw)) return { error: `${name} must be an integer id` };
  const wanted = Number(raw);
  return (rec) => ((rec.line_items as Rec[] | undefined) ?? []).some((li) => refId(li, 'project') === wanted);
};

export const FILTERS = {
  is_active: booleanField('is_active'),
  is_running: booleanField('is_running'),
  is_billed: booleanField('is_billed'),
  user_id: referenceId('user'),
  client_id: referenceId('client'),
  project_id: referenceId('project'),
  task_id: referenceId('task'),
  updated_since: updatedSince,
  from: dateBound('spent_date', 'from'),
  to: dateBound('spent_date', 'to'),
} satisfies Record<string, FilterCompiler>;
export type FilterName = keyof typeof FILTERS;

/** A filter of a route: a standard one by name, or a query parameter with its own meaning there. */
export type FilterSpec = FilterName | { param: string; compile: FilterCompiler };

const custom = (param: string, compile: FilterCompiler): FilterSpec => ({ param, compile });
const ISSUE_DATE: readonly FilterSpec[] = [custom('from', dateBound('issue_date', 'from')), custom('to', dateBound('issue_date', 'to'))];

/** Compiles the route's filters present in the query; unknown parameters are ignored, like Harvest. */
export function compileFilters(allowed: readonly FilterSpec[], query: URLSearchParams): Predicate[] | FilterError {
  const predicates: Predicate[] = [];
  for (const spec of allowed) {
    const [name, compile] = typeof spec === 'string' ? [spec, FILTERS[spec]] : [spec.param, spec.compile];
    const raw = query.get(name);
    if (raw === null) continue;
    const compiled = compile(raw, name);
    if (typeof compiled !== 'function') return compiled;
    predicates.push(compiled);
  }
  return predicates;
}

// ---------------------------------------------------------------------------
// Routes.

/** Numeric path parameters, e.g. `{ project_id: 28674500 }`. */
export type Params = Readonly<Record<string, number>>;

/** What a route may know about the request besides its path. */
export interface RouteContext {
  /** The user the token acts as (see actingUser in store.ts). */
  me: Rec | undefined;
}

/** An answer other than a list: e.g. 422 for teammates of a non-manager. */
export interface RouteError {
  status: number;
  message: string;
}

/**
 * Who may call a route when the server runs with `role: 'member'` (an Administrator may
 * call everything). Harvest documents clients as "Administrator or Manager … else 403",
 * and says the same of users, user assignments and other people's data; projects,
 * tasks, contacts, roles, invoices, estimates and reports follow that rule here too:
 * - 'all':   anyone (company, users/me, expense categories).
 * - 'admin': a member gets 403.
 * - 'self':  a member may call it for their own user id only, else 403.
 * - 'own':   a member gets 200 with only their own records (time entries, expenses):
 *            the quiet narrowing a sync must notice.
 * A 'manager' token is refused what a member is, except that it may call 'self' routes
 * for its teammates too, 'own' lists also hold its teammates' records and those on the
 * projects it manages, and it may run the reports: their totals count only those records
 * (an assumption: Harvest does not document what a Manager's reports hold).
 */
export type Access = 'all' | 'admin' | 'self' | 'own';

export interface ListRoute {
  type: 'list';
  pattern: string;
  /** The envelope key holding the records. */
  key: string;
  paging: 'cursor' | 'page';
  order: SortOrder;
  filters: readonly FilterSpec[];
  access: Access;
  /** Records in API order; undefined when a path id does not exist (404). */
  source: (data: FakeAccountData, params: Params, ctx: RouteContext) => Rec[] | undefined | RouteError;
  /** The served form of a record (default: the record itself). */
  present?: (rec: Rec) => object;
}

export interface ObjectRoute {
  type: 'object';
  pattern: string;
  access: Access;
  /** The object to return, or undefined (404). */
  object: (data: FakeAccountData, params: Params, ctx: RouteContext) => object | undefined;
}

/** `/v2/reports/...`: rows under `results`, page paging, the reports rate limit. */
export interface ReportRoute {
  type: 'report';
  pattern: string;
  report: ReportName;
  access: Access;
}

export type Route = ListRoute | ObjectRoute | ReportRoute;

const STANDARD: readonly FilterName[] = ['is_active', 'updated_since'];

interface ListOptions {
  order?: SortOrder;
  access?: Access;
  present?: (rec: Rec) => object;
}

function list(
  pattern: string,
  key: string,
  paging: ListRoute['paging'],
  filters: readonly FilterSpec[],
  source: ListRoute['source'],
  { order = 'created', access = 'admin', present }: ListOptions = {},
): ListRoute {
  return { type: 'list', pattern, key, paging, filters, source, order, access, ...(present ? { present } : {}) };
}

function object(pattern: string, get: ObjectRoute['object'], access: Access = 'admin'): ObjectRoute {
  return { type: 'object', pattern, object: get, access };
}

function report(name: ReportName): ReportRoute {
  return { type: 'report', pattern: `/v2/reports/${name}`, report: name, access: 'admin' };
}

const all = (kind: ResourceKind) => (data: FakeAccountData) => sortedList(data, kind);

/** Records of `kind` belonging to the parent named in the path, or undefined if the parent is unknown. */
function childrenOf(kind: ResourceKind, parentKind: ResourceKind, param: string, refField: string) {
  return (data: FakeAccountData, params: Params): Rec[] | undefined => {
    const parentId = params[param]!;
    if (!findById(data[parentKind], parentId)) return undefined;
    return sortedList(data, kind).filter((r) => refId(r, refField) === parentId);
  };
}

/** Children linked by a hidden parent field (PARENT_FIELDS), served without it. */
function hiddenChildren(kind: ResourceKind, param: string): Pick<ListRoute, 'source' | 'present'> {
  const link = PARENT_FIELDS[kind]!;
  return {
    source: (data, params) => {
      const parentId = params[param]!;
      if (!findById(data[link.parent], parentId)) return undefined;
      return sortedList(data, kind).filter((r) => r[link.field] === parentId);
    },
    present: (rec) => presentRecord(kind, rec),
  };
}

function childList(pattern: string, key: string, kind: ResourceKind, param: string, filters: readonly FilterSpec[], access: Access): ListRoute {
  const { source, present } = hiddenChildren(kind, param);
  return list(pattern, key, 'cursor', filters, source, { order: KIND_ORDER[kind], access, present });
}

function byId(kind: ResourceKind) {
  return (data: FakeAccountData, params: Params): Rec | undefined => findById(data[kind], params.id!);
}

const teammate = (u: Rec): object => ({ id: u.id, first_name: u.first_name, last_name: u.last_name, email: u.email });

export const ROUTES: readonly Route[] = [
  list('/v2/clients', 'clients', 'cursor', STANDARD, all('clients')),
  list('/v2/contacts', 'contacts', 'cursor', ['client_id', 'updated_since'], all('contacts')),
  // Harvest's roles list has no updated_since: passing it is ignored (every role is served).
  list('/v2/roles', 'roles', 'cursor', [], all('roles')),
  list('/v2/users', 'users', 'cursor', STANDARD, all('users')),
  list('/v2/projects', 'projects', 'cursor', [...STANDARD, 'client_id'], all('projects')),
  list('/v2/tasks', 'tasks', 'cursor', STANDARD, all('tasks')),
  list('/v2/expense_categories', 'expense_categories', 'cursor', STANDARD, all('expenseCategories'), { access: 'all' }),
  list('/v2/invoice_item_categories', 'invoice_item_categories', 'cursor', ['updated_since'], all('invoiceItemCategories')),
  list('/v2/estimate_item_categories', 'estimate_item_categories', 'cursor', ['updated_since'], all('estimateItemCategories')),
  list('/v2/task_assignments', 'task_assignments', 'cursor', STANDARD, all('taskAssignments')),
  list('/v2/user_assignments', 'user_assignments', 'cursor', [...STANDARD, 'user_id'], all('userAssignments')),
  list('/v2/projects/:project_id/task_assignments', 'task_assignments', 'page', STANDARD,
    childrenOf('taskAssignments', 'projects', 'project_id', 'project')),
  list('/v2/projects/:project_id/user_assignments', 'user_assignments', 'page', [...STANDARD, 'user_id'],
    childrenOf('userAssignments', 'projects', 'project_id', 'project')),
  list('/v2/users/:user_id/project_assignments', 'project_assignments', 'cursor', ['updated_since'],
    (data, params) => projectAssignmentsFor(data, params.user_id!), { access: 'self' }),
  list('/v2/users/me/project_assignments', 'project_assignments', 'cursor', ['updated_since'],
    (data, _params, ctx) => projectAssignmentsFor(data, ctx.me?.id ?? -1), { access: 'all' }),
  childList('/v2/users/:user_id/billable_rates', 'billable_rates', 'billableRates', 'user_id', [], 'self'),
  childList('/v2/users/:user_id/cost_rates', 'cost_rates', 'costRates', 'user_id', [], 'self'),
  list('/v2/users/:user_id/teammates', 'teammates', 'cursor', [],
    (data, params) => teammatesFor(data, params.user_id!) ?? (findById(data.users, params.user_id!)
      ? { status: 422, message: 'The user must be a Manager to have teammates.' }
      : undefined),
    { access: 'self', present: teammate }),
  list('/v2/time_entries', 'time_entries', 'page',
    ['user_id', 'client_id', 'project_id', 'task_id', 'is_billed', 'is_running', 'updated_since', 'from', 'to'],
    all('timeEntries'), { order: 'spent', access: 'own' }),
  list('/v2/expenses', 'expenses', 'page',
    ['user_id', 'client_id', 'project_id', 'is_billed', 'updated_since', 'from', 'to'],
    all('expenses'), { order: 'spent', access: 'own' }),
  list('/v2/invoices', 'invoices', 'page',
    ['client_id', custom('project_id', lineItemProject), custom('state', oneOf('state', ['draft', 'open', 'paid', 'closed'])), 'updated_since', ...ISSUE_DATE],
    all('invoices'), { order: 'issued' }),
  childList('/v2/invoices/:invoice_id/messages', 'invoice_messages', 'invoiceMessages', 'invoice_id', ['updated_since'], 'admin'),
  childList('/v2/invoices/:invoice_id/payments', 'invoice_payments', 'invoicePayments', 'invoice_id', ['updated_since'], 'admin'),
  list('/v2/estimates', 'estimates', 'page',
    ['client_id', custom('state', oneOf('state', ['draft', 'sent', 'accepted', 'declined'])), 'updated_since', ...ISSUE_DATE],
    all('estimates'), { order: 'issued' }),
  childList('/v2/estimates/:estimate_id/messages', 'estimate_messages', 'estimateMessages', 'estimate_id', ['updated_since'], 'admin'),
  ...REPORTS.map(report),
  object('/v2/company', (data) => data.company, 'all'),
  object('/v2/users/me', (_data, _params, ctx) => ctx.me, 'all'),
  object('/v2/clients/:id', byId('clients')),
  object('/v2/contacts/:id', byId('contacts')),
  object('/v2/roles/:id', byId('roles')),
  object('/v2/users/:id', byId('users'), 'self'),
  object('/v2/projects/:id', byId('projects')),
  object('/v2/tasks/:id', byId('tasks')),
  object('/v2/expense_categories/:id', byId('expenseCategories'), 'all'),
  object('/v2/invoice_item_categories/:id', byId('invoiceItemCategories')),
  object('/v2/estimate_item_categories/:id', byId('estimateItemCategories')),
  object('/v2/time_entries/:id', byId('timeEntries'), 'own'),
  object('/v2/expenses/:id', byId('expenses'), 'own'),
  object('/v2/invoices/:id', byId('invoices')),
  object('/v2/estimates/:id', byId('estimates')),
];

// ---------------------------------------------------------------------------
// Matching.

interface CompiledRoute {
  route: Route;
  segments: string[];
}

const COMPILED: readonly CompiledRoute[] = ROUTES.map((route) => ({ route, segments: route.pattern.split('/') }));

/** Finds the route for a pathname; `:name` segments only match numeric ids. */
export function matchRoute(pathname: string): { route: Route; params: Params } | undefined {
  const parts = pathname.replace(/\/+$/, '').split('/');
  for (const { route, segments } of COMPILED) {
    const params = matchSegments(segments, parts);
    if (params) return { route, params };
  }
  return undefined;
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Params | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, number> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const part = parts[i]!;
    if (seg.startsWith(':')) {
      if (!/^\d{1,16}$/.test(part)) return undefined;
      params[seg.slice(1)] = Number(part);
    } else if (seg !== part) {
      return undefined;
    }
  }
  return params;
}
