/**
 * Deterministic generator of a realistic Harvest account: the same seed (and `now`)
 * always yields the same records. Record shapes follow the recorded fixtures
 * (fake-harvest/fixtures/harvest-recorded.jsonl) field for field, in the same key order.
 * This file builds the people, projects and time; generate-billing.ts the rest
 * (contacts, roles, categories, rates, expenses, invoices, estimates).
 */
import { buildBilling, type BillingCounts } from './generate-billing';
import {
  clientRef,
  COST_RATES,
  creationTimes,
  FIRST_NAMES,
  InvoiceBook,
  isWeekend,
  LAST_NAMES,
  nextId,
  numbered,
  projectRef,
  RATES,
  ROLE_NAMES,
  stamps,
  userName,
  type Timeline,
} from './generate-common';
import { Rng } from './rng';
import { taskAssignmentSnapshot, userAssignmentSnapshot } from './generate-common';

export { taskAssignmentSnapshot, userAssignmentSnapshot };
import type { FakeAccountData, Rec } from './types';
import { DAY_MS, SECOND_MS, clockTime, isoDate, isoSeconds, parseDate, startOfUtcDay } from './util';

export type { FakeAccountData, Rec, ResourceKind } from './types';

export interface GenerateOptions {
  seed?: number;
  clients?: number;
  users?: number;
  projects?: number;
  tasks?: number;
  tasksPerProject?: number;
  usersPerProject?: number;
  timeEntries?: number;
  /** First spent_date (YYYY-MM-DD). */
  firstDate?: string;
  /** Last spent_date (YYYY-MM-DD). */
  lastDate?: string;
  /** Client contacts in all (default 1.5 per client, rounded): each client gets one before any gets two. */
  contacts?: number;
  /** Roles (default 3), named like users' `roles` (which keep only names that exist as roles). */
  roles?: number;
  /** Expense categories (default 5; the first six are Harvest's defaults, Mileage has a unit price). */
  expenseCategories?: number;
  /** Invoice item categories (default 3: Service, Product, then the company's own). */
  invoiceItemCategories?: number;
  /** Estimate item categories (default 3). */
  estimateItemCategories?: number;
  /** Expenses (default 300), over the same dates as time entries; some billed, some with receipts. */
  expenses?: number;
  /**
   * Invoices (default 60), each with 1–4 line_items, 0–2 payments and 0–2 messages. Every
   * invoice a time entry or expense names exists, so when those already name more
   * invoices than this (about 90 for 3000 time entries) there are that many instead.
   */
  invoices?: number;
  /** Estimates (default 20), each with 1–4 line_items and 0–2 messages. */
  estimates?: number;
  /**
   * The moment of generation. Every created_at/updated_at is at least one day before
   * the start of its UTC day, so output only changes once a day; pin it for output
   * that never changes.
   */
  now?: Date | number;
}

type Options = Required<Omit<GenerateOptions, 'now'>> & { nowMs: number };

const DEFAULTS: Required<Omit<GenerateOptions, 'now' | 'contacts'>> = {
  seed: 1,
  clients: 8,
  users: 25,
  projects: 20,
  tasks: 12,
  tasksPerProject: 5,
  usersPerProject: 6,
  timeEntries: 3000,
  firstDate: '2024-01-01',
  lastDate: '2025-12-31',
  roles: 3,
  expenseCategories: 5,
  invoiceItemCategories: 3,
  estimateItemCategories: 3,
  expenses: 300,
  invoices: 60,
  estimates: 20,
};

/** Time entry ids start above 2^31 so 32-bit id handling breaks visibly. */
export const TIME_ENTRY_ID_FLOOR = 2_500_000_000;

// ---------------------------------------------------------------------------
// Vocabulary for realistic values.

const COMPANY_NAMES = [
  'Northwind Studio', 'Bluefin Digital', 'Copperleaf Consulting', 'Lighthouse Labs',
  'Redwood Creative', 'Quarry & Co', 'Tidewater Partners', 'Fieldnote Agency',
];
const CLIENT_NAMES = [
  'Acme Corporation', 'Globex', 'Initech', 'Umbrella Health', 'Stark Logistics', 'Wayne Foundation',
  'Hooli', 'Vandelay Industries', 'Soylent Foods', 'Cyberdyne Systems', 'Tyrell Biotech',
  'Wonka Confectionery', 'Massive Dynamic', 'Oceanic Airlines', 'Pied Piper', 'Dunder Mifflin',
  'Monarch Solutions', 'Bluth Company', 'Prestige Worldwide', 'Gringotts Bank', 'Café Lumière',
  'Nordlicht GmbH', 'Osaka Kōgyō', 'São Paulo Mídia', 'Internal',
];
const CURRENCIES = ['USD', 'USD', 'USD', 'USD', 'EUR', 'GBP', 'CAD'];
const ADDRESSES = [
  '123 Main Street\nSpringfield, IL 62701', '500 Market St, Suite 300\nSan Francisco, CA 94105',
  '10 Downing Lane\nLondon EC1A 1BB', 'Friedrichstraße 43\n10117 Berlin',
];
const TIMEZONES = [
  'Eastern Time (US & Canada)', 'Pacific Time (US & Canada)', 'Central Time (US & Canada)',
  'London', 'Berlin', 'Kyiv', 'Madrid', 'Tokyo', 'Sydney',
];
const TASK_NAMES: ReadonlyArray<readonly [name: string, billable: boolean]> = [
  ['Design', true], ['Programming', true], ['Project Management', true], ['Marketing', true],
  ['Business Development', false], ['Research', true], ['Quality Assurance', true],
  ['Meetings', false], ['Copywriting', true], ['DevOps', true], ['Client Support', true],
  ['Training', false], ['Content Strategy', true], ['Data Analysis', true], ['UX Research', true],
  ['Vacation', false], ['Sick Leave', false], ['Public Holiday', false], ['Recruiting', false],
  ['Administration', false],
];
const TASK_LABELS = TASK_NAMES.map(([name]) => name);
const PROJECT_NAMES = [
  'Website Redesign', 'Mobile App', 'Brand Refresh', 'Q3 Campaign', 'Data Warehouse', 'Onboarding Flow',
  'Customer Portal', 'SEO Audit', 'Analytics Dashboard', 'Product Launch', 'Support Retainer',
  'API Integration', 'Design System', 'E-commerce Migration', 'Annual Report', 'Accessibility Review',
  'Internal Tools', 'Security Hardening', 'Newsletter Program', 'Pricing Study',
];
const PROJECT_NOTES = [
  'Kick-off call scheduled with the client team.',
  'Budget approved by the steering committee; invoice monthly.',
  'Fixed scope — see SOW v2 for deliverables.',
  'Retainer: hours reset every month.',
];
const ENTRY_NOTES = [
  'Sprint planning', 'Code review', 'Client call re: roadmap', 'Wireframes for onboarding flow',
  'Fixed checkout bug', 'Deployment to staging', 'Weekly status meeting', 'Updated landing page copy',
  'Research: competitor pricing', 'QA pass on release candidate', 'Refactored billing module',
  'Design review with stakeholders', 'Prepared quarterly report', 'Migrated legacy data',
  'Pairing session', 'Wrote API documentation', 'Bug triage', 'Performance profiling',
  'Workshop prep', 'Café menu redesign — round 2', 'Follow-up on "Phase 2" scope\nSent summary email',
  'Résumé screening for the designer role', 'Incident #4211 post-mortem', 'Plan ✅ agreed with client',
];
const EXTERNAL_SERVICES = [
  { service: 'github.com', permalink: 'https://github.com/acme/web/issues/' },
  { service: 'trello.com', permalink: 'https://trello.com/c/' },
  { service: 'app.asana.com', permalink: 'https://app.asana.com/0/1200000000000000/' },
];
const ADMIN_CLAIMS = [
  'billable_rates:read:all', 'billable_rates:write:all', 'billing:read:own', 'billing:write:own',
  'clients:read:all', 'clients:write:all', 'company:read:own', 'company:write:own',
  'cost_rates:read:all', 'cost_rates:write:all', 'estimates:read:all', 'estimates:write:all',
  'expenses:read:all', 'expenses:write:all', 'invoices:read:all', 'invoices:write:all',
  'projects:read:all', 'projects:write:all', 'tasks:read:all', 'tasks:write:all',
  'timers:read:all', 'timers:write:all', 'users:read:all', 'users:write:all',
];
const MANAGER_CLAIMS = [
  'expenses:read:managed', 'expenses:write:managed', 'projects:read:managed',
  'timers:read:managed', 'timers:write:managed', 'users:read:managed',
];
const MEMBER_CLAIMS = ['expenses:read:own', 'expenses:write:own', 'timers:read:own', 'timers:write:own'];
const CAPACITIES = [144000, 144000, 144000, 126000, 108000, 72000];

// ---------------------------------------------------------------------------
// Timeline: when things happen, all strictly in the past.

function makeTimeline(o: Options): Timeline {
  const firstDay = parseDate(o.firstDate);
  const lastDay = parseDate(o.lastDate);
  if (Number.isNaN(firstDay) || Number.isNaN(lastDay) || lastDay < firstDay) {
    throw new Error(`generateAccount: invalid date range ${o.firstDate}..${o.lastDate}`);
  }
  const ceiling = startOfUtcDay(o.nowMs) - DAY_MS;
  const setupEnd = Math.min(firstDay - DAY_MS, ceiling);
  return { ceiling, setupStart: setupEnd - 365 * DAY_MS, setupEnd, firstDay, lastDay };
}

// ---------------------------------------------------------------------------
// Reference data builders.

function buildCompany(name: string): Record<string, unknown> {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return {
    base_uri: `https://${slug}.harvestapp.com`,
    full_domain: `${slug}.harvestapp.com`,
    name,
    is_active: true,
    week_start_day: 'Monday',
    wants_timestamp_timers: true,
    time_format: 'hours_minutes',
    date_format: '%m/%d/%Y',
    plan_type: 'business-v4',
    expense_feature: true,
    invoice_feature: true,
    estimate_feature: true,
    team_feature: true,
    weekly_capacity: 144000,
    approval_feature: true,
    clock: '12h',
    currency: 'USD',
    currency_code_display: 'iso_code_none',
    currency_symbol_display: 'symbol_before',
    decimal_symbol: '.',
    thousands_separator: ',',
    color_scheme: 'orange',
  };
}

function buildTasks(rng: Rng, t: Timeline, n: number): Rec[] {
  const times = creationTimes(rng, n, t.setupStart, t.setupStart + 30 * DAY_MS);
  let id = rng.int(10_000_000, 19_000_000);
  return times.map((created, i) => {
    id = nextId(rng, id);
    const [name, billable] = TASK_NAMES[i % TASK_NAMES.length]!;
    return {
      id,
      name: numbered(TASK_LABELS, i),
      billable_by_default: billable,
      default_hourly_rate: billable && rng.chance(0.4) ? rng.pick(RATES) : null,
      is_default: i < 5,
      is_active: name === 'Administration' ? false : rng.chance(0.92),
      ...stamps(rng, t, created, 0.2),
    };
  });
}

function buildClients(rng: Rng, t: Timeline, n: number): Rec[] {
  const times = creationTimes(rng, n, t.setupStart, t.setupStart + 0.5 * (t.setupEnd - t.setupStart));
  let id = rng.int(10_000_000, 12_000_000);
  return times.map((created, i) => {
    id = nextId(rng, id);
    return {
      id,
      name: numbered(CLIENT_NAMES, i),
      is_active: i === 0 || rng.chance(0.85),
      address: rng.chance(0.4) ? rng.pick(ADDRESSES) : null,
      statement_key: rng.hex(32),
      ...stamps(rng, t, created, 0.3),
      currency: rng.pick(CURRENCIES),
    };
  });
}

function accessRoles(rng: Rng, first: boolean): string[] {
  if (first || rng.chance(0.06)) return ['administrator'];
  if (rng.chance(0.2)) return rng.chance(0.5) ? ['manager', 'project_creator'] : ['manager'];
  return ['member'];
}

function claimsFor(roles: readonly string[]): string[] {
  if (roles.includes('administrator')) return ADMIN_CLAIMS.slice();
  if (roles.includes('manager')) return [...MANAGER_CLAIMS, ...MEMBER_CLAIMS];
  return MEMBER_CLAIMS.slice();
}

function buildUsers(rng: Rng, t: Timeline, n: number, domain: string): Rec[] {
  const times = creationTimes(rng, n, t.setupStart, t.setupStart + 0.6 * (t.setupEnd - t.setupStart));
  const emails = new Set<string>();
  let id = rng.int(3_000_000, 4_500_000);
  return times.map((created, i) => {
    id = nextId(rng, id);
    const first_name = rng.pick(FIRST_NAMES);
    const last_name = rng.pick(LAST_NAMES);
    const roles = accessRoles(rng, i === 0);
    const calendar = rng.chance(0.1);
    const is_active = i === 0 || rng.chance(0.88);
    const defaultRate = rng.chance(0.9) ? rng.pick(RATES) : null;
    return {
      id,
      first_name,
      last_name,
      email: uniqueEmail(emails, first_name, last_name, domain),
      telephone: rng.chance(0.3) ? `+1 555-${String(rng.int(100, 9999)).padStart(4, '0')}` : '',
      timezone: rng.pick(TIMEZONES),
      weekly_capacity: rng.pick(CAPACITIES),
      has_access_to_all_future_projects: rng.chance(0.2),
      is_contractor: i > 0 && rng.chance(0.15),
      is_active,
      calendar_integration_enabled: calendar,
      calendar_integration_source: calendar ? 'google' : null,
      // Deactivated users were edited when they were archived.
      ...stamps(rng, t, created, is_active ? 0.4 : 1),
      can_create_projects: roles[0] !== 'member',
      default_hourly_rate: defaultRate,
      cost_rate: rng.chance(0.85) ? rng.pick(COST_RATES) : null,
      roles: rng.sample(ROLE_NAMES, rng.int(0, 2)),
      access_roles: roles,
      permissions_claims: claimsFor(roles),
      avatar_url: `https://d3s3969qhosaug.cloudfront.net/v2/default-avatars/${rng.int(1000, 9999)}.png`,
    };
  });
}

function uniqueEmail(taken: Set<string>, first: string, last: string, domain: string): string {
  const local = `${first}.${last}`
    .normalize('NFD')
    .replace(/[^A-Za-z.]/g, '')
    .toLowerCase();
  let email = `${local}@${domain}`;
  for (let k = 2; taken.has(email); k++) email = `${local}${k}@${domain}`;
  taken.add(email);
  return email;
}

function buildProjects(rng: Rng, t: Timeline, n: number, clients: readonly Rec[]): Rec[] {
  const span = t.setupEnd - t.setupStart;
  const times = creationTimes(rng, n, t.setupStart + 0.5 * span, t.setupStart + 0.85 * span);
  let id = rng.int(20_000_000, 30_000_000);
  return times.map((created, i) => {
    id = nextId(rng, id);
    const client = clients[i % clients.length]!;
    const is_billable = rng.chance(0.85);
    const is_fixed_fee = is_billable && rng.chance(0.15);
    const bill_by = is_billable ? rng.pick(['Project', 'Tasks', 'People', 'People']) : 'none';
    const budget_by = rng.pick(['none', 'none', 'project', 'project_cost', 'person', 'task']);
    const is_active = rng.chance(0.85);
    const hoursBudget = budget_by === 'project' || budget_by === 'person' || budget_by === 'task';
    const fee = is_fixed_fee ? rng.int(50, 600) * 100 : null;
    const code = rng.chance(0.75) ? `${initials(String(client.name))}-${String(i + 1).padStart(3, '0')}` : null;
    return {
      id,
      name: numbered(PROJECT_NAMES, i),
      code,
      is_active,
      is_billable,
      is_fixed_fee,
      bill_by,
      budget: hoursBudget ? rng.int(4, 80) * 10 : null,
      budget_by,
      budget_is_monthly: budget_by !== 'none' && rng.chance(0.15),
      notify_when_over_budget: rng.chance(0.3),
      over_budget_notification_percentage: 80.0,
      show_budget_to_all: rng.chance(0.2),
      ...stamps(rng, t, created, is_active ? 0.3 : 1),
      starts_on: rng.chance(0.5) ? isoDate(created) : null,
      ends_on: !is_active && rng.chance(0.5) ? isoDate(t.setupEnd + rng.int(30, 400) * DAY_MS) : null,
      over_budget_notification_date: null,
      notes: rng.chance(0.3) ? null : rng.chance(0.3) ? '' : rng.pick(PROJECT_NOTES),
      cost_budget: budget_by === 'project_cost' ? (fee ?? rng.int(20, 500) * 100) : null,
      cost_budget_include_expenses: budget_by === 'project_cost' && rng.chance(0.5),
      hourly_rate: bill_by === 'Project' ? rng.pick(RATES) : null,
      fee,
      client: clientRef(client),
    };
  });
}

function initials(name: string): string {
  const letters = name
    .split(/\s+/)
    .map((w) => w.normalize('NFD').replace(/[^A-Za-z]/g, '').charAt(0).toUpperCase())
    .join('');
  return letters.length >= 2 ? letters.slice(0, 3) : name.normalize('NFD').replace(/[^A-Za-z]/g, '').slice(0, 3).toUpperCase();
}

/** Harvest creates a project's task assignments together with the project. */
function buildTaskAssignments(rng: Rng, t: Timeline, projects: readonly Rec[], tasks: readonly Rec[], perProject: number): Rec[] {
  let id = rng.int(300_000_000, 320_000_000);
  const out: Rec[] = [];
  for (const project of projects) {
    for (const task of rng.sample(tasks, Math.max(1, perProject))) {
      id = nextId(rng, id);
      const bill_by = project.bill_by;
      out.push({
        id,
        billable: project.is_billable === true && (task.billable_by_default === true || rng.chance(0.2)),
        is_active: rng.chance(0.95),
        ...stamps(rng, t, Date.parse(project.created_at), 0.1),
        hourly_rate: bill_by === 'Tasks' ? ((task.default_hourly_rate as number | null) ?? rng.pick(RATES)) : null,
        budget: project.budget_by === 'task' ? rng.int(2, 40) * 5 : null,
        project: projectRef(project),
        task: { id: task.id, name: task.name },
      });
    }
  }
  return out;
}

function buildUserAssignments(
  rng: Rng,
  t: Timeline,
  projects: readonly Rec[],
  users: readonly Rec[],
  perProject: number,
): Rec[] {
  const drafts: Array<{ project: Rec; user: Rec; created: number; manager: boolean }> = [];
  for (const project of projects) {
    const base = Date.parse(project.created_at);
    rng.sample(users, Math.max(1, perProject)).forEach((user, k) => {
      const created = Math.min(rng.instant(base, base + 3 * DAY_MS), t.setupEnd);
      drafts.push({ project, user, created, manager: k === 0 || rng.chance(0.1) });
    });
  }
  drafts.sort((a, b) => a.created - b.created);
  let id = rng.int(280_000_000, 299_000_000);
  return drafts.map(({ project, user, created, manager }) => {
    id = nextId(rng, id);
    const use_default_rates = rng.chance(0.7);
    return {
      id,
      is_project_manager: manager,
      is_active: rng.chance(0.92),
      use_default_rates,
      budget: project.budget_by === 'person' ? rng.int(2, 40) * 5 : null,
      ...stamps(rng, t, created, 0.15),
      hourly_rate: use_default_rates ? (user.default_hourly_rate as number | null) : rng.pick(RATES),
      project: projectRef(project),
      user: { id: user.id, name: userName(user) },
    };
  });
}

// ---------------------------------------------------------------------------
// Time entries: the bulk of the data, built from typed arrays for speed.

/** Shared, frozen nested references: 200k entries point at a few hundred small objects. */
interface EntryContext {
  userAssignment: Rec;
  project: Rec;
  user: Rec;
  userRef: object;
  clientRef: object;
  projectRef: object;
  uaSnapshot: object;
  tasks: Array<{ ta: Rec; taskRef: object; taSnapshot: object }>;
}

function buildEntryContexts(data: Pick<FakeAccountData, 'users' | 'projects' | 'taskAssignments' | 'userAssignments'>): EntryContext[] {
  const usersById = new Map(data.users.map((u) => [u.id, u]));
  const projectsById = new Map(data.projects.map((p) => [p.id, p]));
  const tasksByProject = new Map<number, EntryContext['tasks']>();
  for (const ta of data.taskAssignments) {
    const pid = (ta.project as Rec).id;
    const list = tasksByProject.get(pid) ?? [];
    list.push({ ta, taskRef: Object.freeze({ ...(ta.task as object) }), taSnapshot: taskAssignmentSnapshot(ta) });
    tasksByProject.set(pid, list);
  }
  const projectRefs = new Map<number, { clientRef: object; projectRef: object }>();
  const userRefs = new Map<number, object>();
  return data.userAssignments.map((ua) => {
    const project = projectsById.get((ua.project as Rec).id)!;
    const user = usersById.get((ua.user as Rec).id)!;
    const shared = projectRefs.get(project.id) ?? {
      clientRef: Object.freeze({ ...(project.client as object) }),
      projectRef: Object.freeze(projectRef(project)),
    };
    projectRefs.set(project.id, shared);
    const userRef = userRefs.get(user.id) ?? Object.freeze({ id: user.id, name: userName(user) });
    userRefs.set(user.id, userRef);
    return {
      userAssignment: ua,
      project,
      user,
      userRef,
      clientRef: shared.clientRef,
      projectRef: shared.projectRef,
      uaSnapshot: userAssignmentSnapshot(ua),
      tasks: tasksByProject.get(project.id)!,
    };
  });
}

function sampleHours(rng: Rng): number {
  const r = rng.next();
  const [lo, hi] = r < 0.5 ? [25, 200] : r < 0.9 ? [200, 500] : [500, 900];
  // Timers give odd values (1.37); manual entries are often whole quarters.
  const cents = rng.chance(0.4) ? Math.round(rng.int(lo, hi) / 25) * 25 : rng.int(lo, hi);
  return Math.round(cents) / 100;
}

function billableRate(ctx: EntryContext, ta: Rec): number | null {
  switch (ctx.project.bill_by) {
    case 'Project':
      return ctx.project.hourly_rate as number | null;
    case 'Tasks':
      return ta.hourly_rate as number | null;
    case 'People':
      return ctx.userAssignment.hourly_rate as number | null;
    default:
      return null;
  }
}

function externalReference(rng: Rng): object {
  const svc = rng.pick(EXTERNAL_SERVICES);
  const id = String(rng.int(100, 99_999));
  return {
    id,
    group_id: String(rng.int(100_000, 999_999)),
    account_id: String(rng.int(1_000, 9_999)),
    permalink: svc.permalink + id,
    service: svc.service,
    service_icon_url: `https://proxy.harvestfiles.net/production/assets/platform_icons/${svc.service.split('.')[0]}.png`,
  };
}

interface EntryPlan {
  days: Int32Array; // spent day as UTC ms / DAY_MS
  created: Float64Array; // created_at ms
  ids: Float64Array;
  order: Uint32Array; // API order: spent_date desc, created desc, id desc
}

/** Decides when each entry was spent and created, its id, and the API order, before building objects. */
function planEntries(rng: Rng, t: Timeline, n: number): EntryPlan {
  const firstDayNo = t.firstDay / DAY_MS;
  const dayCount = (t.lastDay - t.firstDay) / DAY_MS + 1;
  const days = new Int32Array(n);
  const created = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let day = firstDayNo + rng.int(0, dayCount - 1);
    if (isWeekend(day * DAY_MS) && rng.chance(0.85)) day = firstDayNo + rng.int(0, dayCount - 1);
    days[i] = day;
    created[i] = entryCreatedAt(rng, t, day * DAY_MS);
  }
  const byCreated = indexArray(n).sort((a, b) => created[a]! - created[b]! || a - b);
  const ids = new Float64Array(n);
  let id = TIME_ENTRY_ID_FLOOR + rng.int(1, 400_000_000);
  for (const i of byCreated) ids[i] = id = id + rng.int(1, 12);
  const order = indexArray(n).sort((a, b) => days[b]! - days[a]! || created[b]! - created[a]! || ids[b]! - ids[a]!);
  return { days, created, ids, order };
}

function indexArray(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Most entries are logged the same working day; some later, a few in advance. */
function entryCreatedAt(rng: Rng, t: Timeline, dayMs: number): number {
  let ms = dayMs + rng.int(8 * 3600, 19 * 3600) * SECOND_MS;
  const r = rng.next();
  if (r < 0.15) ms += rng.int(1, 10) * DAY_MS;
  else if (r < 0.18) ms -= rng.int(1, 5) * DAY_MS;
  // Entries "created" after the ceiling are spread over the week before it instead.
  return ms > t.ceiling ? rng.instant(t.ceiling - 7 * DAY_MS, t.ceiling) : ms;
}

/** Builds the time entries and the book of invoices they were billed on. */
function buildTimeEntries(rng: Rng, t: Timeline, n: number, contexts: readonly EntryContext[]): { entries: Rec[]; book: InvoiceBook } {
  if (n === 0 || contexts.length === 0) return { entries: [], book: new InvoiceBook(rng, t.ceiling) };
  const plan = planEntries(rng, t, n);
  // Created here, after planning, as it always was: the draw order fixes every entry's values.
  const invoices = new InvoiceBook(rng, t.ceiling);
  const dayStrings = new Map<number, string>();
  const out: Rec[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = plan.order[k]!;
    const day = plan.days[i]!;
    let spent = dayStrings.get(day);
    if (spent === undefined) dayStrings.set(day, (spent = isoDate(day * DAY_MS)));
    out[k] = buildEntry(rng, t, invoices, rng.pick(contexts), spent, day * DAY_MS, plan.created[i]!, plan.ids[i]!);
  }
  markRunning(out, Math.min(2, Math.floor(n / 500) + 1));
  return { entries: out, book: invoices };
}

function buildEntry(
  rng: Rng,
  t: Timeline,
  invoices: InvoiceBook,
  ctx: EntryContext,
  spent_date: string,
  dayMs: number,
  createdMs: number,
  id: number,
): Rec {
  const { ta, taskRef, taSnapshot } = rng.pick(ctx.tasks);
  const hours = sampleHours(rng);
  const rate = billableRate(ctx, ta);
  const billable = ta.billable === true && rate !== null;
  const invoice = billable ? invoices.forMonth((ctx.project.client as Rec).id, dayMs) : null;
  const invoiced = invoice !== null && invoice.issuedMs >= createdMs;
  const approved = !invoiced && createdMs < t.ceiling - 30 * DAY_MS && rng.chance(0.3);
  let updatedMs = createdMs;
  if (invoiced) updatedMs = invoice.issuedMs;
  else if (approved) updatedMs = Math.min(createdMs + rng.int(1, 14) * DAY_MS, t.ceiling);
  else if (rng.chance(0.08)) updatedMs = rng.instant(createdMs, Math.min(createdMs + 3 * DAY_MS, t.ceiling));
  const created_at = isoSeconds(createdMs);
  const start = rng.chance(0.35) ? rng.int(28, 68) * 15 : null; // 7:00am..5:00pm
  return {
    id,
    spent_date,
    hours,
    hours_without_timer: hours,
    rounded_hours: hours,
    notes: rng.chance(0.15) ? '' : rng.chance(0.05) ? null : rng.pick(ENTRY_NOTES),
    is_locked: invoiced || approved,
    locked_reason: invoiced
      ? 'Item Invoiced and Locked for this Time Period'
      : approved
        ? 'Item Approved and Locked for this Time Period'
        : null,
    is_closed: approved,
    is_billed: invoiced,
    timer_started_at: null,
    started_time: start === null ? null : clockTime(start),
    ended_time: start === null ? null : clockTime(start + Math.round(hours * 60)),
    is_running: false,
    billable,
    budgeted: ctx.project.budget_by !== 'none',
    billable_rate: billable ? rate : null,
    cost_rate: ctx.user.cost_rate ?? null,
    created_at,
    updated_at: updatedMs === createdMs ? created_at : isoSeconds(updatedMs),
    user: ctx.userRef,
    client: ctx.clientRef,
    project: ctx.projectRef,
    task: taskRef,
    user_assignment: ctx.uaSnapshot,
    task_assignment: taSnapshot,
    invoice: invoiced ? invoice.ref : null,
    external_reference: rng.chance(0.03) ? externalReference(rng) : null,
  };
}

/** A few of the latest unlocked entries have a timer still running (someone forgot to stop it). */
function markRunning(entries: Rec[], count: number): void {
  let marked = 0;
  for (const entry of entries) {
    if (marked >= count) break;
    if (entry.is_locked) continue;
    const createdMs = Date.parse(entry.created_at);
    const startMinutes = Math.floor((createdMs % DAY_MS) / 60_000);
    Object.assign(entry, {
      timer_started_at: entry.created_at,
      started_time: clockTime(startMinutes),
      ended_time: null,
      is_running: true,
    });
    marked++;
  }
}

// ---------------------------------------------------------------------------

function resolveOptions(opts: GenerateOptions): Options {
  const { now, ...rest } = opts;
  const given = dropUndefined(rest);
  const merged = { ...DEFAULTS, contacts: Math.round((given.clients ?? DEFAULTS.clients) * 1.5), ...given };
  const atLeastOne = [
    'clients', 'users', 'projects', 'tasks', 'tasksPerProject', 'usersPerProject',
    'expenseCategories', 'invoiceItemCategories', 'estimateItemCategories',
  ] as const;
  for (const key of atLeastOne) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) throw new Error(`generateAccount: ${key} must be an integer >= 1`);
  }
  for (const key of ['timeEntries', 'contacts', 'roles', 'expenses', 'invoices', 'estimates'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 0) throw new Error(`generateAccount: ${key} must be an integer >= 0`);
  }
  const nowMs = now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime();
  return { ...merged, nowMs };
}

function dropUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const BILLING_STREAM = 0x2f6b_9d31;

/** API order of every list except time entries: newest created first. */
function newestFirst(records: Rec[]): Rec[] {
  return records.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
}

export function generateAccount(opts: GenerateOptions = {}): FakeAccountData {
  const o = resolveOptions(opts);
  const rng = new Rng(o.seed);
  const t = makeTimeline(o);
  const companyName = rng.pick(COMPANY_NAMES);
  const domain = `${companyName.toLowerCase().replace(/[^a-z0-9]+/g, '')}.com`;
  const accountId = rng.int(1_000_000, 1_999_999);
  const tasks = buildTasks(rng, t, o.tasks);
  const clients = buildClients(rng, t, o.clients);
  const users = buildUsers(rng, t, o.users, domain);
  const projects = buildProjects(rng, t, o.projects, clients);
  const taskAssignments = buildTaskAssignments(rng, t, projects, tasks, o.tasksPerProject);
  const userAssignments = buildUserAssignments(rng, t, projects, users, o.usersPerProject);
  const contexts = buildEntryContexts({ users, projects, taskAssignments, userAssignments });
  const { entries: timeEntries, book } = buildTimeEntries(rng, t, o.timeEntries, contexts);
  // A stream of its own, so the kinds above stay as they were for a seed.
  const billing = buildBilling(
    { rng: new Rng(o.seed ^ BILLING_STREAM), t, companyName, clients, users, projects, userAssignments, timeEntries, roleNames: ROLE_NAMES, book },
    o satisfies BillingCounts,
  );
  return {
    accountId,
    meUserId: users[0]!.id,
    company: buildCompany(companyName),
    clients: newestFirst(clients),
    users: newestFirst(users),
    projects: newestFirst(projects),
    tasks: newestFirst(tasks),
    taskAssignments: newestFirst(taskAssignments),
    userAssignments: newestFirst(userAssignments),
    timeEntries,
    ...billing,
  };
}
