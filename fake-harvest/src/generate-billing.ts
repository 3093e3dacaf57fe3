/**
 * The generator's second half: contacts, roles, categories, user rates, expenses,
 * invoices (with line items, payments and messages) and estimates (with messages).
 *
 * It draws from its own PRNG stream, after everything else is built, so adding it left
 * the records of the older kinds as they were for a seed — except the ids and numbers of
 * the invoices time entries carry: those are now handed out in issue order, as Harvest
 * does, and every `invoice {id, number}` on a time entry or expense names a real invoice.
 */
import {
  clientRef,
  COST_RATES,
  FIRST_NAMES,
  LAST_NAMES,
  projectRef,
  RATES,
  round2,
  stamps,
  userAssignmentSnapshot,
  userName,
  isWeekend,
  type BookedInvoice,
  type InvoiceBook,
  type InvoiceRef,
  type Timeline,
} from './generate-common';
import type { Rng } from './rng';
import type { FakeAccountData, Rec } from './types';
import { DAY_MS, SECOND_MS, isoDate, isoSeconds } from './util';

/** How many records of each kind to make (see GenerateOptions for the meaning of each). */
export interface BillingCounts {
  contacts: number;
  roles: number;
  expenseCategories: number;
  invoiceItemCategories: number;
  estimateItemCategories: number;
  expenses: number;
  invoices: number;
  estimates: number;
}

export interface BillingInput {
  rng: Rng;
  t: Timeline;
  companyName: string;
  /** Reference data, in any order. */
  clients: readonly Rec[];
  users: readonly Rec[];
  projects: readonly Rec[];
  userAssignments: readonly Rec[];
  timeEntries: readonly Rec[];
  /** The role names users' `roles` may carry, in the order roles are created. */
  roleNames: readonly string[];
  book: InvoiceBook;
}

export type Billing = Pick<
  FakeAccountData,
  | 'contacts' | 'roles' | 'expenseCategories' | 'invoiceItemCategories' | 'estimateItemCategories' | 'expenses'
  | 'invoices' | 'invoiceMessages' | 'invoicePayments' | 'estimates' | 'estimateMessages' | 'billableRates' | 'costRates'
>;

// ---------------------------------------------------------------------------
// Vocabulary.

/** Harvest creates the first six with every account (the recording has exactly these). */
const EXPENSE_CATEGORIES: ReadonlyArray<readonly [name: string, unitName: string | null, unitPrice: number | null]> = [
  ['Entertainment', null, null], ['Meals', null, null], ['Lodging', null, null], ['Transportation', null, null],
  ['Mileage', 'mile', 0.575], ['Other', null, null], ['Software', null, null], ['Equipment', null, null],
  ['Conference Fees', null, null], ['Office Supplies', null, null], ['Per Diem', 'day', 55.0],
];
const DEFAULT_EXPENSE_CATEGORIES = 6;
/** Service and Product come with every account; the rest are the company's own. */
const ITEM_CATEGORIES = ['Service', 'Product', 'Hosting', 'Licenses', 'Travel', 'Hardware', 'Support Plan'];
const DEFAULT_ITEM_CATEGORIES = 2;
const CONTACT_TITLES = ['CFO', 'Accounts Payable', 'Marketing Director', 'CTO', 'Office Manager', 'Project Lead', 'Head of Product'];
const EXPENSE_NOTES = [
  'Taxi to client office', 'Team lunch with client', 'Hotel, 2 nights — on-site workshop', 'Figma seats (monthly)',
  'Train tickets Berlin ⇄ Hamburg', 'Stock photos for landing page', 'Conference ticket', 'Parking at client site',
  'USB-C adapters', 'Printing: workshop handouts', 'Mileage to "Phase 2" kickoff', 'Domain renewal',
];
const RECEIPT_FILES: ReadonlyArray<readonly [name: string, type: string]> = [
  ['receipt.jpg', 'image/jpeg'], ['IMG_4821.jpeg', 'image/jpeg'], ['invoice.pdf', 'application/pdf'],
  ['Scan 2024-03-02.pdf', 'application/pdf'], ['receipt.png', 'image/png'],
];
const PAYMENT_TERMS: ReadonlyArray<readonly [term: string, days: number]> = [
  ['upon receipt', 0], ['net 15', 15], ['net 30', 30], ['net 30', 30], ['net 45', 45], ['net 60', 60],
];
const SERVICE_LINES = [
  'Discovery workshop', 'Design sprint', 'Development — milestone 1', 'Development — milestone 2',
  'Support retainer', 'Content migration', 'Analytics setup', 'Accessibility audit', 'UX research interviews',
];
const PRODUCT_LINES = [
  'Hosting (annual)', 'SSL certificate', 'Travel to on-site workshop', 'Software licences (10 seats)',
  'Stock photography bundle', 'Domain registration (3 years)', 'Printed workshop materials',
];
const SUBJECTS = ['', '', 'Monthly services', 'Project work', 'Retainer', 'Website Redesign — phase 2', 'Consulting services'];
const CURRENCY_SYMBOLS: Readonly<Record<string, string>> = { USD: '$', EUR: '€', GBP: '£', CAD: 'CA$' };
const INVOICED = 'Item Invoiced and Locked for this Time Period';
const APPROVED = 'Item Approved and Locked for this Time Period';

// ---------------------------------------------------------------------------
// Helpers.

const HOUR_MS = 3_600_000;
const cents = (x: number): number => Math.round(x * 100);

/** Hands out ascending ids to drafts sorted by creation time. */
function assignIds<T extends { created: number }>(rng: Rng, drafts: T[], start: number, maxGap = 40): Array<T & { id: number }> {
  let id = start;
  return drafts
    .sort((a, b) => a.created - b.created)
    .map((d) => ({ ...d, id: (id += rng.int(1, maxGap)) }));
}

/** API order of most lists: newest created first. */
function newestFirst(records: Rec[]): Rec[] {
  return records.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
}

function byDateThenNewest(field: 'spent_date' | 'issue_date') {
  return (records: Rec[]): Rec[] =>
    records.sort((a, b) => {
      const x = a[field] as string;
      const y = b[field] as string;
      if (x !== y) return x < y ? 1 : -1;
      return a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id;
    });
}

function slug(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z0-9]+/g, '').toLowerCase();
}

function usDate(day: string): string {
  return `${day.slice(5, 7)}/${day.slice(8, 10)}/${day.slice(0, 4)}`;
}

function money(amount: number, currency: string): string {
  const [whole, fraction] = Math.abs(amount).toFixed(2).split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${amount < 0 ? '-' : ''}${CURRENCY_SYMBOLS[currency] ?? `${currency} `}${grouped}.${fraction}`;
}

function lastDayOfMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return isoDate(Date.UTC(y, m, 0));
}

function isStaff(u: Rec): boolean {
  const roles = u.access_roles as string[] | undefined;
  return u.is_active === true && Array.isArray(roles) && (roles.includes('administrator') || roles.includes('manager'));
}

interface Person {
  name: string;
  email: string;
}

// ---------------------------------------------------------------------------

class BillingBuilder {
  private readonly rng: Rng;
  private readonly t: Timeline;
  private readonly staff: Rec[];
  private readonly projectsByClient = new Map<number, Rec[]>();
  private readonly contactsByClient = new Map<number, Rec[]>();
  private readonly clientsById: Map<number, Rec>;
  private readonly projectsById: Map<number, Rec>;
  private readonly usersById: Map<number, Rec>;
  /** The latest a record may be stamped: no later than the timeline's ceiling. */
  private readonly latest: number;

  constructor(private readonly input: BillingInput) {
    this.rng = input.rng;
    this.t = input.t;
    this.latest = input.t.ceiling;
    const byCreated = [...input.users].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id - b.id));
    const staff = byCreated.filter(isStaff);
    this.staff = staff.length > 0 ? staff : byCreated.slice(0, 1);
    this.clientsById = new Map(input.clients.map((c) => [c.id, c]));
    this.projectsById = new Map(input.projects.map((p) => [p.id, p]));
    this.usersById = new Map(input.users.map((u) => [u.id, u]));
    for (const p of input.projects) {
      const cid = (p.client as Rec).id;
      this.projectsByClient.set(cid, [...(this.projectsByClient.get(cid) ?? []), p]);
    }
  }

  private at(ms: number): number {
    return Math.min(ms, this.latest);
  }

  private person(user: Rec): Person {
    return { name: userName(user), email: String(user.email) };
  }

  // --- account setup: categories and roles -----------------------------------

  /** The defaults share one creation second (the account's), with consecutive ids; later ones are spread out. */
  private setupTimes(n: number, defaults: number): number[] {
    const accountCreated = this.t.setupStart;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      out.push(i < defaults ? accountCreated : this.rng.instant(accountCreated + DAY_MS, this.t.setupEnd));
    }
    return out.sort((a, b) => a - b);
  }

  expenseCategories(n: number): Rec[] {
    const times = this.setupTimes(n, DEFAULT_EXPENSE_CATEGORIES);
    let id = this.rng.int(7_000_000, 7_900_000);
    return times.map((created, i) => {
      id += i < DEFAULT_EXPENSE_CATEGORIES ? 1 : this.rng.int(1, 400);
      const [name, unit_name, unit_price] = EXPENSE_CATEGORIES[i % EXPENSE_CATEGORIES.length]!;
      // One of the defaults, Entertainment, is often archived.
      const is_active = !(i === 0 && n > 1 && this.rng.chance(0.3));
      return {
        id,
        name: i < EXPENSE_CATEGORIES.length ? name : `${name} ${Math.floor(i / EXPENSE_CATEGORIES.length) + 1}`,
        unit_name,
        unit_price,
        is_active,
        ...stamps(this.rng, this.t, created, is_active ? 0.1 : 1),
      };
    });
  }

  itemCategories(n: number, withUse: boolean): Rec[] {
    const times = this.setupTimes(n, DEFAULT_ITEM_CATEGORIES);
    let id = withUse ? this.rng.int(2_600_000, 2_900_000) : this.rng.int(2_400_000, 2_600_000);
    return times.map((created, i) => {
      id += i < DEFAULT_ITEM_CATEGORIES ? 1 : this.rng.int(1, 400);
      const base = ITEM_CATEGORIES[i % ITEM_CATEGORIES.length]!;
      const name = i < ITEM_CATEGORIES.length ? base : `${base} ${Math.floor(i / ITEM_CATEGORIES.length) + 1}`;
      const uses = withUse ? { use_as_service: base === 'Service', use_as_expense: base === 'Product' } : {};
      return { id, name, ...uses, ...stamps(this.rng, this.t, created, 0.05) };
    });
  }

  /**
   * Roles named like the users' `roles`; a user's `roles` keeps only names that exist as
   * roles (edited in place), so `user_ids` and `users[].roles` tell the same story.
   */
  roles(n: number, users: readonly Rec[]): Rec[] {
    const names = Array.from({ length: n }, (_, i) => this.input.roleNames[i] ?? `Team ${i + 1}`);
    const existing = new Set(names);
    for (const u of users) if (Array.isArray(u.roles)) u.roles = (u.roles as string[]).filter((r) => existing.has(r));
    const times = this.setupTimes(n, 0);
    let id = this.rng.int(600_000, 900_000);
    return times.map((created, i) => {
      id += this.rng.int(1, 300);
      const user_ids = users.filter((u) => Array.isArray(u.roles) && (u.roles as string[]).includes(names[i]!)).map((u) => u.id).sort((a, b) => a - b);
      return { id, name: names[i]!, ...stamps(this.rng, this.t, created, 0.4), user_ids };
    });
  }

  // --- contacts ----------------------------------------------------------------

  /** Every client gets one contact before any gets a second; the rest go to random clients. */
  contacts(n: number): Rec[] {
    const clients = [...this.input.clients].sort((a, b) => a.id - b.id);
    if (clients.length === 0) return [];
    const owners: Rec[] = [];
    for (let i = 0; i < n; i++) owners.push(i < clients.length ? clients[i]! : this.rng.pick(clients));
    const drafts = owners.map((client) => {
      const base = Date.parse(client.created_at);
      return { client, created: this.rng.instant(base, Math.min(base + 30 * DAY_MS, this.t.setupEnd)) };
    });
    const out = assignIds(this.rng, drafts, this.rng.int(8_000_000, 8_900_000)).map(({ client, created, id }) => {
      const first_name = this.rng.pick(FIRST_NAMES);
      const last_name = this.rng.pick(LAST_NAMES);
      const rec: Rec = {
        id,
        title: this.rng.chance(0.4) ? null : this.rng.pick(CONTACT_TITLES),
        first_name,
        last_name,
        email: `${slug(first_name)}.${slug(last_name)}@${slug(String(client.name)) || 'client'}.com`,
        phone_office: this.rng.chance(0.5) ? `+1 555-${String(this.rng.int(100, 9999)).padStart(4, '0')}` : '',
        phone_mobile: this.rng.chance(0.2) ? `+1 555-${String(this.rng.int(100, 9999)).padStart(4, '0')}` : '',
        fax: '',
        ...stamps(this.rng, this.t, created, 0.15),
        client: { id: client.id, name: client.name },
      };
      this.contactsByClient.set(client.id, [...(this.contactsByClient.get(client.id) ?? []), rec]);
      return rec;
    });
    return newestFirst(out);
  }

  private recipients(clientId: number): Person[] {
    const contacts = (this.contactsByClient.get(clientId) ?? []).filter((c) => c.email);
    if (contacts.length === 0) {
      const client = this.clientsById.get(clientId);
      return [{ name: String(client?.name ?? 'Accounts'), email: `billing@${slug(String(client?.name ?? 'client'))}.com` }];
    }
    return this.rng.sample(contacts, this.rng.int(1, Math.min(2, contacts.length))).map((c) => ({
      name: `${String(c.first_name)} ${String(c.last_name)}`,
      email: String(c.email),
    }));
  }

  // --- user rates ----------------------------------------------------------------

  /**
   * A user's rate history: the current rate (their default_hourly_rate or cost_rate), and
   * for some an older one it replaced. Users without the rate have none. Oldest first.
   */
  rates(field: 'default_hourly_rate' | 'cost_rate', pool: readonly number[], idStart: number): Rec[] {
    const drafts: Array<{ created: number; userId: number; amount: number; start: string | null; end: string | null; updated: number }> = [];
    for (const user of this.input.users) {
      const current = user[field];
      if (typeof current !== 'number') continue;
      const created = Date.parse(user.created_at);
      const changeable = created + 60 * DAY_MS < this.latest;
      if (changeable && this.rng.chance(0.35)) {
        const changed = this.rng.instant(created + 30 * DAY_MS, this.latest);
        const startDay = isoDate(changed + DAY_MS);
        const older = pool.filter((r) => r !== current);
        drafts.push({ created, userId: user.id, amount: this.rng.pick(older.length ? older : pool), start: null, end: isoDate(changed), updated: changed });
        drafts.push({ created: changed, userId: user.id, amount: current, start: startDay, end: null, updated: changed });
      } else {
        drafts.push({ created, userId: user.id, amount: current, start: null, end: null, updated: created });
      }
    }
    const out = assignIds(this.rng, drafts, idStart, 12).map((d) => ({
      id: d.id,
      amount: d.amount,
      start_date: d.start,
      end_date: d.end,
      created_at: isoSeconds(d.created),
      updated_at: isoSeconds(d.updated),
      user_id: d.userId,
    }));
    // Oldest first: Harvest lists rates by start_date.
    return out.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id - b.id));
  }

  // --- expenses ----------------------------------------------------------------

  expenses(n: number, categories: readonly Rec[], invoicedExpenses: Map<BookedInvoice, number>): Rec[] {
    const assignments = this.input.userAssignments;
    if (n === 0 || assignments.length === 0 || categories.length === 0) return [];
    const active = categories.filter((c) => c.is_active === true);
    const usable = active.length > 0 ? active : categories;
    const firstDayNo = this.t.firstDay / DAY_MS;
    const dayCount = (this.t.lastDay - this.t.firstDay) / DAY_MS + 1;
    const drafts = Array.from({ length: n }, () => {
      let day = firstDayNo + this.rng.int(0, dayCount - 1);
      if (isWeekend(day * DAY_MS) && this.rng.chance(0.85)) day = firstDayNo + this.rng.int(0, dayCount - 1);
      const dayMs = day * DAY_MS;
      // Logged that evening or within a week (receipts pile up); never after the ceiling.
      let created = dayMs + this.rng.int(9 * 3600, 21 * 3600) * SECOND_MS + (this.rng.chance(0.4) ? this.rng.int(1, 7) * DAY_MS : 0);
      if (created > this.latest) created = this.rng.instant(this.latest - 7 * DAY_MS, this.latest);
      return { dayMs, created, ua: this.rng.pick(assignments) };
    });
    const out = assignIds(this.rng, drafts, this.rng.int(30_000_000, 39_000_000), 25).map(({ dayMs, created, ua, id }) => {
      const project = this.projectsById.get((ua.project as Rec).id)!;
      const user = this.usersById.get((ua.user as Rec).id)!;
      const client = this.clientsById.get((project.client as Rec).id)!;
      const category = this.rng.pick(usable);
      const unitPrice = category.unit_price as number | null;
      const units = unitPrice === null ? 1.0 : this.rng.int(5, 320);
      const total_cost = unitPrice === null ? this.rng.int(800, 90_000) / 100 : round2(units * unitPrice);
      const billable = project.is_billable === true && this.rng.chance(0.55);
      const booked = billable ? this.input.book.existing(client.id, dayMs) : null;
      const invoiced = booked !== null && booked.issuedMs >= created;
      const approved = !invoiced && created < this.latest - 30 * DAY_MS && this.rng.chance(0.3);
      let updated = created;
      if (invoiced) updated = booked.issuedMs;
      else if (approved) updated = this.at(created + this.rng.int(1, 14) * DAY_MS);
      else if (this.rng.chance(0.08)) updated = this.rng.instant(created, this.at(created + 3 * DAY_MS));
      if (invoiced) invoicedExpenses.set(booked, (invoicedExpenses.get(booked) ?? 0) + cents(total_cost));
      const file = this.rng.pick(RECEIPT_FILES);
      const receipt = this.rng.chance(0.65)
        ? {
            url: `https://${slug(this.input.companyName)}.harvestapp.com/expenses/${id}/receipt`,
            file_name: file[0],
            file_size: this.rng.int(20_000, 3_000_000),
            content_type: file[1],
          }
        : null;
      const created_at = isoSeconds(created);
      return {
        id,
        spent_date: isoDate(dayMs),
        notes: this.rng.chance(0.1) ? null : this.rng.chance(0.1) ? '' : this.rng.pick(EXPENSE_NOTES),
        total_cost,
        units,
        billable,
        receipt,
        is_closed: approved,
        is_locked: invoiced || approved,
        is_billed: invoiced,
        locked_reason: invoiced ? INVOICED : approved ? APPROVED : null,
        created_at,
        updated_at: updated === created ? created_at : isoSeconds(updated),
        user: { id: user.id, name: userName(user) },
        client: clientRef(client),
        project: projectRef(project),
        expense_category: { id: category.id, name: category.name, unit_price: category.unit_price, unit_name: category.unit_name },
        user_assignment: { ...userAssignmentSnapshot(ua) },
        invoice: invoiced ? booked.ref : null,
      };
    });
    return byDateThenNewest('spent_date')(out);
  }

  // --- invoices ----------------------------------------------------------------

  /** Totals of an invoice or estimate from its lines (marks them taxed when a tax applies). */
  private totals(lines: Array<Record<string, unknown>>): Totals {
    const subtotal = lines.reduce((s, li) => s + cents(li.amount as number), 0);
    const discount = this.rng.chance(0.1) ? this.rng.pick([2, 5, 10]) : null;
    const tax = this.rng.chance(0.15) ? this.rng.pick([7.25, 8.0, 19.0, 20.0]) : null;
    const discountCents = discount === null ? 0 : Math.round((subtotal * discount) / 100);
    const taxCents = tax === null ? 0 : Math.round(((subtotal - discountCents) * tax) / 100);
    for (const li of lines) li.taxed = tax !== null;
    return {
      amount: (subtotal - discountCents + taxCents) / 100,
      tax,
      tax_amount: taxCents / 100,
      discount,
      discount_amount: discountCents / 100,
    };
  }

  /** Time billed on each booked invoice, per (project, rate), in hundredths of hours and cents. */
  private billedTime(): Map<InvoiceRef, Map<string, { project: Rec; rate: number; hours: number; amount: number }>> {
    const out = new Map<InvoiceRef, Map<string, { project: Rec; rate: number; hours: number; amount: number }>>();
    for (const e of this.input.timeEntries) {
      const ref = e.invoice as InvoiceRef | null;
      if (!ref) continue;
      const rate = (e.billable_rate as number | null) ?? 0;
      const project = this.projectsById.get((e.project as Rec).id) ?? (e.project as Rec);
      const key = `${project.id}|${rate}`;
      const groups = out.get(ref) ?? new Map();
      out.set(ref, groups);
      const g = groups.get(key) ?? { project, rate, hours: 0, amount: 0 };
      groups.set(key, g);
      g.hours += cents(e.hours as number);
      g.amount += cents((e.hours as number) * rate);
    }
    return out;
  }

  /**
   * Invoices: first every client-month the time entries (and expenses) were billed on,
   * with lines summing that time; then others (drafts, product and fixed-price invoices)
   * up to `n` in all. Ids and numbers ascend with the issue date.
   */
  invoices(
    n: number,
    invoicedExpenses: Map<BookedInvoice, number>,
    itemCategories: readonly Rec[],
  ): { invoices: Rec[]; payments: Rec[]; messages: Rec[] } {
    const time = this.billedTime();
    const drafts: InvoiceDraft[] = [];
    for (const booked of this.input.book.issued()) {
      const groups = [...(time.get(booked.ref)?.values() ?? [])].sort((a, b) => b.amount - a.amount || a.project.id - b.project.id);
      const expenseCents = invoicedExpenses.get(booked) ?? 0;
      if (groups.length === 0 && expenseCents === 0) continue; // decided, but nothing was billed on it
      const end = lastDayOfMonth(booked.month);
      const period = `(${usDate(`${booked.month}-01`)} - ${usDate(end)})`;
      const maxTimeLines = expenseCents > 0 ? 3 : 4;
      const lines: Array<Record<string, unknown>> = groups.slice(0, groups.length > maxTimeLines ? maxTimeLines - 1 : maxTimeLines).map((g) => ({
        kind: 'Service',
        description: `${g.project.code ? `[${String(g.project.code)}] ` : ''}${String(g.project.name)} ${period}`,
        quantity: g.hours / 100,
        unit_price: g.rate,
        amount: g.amount / 100,
        project: projectRef(g.project),
      }));
      const rest = groups.slice(lines.length);
      if (rest.length > 0) {
        const sum = rest.reduce((s, g) => s + g.amount, 0) / 100;
        lines.push({ kind: 'Service', description: `Other billable time ${period}`, quantity: 1.0, unit_price: sum, amount: sum, project: projectRef(rest[0]!.project) });
      }
      if (expenseCents > 0) {
        const firstProject = groups[0]?.project ?? this.projectsByClient.get(booked.clientId)?.[0];
        lines.push({
          kind: 'Product',
          description: `Expenses ${period}`,
          quantity: 1.0,
          unit_price: expenseCents / 100,
          amount: expenseCents / 100,
          project: firstProject ? projectRef(firstProject) : null,
        });
      }
      drafts.push({ created: booked.issuedMs, clientId: booked.clientId, lines, period: [`${booked.month}-01`, end], ref: booked.ref, fromTime: true });
    }
    const billable = this.input.clients.filter((c) => (this.projectsByClient.get(c.id) ?? []).length > 0);
    const lastIssue = Math.min(this.t.lastDay, this.latest - DAY_MS);
    for (let i = drafts.length; i < n && billable.length > 0; i++) {
      const client = this.rng.pick(billable);
      const day = Math.floor(this.rng.instant(Math.min(this.t.firstDay, lastIssue), lastIssue) / DAY_MS) * DAY_MS;
      const projects = this.projectsByClient.get(client.id)!;
      const lines = Array.from({ length: this.rng.int(1, 4) }, () => this.freeLine(itemCategories, this.rng.pick(projects)));
      drafts.push({ created: this.at(day + this.rng.int(8, 18) * HOUR_MS), clientId: client.id, lines, period: null, ref: null, fromTime: false });
    }
    return this.finishInvoices(drafts);
  }

  private freeLine(categories: readonly Rec[], project: Rec | null): Record<string, unknown> {
    const kind = categories.length > 0 ? String(this.rng.pick(categories).name) : 'Service';
    const hourly = kind === 'Service';
    const quantity = hourly ? this.rng.int(2, 160) / 2 : this.rng.int(1, 12);
    const unit_price = hourly ? this.rng.pick(RATES) : this.rng.int(20, 2500);
    return {
      kind,
      description: this.rng.pick(hourly ? SERVICE_LINES : PRODUCT_LINES),
      quantity,
      unit_price,
      amount: round2(quantity * unit_price),
      project: project ? projectRef(project) : null,
    };
  }

  private finishInvoices(drafts: InvoiceDraft[]): { invoices: Rec[]; payments: Rec[]; messages: Rec[] } {
    const invoices: Rec[] = [];
    const payments: Array<Rec & { created: number }> = [];
    const messages: Array<Rec & { created: number }> = [];
    let lineId = this.rng.int(120_000_000, 150_000_000);
    const numbered = assignIds(this.rng, drafts, this.rng.int(25_000_000, 34_000_000), 30);
    numbered.forEach((d, index) => {
      const number = String(index + 1);
      // Renumber the shared ref: every time entry and expense billed on it follows.
      if (d.ref) Object.assign(d.ref, { id: d.id, number });
      const client = this.clientsById.get(d.clientId)!;
      const currency = String(client.currency ?? 'USD');
      const creator = this.rng.pick(this.staff);
      const issue_date = isoDate(d.created);
      const [payment_term, termDays] = this.rng.pick(PAYMENT_TERMS);
      const dueMs = Date.parse(issue_date) + termDays * DAY_MS;
      const line_items = d.lines.map((li) => ({
        id: (lineId += this.rng.int(1, 3)),
        kind: li.kind,
        description: li.description,
        quantity: li.quantity,
        unit_price: li.unit_price,
        amount: li.amount,
        taxed: false,
        taxed2: false,
        project: li.project,
      }));
      const totals = this.totals(line_items);
      const amount = totals.amount;
      const state = this.invoiceState(d, dueMs);
      const sent = state === 'draft' ? null : this.at(d.created + this.rng.int(5, 240) * 60 * SECOND_MS);
      let updated = sent ?? d.created;
      // Payments: a paid invoice is paid in full (one or two payments); an open or closed
      // one may have a partial payment.
      const paidCents: number[] = [];
      const total = cents(amount);
      if (state === 'paid') {
        if (total > 1 && this.rng.chance(0.25)) {
          const first = Math.round(total * (0.3 + 0.4 * this.rng.next()));
          paidCents.push(first, total - first);
        } else paidCents.push(total);
      } else if ((state === 'open' || state === 'closed') && total > 1 && this.rng.chance(0.25)) {
        paidCents.push(Math.round(total * (0.2 + 0.5 * this.rng.next())));
      }
      let payDay = Date.parse(issue_date);
      // Paid at the latest the day before the ceiling's day, so the recording (a few hours later) fits too.
      const lastPayDay = Math.floor(this.latest / DAY_MS) * DAY_MS - DAY_MS;
      const payer = this.person(creator);
      const mine: Array<Rec & { created: number }> = [];
      for (const c of paidCents) {
        payDay = Math.max(Math.min(payDay + this.rng.int(1, Math.max(2, termDays + 10)) * DAY_MS, lastPayDay), Date.parse(issue_date));
        const created = this.at(Math.max(payDay + this.rng.int(8, 19) * HOUR_MS, sent ?? d.created));
        const gateway = this.rng.chance(0.2);
        const paid_date = isoDate(payDay);
        mine.push({
          id: 0,
          amount: c / 100,
          paid_at: `${paid_date}T00:00:00Z`,
          recorded_by: payer.name,
          recorded_by_email: payer.email,
          notes: gateway ? '' : this.rng.pick(['', '', 'Bank transfer', `Check #${this.rng.int(1000, 9999)}`]),
          transaction_id: gateway ? `ch_${this.rng.hex(24)}` : null,
          created_at: isoSeconds(created),
          updated_at: isoSeconds(created),
          paid_date,
          payment_gateway: gateway ? { id: this.rng.int(10_000, 99_999), name: 'Stripe' } : { id: null, name: null },
          invoice_id: d.id,
          created,
        });
        updated = Math.max(updated, created);
      }
      payments.push(...mine);
      const lastPayment = mine[mine.length - 1];
      const closed = state === 'closed' ? this.at(Math.max(updated, (sent ?? d.created) + this.rng.int(20, 120) * DAY_MS)) : null;
      if (closed !== null) updated = Math.max(updated, closed);
      const paidCentsTotal = paidCents.reduce((s, c) => s + c, 0);
      const rec: Rec = {
        id: d.id,
        client_key: this.rng.hex(40),
        number,
        purchase_order: this.rng.chance(0.2) ? `PO-${this.rng.int(1000, 99_999)}` : '',
        amount,
        due_amount: (total - paidCentsTotal) / 100,
        tax: totals.tax,
        tax_amount: totals.tax_amount,
        tax2: null,
        tax2_amount: 0.0,
        discount: totals.discount,
        discount_amount: totals.discount_amount,
        subject: d.period ? `Services for ${monthName(d.period[0])}` : this.rng.pick(SUBJECTS),
        notes: this.rng.chance(0.7) ? '' : 'Thank you for your business.',
        state,
        period_start: d.period?.[0] ?? null,
        period_end: d.period?.[1] ?? null,
        issue_date,
        due_date: isoDate(dueMs),
        payment_term,
        sent_at: sent === null ? null : isoSeconds(sent),
        paid_at: state === 'paid' && lastPayment ? lastPayment.paid_at : null,
        closed_at: closed === null ? null : isoSeconds(closed),
        recurring_invoice_id: null,
        created_at: isoSeconds(d.created),
        updated_at: '',
        paid_date: state === 'paid' && lastPayment ? lastPayment.paid_date : null,
        currency,
        client: { id: client.id, name: client.name },
        estimate: null,
        retainer: null,
        creator: { id: creator.id, name: userName(creator) },
        line_items,
      };
      for (const m of this.invoiceMessages(rec, sent, dueMs, lastPayment?.created, creator)) {
        messages.push(m);
        updated = Math.max(updated, m.created);
      }
      rec.updated_at = isoSeconds(updated);
      invoices.push(rec);
    });
    const strip = <T extends { created: number }>(recs: T[]): Rec[] =>
      recs.map(({ created: _created, ...rec }) => rec as unknown as Rec);
    return {
      invoices: byDateThenNewest('issue_date')(invoices),
      payments: newestFirst(strip(this.idsByCreation(payments, this.rng.int(20_000_000, 22_000_000)))),
      messages: newestFirst(strip(this.idsByCreation(messages, this.rng.int(50_000_000, 58_000_000)))),
    };
  }

  /** Gives records (ids 0 so far) ascending ids in creation order; keeps key order. */
  private idsByCreation<T extends Rec & { created: number }>(recs: T[], start: number): T[] {
    let id = start;
    for (const r of [...recs].sort((a, b) => a.created - b.created)) r.id = id += this.rng.int(1, 20);
    return recs;
  }

  private invoiceState(d: InvoiceDraft, dueMs: number): string {
    const overdue = dueMs < this.latest - 10 * DAY_MS;
    const r = this.rng.next();
    if (d.fromTime) return overdue ? (r < 0.85 ? 'paid' : r < 0.9 ? 'closed' : 'open') : r < 0.6 ? 'open' : 'paid';
    if (d.created > this.latest - 30 * DAY_MS && r < 0.5) return 'draft';
    return r < 0.1 ? 'draft' : r < 0.3 ? 'open' : r < 0.9 ? 'paid' : 'closed';
  }

  /** The send, and for some a thank-you (paid) or a reminder (overdue): at most two. */
  private invoiceMessages(inv: Rec, sent: number | null, dueMs: number, paidCreated: number | undefined, creator: Rec): Array<Rec & { created: number }> {
    if (sent === null) return [];
    const out: Array<Rec & { created: number }> = [];
    const from = this.person(creator);
    const to = this.recipients((inv.client as Rec).id);
    const company = this.input.companyName;
    const summary = (closing: string) =>
      [
        '---------------------------------------------',
        'Invoice Summary',
        '---------------------------------------------',
        `Invoice ID: ${String(inv.number)}`,
        `Issue Date: ${usDate(String(inv.issue_date))}`,
        `Client: ${String((inv.client as Rec).name)}`,
        `P.O. Number: ${String(inv.purchase_order)}`,
        `Amount: ${money(inv.amount as number, String(inv.currency))}`,
        `Due: ${usDate(String(inv.due_date))} (${String(inv.payment_term)})`,
        '',
        closing,
        '---------------------------------------------',
      ].join('\r\n');
    const message = (created: number, kind: 'send' | 'thank_you' | 'reminder'): Rec & { created: number } => ({
      id: 0,
      sent_by: from.name,
      sent_by_email: from.email,
      sent_from: from.name,
      sent_from_email: from.email,
      include_link_to_client_invoice: this.rng.chance(0.3),
      send_me_a_copy: this.rng.chance(0.6),
      thank_you: kind === 'thank_you',
      reminder: kind === 'reminder',
      send_reminder_on: null,
      created_at: isoSeconds(created),
      updated_at: isoSeconds(created),
      attach_pdf: kind === 'send' && this.rng.chance(0.7),
      event_type: null,
      recipients: to,
      subject:
        kind === 'thank_you'
          ? `Thank you for your payment — Invoice #${String(inv.number)}`
          : `${kind === 'reminder' ? 'Reminder: ' : ''}Invoice #${String(inv.number)} from ${company}`,
      body:
        kind === 'thank_you'
          ? `We received your payment for invoice #${String(inv.number)}. Thank you!`
          : summary(kind === 'reminder' ? 'This invoice is now past due.' : 'Thank you!'),
      invoice_id: inv.id,
      created,
    });
    out.push(message(sent, 'send'));
    if (inv.state === 'paid' && paidCreated !== undefined && this.rng.chance(0.4)) {
      out.push(message(this.at(paidCreated + HOUR_MS), 'thank_you'));
    } else if (inv.state === 'open' && dueMs + 3 * DAY_MS < this.latest && this.rng.chance(0.5)) {
      out.push(message(this.at(Math.max(dueMs + 3 * DAY_MS + 9 * HOUR_MS, sent)), 'reminder'));
    }
    return out;
  }

  // --- estimates ---------------------------------------------------------------

  estimates(n: number, itemCategories: readonly Rec[]): { estimates: Rec[]; messages: Rec[] } {
    const clients = this.input.clients;
    if (n === 0 || clients.length === 0) return { estimates: [], messages: [] };
    const lastIssue = Math.min(this.t.lastDay, this.latest - DAY_MS);
    const firstIssue = Math.min(this.t.firstDay, lastIssue);
    const drafts = Array.from({ length: n }, () => {
      const day = Math.floor(this.rng.instant(firstIssue, lastIssue) / DAY_MS) * DAY_MS;
      return { created: this.at(day + this.rng.int(8, 18) * HOUR_MS), client: this.rng.pick(clients) };
    });
    const messages: Array<Rec & { created: number }> = [];
    let lineId = this.rng.int(10_000_000, 14_000_000);
    const out = assignIds(this.rng, drafts, this.rng.int(2_000_000, 2_900_000), 30).map(({ created, client, id }, index) => {
      const recent = created > this.latest - 14 * DAY_MS;
      const r = this.rng.next();
      const state = recent ? (r < 0.5 ? 'draft' : 'sent') : r < 0.1 ? 'draft' : r < 0.35 ? 'sent' : r < 0.8 ? 'accepted' : 'declined';
      const sent = state === 'draft' ? null : this.at(created + this.rng.int(10, 300) * 60 * SECOND_MS);
      const answered = state === 'accepted' || state === 'declined' ? this.at((sent ?? created) + this.rng.int(1, 20) * DAY_MS) : null;
      const projects = this.projectsByClient.get(client.id) ?? [];
      const line_items = Array.from({ length: this.rng.int(1, 4) }, () => {
        const line = this.freeLine(itemCategories, projects.length ? this.rng.pick(projects) : null);
        return {
          id: (lineId += this.rng.int(1, 3)),
          kind: line.kind,
          description: line.description,
          quantity: line.quantity,
          unit_price: line.unit_price,
          amount: line.amount,
          taxed: false,
          taxed2: false,
        };
      });
      const totals = this.totals(line_items);
      const creator = this.rng.pick(this.staff);
      const rec: Rec = {
        id,
        client_key: this.rng.hex(40),
        number: String(index + 1),
        purchase_order: this.rng.chance(0.15) ? `PO-${this.rng.int(1000, 99_999)}` : '',
        amount: totals.amount,
        tax: totals.tax,
        tax_amount: totals.tax_amount,
        tax2: null,
        tax2_amount: 0.0,
        discount: totals.discount,
        discount_amount: totals.discount_amount,
        subject: this.rng.pick(SUBJECTS),
        notes: this.rng.chance(0.7) ? '' : 'Valid for 30 days.',
        state,
        issue_date: isoDate(created),
        sent_at: sent === null ? null : isoSeconds(sent),
        created_at: isoSeconds(created),
        updated_at: isoSeconds(answered ?? sent ?? created),
        accepted_at: state === 'accepted' ? isoSeconds(answered!) : null,
        declined_at: state === 'declined' ? isoSeconds(answered!) : null,
        currency: String(client.currency ?? 'USD'),
        client: { id: client.id, name: client.name },
        creator: { id: creator.id, name: userName(creator) },
        line_items,
      };
      if (sent !== null) messages.push(...this.estimateMessages(rec, sent, answered, creator));
      return rec;
    });
    const strip = (recs: Array<Rec & { created: number }>): Rec[] => recs.map(({ created: _created, ...rec }) => rec as Rec);
    return {
      estimates: byDateThenNewest('issue_date')(out),
      messages: newestFirst(strip(this.idsByCreation(messages, this.rng.int(4_000_000, 5_000_000)))),
    };
  }

  /** The send; for some accepted or declined ones also the client's answer (an event, no email). */
  private estimateMessages(est: Rec, sent: number, answered: number | null, creator: Rec): Array<Rec & { created: number }> {
    const from = this.person(creator);
    const base = (created: number) => ({
      id: 0,
      sent_by: from.name,
      sent_by_email: from.email,
      sent_from: from.name,
      sent_from_email: from.email,
      send_me_a_copy: this.rng.chance(0.6),
      created_at: isoSeconds(created),
      updated_at: isoSeconds(created),
    });
    const body = [
      '---------------------------------------------',
      'Estimate Summary',
      '---------------------------------------------',
      `Estimate ID: ${String(est.number)}`,
      `Estimate Date: ${usDate(String(est.issue_date))}`,
      `Client: ${String((est.client as Rec).name)}`,
      `P.O. Number: ${String(est.purchase_order)}`,
      `Amount: ${money(est.amount as number, String(est.currency))}`,
      '',
      'View the estimate online: %estimate_url%',
      '---------------------------------------------',
    ].join('\r\n');
    const out: Array<Rec & { created: number }> = [
      {
        ...base(sent),
        recipients: this.recipients((est.client as Rec).id),
        event_type: null,
        subject: `Estimate #${String(est.number)} from ${this.input.companyName}`,
        body,
        estimate_id: est.id,
        created: sent,
      },
    ];
    if (answered !== null && this.rng.chance(0.5)) {
      out.push({
        ...base(answered),
        recipients: [],
        event_type: est.state === 'accepted' ? 'accept' : 'decline',
        subject: null,
        body: null,
        estimate_id: est.id,
        created: answered,
      });
    }
    return out;
  }
}

interface Totals {
  amount: number;
  tax: number | null;
  tax_amount: number;
  discount: number | null;
  discount_amount: number;
}

interface InvoiceDraft {
  created: number;
  clientId: number;
  lines: Array<Record<string, unknown>>;
  /** [period_start, period_end] of invoices billing a month of time. */
  period: [string, string] | null;
  /** The ref time entries and expenses carry, for invoices from the book. */
  ref: InvoiceRef | null;
  fromTime: boolean;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function monthName(day: string): string {
  return `${MONTHS[Number(day.slice(5, 7)) - 1]} ${day.slice(0, 4)}`;
}

export function buildBilling(input: BillingInput, n: BillingCounts): Billing {
  const b = new BillingBuilder(input);
  const expenseCategories = b.expenseCategories(n.expenseCategories);
  const invoiceItemCategories = b.itemCategories(n.invoiceItemCategories, true);
  const estimateItemCategories = b.itemCategories(n.estimateItemCategories, false);
  const roles = b.roles(n.roles, input.users);
  const contacts = b.contacts(n.contacts);
  const billableRates = b.rates('default_hourly_rate', RATES, input.rng.int(2_000_000, 2_200_000));
  const costRates = b.rates('cost_rate', COST_RATES, input.rng.int(1_000_000, 1_200_000));
  const invoicedExpenses = new Map<BookedInvoice, number>();
  const expenses = b.expenses(n.expenses, expenseCategories, invoicedExpenses);
  const invoices = b.invoices(n.invoices, invoicedExpenses, invoiceItemCategories);
  const estimates = b.estimates(n.estimates, estimateItemCategories);
  return {
    contacts,
    roles: newestFirst(roles),
    expenseCategories: newestFirst(expenseCategories),
    invoiceItemCategories: newestFirst(invoiceItemCategories),
    estimateItemCategories: newestFirst(estimateItemCategories),
    expenses,
    invoices: invoices.invoices,
    invoiceMessages: invoices.messages,
    invoicePayments: invoices.payments,
    estimates: estimates.estimates,
    estimateMessages: estimates.messages,
    billableRates,
    costRates,
  };
}
