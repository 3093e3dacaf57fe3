/**
 * A faithful fake of Harvest API v2 (plus the id.getharvest.com token and accounts
 * endpoints) on node:http, following docs/harvest-api.md. Tests, the benchmark
 * and the demo point the real client at it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken, SlidingWindowLimiter, TokenBook, type OAuthOptions, type RateLimit } from './auth';
import { FaultController, type AppliedFault, type FaultControls } from './faults';
import { generateAccount } from './generate';
import { buildPage, linkBase, parsePaging } from './paging';
import { parseReportWindow, reportRows } from './reports';
import {
  compileFilters,
  matchRoute,
  type Access,
  type ListRoute,
  type Params,
  type ReportRoute,
  type RouteContext,
} from './routes';
import { actingUser, createRecord, isResourceKind, removeRecord, teammatesFor, updateRecord, visibleToToken, type TokenRole } from './store';
import type { FakeAccountData, Rec, ResourceKind } from './types';

export interface FakeHarvestOptions {
  /** The account to serve (default: generateAccount()). It is used live, not copied. */
  data?: FakeAccountData;
  /**
   * More accounts on the same server, after `data` (or alone). `Harvest-Account-Id`
   * picks one; every valid token reaches all of them; `/api/v2/accounts` lists them.
   */
  accounts?: FakeAccountData[];
  /** Harvest-Account-Id of the first account (default: its data.accountId). */
  accountId?: number;
  /** Valid personal access tokens (default ['test-pat']). */
  tokens?: string[];
  /** Answer 400 when User-Agent is missing, as Harvest does (default true). */
  userAgentRequired?: boolean;
  /** Sliding window per token (default 100 per 15 s); false disables it. Report requests do not count. */
  rateLimit?: RateLimit | false;
  /**
   * The Reports API's own window per token (default 100 per 15 minutes; when `rateLimit`
   * is false the default is false too); false disables it.
   */
  reportsRateLimit?: RateLimit | false;
  /**
   * Whom the tokens belong to (default 'admin'). A 'member' is refused (403) what Harvest
   * keeps for Administrators and Managers, and sees only their own time entries and
   * expenses: see Access in routes.ts.
   */
  role?: TokenRole;
  /**
   * Roles of particular tokens (others have `role`): e.g. `{ 'member-pat': 'member' }`
   * serves an Administrator's and a Member's token side by side. A 'manager' also sees its
   * teammates' and managed projects' time entries and expenses, and may call per-user
   * paths of its teammates.
   */
  tokenRoles?: Record<string, TokenRole>;
  /** Enables the OAuth2 refresh flow at tokenUrl. */
  oauth?: OAuthOptions;
  /** Default 0: a free port. */
  port?: number;
  /**
   * Answer time of `/v2/` requests, like Harvest's: `baseMs` plus `perRowMs` for every
   * record of a list or report page (default none). The rate limit counts a request when
   * it arrives, as Harvest does.
   */
  latency?: { baseMs: number; perRowMs?: number };
  /**
   * Harvest's clock runs this far from this machine's (negative: behind). Answers carry it
   * in their `Date` header, and records created or updated through the handles are
   * stamped with it (default 0).
   */
  clockSkewMs?: number;
}

export interface RequestLogEntry {
  /** Arrival time, ms epoch. */
  at: number;
  method: string;
  /** Pathname without the query. */
  path: string;
  query: Record<string, string>;
  /** Status sent; 0 while unanswered or when the connection was reset. */
  status: number;
  /** The client closed the connection before the answer was written (an aborted request). */
  aborted?: boolean;
}

export interface RequestInfo {
  method: string;
  path: string;
  query: Record<string, string>;
  /** 1-based number of this request since start (or the last resetLog()). */
  n: number;
  /** The Harvest-Account-Id header, when it is a number (the account the request reads). */
  accountId?: number;
}
export type RequestHook = (req: RequestInfo) => void | Promise<void>;

/** Mutations of one account's live store. */
export interface AccountHandle {
  readonly accountId: number;
  /** The live, mutable store. */
  readonly data: FakeAccountData;
  /**
   * Adds a record stamped with the current time; returns its id (fresh unless given).
   * Child kinds take their parent in a hidden field: `{ invoice_id }`, `{ estimate_id }`, `{ user_id }`.
   */
  create(kind: ResourceKind, record: Partial<Rec>): number;
  /** Shallow-merges `patch` and stamps updated_at with the current time. */
  update(kind: ResourceKind, id: number, patch: Partial<Rec>): Rec;
  /** Hard-deletes a record (and its children: an invoice's messages and payments, …). */
  remove(kind: ResourceKind, id: number): Rec;
}

export interface FakeHarvest extends AccountHandle {
  /** e.g. http://127.0.0.1:PORT/v2 */
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly accountsUrl: string;
  readonly port: number;
  /** The first account's live store (create/update/remove act on it). */
  readonly data: FakeAccountData;
  /** Every account served, the first being `data`. */
  readonly accounts: readonly FakeAccountData[];
  /** The helpers of the account with this Harvest-Account-Id; throws if it is not served. */
  account(accountId: number): AccountHandle;
  readonly requests: RequestLogEntry[];
  /** Most `/v2/` requests being served at once since start (or the last resetLog()). */
  readonly maxInFlight: number;
  resetLog(): void;
  /** Runs before each request is served; returns an unsubscribe function. */
  onRequest(hook: RequestHook): () => void;
  readonly faults: FaultControls;
  /** Every OAuth access token issued so far becomes invalid (401). */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

export const TOKEN_PATH = '/api/v2/oauth2/token';
export const ACCOUNTS_PATH = '/api/v2/accounts';

const INVALID_TOKEN = {
  error: 'invalid_token',
  error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.',
};

// ---------------------------------------------------------------------------
// Replies are values first, written last: faults can then replace or cut them.

interface Reply {
  status: number;
  body: string | Buffer;
  contentType: string;
  headers?: Record<string, string>;
  /** Records on a list or report page (for the latency model). */
  rows?: number;
}
/** Destroy the socket without answering. */
const RESET = Symbol('reset');
type Outcome = Reply | typeof RESET;

function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return { status, body: JSON.stringify(value), contentType: 'application/json; charset=utf-8', headers };
}

function apiError(status: number, message: string, headers?: Record<string, string>): Reply {
  return json(status, { code: status, message }, headers);
}

const NOT_FOUND = () => apiError(404, 'Not Found');
const FORBIDDEN = () => apiError(403, 'You do not have permission to access this resource.');

function badGatewayHtml(status: number): Reply {
  const title = `${status} ${http.STATUS_CODES[status] ?? 'Error'}`;
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
  return { status, body, contentType: 'text/html' };
}

/** 200 with the body cut in half: valid headers, Content-Length matching what is sent. */
function truncated(reply: Reply): Reply {
  const bytes = Buffer.from(reply.body);
  return { ...reply, status: 200, body: bytes.subarray(0, Math.floor(bytes.length / 2)) };
}

// ---------------------------------------------------------------------------

class FakeHarvestServer {
  readonly requests: RequestLogEntry[] = [];
  readonly faults = new FaultController();
  private readonly hooks = new Set<RequestHook>();
  private readonly tokens: TokenBook;
  private readonly limiter: SlidingWindowLimiter | undefined;
  private readonly reportsLimiter: SlidingWindowLimiter | undefined;
  private readonly role: TokenRole;
  private readonly timers = new Set<NodeJS.Timeout>();
  private count = 0;
  private inFlight = 0;
  maxInFlight = 0;
  readonly http: http.Server;

  /** @param accounts Harvest-Account-Id → store, the first one first. */
  constructor(
    readonly accounts: ReadonlyMap<number, FakeAccountData>,
    private readonly opts: FakeHarvestOptions,
  ) {
    this.tokens = new TokenBook(opts.tokens ?? ['test-pat'], opts.oauth);
    const rateLimit = opts.rateLimit === undefined ? { limit: 100, windowMs: 15_000 } : opts.rateLimit;
    this.limiter = rateLimit ? new SlidingWindowLimiter(rateLimit) : undefined;
    const reportsDefault = opts.rateLimit === false ? false : { limit: 100, windowMs: 15 * 60_000 };
    const reportsLimit = opts.reportsRateLimit === undefined ? reportsDefault : opts.reportsRateLimit;
    this.reportsLimiter = reportsLimit ? new SlidingWindowLimiter(reportsLimit) : undefined;
    this.role = opts.role ?? 'admin';
    this.http = http.createServer((req, res) => void this.handle(req, res));
  }

  onRequest(hook: RequestHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  resetLog(): void {
    this.requests.length = 0;
    this.count = 0;
    this.maxInFlight = this.inFlight;
  }

  expireAccessTokens(): void {
    this.tokens.expireAccessTokens();
  }

  /** Cancels pending slow answers so close() does not wait for them. */
  cancelTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-harvest.invalid');
    const query = Object.fromEntries(url.searchParams);
    const entry: RequestLogEntry = { at: Date.now(), method: req.method ?? 'GET', path: url.pathname, query, status: 0 };
    this.requests.push(entry);
    res.once('close', () => {
      if (!res.writableFinished && entry.status === 0) entry.aborted = true;
    });
    const n = ++this.count;
    const api = url.pathname.startsWith('/v2/');
    if (api) this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    let outcome: Outcome;
    try {
      const account = String(req.headers['harvest-account-id'] ?? '').trim();
      const accountId = /^\d{1,16}$/.test(account) ? Number(account) : undefined;
      for (const hook of [...this.hooks]) await hook({ method: entry.method, path: entry.path, query: { ...query }, n, ...(accountId === undefined ? {} : { accountId }) });
      outcome = await this.serve(req, url);
      const latency = this.opts.latency;
      if (api && latency && outcome !== RESET) await this.sleep(latency.baseMs + (latency.perRowMs ?? 0) * (outcome.rows ?? 0));
    } catch (err) {
      // A failing hook is a test bug: make it loud rather than a silent empty answer.
      outcome = apiError(500, `fake-harvest internal error: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (api) this.inFlight--;
    }
    if (outcome === RESET) {
      req.socket.destroy();
      return;
    }
    // Nobody is listening any more: the answer was never delivered.
    if (entry.aborted) return;
    entry.status = outcome.status;
    write(res, outcome, this.opts.clockSkewMs);
  }

  private async serve(req: http.IncomingMessage, url: URL): Promise<Outcome> {
    const path = url.pathname;
    if (path === TOKEN_PATH) return this.withFaults(path, () => this.tokenEndpoint(req));
    if (path === ACCOUNTS_PATH) return this.withFaults(path, () => this.accountsEndpoint(req));
    if (path === '/v2' || path.startsWith('/v2/')) {
      const guarded = this.guard(req, path);
      if ('refused' in guarded) return guarded.refused;
      return this.withFaults(path, async () => this.api(req, url, guarded.data));
    }
    return NOT_FOUND();
  }

  /** Checks Harvest does before serving: User-Agent, token, account, rate limit, forbidden paths. */
  private guard(req: http.IncomingMessage, path: string): { refused: Reply } | { data: FakeAccountData } {
    const refused = this.refusal(req, path);
    if (refused) return { refused };
    const account = String(req.headers['harvest-account-id']).trim();
    return { data: this.accounts.get(Number(account))! };
  }

  private refusal(req: http.IncomingMessage, path: string): Reply | undefined {
    const ua = req.headers['user-agent'];
    if ((this.opts.userAgentRequired ?? true) && (!ua || !ua.trim())) {
      return apiError(400, 'Missing User-Agent header. Please include a User-Agent header with your app name and a contact email or URL.');
    }
    const token = bearerToken(req.headers.authorization);
    if (!token || !this.tokens.isValid(token)) return json(401, INVALID_TOKEN);
    const account = req.headers['harvest-account-id'];
    if (typeof account !== 'string' || !/^\d{1,16}$/.test(account.trim()) || !this.accounts.has(Number(account.trim()))) {
      return apiError(403, 'The Harvest-Account-Id header is missing or names an account this token cannot access.');
    }
    // The Reports API has its own budget; its requests do not use the general one.
    const isReport = path.startsWith('/v2/reports/');
    const retryAfter = (isReport ? this.reportsLimiter : this.limiter)?.take(token) ?? 0;
    if (retryAfter > 0) {
      const what = isReport ? 'Reports API' : 'API';
      return apiError(429, `${what} rate limit exceeded. Retry in ${retryAfter} seconds.`, { 'Retry-After': String(retryAfter) });
    }
    const forbidden = this.faults.forbiddenMessage(path);
    return forbidden === undefined ? undefined : apiError(403, forbidden);
  }

  private async withFaults(path: string, produce: () => Promise<Reply>): Promise<Outcome> {
    const applied = this.faults.take(path);
    return applied ? this.applyFault(applied, produce) : produce();
  }

  private async applyFault({ fault, sequence }: AppliedFault, produce: () => Promise<Reply>): Promise<Outcome> {
    switch (fault.kind) {
      case '5xx': {
        // Alternate an HTML gateway page and a JSON error, as real outages do.
        const status = fault.status ?? (sequence % 2 === 0 ? 502 : 503);
        return sequence % 2 === 0
          ? badGatewayHtml(status)
          : apiError(status, fault.message ?? http.STATUS_CODES[status] ?? 'Server Error');
      }
      case 'reset':
        return RESET;
      case 'slow':
        await this.sleep(fault.delayMs ?? 2000);
        return produce();
      case 'truncate':
        return truncated(await produce());
      case '429': {
        const retryAfter = fault.retryAfter ?? 1;
        return apiError(429, fault.message ?? 'API rate limit exceeded.', { 'Retry-After': String(retryAfter) });
      }
      case 'status': {
        const status = fault.status ?? 500;
        return apiError(status, fault.message ?? http.STATUS_CODES[status] ?? 'Error');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** The role of the request's token (`tokenRoles`, else `role`). */
  private roleOf(req: http.IncomingMessage): TokenRole {
    const token = bearerToken(req.headers.authorization);
    return (token !== undefined && this.opts.tokenRoles?.[token]) || this.role;
  }

  private api(req: http.IncomingMessage, url: URL, data: FakeAccountData): Reply {
    if (req.method !== 'GET') return apiError(405, 'Method Not Allowed');
    const match = matchRoute(url.pathname);
    if (!match) return NOT_FOUND();
    const { route, params } = match;
    const role = this.roleOf(req);
    const ctx: RouteContext = { me: actingUser(data, role) };
    // A Manager may run reports; their totals count only the entries it sees (a member: 403).
    const managerReport = route.type === 'report' && role === 'manager';
    if (!managerReport && this.denied(role, data, route.access, params, ctx)) return FORBIDDEN();
    switch (route.type) {
      case 'object': {
        const value = route.object(data, params, ctx);
        if (value === undefined) return NOT_FOUND();
        if (route.access === 'own' && !visibleToToken(data, role, ctx.me)(value as Rec)) return FORBIDDEN();
        return json(200, value);
      }
      case 'list':
        return this.list(route, params, ctx, data, req, url, role);
      case 'report': {
        if (!managerReport) return this.report(route, data, req, url);
        const sees = visibleToToken(data, role, ctx.me);
        return this.report(route, { ...data, timeEntries: data.timeEntries.filter(sees), expenses: data.expenses.filter(sees) }, req, url);
      }
    }
  }

  /** Whether a member is refused this route (see Access in routes.ts). */
  private denied(role: TokenRole, data: FakeAccountData, access: Access, params: Params, ctx: RouteContext): boolean {
    if (role === 'admin') return false;
    if (access === 'admin') return true;
    if (access === 'self') {
      const asked = params.user_id ?? params.id;
      if (asked === ctx.me?.id) return false;
      // A Manager may read its teammates' per-user lists.
      return !(role === 'manager' && ctx.me && (teammatesFor(data, ctx.me.id as number) ?? []).some((u) => u.id === asked));
    }
    return false;
  }

  private origin(req: http.IncomingMessage): string {
    return `http://${req.headers.host ?? `127.0.0.1:${this.port}`}`;
  }

  private list(route: ListRoute, params: Params, ctx: RouteContext, data: FakeAccountData, req: http.IncomingMessage, url: URL, role: TokenRole): Reply {
    const paging = parsePaging(url.searchParams, route.order);
    if ('error' in paging) return apiError(422, paging.error);
    const predicates = compileFilters(route.filters, url.searchParams);
    if ('error' in predicates) return apiError(422, predicates.error);
    if (route.access === 'own' && role !== 'admin') predicates.push(visibleToToken(data, role, ctx.me));
    const source = route.source(data, params, ctx);
    if (!source) return NOT_FOUND();
    if (!Array.isArray(source)) return apiError(source.status, source.message);
    const records = predicates.length === 0 ? source : source.filter((r) => predicates.every((p) => p(r)));
    const base = linkBase(this.origin(req), url.pathname, url.searchParams);
    const page = buildPage(route.key, records, route.paging, route.order, paging, base);
    if (route.present) page[route.key] = (page[route.key] as Rec[]).map(route.present);
    return { ...json(200, page), rows: (page[route.key] as Rec[]).length };
  }

  /** Reports: page paging over rows computed now; `cursor` means nothing here and is ignored. */
  private report(route: ReportRoute, data: FakeAccountData, req: http.IncomingMessage, url: URL): Reply {
    const query = new URLSearchParams([...url.searchParams].filter(([k]) => k !== 'cursor'));
    const paging = parsePaging(query, 'created');
    if ('error' in paging) return apiError(422, paging.error);
    let window;
    if (route.report !== 'project_budget') {
      const parsed = parseReportWindow(query);
      if ('status' in parsed) return apiError(parsed.status, parsed.message);
      window = parsed;
    }
    const flags: Record<string, boolean | undefined> = {};
    for (const name of route.report === 'project_budget' ? ['is_active'] : route.report.startsWith('expenses/') ? [] : ['include_fixed_fee']) {
      const raw = query.get(name);
      if (raw === null) continue;
      if (raw !== 'true' && raw !== 'false') return apiError(422, `${name} must be true or false`);
      flags[name] = raw === 'true';
    }
    const rows = reportRows(data, route.report, { window, includeFixedFee: flags.include_fixed_fee, isActive: flags.is_active });
    const page = buildPage('results', rows, 'page', 'created', paging, linkBase(this.origin(req), url.pathname, query));
    return { ...json(200, page), rows: (page.results as Rec[]).length };
  }

  private async tokenEndpoint(req: http.IncomingMessage): Promise<Reply> {
    if (req.method !== 'POST') return json(405, { error: 'method_not_allowed' });
    const form = new URLSearchParams(await readBody(req));
    const { status, body } = this.tokens.refresh(form);
    return json(status, body, { 'Cache-Control': 'no-store' });
  }

  /** id.getharvest.com's account list: needs only the bearer token. */
  private async accountsEndpoint(req: http.IncomingMessage): Promise<Reply> {
    const token = bearerToken(req.headers.authorization);
    if (!token || !this.tokens.isValid(token)) return json(401, INVALID_TOKEN);
    const first = this.accounts.values().next().value as FakeAccountData;
    const me = actingUser(first, this.roleOf(req));
    return json(200, {
      user: me ? { id: me.id, first_name: me.first_name, last_name: me.last_name, email: me.email } : null,
      accounts: [...this.accounts].map(([id, data]) => ({ id, name: data.company.name, product: 'harvest' })),
    });
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }
}

function write(res: http.ServerResponse, reply: Reply, clockSkewMs = 0): void {
  res.writeHead(reply.status, {
    // Node adds the current time itself; a skewed Harvest says its own.
    ...(clockSkewMs !== 0 ? { Date: new Date(Date.now() + clockSkewMs).toUTCString() } : {}),
    'Content-Type': reply.contentType,
    'Content-Length': String(Buffer.byteLength(reply.body)),
    ...reply.headers,
  });
  res.end(reply.body);
}

const MAX_BODY_BYTES = 64 * 1024;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------

export async function startFakeHarvest(opts: FakeHarvestOptions = {}): Promise<FakeHarvest> {
  const first = opts.data ?? (opts.accounts?.length ? undefined : generateAccount());
  const stores = [...(first ? [first] : []), ...(opts.accounts ?? [])];
  const accounts = new Map<number, FakeAccountData>();
  stores.forEach((store, i) => {
    const id = i === 0 ? (opts.accountId ?? store.accountId) : store.accountId;
    if (accounts.has(id)) throw new Error(`fake-harvest: two accounts with id ${id}`);
    accounts.set(id, store);
  });
  const server = new FakeHarvestServer(accounts, opts);
  await listen(server.http, opts.port ?? 0);
  const origin = `http://127.0.0.1:${server.port}`;
  const checkKind = (kind: string): ResourceKind => {
    if (!isResourceKind(kind)) throw new Error(`fake-harvest: unknown kind ${kind}`);
    return kind;
  };
  const harvestNow = (): number => Date.now() + (opts.clockSkewMs ?? 0);
  const handles = new Map<number, AccountHandle>();
  for (const [accountId, data] of accounts) {
    handles.set(accountId, {
      accountId,
      data,
      create: (kind, record) => createRecord(data, checkKind(kind), record, harvestNow()),
      update: (kind, id, patch) => updateRecord(data, checkKind(kind), id, patch, harvestNow()),
      remove: (kind, id) => removeRecord(data, checkKind(kind), id),
    });
  }
  const main = handles.values().next().value as AccountHandle;
  let closing: Promise<void> | undefined;
  return {
    baseUrl: `${origin}/v2`,
    tokenUrl: `${origin}${TOKEN_PATH}`,
    accountsUrl: `${origin}${ACCOUNTS_PATH}`,
    port: server.port,
    accountId: main.accountId,
    data: main.data,
    accounts: stores,
    account: (accountId) => {
      const handle = handles.get(accountId);
      if (!handle) throw new Error(`fake-harvest: no account ${accountId} on this server`);
      return handle;
    },
    requests: server.requests,
    get maxInFlight() {
      return server.maxInFlight;
    },
    resetLog: () => server.resetLog(),
    create: main.create,
    update: main.update,
    remove: main.remove,
    onRequest: (hook) => server.onRequest(hook),
    faults: server.faults,
    expireAccessTokens: () => server.expireAccessTokens(),
    close: () => (closing ??= shutdown(server)),
  };
}

function listen(srv: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      srv.off('error', reject);
      resolve();
    });
  });
}

/** Closes the listener and every socket, keep-alive ones included, so the process can exit. */
function shutdown(server: FakeHarvestServer): Promise<void> {
  server.cancelTimers();
  return new Promise((resolve) => {
    server.http.close(() => resolve());
    server.http.closeAllConnections();
  });
}
