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
}

/** How a list is ordered: newest-created first, or (time entries) by spent_date first. */
export type SortOrder = 'created' | 'spent';
