/**
 * The fake's API surface as data: query filters and a route table. Adding an endpoint
 * means adding one row to ROUTES (and, if needed, one filter to FILTERS).
 */
import { findById, meUser, projectAssignmentsFor, refId, sortedList } from './store';
import type { FakeAccountData, Rec, ResourceKind, SortOrder } from './types';
import { isoSeconds, parseDate, parseIsoTimestamp, SECOND_MS } from './util';

// ---------------------------------------------------------------------------
// Filters: each compiles a raw query value into a predicate, or explains why it can't.

export type Predicate = (rec: Rec) => boolean;
export interface FilterError {
  error: string;
}
type FilterCompiler = (raw: string, name: string) => Predicate | FilterError;

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

function spentDateBound(bound: 'from' | 'to'): FilterCompiler {
  return (raw, name) => {
    const ms = parseDate(raw);
    if (Number.isNaN(ms)) return { error: `${name} must be a date (YYYY-MM-DD)` };
    const day = new Date(ms).toISOString().slice(0, 10);
    return bound === 'from' ? (rec) => String(rec.spent_date) >= day : (rec) => String(rec.spent_date) <= day;
  };
}

export const FILTERS = {
  is_active: booleanField('is_active'),
  is_running: booleanField('is_running'),
  is_billed: booleanField('is_billed'),
  user_id: referenceId('user'),
  client_id: referenceId('client'),
  project_id: referenceId('project'),
  task_id: referenceId('task'),
  updated_since: updatedSince,
  from: spentDateBound('from'),
  to: spentDateBound('to'),
} satisfies Record<string, FilterCompiler>;
export type FilterName = keyof typeof FILTERS;

/** Compiles the route's filters present in the query; unknown parameters are ignored, like Harvest. */
export function compileFilters(allowed: readonly FilterName[], query: URLSearchParams): Predicate[] | FilterError {
  const predicates: Predicate[] = [];
  for (const name of allowed) {
    const raw = query.get(name);
    if (raw === null) continue;
    const compiled = FILTERS[name](raw, name);
    if (typeof compiled !== 'function') return compiled;
    predicates.push(compiled);
  }
  return predicates;
}

// ---------------------------------------------------------------------------
// Routes.

/** Numeric path parameters, e.g. `{ project_id: 28674500 }`. */
export type Params = Readonly<Record<string, number>>;

export interface ListRoute {
  type: 'list';
  pattern: string;
  /** The envelope key holding the records. */
  key: string;
  paging: 'cursor' | 'page';
  order: SortOrder;
  filters: readonly FilterName[];
  /** Records in API order, or undefined when a path id does not exist (404). */
  source: (data: FakeAccountData, params: Params) => Rec[] | undefined;
}

export interface ObjectRoute {
  type: 'object';
  pattern: string;
  /** The object to return, or undefined (404). */
  object: (data: FakeAccountData, params: Params) => object | undefined;
}

export type Route = ListRoute | ObjectRoute;

const STANDARD: readonly FilterName[] = ['is_active', 'updated_since'];

function list(
  pattern: string,
  key: string,
  paging: ListRoute['paging'],
  filters: readonly FilterName[],
  source: ListRoute['source'],
  order: SortOrder = 'created',
): ListRoute {
  return { type: 'list', pattern, key, paging, filters, source, order };
}

function object(pattern: string, get: ObjectRoute['object']): ObjectRoute {
  return { type: 'object', pattern, object: get };
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

function byId(kind: ResourceKind) {
  return (data: FakeAccountData, params: Params): Rec | undefined => findById(data[kind], params.id!);
}

export const ROUTES: readonly Route[] = [
  list('/v2/clients', 'clients', 'cursor', STANDARD, all('clients')),
  list('/v2/users', 'users', 'cursor', STANDARD, all('users')),
  list('/v2/projects', 'projects', 'cursor', [...STANDARD, 'client_id'], all('projects')),
  list('/v2/tasks', 'tasks', 'cursor', STANDARD, all('tasks')),
  list('/v2/task_assignments', 'task_assignments', 'cursor', STANDARD, all('taskAssignments')),
  list('/v2/user_assignments', 'user_assignments', 'cursor', [...STANDARD, 'user_id'], all('userAssignments')),
  list('/v2/projects/:project_id/task_assignments', 'task_assignments', 'page', STANDARD,
    childrenOf('taskAssignments', 'projects', 'project_id', 'project')),
  list('/v2/projects/:project_id/user_assignments', 'user_assignments', 'page', [...STANDARD, 'user_id'],
    childrenOf('userAssignments', 'projects', 'project_id', 'project')),
  list('/v2/users/:user_id/project_assignments', 'project_assignments', 'cursor', ['updated_since'],
    (data, params) => projectAssignmentsFor(data, params.user_id!)),
  list('/v2/users/me/project_assignments', 'project_assignments', 'cursor', ['updated_since'],
    (data) => projectAssignmentsFor(data, meUser(data)?.id ?? -1)),
  list('/v2/time_entries', 'time_entries', 'page',
    ['user_id', 'client_id', 'project_id', 'task_id', 'is_billed', 'is_running', 'updated_since', 'from', 'to'],
    all('timeEntries'), 'spent'),
  object('/v2/company', (data) => data.company),
  object('/v2/users/me', (data) => meUser(data)),
  object('/v2/clients/:id', byId('clients')),
  object('/v2/users/:id', byId('users')),
  object('/v2/projects/:id', byId('projects')),
  object('/v2/tasks/:id', byId('tasks')),
  object('/v2/time_entries/:id', byId('timeEntries')),
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
