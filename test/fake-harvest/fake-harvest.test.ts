// Checks the fake Harvest itself, over real HTTP: if the fake drifts from Harvest, every
// other test proves the wrong thing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { generateAccount, startFakeHarvest, TIME_ENTRY_ID_FLOOR, type FakeHarvest, type Rec } from './index';
import { projectAssignmentsFor, refId } from './store';
import { DAY_MS, startOfUtcDay } from './util';

const FIXTURES = process.env.HARVEST_FIXTURES ?? '/work/shared/fixtures/harvest-recorded.jsonl';
const UA = 'harvest-sync-tests (tests@example.com)';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

type Json = Record<string, unknown>;

function headersFor(fake: FakeHarvest, token = 'test-pat'): Record<string, string> {
  return { Authorization: `Bearer ${token}`, 'Harvest-Account-Id': String(fake.data.accountId), 'User-Agent': UA };
}

/** GET a path under the server (or an absolute link) with Harvest's required headers. */
async function get(fake: FakeHarvest, pathOrUrl: string, headers: Record<string, string> = headersFor(fake)): Promise<Response> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${fake.baseUrl.replace(/\/v2$/, '')}${pathOrUrl}`;
  return fetch(url, { headers });
}

async function getJson(fake: FakeHarvest, pathOrUrl: string, headers?: Record<string, string>): Promise<Json> {
  const res = await get(fake, pathOrUrl, headers);
  assert.equal(res.status, 200, `${pathOrUrl} → ${res.status}`);
  return (await res.json()) as Json;
}

/** Follows links.next until null, as Harvest advises; returns every page. */
async function walk(fake: FakeHarvest, firstPath: string): Promise<Json[]> {
  const pages: Json[] = [];
  let next: string | null = firstPath;
  while (next) {
    const page = await getJson(fake, next);
    pages.push(page);
    next = (page.links as { next: string | null }).next;
  }
  return pages;
}

function ids(pages: Json[], key: string): number[] {
  return pages.flatMap((p) => (p[key] as Rec[]).map((r) => r.id));
}

/** Raw HTTP GET (fetch always adds a User-Agent; this one does not). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

// ---------------------------------------------------------------------------

describe('generateAccount', () => {
  const data = generateAccount({ seed: 11, timeEntries: 4000, now: NOW });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateAccount({ seed: 11, timeEntries: 4000, now: NOW });
    assert.equal(JSON.stringify(again), JSON.stringify(data));
    const other = generateAccount({ seed: 12, timeEntries: 4000, now: NOW });
    assert.notEqual(JSON.stringify(other.timeEntries.slice(0, 50)), JSON.stringify(data.timeEntries.slice(0, 50)));
  });

  it('uses 64-bit time entry ids and realistic 7–9 digit ids elsewhere', () => {
    for (const e of data.timeEntries) assert.ok(e.id > 2 ** 31 && e.id >= TIME_ENTRY_ID_FLOOR && Number.isSafeInteger(e.id));
    for (const kind of ['clients', 'users', 'projects', 'tasks', 'taskAssignments', 'userAssignments'] as const) {
      for (const r of data[kind]) assert.match(String(r.id), /^[1-9]\d{6,8}$/, `${kind} id ${r.id}`);
    }
    assert.equal(new Set(data.timeEntries.map((e) => e.id)).size, data.timeEntries.length);
  });

  it('stamps every record in the past (≥ 1 day before generation) with updated_at ≥ created_at', () => {
    const latest = NOW - DAY_MS;
    for (const kind of ['clients', 'users', 'projects', 'tasks', 'taskAssignments', 'userAssignments', 'timeEntries'] as const) {
      for (const r of data[kind]) {
        assert.match(r.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        assert.match(r.updated_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        assert.ok(r.updated_at >= r.created_at, `${kind} ${r.id}`);
        assert.ok(Date.parse(r.updated_at) <= latest, `${kind} ${r.id} updated ${r.updated_at}`);
      }
    }
    // Without a pinned `now` the same holds against the real clock.
    const live = generateAccount({ timeEntries: 200 });
    const bound = startOfUtcDay(Date.now()) - DAY_MS;
    for (const e of live.timeEntries) assert.ok(Date.parse(e.updated_at) <= bound);
  });

  it('keeps every time entry consistent with users, projects, clients, tasks and assignments', () => {
    const byId = (list: Rec[]) => new Map(list.map((r) => [r.id, r]));
    const [users, projects, clients, tasks] = [byId(data.users), byId(data.projects), byId(data.clients), byId(data.tasks)];
    const uas = byId(data.userAssignments);
    const tas = byId(data.taskAssignments);
    for (const e of data.timeEntries) {
      const project = projects.get(refId(e, 'project')!)!;
      assert.ok(users.has(refId(e, 'user')!) && project && tasks.has(refId(e, 'task')!));
      assert.ok(clients.has(refId(e, 'client')!) && refId(project, 'client') === refId(e, 'client'));
      const ua = uas.get(refId(e, 'user_assignment')!)!;
      assert.equal(refId(ua, 'project'), project.id);
      assert.equal(refId(ua, 'user'), refId(e, 'user'));
      const ta = tas.get(refId(e, 'task_assignment')!)!;
      assert.equal(refId(ta, 'project'), project.id);
      assert.equal(refId(ta, 'task'), refId(e, 'task'));
      assert.ok(String(e.spent_date) >= '2024-01-01' && String(e.spent_date) <= '2025-12-31');
      assert.equal(typeof e.hours, 'number');
      assert.equal(Math.round((e.hours as number) * 100) / 100, e.hours);
    }
  });

  it('has realistic variety', () => {
    const te = data.timeEntries;
    const share = (pred: (e: Rec) => boolean) => te.filter(pred).length / te.length;
    assert.ok(share((e) => e.invoice !== null) > 0.05 && share((e) => e.invoice === null) > 0.3);
    assert.ok(share((e) => e.external_reference === null) > 0.9);
    assert.ok(share((e) => typeof e.started_time === 'string' && /^\d{1,2}:\d{2}[ap]m$/.test(e.started_time)) > 0.1);
    assert.ok(te.some((e) => e.is_running === true && e.ended_time === null && typeof e.timer_started_at === 'string'));
    assert.ok(data.users.some((u) => u.is_active === false) && data.projects.some((p) => p.is_active === false));
    assert.ok(data.users.every((u) => [144000, 126000, 108000, 72000].includes(u.weekly_capacity as number)));
  });

  it('matches the recorded Harvest field sets and shapes', { skip: !fs.existsSync(FIXTURES) && `no fixtures at ${FIXTURES}` }, () => {
    const recorded = new Map<string, Json[]>();
    for (const line of fs.readFileSync(FIXTURES, 'utf8').split('\n').filter(Boolean)) {
      const { stream, data: rec } = JSON.parse(line) as { stream: string; data: Json };
      delete rec.parent_id; // added by the recorder, not a Harvest field
      recorded.set(stream, [...(recorded.get(stream) ?? []), rec]);
    }
    const me = data.meUserId;
    const generated: Record<string, unknown[]> = {
      clients: data.clients,
      users: data.users,
      projects: data.projects,
      tasks: data.tasks,
      task_assignments: data.taskAssignments,
      user_assignments: data.userAssignments,
      time_entries: data.timeEntries.slice(0, 500),
      project_assignments: projectAssignmentsFor(data, me)!,
      company: [data.company],
    };
    for (const [stream, records] of Object.entries(generated)) {
      const exemplar = merge(recorded.get(stream)!);
      assert.ok(records.length > 0, stream);
      for (const r of records) assertSameShape(r, exemplar, stream);
    }
  });

  it('generates 200k time entries quickly', () => {
    const started = process.hrtime.bigint();
    const big = generateAccount({ timeEntries: 200_000 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`# generateAccount 200k time entries: ${ms.toFixed(0)} ms, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
    assert.equal(big.timeEntries.length, 200_000);
    assert.ok(ms < 10_000);
  });
});

/** One example per field, taking non-null nested values from any record. */
function merge(records: Json[]): Json {
  const out: Json = {};
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (out[k] === undefined || out[k] === null || (Array.isArray(out[k]) && (out[k] as unknown[]).length === 0)) out[k] = v;
    }
  }
  return out;
}

/** Same keys in the same order; same JSON types where both sides are non-null; recursive. */
function assertSameShape(actual: unknown, expected: unknown, path: string): void {
  if (actual === null || expected === null) return;
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path} should be an array`);
    if (expected.length > 0) for (const item of actual) assertSameShape(item, expected[0], `${path}[]`);
    return;
  }
  if (typeof expected === 'object') {
    assert.equal(typeof actual, 'object', `${path} should be an object`);
    assert.deepEqual(Object.keys(actual as object), Object.keys(expected as object), `${path} keys`);
    for (const [k, v] of Object.entries(expected as Json)) assertSameShape((actual as Json)[k], v, `${path}.${k}`);
    return;
  }
  assert.equal(typeof actual, typeof expected, `${path} type`);
}

// ---------------------------------------------------------------------------

describe('fake Harvest server', () => {
  let fake: FakeHarvest;

  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 3, timeEntries: 2500 }), rateLimit: false });
  });
  after(() => fake.close());

  it('follows cursor links through middle pages with null page numbers, each record exactly once', async () => {
    const pages = await walk(fake, '/v2/task_assignments?per_page=7&is_active=true');
    assert.ok(pages.length >= 3);
    const [first, ...rest] = pages;
    assert.deepEqual([first!.page, first!.next_page, first!.previous_page], [1, 2, null]);
    assert.match((first!.links as Json).next as string, /^http:\/\/127\.0\.0\.1:\d+\/v2\/task_assignments\?cursor=[\w-]+&per_page=7&is_active=true$/);
    for (const p of rest) assert.deepEqual([p.page, p.next_page, p.previous_page], [null, null, null]);
    const expected = fake.data.taskAssignments.filter((t) => t.is_active === true).map((t) => t.id);
    assert.deepEqual(ids(pages, 'task_assignments'), expected);
    assert.equal(first!.total_entries, expected.length);
    // cursor wins over page
    const second = (first!.links as Json).next as string;
    assert.deepEqual(ids([await getJson(fake, `${second}&page=5`)], 'task_assignments'), ids([pages[1]!], 'task_assignments'));
  });

  it('keeps cursor pages stable while records are created meanwhile', async () => {
    const before = fake.data.clients.map((c) => c.id);
    const stop = fake.onRequest(({ path }) => {
      if (path === '/v2/clients') fake.create('clients', { name: 'Created while paging' });
    });
    try {
      const seen = ids(await walk(fake, '/v2/clients?per_page=2'), 'clients');
      assert.deepEqual(seen.filter((id) => before.includes(id)), before);
      assert.equal(new Set(seen).size, seen.length);
    } finally {
      stop();
    }
  });

  it('pages time entries by number, in spent_date order, with filters kept in links', async () => {
    const pages = await walk(fake, '/v2/time_entries?per_page=500&from=2024-06-01&to=2025-06-30&is_running=false');
    pages.forEach((p, i) => {
      assert.equal(p.page, i + 1);
      assert.equal(p.next_page, i + 1 < pages.length ? i + 2 : null);
      assert.equal(p.previous_page, i === 0 ? null : i);
    });
    assert.match((pages[0]!.links as Json).next as string, /\?page=2&per_page=500&from=2024-06-01&to=2025-06-30&is_running=false$/);
    const got = pages.flatMap((p) => p.time_entries as Rec[]);
    const expected = fake.data.timeEntries.filter(
      (e) => String(e.spent_date) >= '2024-06-01' && String(e.spent_date) <= '2025-06-30' && e.is_running === false,
    );
    assert.deepEqual(got.map((e) => e.id), expected.map((e) => e.id));
    for (let i = 1; i < got.length; i++) assert.ok(String(got[i - 1]!.spent_date) >= String(got[i]!.spent_date));
  });

  it('serves nested and single-object endpoints', async () => {
    const project = fake.data.projects[0]!;
    const tas = await getJson(fake, `/v2/projects/${project.id}/task_assignments`);
    assert.equal(tas.page, 1);
    assert.ok((tas.task_assignments as Rec[]).every((t) => refId(t, 'project') === project.id));
    const user = fake.data.users.find((u) => u.is_active)!;
    const pa = await getJson(fake, `/v2/users/${user.id}/project_assignments`);
    assert.deepEqual(pa.project_assignments, projectAssignmentsFor(fake.data, user.id));
    const me = await getJson(fake, '/v2/users/me');
    assert.equal(me.id, fake.data.meUserId);
    const company = await getJson(fake, '/v2/company');
    assert.equal(company.name, fake.data.company.name);
    assert.equal((await get(fake, '/v2/projects/1/user_assignments')).status, 404);
    assert.deepEqual(await (await get(fake, '/v2/nope')).json(), { code: 404, message: 'Not Found' });
  });

  it('returns records updated at or after updated_since', async () => {
    const entry = fake.data.timeEntries[40]!;
    fake.update('timeEntries', entry.id, { notes: 'edited' });
    const stamp = fake.data.timeEntries.find((e) => e.id === entry.id)!.updated_at;
    const at = await getJson(fake, `/v2/time_entries?updated_since=${stamp}`);
    assert.ok((at.time_entries as Rec[]).some((e) => e.id === entry.id));
    const later = new Date(Date.parse(stamp) + 1000).toISOString();
    const after = await getJson(fake, `/v2/time_entries?updated_since=${encodeURIComponent(later)}`);
    assert.ok(!(after.time_entries as Rec[]).some((e) => e.id === entry.id));
    // A changed task assignment surfaces the user's project assignments too.
    const ta = fake.data.taskAssignments[3]!;
    const ua = fake.data.userAssignments.find((u) => refId(u, 'project') === refId(ta, 'project') && u.is_active === true);
    fake.update('taskAssignments', ta.id, { hourly_rate: 321 });
    if (ua) {
      const pa = await getJson(fake, `/v2/users/${refId(ua, 'user')}/project_assignments?updated_since=${fake.data.taskAssignments.find((t) => t.id === ta.id)!.updated_at}`);
      assert.ok((pa.project_assignments as Rec[]).some((p) => p.id === ua.id));
    }
  });

  it('rejects bad parameters and headers like Harvest', async () => {
    const cases: Array<[string, number]> = [
      ['/v2/time_entries?per_page=2001', 422],
      ['/v2/users?per_page=0', 422],
      ['/v2/users?updated_since=yesterday', 422],
      ['/v2/users?cursor=not-a-cursor', 422],
      ['/v2/time_entries?from=2024-02-30', 422],
    ];
    for (const [path, status] of cases) assert.equal((await get(fake, path)).status, status, path);
    const tooMany = await (await get(fake, '/v2/time_entries?per_page=2001')).json();
    assert.deepEqual(tooMany, { code: 422, message: 'per_page must be between 1 and 2000' });

    const noUa = { ...headersFor(fake) } as Record<string, string>;
    delete noUa['User-Agent'];
    const res = await rawGet(`${fake.baseUrl}/users`, noUa);
    assert.equal(res.status, 400);
    assert.match((JSON.parse(res.body) as { message: string }).message, /User-Agent/);

    const bad = await get(fake, '/v2/users', headersFor(fake, 'wrong-token'));
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as Json).error, 'invalid_token');
    const wrongAccount = await get(fake, '/v2/users', { ...headersFor(fake), 'Harvest-Account-Id': '1' });
    assert.equal(wrongAccount.status, 403);
  });

  it('logs every request and runs hooks with a running count', async () => {
    fake.resetLog();
    const seen: number[] = [];
    const stop = fake.onRequest(({ n }) => void seen.push(n));
    await get(fake, '/v2/tasks?per_page=1&is_active=true');
    await get(fake, '/v2/nope');
    stop();
    await get(fake, '/v2/tasks');
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(
      fake.requests.map((r) => [r.method, r.path, r.status]),
      [['GET', '/v2/tasks', 200], ['GET', '/v2/nope', 404], ['GET', '/v2/tasks', 200]],
    );
    assert.deepEqual(fake.requests[0]!.query, { per_page: '1', is_active: 'true' });
  });
});

describe('fake Harvest faults', () => {
  let fake: FakeHarvest;

  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 4, timeEntries: 300 }), rateLimit: false });
  });
  after(() => fake.close());

  it('5xx: HTML then JSON bodies', async () => {
    fake.faults.add({ kind: '5xx', count: 2 });
    const a = await get(fake, '/v2/users');
    assert.equal(a.status, 502);
    assert.match(a.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await a.text(), /<html>/);
    const b = await get(fake, '/v2/users');
    assert.equal(b.status, 503);
    assert.equal(((await b.json()) as Json).code, 503);
    assert.equal((await get(fake, '/v2/users')).status, 200);
  });

  it('reset: the connection drops without an answer', async () => {
    fake.faults.add({ kind: 'reset', count: 1 });
    await assert.rejects(get(fake, '/v2/users'));
    assert.equal(fake.requests.at(-1)!.status, 0);
    assert.equal((await get(fake, '/v2/users')).status, 200);
  });

  it('slow: answers after the delay', async () => {
    fake.faults.add({ kind: 'slow', count: 1, delayMs: 300 });
    const started = Date.now();
    assert.equal((await get(fake, '/v2/users')).status, 200);
    assert.ok(Date.now() - started >= 280);
  });

  it('truncate: 200 with half a JSON body and a matching Content-Length', async () => {
    fake.faults.add({ kind: 'truncate', count: 1 });
    const res = await get(fake, '/v2/time_entries');
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(Number(res.headers.get('content-length')), bytes.length);
    assert.throws(() => JSON.parse(bytes.toString('utf8')));
  });

  it('429 with Retry-After, and arbitrary statuses, only on matching paths', async () => {
    fake.faults.add({ kind: '429', count: 1, retryAfter: 7, pathPrefix: '/v2/time_entries' });
    fake.faults.add({ kind: 'status', count: 1, status: 500, message: 'boom', pathPrefix: '/v2/projects' });
    assert.equal((await get(fake, '/v2/users')).status, 200);
    const limited = await get(fake, '/v2/time_entries');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    const failed = await get(fake, '/v2/projects');
    assert.deepEqual([failed.status, await failed.json()], [500, { code: 500, message: 'boom' }]);
    assert.equal(fake.faults.pending(), 0);
  });

  it('forbid: permanent 403 until clear()', async () => {
    fake.faults.forbid('/v2/user_assignments', 'Only administrators can list user assignments');
    for (let i = 0; i < 2; i++) {
      const res = await get(fake, '/v2/user_assignments');
      assert.deepEqual([res.status, await res.json()], [403, { code: 403, message: 'Only administrators can list user assignments' }]);
    }
    fake.faults.clear();
    assert.equal((await get(fake, '/v2/user_assignments')).status, 200);
  });
});

describe('fake Harvest auth and rate limit', () => {
  let fake: FakeHarvest;
  const oauth = { clientId: 'cid', clientSecret: 'secret', refreshToken: 'refresh-1', rotateRefreshToken: true, accessTtlSeconds: 600 };

  before(async () => {
    fake = await startFakeHarvest({ data: generateAccount({ seed: 5, timeEntries: 100 }), rateLimit: { limit: 3, windowMs: 1500 }, oauth });
  });
  after(() => fake.close());

  async function refresh(refreshToken: string, secret = oauth.clientSecret): Promise<{ status: number; body: Json }> {
    const res = await fetch(fake.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': UA },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: oauth.clientId, client_secret: secret, refresh_token: refreshToken }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  }

  it('answers 429 with Retry-After once a token is over its window', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const res = await get(fake, '/v2/tasks');
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        assert.equal(((await res.json()) as Json).code, 429);
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.ok(Number.isInteger(Number(retryAfter)) && Number(retryAfter) >= 1 && Number(retryAfter) <= 2);
  });

  it('refreshes OAuth tokens, rotates the refresh token and expires access tokens', async () => {
    assert.equal((await refresh('refresh-1', 'wrong')).status, 401);
    assert.equal((await refresh('bogus')).body.error, 'invalid_grant');
    const first = await refresh('refresh-1');
    assert.equal(first.status, 200);
    assert.equal(first.body.token_type, 'bearer');
    assert.equal(first.body.expires_in, 600);
    const access = first.body.access_token as string;
    const rotated = first.body.refresh_token as string;
    assert.notEqual(rotated, 'refresh-1');
    assert.equal((await refresh('refresh-1')).status, 400, 'the old refresh token stops working');

    // Its own token has a fresh rate-limit window.
    assert.equal((await get(fake, '/v2/users/me', headersFor(fake, access))).status, 200);
    const accounts = (await (await fetch(fake.accountsUrl, { headers: { Authorization: `Bearer ${access}`, 'User-Agent': UA } })).json()) as Json;
    assert.deepEqual(accounts.accounts, [{ id: fake.data.accountId, name: fake.data.company.name, product: 'harvest' }]);

    fake.expireAccessTokens();
    assert.equal((await get(fake, '/v2/users/me', headersFor(fake, access))).status, 401);
    const second = await refresh(rotated);
    assert.equal(second.status, 200);
    assert.equal((await get(fake, '/v2/users/me', headersFor(fake, second.body.access_token as string))).status, 200);
  });
});
