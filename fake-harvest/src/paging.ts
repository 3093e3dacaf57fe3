/**
 * Harvest's list envelope and its two paging styles.
 *
 * - page:   offset-based `page=N`; records created or deleted meanwhile shift pages.
 * - cursor: `links.next` carries an opaque keyset position (the sort key of the last
 *   record served), so records created meanwhile (which sort first) shift nothing.
 *   Only the first page has page numbers; later cursor pages have page, next_page and
 *   previous_page all null, which trips clients that stop on next_page == null.
 */
import { indexAfter, sortKey, type SortKey } from './store';
import type { Rec, SortOrder } from './types';

export const MAX_PER_PAGE = 2000;

export interface Paging {
  perPage: number;
  /** Requested page number; ignored when a cursor is given (cursor wins). */
  page: number;
  cursor: SortKey | null;
}

export interface PagingError {
  error: string;
}

/** Where the list lives, to build absolute links that keep the caller's filters. */
export interface LinkBase {
  origin: string;
  pathname: string;
  /** Every query parameter except page, per_page and cursor, in the caller's order. */
  filters: ReadonlyArray<[string, string]>;
}

const PAGING_PARAMS = new Set(['page', 'per_page', 'cursor']);

export function linkBase(origin: string, pathname: string, query: URLSearchParams): LinkBase {
  return { origin, pathname, filters: [...query].filter(([k]) => !PAGING_PARAMS.has(k)) };
}

export function parsePaging(query: URLSearchParams, order: SortOrder): Paging | PagingError {
  const perPageRaw = query.get('per_page');
  const perPage = perPageRaw === null ? MAX_PER_PAGE : strictInt(perPageRaw);
  if (perPage < 1 || perPage > MAX_PER_PAGE) return { error: `per_page must be between 1 and ${MAX_PER_PAGE}` };
  const cursorRaw = query.get('cursor');
  if (cursorRaw !== null) {
    const cursor = decodeCursor(cursorRaw, order);
    return cursor ? { perPage, page: 1, cursor } : { error: 'cursor is invalid' };
  }
  const pageRaw = query.get('page');
  const page = pageRaw === null ? 1 : strictInt(pageRaw);
  if (page < 1) return { error: 'page must be a positive integer' };
  return { perPage, page, cursor: null };
}

/** Decimal digits only; anything else is NaN (so range checks fail). */
function strictInt(text: string): number {
  return /^\d{1,9}$/.test(text) ? Number(text) : NaN;
}

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The keyset position in a cursor, or null if it is not one of ours for this order. */
export function decodeCursor(text: string, order: SortOrder): SortKey | null {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const strings = order === 'spent' || order === 'issued' ? 2 : 1;
  const valid =
    Array.isArray(key) &&
    key.length === strings + 1 &&
    key.slice(0, strings).every((v) => typeof v === 'string') &&
    Number.isSafeInteger(key[strings]);
  return valid ? (key as SortKey) : null;
}

export interface Envelope {
  per_page: number;
  total_pages: number;
  total_entries: number;
  next_page: number | null;
  previous_page: number | null;
  page: number | null;
  links: { first: string; next: string | null; previous: string | null; last: string };
}

/**
 * Builds the list answer for one page of `records` (already filtered, in API order).
 * Cursor style needs Recs (the cursor is a sort key); page style takes any rows (reports).
 */
export function buildPage(
  key: string,
  records: readonly Rec[] | readonly object[],
  style: 'cursor' | 'page',
  order: SortOrder,
  paging: Paging,
  base: LinkBase,
): Record<string, unknown> {
  const { perPage } = paging;
  const total = records.length;
  const totalPages = Math.max(1, Math.ceil(total / perPage));
  const start = paging.cursor ? indexAfter(records as readonly Rec[], paging.cursor, order) : (paging.page - 1) * perPage;
  const items = records.slice(start, start + perPage);
  const hasMore = start + perPage < total;
  const last = items[items.length - 1];
  const pageLink = (n: number) => link(base, [['page', String(n)], ['per_page', String(perPage)]]);
  const nextLink = (): string =>
    style === 'cursor'
      ? link(base, [['cursor', encodeCursor(sortKey(last as Rec, order))], ['per_page', String(perPage)]])
      : pageLink(paging.page + 1);
  const numbered = paging.cursor === null;
  const envelope: Envelope = {
    per_page: perPage,
    total_pages: totalPages,
    total_entries: total,
    next_page: numbered && hasMore ? paging.page + 1 : null,
    previous_page: numbered && paging.page > 1 ? paging.page - 1 : null,
    page: numbered ? paging.page : null,
    links: {
      first: pageLink(1),
      next: hasMore ? nextLink() : null,
      previous: numbered && paging.page > 1 ? pageLink(paging.page - 1) : null,
      last: pageLink(totalPages),
    },
  };
  return { [key]: items, ...envelope };
}

function link(base: LinkBase, paging: ReadonlyArray<[string, string]>): string {
  const query = new URLSearchParams([...paging, ...base.filters]);
  return `${base.origin}${base.pathname}?${query.toString()}`;
}
