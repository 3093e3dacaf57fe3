// Harvest API client: one list page per call. Paging follows `links.next` for both
// cursor and page endpoints (stopping at `next_page == null` truncates cursor lists).
import { createHash } from 'node:crypto';
import { request, Agent } from 'undici';
import type { HarvestConfig } from '../config';
import type { ResourceSpec } from '../catalog';
import { createTokenProvider, type TokenProvider } from './auth';
import { errorForStatus, HarvestError } from './errors';
import { NO_PACING, type Pacer } from '../pacing/pacer';
import type { BudgetName } from '../core/budget-window';

export const PER_PAGE = 2000;

export type HarvestRecord = Record<string, unknown>;

export interface ListPage {
  records: HarvestRecord[];
  /** Absolute URL of the next page, or null on the last page. */
  next: string | null;
  /** `total_pages` when the envelope has it. */
  totalPages?: number;
  /** `total_entries` when the envelope has it: how many records the whole list holds right now. */
  totalEntries?: number;
}

/** A list page and the SHA-256 of Harvest's answer (hex): the same answer hashes the same. */
export interface FetchedListPage extends ListPage {
  bodyHash: string;
}

/** Filled by a request: the time it spent waiting for pacing slots (retries included). */
export interface RequestTiming {
  pacedMs: number;
  /** Harvest's `Date` header of the answer (ms since epoch, whole seconds), when it sent one. */
  harvestDateMs?: number;
  /** `performance.now()` when that answer arrived (its age is measured without any wall clock). */
  answeredAt?: number;
}

export interface FirstPageParams {
  parentId?: number | string;
  updatedSince?: string;
  /** Page-numbered lists only: a page other than the first. */
  page?: number;
  /** Windowed reports: the window's first and last day (YYYY-MM-DD). */
  window?: { from: string; to: string };
  /** Date-ranged lists: records dated from..to (YYYY-MM-DD; either side may be open). */
  range?: { from?: string; to?: string };
  /** `per_page` (HARVEST_PER_PAGE); default PER_PAGE, Harvest's maximum. */
  perPage?: number;
}

/** URL of a resource's first page: path placeholders filled, per_page as configured (Harvest's maximum by default). */
export function firstPageUrl(baseUrl: string, spec: ResourceSpec, params: FirstPageParams = {}): string {
  let p = spec.path;
  if (spec.parent) {
    if (params.parentId === undefined) throw new Error(`${spec.name} needs a ${spec.parent.param}`);
    p = p.replace(`{${spec.parent.param}}`, encodeURIComponent(String(params.parentId)));
  }
  const url = new URL(baseUrl.replace(/\/+$/, '') + p);
  if (spec.paging === 'none') return url.toString();
  url.searchParams.set('per_page', String(params.perPage ?? PER_PAGE));
  if (params.updatedSince && spec.incremental === 'updated_since') {
    url.searchParams.set('updated_since', harvestTimestamp(params.updatedSince));
  }
  if (params.range) {
    if (!spec.dateRange) throw new Error(`${spec.name} has no date range filter`);
    if (params.range.from) url.searchParams.set('from', params.range.from);
    if (params.range.to) url.searchParams.set('to', params.range.to);
  }
  if (spec.report?.windowed) {
    if (!params.window) throw new Error(`${spec.name} needs a report window`);
    url.searchParams.set('from', params.window.from.replace(/-/g, ''));
    url.searchParams.set('to', params.window.to.replace(/-/g, ''));
  }
  if (params.page !== undefined && params.page > 1) {
    if (spec.paging !== 'page') throw new Error(`${spec.name} is not page-numbered`);
    url.searchParams.set('page', String(params.page));
  }
  return url.toString();
}

/** Harvest's timestamp form: ISO-8601 UTC with seconds (`2024-01-01T00:00:00Z`). */
export function harvestTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class HarvestClient {
  private readonly tokens: TokenProvider;
  private readonly agent: Agent;
  private readonly apiPrefix: string;

  private readonly pacer: Pacer;

  /**
   * `connections`: sockets to Harvest, at least the requests this process may send at once
   * (its activities): a request that waited for a socket after its pacing slot would reach
   * Harvest later than the slot's margin allows.
   */
  constructor(private readonly cfg: HarvestConfig, tokens?: TokenProvider, pacer?: Pacer, connections = 32) {
    this.tokens = tokens ?? createTokenProvider(cfg);
    this.pacer = pacer ?? NO_PACING;
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections });
    this.apiPrefix = new URL(cfg.baseUrl).toString().replace(/\/+$/, '');
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * Fetches one list page of `spec` at `url` (a first-page URL or a `links.next`) of one
   * account. `signal` (the activity's cancellation) aborts the request in flight.
   */
  async listPage(spec: ResourceSpec, url: string, accountId: string, signal?: AbortSignal, timing?: RequestTiming): Promise<FetchedListPage> {
    this.assertOurUrl(url, spec);
    const where = `${spec.name} of account ${accountId} (GET ${describeUrl(url)})`;
    const { value, body } = await this.getParsed(url, where, accountId, signal, timing);
    return { ...parseListPage(value, spec, where), bodyHash: createHash('sha256').update(body).digest('hex') };
  }

  /**
   * One record of a top-level resource (`GET <path>/{id}`), or null when Harvest answers
   * 404 (it no longer exists). Confirms deletion candidates of page-numbered lists.
   */
  async getRecord(spec: ResourceSpec, id: string, accountId: string): Promise<HarvestRecord | null> {
    if (spec.parent || spec.report || spec.paging === 'none' || spec.key.length !== 1 || spec.key[0] !== 'id') {
      throw new Error(`${spec.name} has no single-record endpoint`);
    }
    if (!/^\d{1,20}$/.test(id)) throw new Error(`${spec.name}: bad record id ${JSON.stringify(id)}`);
    const url = `${this.apiPrefix}${spec.path}/${id}`;
    const where = `${spec.name} of account ${accountId} (GET ${describeUrl(url)})`;
    let body;
    try {
      body = await this.getJson(url, where, accountId);
    } catch (err) {
      if (err instanceof HarvestError && err.status === 404) return null;
      throw err;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body) || String((body as HarvestRecord).id) !== id) {
      throw new HarvestError(`unexpected response for ${where}: not the record asked for`, 'malformed', 200, false);
    }
    return body as HarvestRecord;
  }

  /** The Harvest accounts this token reaches (`/accounts` on Harvest ID). */
  async listAccounts(): Promise<string[]> {
    const where = `the account list (GET ${describeUrl(this.cfg.accountsUrl)})`;
    const body = (await this.getJson(this.cfg.accountsUrl, where, undefined)) as { accounts?: unknown };
    if (!body || !Array.isArray(body.accounts)) {
      throw new HarvestError(`unexpected response for ${where}: no "accounts" array`, 'malformed', 200, false);
    }
    return (body.accounts as Array<{ id?: unknown; product?: unknown }>)
      .filter((a) => a.product === undefined || a.product === 'harvest')
      .map((a) => String(a.id));
  }

  /**
   * GET with auth, one token refresh on 401, and Harvest's status mapping. An aborted
   * `signal` rejects with its reason (a cancellation, not a network error to retry).
   */
  async getJson(url: string, where: string, accountId: string | undefined, signal?: AbortSignal, timing?: RequestTiming): Promise<unknown> {
    return (await this.getParsed(url, where, accountId, signal, timing)).value;
  }

  /** getJson, with the answer's bytes as they came. */
  private async getParsed(url: string, where: string, accountId: string | undefined, signal?: AbortSignal, timing?: RequestTiming): Promise<{ value: unknown; body: Buffer }> {
    const budget: BudgetName = url.startsWith(this.apiPrefix + '/reports/') ? 'reports' : 'general';
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const token = await this.tokens.token();
      // Harvest's id service (the account list) has no API budget of its own to pace.
      if (accountId !== undefined) {
        const asked = Date.now();
        await this.pacer.acquire(budget, signal);
        if (timing) timing.pacedMs += Date.now() - asked;
      }
      let res;
      try {
        res = await request(url, {
          method: 'GET',
          dispatcher: this.agent,
          headers: {
            authorization: `Bearer ${token}`,
            ...(accountId ? { 'harvest-account-id': accountId } : {}),
            'user-agent': this.cfg.userAgent,
            accept: 'application/json',
          },
          headersTimeout: this.cfg.requestTimeoutMs,
          bodyTimeout: this.cfg.requestTimeoutMs,
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new HarvestError(`network error for ${where}: ${networkMessage(err)}`, 'network', undefined, true);
      }
      // The bytes, then their text: hashing the bytes costs less than hashing the text
      // (re-encoded), and a Buffer decodes faster than the body's own text().
      let body: Buffer;
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of res.body) chunks.push(chunk as Buffer);
        body = Buffer.concat(chunks);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new HarvestError(`network error reading ${where}: ${networkMessage(err)}`, 'network', res.statusCode, true);
      }
      if (timing) {
        const date = Date.parse(String(res.headers.date ?? ''));
        if (!Number.isNaN(date)) {
          timing.harvestDateMs = date;
          timing.answeredAt = performance.now();
        }
      }
      const text = body.toString('utf8', body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0);
      if (res.statusCode === 401 && attempt === 0 && (await this.tokens.invalidate(token))) continue;
      if (res.statusCode !== 200) {
        const err = errorForStatus(res.statusCode, text, where, res.headers['retry-after']);
        if (res.statusCode === 429 && accountId !== undefined) {
          // Every worker of the token waits it out, not only this page's retry.
          // Not waited for past a cancellation: the pacer may be served by this very worker, stopping.
          await untilAborted(this.pacer.rateLimited(budget, err.retryAfterMs ?? 1000).catch(() => undefined), signal);
        }
        throw err;
      }
      try {
        return { value: JSON.parse(text) as unknown, body };
      } catch {
        throw new HarvestError(
          `Harvest returned a body that is not valid JSON for ${where} (${text.length} bytes; likely truncated)`,
          'malformed',
          200,
          true,
        );
      }
    }
  }

  // The bearer token must never go anywhere but the configured API.
  private assertOurUrl(url: string, spec: ResourceSpec): void {
    if (!url.startsWith(this.apiPrefix + '/')) {
      throw new HarvestError(
        `refusing to follow a link outside ${this.apiPrefix} for ${spec.name}: ${describeUrl(url)}`,
        'malformed',
        undefined,
        false,
      );
    }
  }
}

/** Validates the list envelope; a surprise is an error, never a silent empty page. */
export function parseListPage(body: unknown, spec: ResourceSpec, where: string): ListPage {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HarvestError(`unexpected response for ${where}: expected a JSON object`, 'malformed', 200, false);
  }
  const env = body as Record<string, unknown>;
  // A single-object endpoint (company) is its own record.
  if (spec.paging === 'none') return { records: [env], next: null };
  const records = env[spec.dataKey];
  if (!Array.isArray(records)) {
    const keys = Object.keys(env).slice(0, 8).join(', ');
    throw new HarvestError(`unexpected response for ${where}: no "${spec.dataKey}" array (keys: ${keys})`, 'malformed', 200, false);
  }
  for (const r of records) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) {
      throw new HarvestError(`unexpected response for ${where}: "${spec.dataKey}" holds a non-object`, 'malformed', 200, false);
    }
    if (spec.key.includes('id') && typeof (r as HarvestRecord).id !== 'number') {
      throw new HarvestError(`unexpected response for ${where}: a record has no numeric id`, 'malformed', 200, false);
    }
  }
  const links = env.links as Record<string, unknown> | undefined;
  const next = links && typeof links === 'object' ? links.next : undefined;
  if (next !== null && next !== undefined && typeof next !== 'string') {
    throw new HarvestError(`unexpected response for ${where}: links.next is not a URL`, 'malformed', 200, false);
  }
  if (next === undefined && typeof env.next_page === 'number') {
    throw new HarvestError(`unexpected response for ${where}: next_page is set but links.next is missing`, 'malformed', 200, false);
  }
  const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
  return { records: records as HarvestRecord[], next: next ?? null, totalPages: count(env.total_pages), totalEntries: count(env.total_entries) };
}

/** Path and query (cursor, filters): no credentials ever travel in Harvest URLs. */
function describeUrl(u: string): string {
  try {
    const url = new URL(u);
    return decodeURIComponent(url.pathname + url.search);
  } catch {
    return '(invalid URL)';
  }
}

function networkMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(' ') || String(err);
}

/** `work`, or undefined as soon as `signal` aborts (the work goes on, unwaited for). */
async function untilAborted(work: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return work;
  if (signal.aborted) return;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
