/**
 * Harvest's Reports API, computed live from the store: time and expense totals per
 * client/project/task/user, the uninvoiced report and the project budget report.
 *
 * Choices where harvest-api.md is silent (checked against the recorded rows in
 * fake-harvest/fixtures/harvest-recorded.jsonl where they tell):
 * - Row fields and order are the recorded ones, minus `from`/`to`: the recorder added
 *   those from its request window (as it added `parent_id`); Harvest's report result
 *   objects have no such fields, and the project_budget rows (no window) have none.
 * - A row is one subject *and currency*: time/expense rows for tasks, users and
 *   categories split by the currency of the client billed (a client or project has one
 *   currency, so those are one row each). Key: (subject id, currency).
 * - Rows are sorted by name, case-insensitively, as recorded (projects by client name,
 *   then project name, in the uninvoiced and budget reports); ties by id, then currency.
 * - `project_name` is "[CODE] Name" in the time and expense project reports and plain
 *   "Name" in the uninvoiced and budget reports, as recorded.
 * - Time and expense reports list only subjects with records in the window; the
 *   uninvoiced report lists every billable project, zero rows included; the budget
 *   report lists every project with a budget (budget_by != "none").
 * - Numbers: hours and money are summed in hundredths, so a row equals the plain sum of
 *   the store's values (rounded to 2 decimals).
 */
import { dataGeneration, findById, refId } from './store';
import type { FakeAccountData, Rec } from './types';
import { DAY_MS, isoDate, parseDate } from './util';

export const REPORTS = [
  'time/clients',
  'time/projects',
  'time/tasks',
  'time/team',
  'expenses/clients',
  'expenses/projects',
  'expenses/categories',
  'expenses/team',
  'uninvoiced',
  'project_budget',
] as const;
export type ReportName = (typeof REPORTS)[number];

/**
 * "The range may not exceed 365 days" read as `to - from <= 365 days`, i.e. at most 366
 * calendar days counting both ends. The recording settles it: its report rows come from
 * from=20210101&to=20220101 windows (365 days apart, 366 days inclusive), which Harvest
 * answered. So a leap year's 2024-01-01..2024-12-31 is allowed and 2024-01-01..2025-01-01
 * (366 days apart) is 400 "Invalid timeframe".
 */
export const MAX_REPORT_SPAN_DAYS = 365;

export interface ReportWindow {
  /** Inclusive bounds, "YYYY-MM-DD". */
  from: string;
  to: string;
}

export interface ReportOptions {
  /** Required by every report but project_budget. */
  window?: ReportWindow;
  /** include_fixed_fee (time and uninvoiced reports; default true). */
  includeFixedFee?: boolean;
  /** is_active (project_budget). */
  isActive?: boolean;
  /** "Now", for monthly budgets (spent counts the current UTC month only). Default Date.now(). */
  nowMs?: number;
}

export interface ReportError {
  status: number;
  message: string;
}

/**
 * Reads `from`/`to` (YYYYMMDD; YYYY-MM-DD is accepted too). Missing or not a date: 422,
 * like Harvest's other parameter errors. `to` before `from`, or more than 365 days
 * apart: 400 "Invalid timeframe".
 */
export function parseReportWindow(query: URLSearchParams): ReportWindow | ReportError {
  const bounds: number[] = [];
  for (const name of ['from', 'to'] as const) {
    const raw = query.get(name);
    if (raw === null || raw === '') return { status: 422, message: `${name} is required (YYYYMMDD)` };
    const ms = parseDate(raw);
    if (Number.isNaN(ms)) return { status: 422, message: `${name} must be a date (YYYYMMDD)` };
    bounds.push(ms);
  }
  const [from, to] = bounds as [number, number];
  if (to < from || (to - from) / DAY_MS > MAX_REPORT_SPAN_DAYS) return { status: 400, message: 'Invalid timeframe' };
  return { from: isoDate(from), to: isoDate(to) };
}

// ---------------------------------------------------------------------------

/** Money and hours in hundredths: sums of 2-decimal values stay exact. */
const hundredths = (x: unknown): number => (typeof x === 'number' ? Math.round(x * 100) : 0);
const fromHundredths = (n: number): number => n / 100;

/** Current names and currencies: reports show today's names, not the ones stamped on old records. */
class Lookup {
  private readonly maps = new Map<string, Map<number, Rec>>();

  constructor(private readonly data: FakeAccountData) {}

  get(kind: 'clients' | 'projects' | 'tasks' | 'users' | 'expenseCategories', id: number | undefined): Rec | undefined {
    if (id === undefined) return undefined;
    let map = this.maps.get(kind);
    if (!map) this.maps.set(kind, (map = new Map(this.data[kind].map((r) => [r.id, r]))));
    return map.get(id);
  }

  /** The nested reference on a record, overlaid with the current record of that id. */
  ref(rec: Rec, field: string, kind: 'clients' | 'projects' | 'tasks' | 'users' | 'expenseCategories'): Record<string, unknown> {
    const nested = (rec[field] ?? {}) as Record<string, unknown>;
    return { ...nested, ...this.get(kind, refId(rec, field)) };
  }

  /** Hot path (every entry of a report): no allocation. */
  currency(rec: Rec): string {
    const current = this.get('clients', refId(rec, 'client'))?.currency ?? (rec.client as { currency?: unknown } | null)?.currency;
    return typeof current === 'string' ? current : 'USD';
  }

  isFixedFee(rec: Rec): boolean {
    return this.get('projects', refId(rec, 'project'))?.is_fixed_fee === true;
  }
}

function personName(user: Record<string, unknown>): string {
  return user.first_name !== undefined ? `${String(user.first_name)} ${String(user.last_name)}` : String(user.name);
}

function codedName(project: Record<string, unknown>): string {
  return project.code ? `[${String(project.code)}] ${String(project.name)}` : String(project.name);
}

interface Group {
  /** Leading fields of the row, in recorded order. */
  head: Record<string, unknown>;
  /** Sort names, most significant first. */
  sortBy: string[];
  id: number;
  currency: string;
  sums: number[];
}

/** Accumulates rows keyed by (subject, currency). */
class Groups {
  private readonly groups = new Map<string, Group>();

  add(id: number, currency: string, make: () => Omit<Group, 'sums' | 'id' | 'currency'>, values: number[]): void {
    const key = `${id}|${currency}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { ...make(), id, currency, sums: values.map(() => 0) }));
    values.forEach((v, i) => (g.sums[i]! += v));
  }

  sorted(): Group[] {
    return [...this.groups.values()].sort(compareGroups);
  }
}

/** By names (case-insensitive, most significant first), then id. */
function compareNamed(a: { sortBy: readonly string[]; id: number }, b: { sortBy: readonly string[]; id: number }): number {
  for (let i = 0; i < a.sortBy.length; i++) {
    const x = a.sortBy[i]!.toLowerCase();
    const y = b.sortBy[i]!.toLowerCase();
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.id - b.id;
}

function compareGroups(a: Group, b: Group): number {
  return compareNamed(a, b) || (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0);
}

function inWindow(rec: Rec, w: ReportWindow): boolean {
  const day = rec.spent_date as string;
  return day >= w.from && day <= w.to;
}

/** Hours, billable hours and billable amount (hundredths) of one time entry. */
function entryFigures(e: Rec, fixedFee: boolean): [number, number, number] {
  const hours = hundredths(e.hours);
  const billable = e.billable === true;
  // Fixed-fee projects bill their fee, not hours: the recorded rows show 0.0 amounts.
  const amount = billable && !fixedFee && typeof e.billable_rate === 'number' ? hundredths((e.hours as number) * e.billable_rate) : 0;
  return [hours, billable ? hours : 0, amount];
}

/** A window's time entries summed by client, project, task, person and currency (and fixed fee). */
interface TimeCell {
  /** One of its entries: the references every entry of the cell shares. */
  e: Rec;
  fixedFee: boolean;
  currency: string;
  sums: [number, number, number];
}
const windowCells = new WeakMap<FakeAccountData, { stamp: string; byWindow: Map<string, TimeCell[]> }>();

/** One pass over the entries per window (and account state), shared by the four time reports. */
function timeCells(data: FakeAccountData, w: ReportWindow): TimeCell[] {
  const stamp = accountStamp(data);
  let cache = windowCells.get(data);
  if (!cache || cache.stamp !== stamp) windowCells.set(data, (cache = { stamp, byWindow: new Map() }));
  const windowKey = `${w.from}|${w.to}`;
  const known = cache.byWindow.get(windowKey);
  if (known) return known;
  const look = new Lookup(data);
  const cells = new Map<string, TimeCell>();
  for (const e of data.timeEntries) {
    if (!inWindow(e, w)) continue;
    const fixedFee = look.isFixedFee(e);
    const currency = look.currency(e);
    const key = `${refId(e, 'client')}|${refId(e, 'project')}|${refId(e, 'task')}|${refId(e, 'user')}|${currency}|${fixedFee}`;
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = { e, fixedFee, currency, sums: [0, 0, 0] }));
    const [hours, billable, amount] = entryFigures(e, fixedFee);
    cell.sums[0] += hours;
    cell.sums[1] += billable;
    cell.sums[2] += amount;
  }
  const list = [...cells.values()];
  cache.byWindow.set(windowKey, list);
  return list;
}

function timeReport(data: FakeAccountData, by: 'clients' | 'projects' | 'tasks' | 'team', w: ReportWindow, includeFixedFee: boolean): object[] {
  const look = new Lookup(data);
  const groups = new Groups();
  for (const cell of timeCells(data, w)) {
    if (cell.fixedFee && !includeFixedFee) continue;
    const { e, currency } = cell;
    const figures = cell.sums;
    const client = () => look.ref(e, 'client', 'clients');
    switch (by) {
      case 'clients':
        groups.add(refId(e, 'client') ?? 0, currency, () => {
          const c = client();
          return { head: { client_id: c.id, client_name: c.name }, sortBy: [String(c.name)] };
        }, figures);
        break;
      case 'projects':
        groups.add(refId(e, 'project') ?? 0, currency, () => {
          const p = look.ref(e, 'project', 'projects');
          const c = client();
          return { head: { project_id: p.id, project_name: codedName(p), client_id: c.id, client_name: c.name }, sortBy: [codedName(p)] };
        }, figures);
        break;
      case 'tasks':
        groups.add(refId(e, 'task') ?? 0, currency, () => {
          const t = look.ref(e, 'task', 'tasks');
          return { head: { task_id: t.id, task_name: t.name }, sortBy: [String(t.name)] };
        }, figures);
        break;
      case 'team':
        groups.add(refId(e, 'user') ?? 0, currency, () => {
          const u = look.ref(e, 'user', 'users');
          return { head: { user_id: u.id, user_name: personName(u), is_contractor: u.is_contractor === true }, sortBy: [personName(u)] };
        }, figures);
        break;
    }
  }
  return groups.sorted().map((g) => ({
    ...g.head,
    total_hours: fromHundredths(g.sums[0]!),
    billable_hours: fromHundredths(g.sums[1]!),
    currency: g.currency,
    billable_amount: fromHundredths(g.sums[2]!),
  }));
}

function expenseReport(data: FakeAccountData, by: 'clients' | 'projects' | 'categories' | 'team', w: ReportWindow): object[] {
  const look = new Lookup(data);
  const groups = new Groups();
  for (const x of data.expenses) {
    if (!inWindow(x, w)) continue;
    const currency = look.currency(x);
    const cost = hundredths(x.total_cost);
    const figures = [cost, x.billable === true ? cost : 0];
    const client = () => look.ref(x, 'client', 'clients');
    switch (by) {
      case 'clients':
        groups.add(refId(x, 'client') ?? 0, currency, () => {
          const c = client();
          return { head: { client_id: c.id, client_name: c.name }, sortBy: [String(c.name)] };
        }, figures);
        break;
      case 'projects':
        groups.add(refId(x, 'project') ?? 0, currency, () => {
          const p = look.ref(x, 'project', 'projects');
          const c = client();
          return { head: { client_id: c.id, client_name: c.name, project_id: p.id, project_name: codedName(p) }, sortBy: [codedName(p)] };
        }, figures);
        break;
      case 'categories':
        groups.add(refId(x, 'expense_category') ?? 0, currency, () => {
          const k = look.ref(x, 'expense_category', 'expenseCategories');
          return { head: { expense_category_id: k.id, expense_category_name: k.name }, sortBy: [String(k.name)] };
        }, figures);
        break;
      case 'team':
        groups.add(refId(x, 'user') ?? 0, currency, () => {
          const u = look.ref(x, 'user', 'users');
          return { head: { user_id: u.id, user_name: personName(u), is_contractor: u.is_contractor === true }, sortBy: [personName(u)] };
        }, figures);
        break;
    }
  }
  return groups.sorted().map((g) => ({
    ...g.head,
    total_amount: fromHundredths(g.sums[0]!),
    billable_amount: fromHundredths(g.sums[1]!),
    currency: g.currency,
  }));
}

/** Projects sorted by client name, then project name (case-insensitive), then id. */
function byClientThenProject(data: FakeAccountData, projects: readonly Rec[]): Array<{ project: Rec; client: Record<string, unknown> }> {
  return projects
    .map((project) => {
      const client: Record<string, unknown> = { ...(project.client as object), ...findById(data.clients, refId(project, 'client') ?? -1) };
      return { project, client, sortBy: [String(client.name), String(project.name)], id: project.id };
    })
    .sort(compareNamed);
}

/**
 * Per billable project: total hours in the window; billable hours, hours × rate and
 * billable expenses not yet invoiced (is_billed false) in the window. A fixed-fee
 * project's uninvoiced_amount is its fee less everything invoiced for it so far (all
 * invoice lines naming the project, any date) — the recorded -100.0 is exactly that.
 */
function uninvoicedReport(data: FakeAccountData, w: ReportWindow, includeFixedFee: boolean): object[] {
  const sums = new Map<number, { total: number; hours: number; amount: number; expenses: number }>();
  const sumFor = (id: number | undefined) => {
    const key = id ?? 0;
    let s = sums.get(key);
    if (!s) sums.set(key, (s = { total: 0, hours: 0, amount: 0, expenses: 0 }));
    return s;
  };
  for (const e of data.timeEntries) {
    if (!inWindow(e, w)) continue;
    const s = sumFor(refId(e, 'project'));
    s.total += hundredths(e.hours);
    if (e.billable === true && e.is_billed !== true) {
      s.hours += hundredths(e.hours);
      if (typeof e.billable_rate === 'number') s.amount += hundredths((e.hours as number) * e.billable_rate);
    }
  }
  for (const x of data.expenses) {
    if (inWindow(x, w) && x.billable === true && x.is_billed !== true) sumFor(refId(x, 'project')).expenses += hundredths(x.total_cost);
  }
  const invoicedByProject = new Map<number, number>();
  for (const inv of data.invoices) {
    for (const li of (inv.line_items as Rec[] | undefined) ?? []) {
      const pid = refId(li, 'project');
      if (pid !== undefined) invoicedByProject.set(pid, (invoicedByProject.get(pid) ?? 0) + hundredths(li.amount));
    }
  }
  const projects = data.projects.filter((p) => p.is_billable === true && (includeFixedFee || p.is_fixed_fee !== true));
  return byClientThenProject(data, projects).map(({ project, client }) => {
    const s = sums.get(project.id) ?? { total: 0, hours: 0, amount: 0, expenses: 0 };
    const amount = project.is_fixed_fee === true ? hundredths(project.fee) - (invoicedByProject.get(project.id) ?? 0) : s.amount + s.expenses;
    return {
      client_id: client.id,
      client_name: client.name,
      project_id: project.id,
      project_name: project.name,
      currency: client.currency ?? 'USD',
      total_hours: fromHundredths(s.total),
      uninvoiced_hours: fromHundredths(s.hours),
      uninvoiced_expenses: fromHundredths(s.expenses),
      uninvoiced_amount: fromHundredths(amount),
    };
  });
}

/**
 * Per project with a budget: budget is `cost_budget` for budget_by "project_cost" and
 * `budget` (hours) otherwise. Spent is all-time (monthly budgets: the current UTC month
 * of `nowMs`) hours, or for a cost budget the billable amount (hours × billable_rate,
 * fixed fee or not) plus the project's expenses when cost_budget_include_expenses.
 */
function projectBudgetReport(data: FakeAccountData, isActive: boolean | undefined, nowMs: number): object[] {
  const month = isoDate(nowMs).slice(0, 7);
  const spent = new Map<number, { hours: number; amount: number; expenses: number }>();
  const monthly = new Set(data.projects.filter((p) => p.budget_is_monthly === true).map((p) => p.id));
  const counts = (rec: Rec, pid: number) => !monthly.has(pid) || String(rec.spent_date).startsWith(month);
  const spentFor = (pid: number) => {
    let s = spent.get(pid);
    if (!s) spent.set(pid, (s = { hours: 0, amount: 0, expenses: 0 }));
    return s;
  };
  for (const e of data.timeEntries) {
    const pid = refId(e, 'project') ?? 0;
    if (!counts(e, pid)) continue;
    const s = spentFor(pid);
    s.hours += hundredths(e.hours);
    if (e.billable === true && typeof e.billable_rate === 'number') s.amount += hundredths((e.hours as number) * e.billable_rate);
  }
  for (const x of data.expenses) {
    const pid = refId(x, 'project') ?? 0;
    if (counts(x, pid)) spentFor(pid).expenses += hundredths(x.total_cost);
  }
  const projects = data.projects.filter(
    (p) => typeof p.budget_by === 'string' && p.budget_by !== 'none' && (isActive === undefined || p.is_active === isActive),
  );
  return byClientThenProject(data, projects).map(({ project, client }) => {
    const s = spent.get(project.id) ?? { hours: 0, amount: 0, expenses: 0 };
    const byCost = project.budget_by === 'project_cost';
    const budget = (byCost ? project.cost_budget : project.budget) as number | null;
    const used = byCost ? s.amount + (project.cost_budget_include_expenses === true ? s.expenses : 0) : s.hours;
    return {
      project_id: project.id,
      project_name: project.name,
      client_id: client.id,
      client_name: client.name,
      budget_is_monthly: project.budget_is_monthly === true,
      budget_by: project.budget_by,
      is_active: project.is_active,
      budget,
      budget_spent: fromHundredths(used),
      budget_remaining: budget === null || budget === undefined ? null : fromHundredths(hundredths(budget) - used),
    };
  });
}

// Harvest computes its reports on its own servers, side by side; the fake computes them on
// the one thread that answers every request. The windowed reports of an unchanged account
// are kept (each page of a report, and each later request for it, is one lookup), so a
// million-entry account's report requests are not answered one scan after another.
const computed = new WeakMap<FakeAccountData, { stamp: string; rows: Map<string, object[]> }>();

function accountStamp(data: FakeAccountData): string {
  const sizes = [data.timeEntries, data.expenses, data.invoices, data.projects, data.clients, data.users, data.tasks].map((l) => l.length);
  return `${dataGeneration()}:${sizes.join(',')}`;
}

/** The rows of a report, in Harvest's order (before paging). */
export function reportRows(data: FakeAccountData, name: ReportName, opts: ReportOptions = {}): object[] {
  // Budgets depend on the current month: computed each time.
  if (name === 'project_budget') return projectBudgetReport(data, opts.isActive, opts.nowMs ?? Date.now());
  const stamp = accountStamp(data);
  let cache = computed.get(data);
  if (!cache || cache.stamp !== stamp) computed.set(data, (cache = { stamp, rows: new Map() }));
  const key = JSON.stringify([name, opts.window ?? null, opts.includeFixedFee ?? null]);
  let rows = cache.rows.get(key);
  if (!rows) cache.rows.set(key, (rows = computeReport(data, name, opts)));
  return rows;
}

function computeReport(data: FakeAccountData, name: Exclude<ReportName, 'project_budget'>, opts: ReportOptions): object[] {
  const includeFixedFee = opts.includeFixedFee ?? true;
  const w = opts.window;
  if (!w) throw new Error(`fake-harvest: the ${name} report needs a window`);
  switch (name) {
    case 'time/clients':
    case 'time/projects':
    case 'time/tasks':
    case 'time/team':
      return timeReport(data, name.split('/')[1] as 'clients' | 'projects' | 'tasks' | 'team', w, includeFixedFee);
    case 'expenses/clients':
    case 'expenses/projects':
    case 'expenses/categories':
    case 'expenses/team':
      return expenseReport(data, name.split('/')[1] as 'clients' | 'projects' | 'categories' | 'team', w);
    case 'uninvoiced':
      return uninvoicedReport(data, w, includeFixedFee);
  }
}
