/**
 * Shared types of the fake Harvest: the canonical account store and its records.
 */

/** One Harvest object exactly as the API returns it (flat endpoints). */
export interface Rec {
  id: number;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/** The resource kinds the store holds; each maps to one array of FakeAccountData. */
export const RESOURCE_KINDS = [
  'clients',
  'users',
  'projects',
  'tasks',
  'taskAssignments',
  'userAssignments',
  'timeEntries',
  'contacts',
  'roles',
  'expenseCategories',
  'invoiceItemCategories',
  'estimateItemCategories',
  'expenses',
  'invoices',
  'invoiceMessages',
  'invoicePayments',
  'estimates',
  'estimateMessages',
  'billableRates',
  'costRates',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** The canonical store of one fake account. Arrays are kept in API order (see store.ts). */
export interface FakeAccountData {
  accountId: number;
  /** The user the tokens belong to (`/v2/users/me`, `/api/v2/accounts`). */
  meUserId: number;
  /** `/v2/company`: Harvest's company object has no `id`. */
  company: Record<string, unknown>;
  clients: Rec[];
  users: Rec[];
  projects: Rec[];
  tasks: Rec[];
  taskAssignments: Rec[];
  userAssignments: Rec[];
  timeEntries: Rec[];
  contacts: Rec[];
  /** `user_ids` lists the users whose `roles` name the role. */
  roles: Rec[];
  expenseCategories: Rec[];
  invoiceItemCategories: Rec[];
  estimateItemCategories: Rec[];
  expenses: Rec[];
  /** Each with `line_items[]`; every `invoice {id, number}` of a time entry or expense is here. */
  invoices: Rec[];
  /** Stored with `invoice_id` (their parent), which Harvest does not send: see PARENT_FIELDS. */
  invoiceMessages: Rec[];
  /** Stored with `invoice_id`, not served. */
  invoicePayments: Rec[];
  estimates: Rec[];
  /** Stored with `estimate_id`, not served. */
  estimateMessages: Rec[];
  /** Stored with `user_id`, not served. */
  billableRates: Rec[];
  /** Stored with `user_id`, not served. */
  costRates: Rec[];
}

/**
 * How a list is ordered: newest-created first ('created'), oldest-created first
 * ('oldest', user rates), or by a date first, newest first: spent_date ('spent': time
 * entries, expenses) or issue_date ('issued': invoices, estimates).
 */
export type SortOrder = 'created' | 'oldest' | 'spent' | 'issued';
