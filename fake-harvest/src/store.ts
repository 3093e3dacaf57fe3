/**
 * Operations on the canonical account store: API ordering, keyset positions,
 * mutations that stamp updated_at like Harvest does, and derived views.
 */
import { taskAssignmentSnapshot } from './generate';
import { RESOURCE_KINDS, type FakeAccountData, type Rec, type ResourceKind, type SortOrder } from './types';
import { isoDate, isoSeconds } from './util';

/** A record's position in its list's order; cursors carry one of these. */
export type SortKey = ReadonlyArray<string | number>;

export const KIND_ORDER: Readonly<Record<ResourceKind, SortOrder>> = {
  clients: 'created',
  users: 'created',
  projects: 'created',
  tasks: 'created',
  taskAssignments: 'created',
  userAssignments: 'created',
  timeEntries: 'spent',
  contacts: 'created',
  roles: 'created',
  expenseCategories: 'created',
  invoiceItemCategories: 'created',
  estimateItemCategories: 'created',
  // Harvest: "sorted by the spent_date, with the most recent expenses appearing first".
  expenses: 'spent',
  // Harvest: invoices and estimates are "sorted by issue date, most recently issued first".
  invoices: 'issued',
  invoiceMessages: 'created',
  invoicePayments: 'created',
  estimates: 'issued',
  estimateMessages: 'created',
  // Harvest: rates are "sorted by start_date, with the oldest starting rates appearing
  // first"; a user's rates start in creation order, so oldest-created first.
  billableRates: 'oldest',
  costRates: 'oldest',
};

/**
 * Child kinds keep their parent's id in a field Harvest does not send (the recorded
 * records have none: the recorder's `parent_id` was its own). The store needs it to
 * answer `/invoices/{id}/messages` etc.; presentRecord() drops it before serving.
 */
export const PARENT_FIELDS: Readonly<Partial<Record<ResourceKind, { field: string; parent: ResourceKind }>>> = {
  invoiceMessages: { field: 'invoice_id', parent: 'invoices' },
  invoicePayments: { field: 'invoice_id', parent: 'invoices' },
  estimateMessages: { field: 'estimate_id', parent: 'estimates' },
  billableRates: { field: 'user_id', parent: 'users' },
  costRates: { field: 'user_id', parent: 'users' },
};

/** A record exactly as Harvest serves it: the stored one, less a hidden parent field. */
export function presentRecord(kind: ResourceKind, rec: Rec): Rec {
  const hidden = PARENT_FIELDS[kind]?.field;
  if (hidden === undefined || !(hidden in rec)) return rec;
  const served: Rec = { ...rec };
  delete served[hidden];
  return served;
}

/** The parent id held in a child record's hidden field (see PARENT_FIELDS). */
export function parentIdOf(kind: ResourceKind, rec: Rec): number | undefined {
  const field = PARENT_FIELDS[kind]?.field;
  const value = field === undefined ? undefined : rec[field];
  return typeof value === 'number' ? value : undefined;
}

/** The date a dated order sorts by first. */
function dateField(order: SortOrder): 'spent_date' | 'issue_date' | undefined {
  return order === 'spent' ? 'spent_date' : order === 'issued' ? 'issue_date' : undefined;
}

export function sortKey(rec: Rec, order: SortOrder): SortKey {
  const field = dateField(order);
  return field ? [rec[field] as string, rec.created_at, rec.id] : [rec.created_at, rec.id];
}

/** Ascending comparison of two keys of the same order. */
export function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

function compareCreatedDesc(a: Rec, b: Rec): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return b.id - a.id;
}

function compareCreatedAsc(a: Rec, b: Rec): number {
  return -compareCreatedDesc(a, b);
}

// Hot path (every time entry request checks 200k records): plain string compares, no String().
function compareSpentDesc(a: Rec, b: Rec): number {
  const sa = a.spent_date as string;
  const sb = b.spent_date as string;
  if (sa !== sb) return sa < sb ? 1 : -1;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return b.id - a.id;
}

function compareIssuedDesc(a: Rec, b: Rec): number {
  const sa = a.issue_date as string;
  const sb = b.issue_date as string;
  if (sa !== sb) return sa < sb ? 1 : -1;
  return compareCreatedDesc(a, b);
}

const COMPARATORS: Readonly<Record<SortOrder, (a: Rec, b: Rec) => number>> = {
  created: compareCreatedDesc,
  oldest: compareCreatedAsc,
  spent: compareSpentDesc,
  issued: compareIssuedDesc,
};

export function comparatorFor(order: SortOrder): (a: Rec, b: Rec) => number {
  return COMPARATORS[order];
}

/** Bumped by every mutation helper; lets ensureSorted skip re-checking unchanged lists. */
let generation = 0;
/** Changes whenever a mutation helper ran (derived views key their caches on it). */
export function dataGeneration(): number {
  return generation;
}
const verified = new WeakMap<Rec[], { length: number; generation: number }>();

/**
 * Returns `list` in API order, sorting it in place only when needed. The O(n) check
 * (~25 ms at 200k entries) reruns only after a mutation helper ran or the length changed,
 * so records pushed into `data` directly are still ordered right. (Editing created_at,
 * spent_date or id in place without a helper is not noticed: use update().)
 */
export function ensureSorted(list: Rec[], order: SortOrder): Rec[] {
  const seen = verified.get(list);
  if (seen && seen.length === list.length && seen.generation === generation) return list;
  const cmp = comparatorFor(order);
  for (let i = 1; i < list.length; i++) {
    if (cmp(list[i - 1]!, list[i]!) > 0) {
      list.sort(cmp);
      break;
    }
  }
  verified.set(list, { length: list.length, generation });
  return list;
}

/** The list of a kind, in API order. */
export function sortedList(data: FakeAccountData, kind: ResourceKind): Rec[] {
  return ensureSorted(data[kind], KIND_ORDER[kind]);
}

/** Index of the first record strictly after `key` in a list sorted in API order. */
export function indexAfter(list: readonly Rec[], key: SortKey, order: SortOrder): number {
  // Descending orders put larger keys first; 'oldest' is the one ascending order.
  const sign = order === 'oldest' ? -1 : 1;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sign * compareKeys(sortKey(list[mid]!, order), key) >= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `rec[field].id` for nested references like `project {id,name}`. */
export function refId(rec: Rec, field: string): number | undefined {
  const ref = rec[field];
  return typeof ref === 'object' && ref !== null && typeof (ref as { id?: unknown }).id === 'number'
    ? (ref as { id: number }).id
    : undefined;
}

export function findById(list: readonly Rec[], id: number): Rec | undefined {
  return list.find((r) => r.id === id);
}

export function isResourceKind(kind: string): kind is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(kind);
}

// ---------------------------------------------------------------------------
// Mutations. Times are "now" at second precision, as Harvest stamps them.

export function nowStamp(nowMs: number = Date.now()): string {
  return isoSeconds(nowMs);
}

/**
 * Adds a record and returns its id. Fields left out are copied from the newest record
 * of the kind, so the shape stays complete and references stay valid. Copied line items
 * get fresh ids; a dated kind left without its date (spent_date, issue_date) gets today.
 * Child kinds take their parent in the hidden field, e.g. `{ invoice_id }` (PARENT_FIELDS).
 */
export function createRecord(data: FakeAccountData, kind: ResourceKind, record: Partial<Rec>, nowMs?: number): number {
  const order = KIND_ORDER[kind];
  const list = sortedList(data, kind);
  generation++;
  const stamp = nowStamp(nowMs);
  const template = (order === 'oldest' ? list[list.length - 1] : list[0]) ?? {};
  const id = record.id ?? nextFreeId(list);
  if (findById(list, id)) throw new Error(`fake-harvest: ${kind} id ${id} already exists`);
  // Always stamped now, even if `record` was copied from an older one: it is new in Harvest.
  const created: Rec = { ...template, ...record, id, created_at: stamp, updated_at: stamp };
  const date = dateField(order);
  if (date && record[date] === undefined) created[date] = isoDate(nowMs ?? Date.now());
  if (record.line_items === undefined && Array.isArray(created.line_items)) {
    let lineId = maxLineItemId(list);
    created.line_items = (created.line_items as Array<Record<string, unknown>>).map((li) => ({ ...li, id: ++lineId }));
  }
  insertSorted(list, created, order);
  return id;
}

function maxLineItemId(list: readonly Rec[]): number {
  let max = 0;
  for (const r of list) {
    for (const li of (r.line_items as Array<{ id?: unknown }> | undefined) ?? []) {
      if (typeof li.id === 'number' && li.id > max) max = li.id;
    }
  }
  return max;
}

/**
 * Shallow-merges `patch` into a record and stamps updated_at with now (id and created_at
 * are kept). To forge timestamps, edit `data` directly.
 */
export function updateRecord(data: FakeAccountData, kind: ResourceKind, id: number, patch: Partial<Rec>, nowMs?: number): Rec {
  const rec = findById(data[kind], id);
  if (!rec) throw new Error(`fake-harvest: no ${kind} with id ${id}`);
  generation++;
  Object.assign(rec, patch, { id, created_at: rec.created_at, updated_at: nowStamp(nowMs) });
  return rec;
}

/**
 * Hard delete: the record simply stops appearing, as in Harvest. Its children (an
 * invoice's messages and payments, an estimate's messages, a user's rates) go with it.
 */
export function removeRecord(data: FakeAccountData, kind: ResourceKind, id: number): Rec {
  const list = data[kind];
  const index = list.findIndex((r) => r.id === id);
  if (index < 0) throw new Error(`fake-harvest: no ${kind} with id ${id}`);
  generation++;
  for (const [childKind, link] of Object.entries(PARENT_FIELDS) as Array<[ResourceKind, { field: string; parent: ResourceKind }]>) {
    if (link.parent !== kind) continue;
    const children = data[childKind];
    for (let i = children.length - 1; i >= 0; i--) if (children[i]![link.field] === id) children.splice(i, 1);
  }
  return list.splice(index, 1)[0]!;
}

function nextFreeId(list: readonly Rec[]): number {
  let max = 0;
  for (const r of list) if (r.id > max) max = r.id;
  return max + 1;
}

function insertSorted(list: Rec[], rec: Rec, order: SortOrder): void {
  const cmp = comparatorFor(order);
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid]!, rec) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, rec);
}

// ---------------------------------------------------------------------------
// Derived views.

/** The user the tokens belong to: `meUserId`, else the first active administrator. */
export function meUser(data: FakeAccountData): Rec | undefined {
  return (
    findById(data.users, data.meUserId) ??
    data.users.find((u) => u.is_active === true && Array.isArray(u.access_roles) && u.access_roles.includes('administrator'))
  );
}

/** The server's token belongs to an Administrator, or to a plain Member (see routes.ts ACCESS). */
export type TokenRole = 'admin' | 'manager' | 'member';

function hasAccessRole(user: Rec, role: string): boolean {
  return Array.isArray(user.access_roles) && user.access_roles.includes(role);
}

/**
 * Whom the token acts as. An admin token is meUser(). A member (manager) token is meUser()
 * if that user is a member (manager), else the oldest active member (manager) of the
 * account (so `/users/me` and the "own records" rules agree), else meUser().
 */
export function actingUser(data: FakeAccountData, role: TokenRole = 'admin'): Rec | undefined {
  const me = meUser(data);
  if (role === 'admin' || (me && hasAccessRole(me, role))) return me;
  const candidates = data.users.filter((u) => u.is_active === true && hasAccessRole(u, role) && !hasAccessRole(u, 'administrator'));
  return candidates.length > 0 ? candidates.reduce((a, b) => (comparatorFor('created')(a, b) > 0 ? a : b)) : me;
}

/** Projects `userId` is an active project manager of (Harvest shows a Manager their records). */
export function managedProjects(data: FakeAccountData, userId: number): Set<number> {
  const out = new Set<number>();
  for (const ua of data.userAssignments) {
    if (refId(ua, 'user') === userId && ua.is_project_manager === true && ua.is_active === true) out.add(refId(ua, 'project') ?? -1);
  }
  return out;
}

/**
 * Whose time entries and expenses a token below Administrator sees: a member its own; a
 * Manager also its teammates' and those on the projects it manages.
 */
export function visibleToToken(data: FakeAccountData, role: TokenRole, me: Rec | undefined): (r: Rec) => boolean {
  if (role === 'admin') return () => true;
  const myId = me?.id as number | undefined;
  if (role === 'member' || myId === undefined) return (r) => refId(r, 'user') === myId;
  const users = new Set<number>([myId, ...(teammatesFor(data, myId) ?? []).map((u) => u.id as number)]);
  const projects = managedProjects(data, myId);
  return (r) => users.has(refId(r, 'user') ?? -1) || projects.has(refId(r, 'project') ?? -1);
}

/**
 * `/users/{id}/teammates`: the people a Manager manages, taken as the active users on the
 * projects the manager is a project manager of (Harvest keeps an explicit list; this
 * derives one). Records keep their user sort key for cursors; routes.ts serves only
 * `{id, first_name, last_name, email}` (Harvest's teammate object; no recorded example).
 * undefined: unknown user (404); null: the user is not a Manager (Harvest answers 422).
 */
export function teammatesFor(data: FakeAccountData, userId: number): Rec[] | null | undefined {
  const user = findById(data.users, userId);
  if (!user) return undefined;
  if (!hasAccessRole(user, 'manager')) return null;
  const managed = new Set<number>();
  for (const ua of data.userAssignments) {
    if (refId(ua, 'user') === userId && ua.is_project_manager === true) managed.add(refId(ua, 'project') ?? -1);
  }
  const mates = new Set<number>();
  for (const ua of data.userAssignments) {
    const uid = refId(ua, 'user');
    if (uid !== undefined && uid !== userId && ua.is_active === true && managed.has(refId(ua, 'project') ?? -1)) mates.add(uid);
  }
  return sortedList(data, 'users').filter((u) => mates.has(u.id) && u.is_active === true);
}

/**
 * `/users/{id}/project_assignments`: one entry per ACTIVE user assignment, with the
 * project's task assignments nested. Its updated_at is the newest of the parts, so an
 * edited task assignment makes the entry show up under updated_since.
 * Returns undefined for an unknown user (404).
 */
export function projectAssignmentsFor(data: FakeAccountData, userId: number): Rec[] | undefined {
  if (!findById(data.users, userId)) return undefined;
  const projects = new Map(data.projects.map((p) => [p.id, p]));
  const tasByProject = new Map<number, Rec[]>();
  for (const ta of sortedList(data, 'taskAssignments')) {
    const pid = refId(ta, 'project');
    if (pid === undefined) continue;
    const list = tasByProject.get(pid) ?? [];
    list.push(ta);
    tasByProject.set(pid, list);
  }
  // Harvest nests them oldest first (ascending id), unlike its lists.
  for (const list of tasByProject.values()) list.sort((a, b) => a.id - b.id);
  const out: Rec[] = [];
  for (const ua of sortedList(data, 'userAssignments')) {
    if (refId(ua, 'user') !== userId || ua.is_active !== true) continue;
    const project = projects.get(refId(ua, 'project') ?? -1);
    if (project) out.push(projectAssignment(ua, project, tasByProject.get(project.id) ?? []));
  }
  return out;
}

function projectAssignment(ua: Rec, project: Rec, tas: readonly Rec[]): Rec {
  let updated_at = ua.updated_at;
  for (const ta of tas) if (ta.updated_at > updated_at) updated_at = ta.updated_at;
  return {
    id: ua.id,
    is_project_manager: ua.is_project_manager,
    is_active: ua.is_active,
    use_default_rates: ua.use_default_rates,
    budget: ua.budget,
    created_at: ua.created_at,
    updated_at,
    hourly_rate: ua.hourly_rate,
    project: { id: project.id, name: project.name, code: project.code, is_billable: project.is_billable },
    client: project.client,
    task_assignments: tas.map((ta) => ({ ...taskAssignmentSnapshot(ta), task: ta.task })),
  };
}
