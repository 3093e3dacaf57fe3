/**
 * Pieces shared by the generator modules: the timeline, timestamps and ids, small
 * references, and the book of monthly invoices that time entries and expenses bill to.
 */
import { Rng } from './rng';
import type { Rec } from './types';
import { isoDate, isoSeconds } from './util';

// Vocabulary shared by the generators.

export const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Mateo', 'Sofia', 'Lucas', 'Mia', 'Ethan', 'Amara',
  'Hiroshi', 'Priya', 'Kwame', 'Zoë', 'José', 'Björn', 'Siobhán', 'Chloé', 'Ivan', 'Fatima',
  'Wei', 'Aisha', 'Diego', 'Nora', 'Omar', 'Freya', 'Tomás', 'Leila', 'Kai',
];
export const LAST_NAMES = [
  'Smith', 'García', 'Nguyen', 'Müller', 'Kowalski', "O'Brien", 'Johansson', 'Rossi', 'Tanaka',
  'Okafor', 'Patel', 'Dubois', 'Silva', 'Cohen', 'Novak', 'Larsen', 'Ahmed', 'Kim', 'Fischer',
  'Moreau', 'Hughes', 'Jensen', 'Costa', 'Bianchi', 'Yilmaz',
];
export const ROLE_NAMES = ['Design', 'Engineering', 'Project Management', 'Sales', 'Marketing', 'Support'];
export const RATES = [95, 110, 125, 150, 175, 200];
export const COST_RATES = [40, 45, 55, 60, 75, 85];

// ---------------------------------------------------------------------------

export interface Timeline {
  /** Latest allowed timestamp: start of yesterday (UTC) relative to `now`. */
  ceiling: number;
  /** Window in which the account's reference data (clients, users, …) is set up. */
  setupStart: number;
  setupEnd: number;
  firstDay: number;
  lastDay: number;
}

/** created_at/updated_at pair; a share of records were edited some time after creation. */
export function stamps(rng: Rng, t: Timeline, createdMs: number, editedShare: number): Pick<Rec, 'created_at' | 'updated_at'> {
  const created = Math.min(createdMs, t.ceiling);
  const updated = rng.chance(editedShare) ? rng.instant(created, t.ceiling) : created;
  const created_at = isoSeconds(created);
  return { created_at, updated_at: updated === created ? created_at : isoSeconds(updated) };
}

/** `n` ascending creation instants in [from, to]; ids are then handed out in this order. */
export function creationTimes(rng: Rng, n: number, from: number, to: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(rng.instant(from, to));
  return times.sort((a, b) => a - b);
}

/** Harvest ids grow with creation, with gaps left by other accounts. */
export function nextId(rng: Rng, previous: number): number {
  return previous + rng.int(1, 40);
}

export function numbered(names: readonly string[], i: number): string {
  const round = Math.floor(i / names.length);
  const base = names[i % names.length]!;
  return round === 0 ? base : `${base} ${round + 1}`;
}

export function clientRef(client: Rec): { id: number; name: unknown; currency: unknown } {
  return { id: client.id, name: client.name, currency: client.currency };
}

export function projectRef(project: Rec): { id: number; name: unknown; code: unknown } {
  return { id: project.id, name: project.name, code: project.code };
}

export function userName(user: Rec): string {
  return `${String(user.first_name)} ${String(user.last_name)}`;
}

/** The user_assignment object nested in a time entry (fixture shape). */
export function userAssignmentSnapshot(ua: Rec): object {
  const { id, is_project_manager, is_active, use_default_rates, budget, created_at, updated_at, hourly_rate } = ua;
  return Object.freeze({ id, is_project_manager, is_active, use_default_rates, budget, created_at, updated_at, hourly_rate });
}

/** The task_assignment object nested in a time entry (fixture shape). */
export function taskAssignmentSnapshot(ta: Rec): object {
  const { id, billable, is_active, created_at, updated_at, hourly_rate, budget } = ta;
  return Object.freeze({ id, billable, is_active, created_at, updated_at, hourly_rate, budget });
}

/** The `invoice {id, number}` object time entries and expenses carry; shared and renumbered in place. */
export interface InvoiceRef {
  id: number;
  number: string;
}

/** A client-month the book decided to invoice. */
export interface BookedInvoice {
  ref: InvoiceRef;
  issuedMs: number;
  clientId: number;
  /** "YYYY-MM": the month it bills. */
  month: string;
}

/**
 * One invoice per client and month, issued early the next month. The ids and numbers it
 * hands out are provisional: once the invoices list is built they are renumbered in
 * issue order (see generate-billing.ts), which every holder of a ref sees.
 */
export class InvoiceBook {
  private readonly invoices = new Map<string, BookedInvoice | null>();
  private nextNumber = 1;
  private nextInvoiceId: number;

  constructor(private readonly rng: Rng, private readonly ceiling: number) {
    this.nextInvoiceId = rng.int(25_000_000, 35_000_000);
  }

  /** The invoice billing this client's month, or null if that month is not invoiced. */
  forMonth(clientId: number, dayMs: number): BookedInvoice | null {
    const month = isoDate(dayMs).slice(0, 7);
    const key = `${clientId}:${month}`;
    let found = this.invoices.get(key);
    if (found === undefined) {
      const d = new Date(dayMs);
      const issuedMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, this.rng.int(1, 10), this.rng.int(8, 18));
      found =
        issuedMs < this.ceiling && this.rng.chance(0.5)
          ? { ref: { id: (this.nextInvoiceId += this.rng.int(1, 30)), number: String(this.nextNumber++) }, issuedMs, clientId, month }
          : null;
      this.invoices.set(key, found);
    }
    return found;
  }

  /** Like forMonth, but never decides (and so never draws from the PRNG): undecided months are not invoiced. */
  existing(clientId: number, dayMs: number): BookedInvoice | null {
    return this.invoices.get(`${clientId}:${isoDate(dayMs).slice(0, 7)}`) ?? null;
  }

  /** Every invoice decided so far. */
  issued(): BookedInvoice[] {
    return [...this.invoices.values()].filter((b): b is BookedInvoice => b !== null);
  }
}

/** Rounds money and hours to cents/hundredths. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function isWeekend(dayMs: number): boolean {
  const weekday = new Date(dayMs).getUTCDay();
  return weekday === 0 || weekday === 6;
}
