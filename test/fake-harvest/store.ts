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
};

export function sortKey(rec: Rec, order: SortOrder): SortKey {
  return order === 'spent' ? [rec.spent_date as string, rec.created_at, rec.id] : [rec.created_at, rec.id];
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

// Hot path (every time entry request checks 200k records): plain string compares, no String().
function compareSpentDesc(a: Rec, b: Rec): number {
  const sa = a.spent_date as string;
  const sb = b.spent_date as string;
  if (sa !== sb) return sa < sb ? 1 : -1;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return b.id - a.id;
}

export function comparatorFor(order: SortOrder): (a: Rec, b: Rec) => number {
  return order === 'spent' ? compareSpentDesc : compareCreatedDesc;
}

/** Bumped by every mutation helper; lets ensureSorted skip re-checking unchanged lists. */
let generation = 0;
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

/** Index of the first record strictly after `key` in a list sorted in API (descending) order. */
export function indexAfter(list: readonly Rec[], key: SortKey, order: SortOrder): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sortKey(list[mid]!, order), key) >= 0) lo = mid + 1;
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
 * of the kind, so the shape stays complete and references stay valid.
 */
export function createRecord(data: FakeAccountData, kind: ResourceKind, record: Partial<Rec>, nowMs?: number): number {
  const list = sortedList(data, kind);
  generation++;
  const stamp = nowStamp(nowMs);
  const template = list[0] ?? {};
  const id = record.id ?? nextFreeId(list);
  if (findById(list, id)) throw new Error(`fake-harvest: ${kind} id ${id} already exists`);
  // Always stamped now, even if `record` was copied from an older one: it is new in Harvest.
  const created: Rec = { ...template, ...record, id, created_at: stamp, updated_at: stamp };
  if (kind === 'timeEntries' && record.spent_date === undefined) created.spent_date = isoDate(nowMs ?? Date.now());
  insertSorted(list, created, KIND_ORDER[kind]);
  return id;
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

/** Hard delete: the record simply stops appearing, as in Harvest. */
export function removeRecord(data: FakeAccountData, kind: ResourceKind, id: number): Rec {
  const list = data[kind];
  const index = list.findIndex((r) => r.id === id);
  if (index < 0) throw new Error(`fake-harvest: no ${kind} with id ${id}`);
  generation++;
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
