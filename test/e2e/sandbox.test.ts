// Checks the fake Harvest itself, over real HTTP: if the fake drifts from Harvest, every
// other test proves the wrong thing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  generateAccount,
  presentRecord,
  reportRows,
  RESOURCE_KINDS,
  startFakeHarvest,
  TIME_ENTRY_ID_FLOOR,
  type FakeAccountData,
  type FakeHarvest,
  type Rec,
  type ReportName,
  type ResourceKind,
} from '../../fake-harvest/src';
import { projectAssignmentsFor, refId, teammatesFor } from '../../fake-harvest/src/store';
import { DAY_MS, startOfUtcDay } from '../../fake-harvest/src/util';

const FIXTURES = process.env.HARVEST_FIXTURES ?? path.join(__dirname, '..', '..', 'fake-harvest', 'fixtures', 'harvest-recorded.jsonl');
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

  it('uses 64-bit time entry ids and realistic 7–9 digit ids elsewhere (roles: 6, as recorded)', () => {
    for (const e of data.timeEntries) assert.ok(e.id > 2 ** 31 && e.id >= TIME_ENTRY_ID_FLOOR && Number.isSafeInteger(e.id));
    for (const kind of RESOURCE_KINDS) {
      if (kind === 'timeEntries') continue;
      assert.ok(data[kind].length > 0, kind);
      for (const r of data[kind]) assert.match(String(r.id), kind === 'roles' ? /^[1-9]\d{5,8}$/ : /^[1-9]\d{6,8}$/, `${kind} id ${r.id}`);
      assert.equal(new Set(data[kind].map((r) => r.id)).size, data[kind].length, `${kind} ids are unique`);
    }
    const lineIds = [...data.invoices, ...data.estimates].flatMap((r) => (r.line_items as Rec[]).map((li) => li.id));
    assert.equal(new Set(lineIds).size, lineIds.length, 'line item ids are unique');
    assert.equal(new Set(data.timeEntries.map((e) => e.id)).size, data.timeEntries.length);
  });

  it('has the documented default counts', () => {
    const d = generateAccount({ seed: 2, timeEntries: 300, now: NOW });
    assert.equal(d.contacts.length, Math.round(d.clients.length * 1.5));
    assert.deepEqual(
      [d.roles, d.expenseCategories, d.invoiceItemCategories, d.estimateItemCategories, d.expenses, d.estimates].map((l) => l.length),
      [3, 5, 3, 3, 300, 20],
    );
    assert.ok(d.invoices.length >= 60, `${d.invoices.length} invoices`);
    const none = generateAccount({ seed: 2, timeEntries: 0, now: NOW });
    assert.equal(none.invoices.length, 60, 'without billed time, exactly the requested count');
    const few = generateAccount({ seed: 2, timeEntries: 0, expenses: 0, invoices: 0, estimates: 0, contacts: 0, roles: 0, now: NOW });
    assert.deepEqual([few.invoices, few.expenses, few.estimates, few.contacts, few.roles, few.invoiceMessages].map((l) => l.length), [0, 0, 0, 0, 0, 0]);
  });

  it('stamps every record in the past (≥ 1 day before generation) with updated_at ≥ created_at', () => {
    const latest = NOW - DAY_MS;
    for (const kind of RESOURCE_KINDS) {
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
    for (const kind of RESOURCE_KINDS) for (const r of live[kind]) assert.ok(Date.parse(r.updated_at) <= bound, `${kind} ${r.id}`);
    // Dated events of invoices, estimates and payments are in the past too.
    const stamped = [...live.invoices, ...live.estimates, ...live.invoicePayments].flatMap((r) =>
      ['sent_at', 'paid_at', 'closed_at', 'accepted_at', 'declined_at'].map((f) => r[f]).filter((v): v is string => typeof v === 'string'),
    );
    for (const s of stamped) assert.ok(Date.parse(s) <= bound, s);
  });

  it('keeps billing records consistent with clients, projects, users and each other', () => {
    const byId = (list: Rec[]) => new Map(list.map((r) => [r.id, r]));
    const [clients, projects, users, categories, invoices, estimates] = [
      byId(data.clients), byId(data.projects), byId(data.users), byId(data.expenseCategories), byId(data.invoices), byId(data.estimates),
    ];
    for (const c of data.contacts) assert.ok(clients.has(refId(c, 'client')!));
    const perClient = new Set(data.contacts.map((c) => refId(c, 'client')));
    assert.equal(perClient.size, data.clients.length, 'every client has a contact');
    // Every invoice a time entry or expense carries exists, with the same number.
    for (const r of [...data.timeEntries, ...data.expenses]) {
      const ref = r.invoice as { id: number; number: string } | null;
      if (ref) assert.equal(invoices.get(ref.id)?.number, ref.number, `invoice ${ref.id}`);
    }
    for (const x of data.expenses) {
      const project = projects.get(refId(x, 'project')!)!;
      assert.ok(users.has(refId(x, 'user')!) && categories.has(refId(x, 'expense_category')!));
      assert.equal(refId(project, 'client'), refId(x, 'client'));
      assert.equal(x.is_billed, x.invoice !== null);
      assert.equal(Math.round((x.total_cost as number) * 100) / 100, x.total_cost);
    }
    assert.ok(data.expenses.some((x) => x.receipt === null) && data.expenses.some((x) => x.receipt !== null));
    assert.ok(data.expenses.some((x) => x.is_billed === true));
    // Invoice numbers and ids ascend with issue date.
    const byIssue = [...data.invoices].sort((a, b) => a.id - b.id);
    byIssue.forEach((inv, i) => assert.equal(inv.number, String(i + 1)));
    for (let i = 1; i < byIssue.length; i++) assert.ok(byIssue[i - 1]!.created_at <= byIssue[i]!.created_at);
    const states = new Set(data.invoices.map((i) => i.state));
    for (const s of ['open', 'paid']) assert.ok(states.has(s), s);
    for (const inv of data.invoices) {
      const lines = inv.line_items as Rec[];
      assert.ok(lines.length >= 1 && lines.length <= 4, `${inv.id} has ${lines.length} lines`);
      assert.ok(clients.has(refId(inv, 'client')!) && users.has(refId(inv, 'creator')!));
      const paid = data.invoicePayments.filter((p) => p.invoice_id === inv.id);
      const sent = data.invoiceMessages.filter((m) => m.invoice_id === inv.id);
      assert.ok(paid.length <= 2 && sent.length <= 2);
      const paidCents = paid.reduce((s, p) => s + Math.round((p.amount as number) * 100), 0);
      assert.equal(Math.round((inv.due_amount as number) * 100), Math.round((inv.amount as number) * 100) - paidCents);
      if (inv.state === 'paid') assert.equal(inv.due_amount, 0);
      if (inv.state === 'draft') assert.deepEqual([paid.length, sent.length, inv.sent_at], [0, 0, null]);
    }
    for (const m of data.invoiceMessages) assert.ok(invoices.has(m.invoice_id as number));
    for (const m of data.estimateMessages) assert.ok(estimates.has(m.estimate_id as number));
    for (const e of data.estimates) assert.ok((e.line_items as Rec[]).length >= 1 && (e.line_items as Rec[]).length <= 4);
    // Rates: oldest first per user; the current one is the user's rate.
    for (const [kind, field] of [['billableRates', 'default_hourly_rate'], ['costRates', 'cost_rate']] as const) {
      for (const user of data.users) {
        const rates = data[kind].filter((r) => r.user_id === user.id);
        assert.ok(rates.length <= 2);
        if (user[field] === null) assert.equal(rates.length, 0);
        else assert.equal(rates.at(-1)!.amount, user[field]);
      }
    }
    // Roles and users' roles tell the same story.
    for (const role of data.roles) {
      const holders = data.users.filter((u) => (u.roles as string[]).includes(role.name as string)).map((u) => u.id).sort((a, b) => a - b);
      assert.deepEqual(role.user_ids, holders);
    }
    for (const u of data.users) for (const r of u.roles as string[]) assert.ok(data.roles.some((role) => role.name === r));
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
      // The recorder also stamped report rows with its request window; Harvest's report
      // results have no from/to (and project_budget, which has no window, has none).
      if ('total_hours' in rec || 'total_amount' in rec) {
        delete rec.from;
        delete rec.to;
      }
      recorded.set(stream, [...(recorded.get(stream) ?? []), rec]);
    }
    const me = data.meUserId;
    const served = (kind: ResourceKind) => data[kind].map((r) => presentRecord(kind, r));
    const window = { from: '2024-01-01', to: '2024-12-31' };
    const report = (name: ReportName) => reportRows(data, name, { window });
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
      contacts: served('contacts'),
      roles: served('roles'),
      expense_categories: served('expenseCategories'),
      invoice_item_categories: served('invoiceItemCategories'),
      estimate_item_categories: served('estimateItemCategories'),
      expenses: served('expenses'),
      invoices: served('invoices'),
      invoice_messages: served('invoiceMessages'),
      invoice_payments: served('invoicePayments'),
      estimates: served('estimates'),
      estimate_messages: served('estimateMessages'),
      billable_rates: served('billableRates'),
      cost_rates: served('costRates'),
      time_clients: report('time/clients'),
      time_projects: report('time/projects'),
      time_tasks: report('time/tasks'),
      time_team: report('time/team'),
      expenses_clients: report('expenses/clients'),
      expenses_projects: report('expenses/projects'),
      expenses_categories: report('expenses/categories'),
      expenses_team: report('expenses/team'),
      uninvoiced: report('uninvoiced'),
      project_budget: reportRows(data, 'project_budget'),
    };
    for (const [stream, records] of Object.entries(generated)) {
      const exemplar = merge(recorded.get(stream)!);
      assert.ok(records.length > 0, stream);
      for (const r of records) assertSameShape(r, exemplar, stream);
    }
    // Nothing served keeps the store's hidden parent field.
    for (const m of generated.invoice_messages!) assert.ok(!('invoice_id' in (m as object)));
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

// ---------------------------------------------------------------------------

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Every record of a list, following links.next with the given headers. */
async function walkAll(fake: FakeHarvest, firstPath: string, key: string, headers?: Record<string, string>): Promise<Json[]> {
  const out: Json[] = [];
  let next: string | null = firstPath;
  while (next) {
    const page = await getJson(fake, next, headers);
    out.push(...(page[key] as Json[]));
    next = (page.links as { next: string | null }).next;
  }
  return out;
}

describe('fake Harvest billing endpoints', () => {
  let fake: FakeHarvest;
  let data: FakeAccountData;

  before(async () => {
    data = generateAccount({ seed: 7, timeEntries: 1500, now: NOW });
    fake = await startFakeHarvest({ data, rateLimit: false });
  });
  after(() => fake.close());

  it('serves every new list under its data key, in API order, through cursor or page links', async () => {
    const cases: Array<[path: string, key: string, kind: ResourceKind, paging: 'cursor' | 'page']> = [
      ['/v2/contacts', 'contacts', 'contacts', 'cursor'],
      ['/v2/roles', 'roles', 'roles', 'cursor'],
      ['/v2/expense_categories', 'expense_categories', 'expenseCategories', 'cursor'],
      ['/v2/invoice_item_categories', 'invoice_item_categories', 'invoiceItemCategories', 'cursor'],
      ['/v2/estimate_item_categories', 'estimate_item_categories', 'estimateItemCategories', 'cursor'],
      ['/v2/expenses', 'expenses', 'expenses', 'page'],
      ['/v2/invoices', 'invoices', 'invoices', 'page'],
      ['/v2/estimates', 'estimates', 'estimates', 'page'],
    ];
    for (const [path, key, kind, paging] of cases) {
      const pages = await walk(fake, `${path}?per_page=2`);
      assert.deepEqual(ids(pages, key), data[kind].map((r) => r.id), path);
      assert.ok(pages.length >= 2, path);
      assert.equal(pages[1]!.page, paging === 'cursor' ? null : 2, `${path} is ${paging}-paged`);
    }
    // Expenses by spent_date, invoices and estimates by issue date, newest first.
    const expenses = await walkAll(fake, '/v2/expenses', 'expenses');
    for (let i = 1; i < expenses.length; i++) assert.ok(String(expenses[i - 1]!.spent_date) >= String(expenses[i]!.spent_date));
    const invoices = await walkAll(fake, '/v2/invoices', 'invoices');
    for (let i = 1; i < invoices.length; i++) assert.ok(String(invoices[i - 1]!.issue_date) >= String(invoices[i]!.issue_date));
    assert.ok((invoices[0]!.line_items as Rec[]).every((li) => typeof li.id === 'number'));
  });

  it('serves child lists per parent without the hidden parent field, and 404s an unknown parent', async () => {
    const invoice = data.invoices.find((i) => data.invoicePayments.filter((p) => p.invoice_id === i.id).length === 2) ?? data.invoices[0]!;
    const cases: Array<[path: string, key: string, kind: ResourceKind, field: string, parent: number]> = [
      [`/v2/invoices/${invoice.id}/messages`, 'invoice_messages', 'invoiceMessages', 'invoice_id', invoice.id],
      [`/v2/invoices/${invoice.id}/payments`, 'invoice_payments', 'invoicePayments', 'invoice_id', invoice.id],
    ];
    const estimate = data.estimates.find((e) => e.state !== 'draft')!;
    cases.push([`/v2/estimates/${estimate.id}/messages`, 'estimate_messages', 'estimateMessages', 'estimate_id', estimate.id]);
    const rated = data.users.find((u) => data.billableRates.filter((r) => r.user_id === u.id).length === 2)!;
    cases.push([`/v2/users/${rated.id}/billable_rates`, 'billable_rates', 'billableRates', 'user_id', rated.id]);
    cases.push([`/v2/users/${rated.id}/cost_rates`, 'cost_rates', 'costRates', 'user_id', rated.id]);
    for (const [path, key, kind, field, parent] of cases) {
      const got = await walkAll(fake, `${path}?per_page=1`, key);
      const want = data[kind].filter((r) => r[field] === parent).map((r) => presentRecord(kind, r));
      assert.ok(want.length > 0, path);
      assert.deepEqual(got, JSON.parse(JSON.stringify(want)), path);
      for (const r of got) assert.ok(!(field in r), `${path} hides ${field}`);
    }
    // Rates: oldest first (Harvest sorts them by start_date).
    const rates = await walkAll(fake, `/v2/users/${rated.id}/billable_rates`, 'billable_rates');
    assert.deepEqual([rates[0]!.start_date, rates[1]!.end_date], [null, null]);
    for (const path of ['/v2/invoices/1/messages', '/v2/invoices/1/payments', '/v2/estimates/1/messages', '/v2/users/1/cost_rates']) {
      assert.equal((await get(fake, path)).status, 404, path);
    }
  });

  it('applies each list its filters (and ignores updated_since on roles)', async () => {
    const client = refId(data.contacts[0]!, 'client')!;
    const contacts = await walkAll(fake, `/v2/contacts?client_id=${client}`, 'contacts');
    assert.deepEqual(contacts.map((c) => c.id), data.contacts.filter((c) => refId(c, 'client') === client).map((c) => c.id));
    const future = encodeURIComponent(new Date(NOW + DAY_MS).toISOString());
    assert.equal((await walkAll(fake, `/v2/roles?updated_since=${future}`, 'roles')).length, data.roles.length);
    assert.equal((await walkAll(fake, `/v2/contacts?updated_since=${future}`, 'contacts')).length, 0);

    const user = refId(data.expenses[0]!, 'user')!;
    const query = `user_id=${user}&is_billed=false&from=2024-03-01&to=2025-02-28`;
    const expenses = await walkAll(fake, `/v2/expenses?${query}&per_page=3`, 'expenses');
    const want = data.expenses.filter(
      (x) => refId(x, 'user') === user && x.is_billed === false && String(x.spent_date) >= '2024-03-01' && String(x.spent_date) <= '2025-02-28',
    );
    assert.deepEqual(expenses.map((x) => x.id), want.map((x) => x.id));

    // Invoices: from/to on issue_date; project_id matches a line item's project; state.
    const inv = data.invoices[5]!;
    const project = refId((inv.line_items as Rec[])[0]!, 'project')!;
    const byProject = await walkAll(fake, `/v2/invoices?project_id=${project}&state=${String(inv.state)}`, 'invoices');
    assert.ok(byProject.some((i) => i.id === inv.id));
    for (const i of byProject) {
      assert.equal(i.state, inv.state);
      assert.ok((i.line_items as Rec[]).some((li) => refId(li, 'project') === project));
    }
    const day = String(inv.issue_date);
    const sameDay = await walkAll(fake, `/v2/invoices?from=${day}&to=${day}&client_id=${refId(inv, 'client')}`, 'invoices');
    assert.deepEqual(sameDay.map((i) => i.id), data.invoices.filter((i) => i.issue_date === day && refId(i, 'client') === refId(inv, 'client')).map((i) => i.id));
    const accepted = await walkAll(fake, '/v2/estimates?state=accepted', 'estimates');
    assert.deepEqual(accepted.map((e) => e.id), data.estimates.filter((e) => e.state === 'accepted').map((e) => e.id));
    assert.equal((await get(fake, '/v2/invoices?state=sent')).status, 422);
    assert.equal((await get(fake, '/v2/estimates?state=paid')).status, 422);
  });

  it('serves teammates of a manager, and 422 for a user who is not one', async () => {
    const manager = data.users.find((u) => (u.access_roles as string[]).includes('manager') && (teammatesFor(data, u.id) ?? []).length > 0);
    if (manager) {
      const mates = await walkAll(fake, `/v2/users/${manager.id}/teammates?per_page=1`, 'teammates');
      assert.deepEqual(mates.map((m) => m.id), teammatesFor(data, manager.id)!.map((u) => u.id));
      assert.deepEqual(Object.keys(mates[0]!), ['id', 'first_name', 'last_name', 'email']);
    }
    const member = data.users.find((u) => (u.access_roles as string[]).includes('member'))!;
    const res = await get(fake, `/v2/users/${member.id}/teammates`);
    assert.equal(res.status, 422);
  });

  it('creates, updates and removes new kinds; children take their parent in the hidden field', async () => {
    const invoice = data.invoices[0]!;
    const before = (await walkAll(fake, `/v2/invoices/${invoice.id}/payments`, 'invoice_payments')).length;
    const paymentId = fake.create('invoicePayments', { invoice_id: invoice.id, amount: 12.5, notes: 'test payment' });
    const payments = await walkAll(fake, `/v2/invoices/${invoice.id}/payments`, 'invoice_payments');
    assert.equal(payments.length, before + 1);
    assert.equal(payments[0]!.id, paymentId, 'newest first');
    assert.ok(!('invoice_id' in payments[0]!));
    fake.update('invoicePayments', paymentId, { notes: 'edited' });
    const stamp = data.invoicePayments.find((p) => p.id === paymentId)!.updated_at;
    const since = await walkAll(fake, `/v2/invoices/${invoice.id}/payments?updated_since=${stamp}`, 'invoice_payments');
    assert.deepEqual(since.map((p) => [p.id, p.notes]), [[paymentId, 'edited']]);

    const copied = fake.create('invoices', { client: invoice.client });
    const created = data.invoices.find((i) => i.id === copied)!;
    const oldLineIds = new Set(data.invoices.filter((i) => i.id !== copied).flatMap((i) => (i.line_items as Rec[]).map((li) => li.id)));
    assert.ok((created.line_items as Rec[]).every((li) => !oldLineIds.has(li.id)), 'copied line items get fresh ids');
    assert.equal(created.issue_date, new Date().toISOString().slice(0, 10));
    const messages = data.invoiceMessages.filter((m) => m.invoice_id === invoice.id).length;
    fake.remove('invoices', invoice.id);
    assert.equal((await get(fake, `/v2/invoices/${invoice.id}`)).status, 404);
    assert.equal((await get(fake, `/v2/invoices/${invoice.id}/payments`)).status, 404);
    assert.equal(data.invoicePayments.filter((p) => p.invoice_id === invoice.id).length, 0, 'payments went with it');
    assert.ok(messages === 0 || data.invoiceMessages.every((m) => m.invoice_id !== invoice.id));

    const expenseId = fake.create('expenses', { notes: 'new expense' });
    const latest = await getJson(fake, '/v2/expenses?per_page=1');
    assert.equal((latest.expenses as Rec[])[0]!.id, expenseId, 'spent today: first in spent_date order');
    assert.equal((await getJson(fake, `/v2/expenses/${expenseId}`)).notes, 'new expense');
  });
});

// ---------------------------------------------------------------------------

describe('fake Harvest reports', () => {
  let fake: FakeHarvest;
  let data: FakeAccountData;
  const from = '20240301';
  const to = '20250228';
  const inWindow = (r: Rec) => String(r.spent_date) >= '2024-03-01' && String(r.spent_date) <= '2025-02-28';

  before(async () => {
    data = generateAccount({ seed: 8, timeEntries: 2000, now: NOW });
    fake = await startFakeHarvest({ data, rateLimit: false });
  });
  after(() => fake.close());

  async function rows(report: string, query = `from=${from}&to=${to}`): Promise<Json[]> {
    return walkAll(fake, `/v2/reports/${report}?${query}&per_page=5`, 'results');
  }

  /** Independent sums over the store: key → [total hours, billable hours, billable amount]. */
  function timeSums(key: (e: Rec) => string, includeFixedFee = true): Map<string, number[]> {
    const fixed = new Set(data.projects.filter((p) => p.is_fixed_fee === true).map((p) => p.id));
    const out = new Map<string, number[]>();
    for (const e of data.timeEntries) {
      const isFixed = fixed.has(refId(e, 'project')!);
      if (!inWindow(e) || (isFixed && !includeFixedFee)) continue;
      const s = out.get(key(e)) ?? [0, 0, 0];
      out.set(key(e), s);
      s[0]! += e.hours as number;
      if (e.billable === true) {
        s[1]! += e.hours as number;
        if (!isFixed) s[2]! += (e.hours as number) * (e.billable_rate as number);
      }
    }
    return out;
  }

  const currencyOf = (r: Rec) => String(data.clients.find((c) => c.id === refId(r, 'client'))!.currency);

  it('time reports equal sums over the store, one row per subject and currency', async () => {
    const cases: Array<[string, (e: Rec) => string, (row: Json) => string]> = [
      ['clients', (e) => `${refId(e, 'client')}`, (r) => `${r.client_id as number}`],
      ['projects', (e) => `${refId(e, 'project')}`, (r) => `${r.project_id as number}`],
      ['tasks', (e) => `${refId(e, 'task')}|${currencyOf(e)}`, (r) => `${r.task_id as number}|${r.currency as string}`],
      ['team', (e) => `${refId(e, 'user')}|${currencyOf(e)}`, (r) => `${r.user_id as number}|${r.currency as string}`],
    ];
    for (const [by, entryKey, rowKey] of cases) {
      const want = timeSums(entryKey);
      const got = await rows(`time/${by}`);
      assert.equal(got.length, want.size, by);
      for (const row of got) {
        const s = want.get(rowKey(row));
        assert.ok(s, `${by} ${rowKey(row)}`);
        assert.deepEqual([row.total_hours, row.billable_hours, row.billable_amount], s.map(round2), `${by} ${rowKey(row)}`);
      }
    }
    // Sorted by name; projects named "[CODE] Name".
    const projects = await rows('time/projects');
    const names = projects.map((r) => String(r.project_name).toLowerCase());
    assert.deepEqual(names, [...names].sort());
    const coded = data.projects.find((p) => p.code && projects.some((r) => r.project_id === p.id))!;
    assert.equal(projects.find((r) => r.project_id === coded.id)!.project_name, `[${String(coded.code)}] ${String(coded.name)}`);
    // include_fixed_fee=false leaves fixed-fee projects out.
    const noFixed = await rows('time/clients', `from=${from}&to=${to}&include_fixed_fee=false`);
    const wantNoFixed = timeSums((e) => `${refId(e, 'client')}`, false);
    for (const row of noFixed) assert.equal(row.total_hours, round2(wantNoFixed.get(`${row.client_id as number}`)![0]!));
  });

  it('expense reports equal sums over the store', async () => {
    const cases: Array<[string, (x: Rec) => string, (row: Json) => string]> = [
      ['clients', (x) => `${refId(x, 'client')}`, (r) => `${r.client_id as number}`],
      ['projects', (x) => `${refId(x, 'project')}`, (r) => `${r.project_id as number}`],
      ['categories', (x) => `${refId(x, 'expense_category')}|${currencyOf(x)}`, (r) => `${r.expense_category_id as number}|${r.currency as string}`],
      ['team', (x) => `${refId(x, 'user')}|${currencyOf(x)}`, (r) => `${r.user_id as number}|${r.currency as string}`],
    ];
    for (const [by, key, rowKey] of cases) {
      const want = new Map<string, number[]>();
      for (const x of data.expenses.filter(inWindow)) {
        const s = want.get(key(x)) ?? [0, 0];
        want.set(key(x), s);
        s[0]! += x.total_cost as number;
        if (x.billable === true) s[1]! += x.total_cost as number;
      }
      const got = await rows(`expenses/${by}`);
      assert.equal(got.length, want.size, by);
      for (const row of got) assert.deepEqual([row.total_amount, row.billable_amount], want.get(rowKey(row))!.map(round2), `${by} ${rowKey(row)}`);
    }
  });

  it('uninvoiced and project budget reports follow the store, and change with it', async () => {
    const got = await rows('uninvoiced');
    const billable = data.projects.filter((p) => p.is_billable === true);
    assert.deepEqual(new Set(got.map((r) => r.project_id)), new Set(billable.map((p) => p.id)), 'every billable project, zero rows too');
    const project = billable.find((p) => p.is_fixed_fee !== true && data.timeEntries.some((e) => refId(e, 'project') === p.id && inWindow(e)))!;
    const entries = data.timeEntries.filter((e) => refId(e, 'project') === project.id && inWindow(e));
    const open = entries.filter((e) => e.billable === true && e.is_billed === false);
    const openExpenses = data.expenses
      .filter((x) => refId(x, 'project') === project.id && inWindow(x) && x.billable === true && x.is_billed === false)
      .reduce((s, x) => s + (x.total_cost as number), 0);
    const row = got.find((r) => r.project_id === project.id)!;
    assert.deepEqual(
      [row.total_hours, row.uninvoiced_hours, row.uninvoiced_expenses, row.uninvoiced_amount],
      [
        round2(entries.reduce((s, e) => s + (e.hours as number), 0)),
        round2(open.reduce((s, e) => s + (e.hours as number), 0)),
        round2(openExpenses),
        round2(open.reduce((s, e) => s + (e.hours as number) * (e.billable_rate as number), 0) + openExpenses),
      ],
    );

    const budgets = await walkAll(fake, '/v2/reports/project_budget?is_active=true', 'results');
    const budgeted = data.projects.filter((p) => p.budget_by !== 'none' && p.is_active === true);
    assert.equal(budgets.length, budgeted.length);
    const hoursProject = budgeted.find((p) => p.budget_by === 'project' && p.budget_is_monthly === false)!;
    const spent = round2(data.timeEntries.filter((e) => refId(e, 'project') === hoursProject.id).reduce((s, e) => s + (e.hours as number), 0));
    const b = budgets.find((r) => r.project_id === hoursProject.id)!;
    assert.deepEqual([b.budget, b.budget_spent, b.budget_remaining], [hoursProject.budget, spent, round2((hoursProject.budget as number) - spent)]);

    // The report is computed live: an edit shows at once.
    const entry = entries[0]!;
    fake.update('timeEntries', entry.id, { hours: (entry.hours as number) + 1 });
    const after = (await rows('uninvoiced')).find((r) => r.project_id === project.id)!;
    assert.equal(after.total_hours, round2((row.total_hours as number) + 1));
  });

  it('needs from and to, and refuses windows over 365 days with 400 "Invalid timeframe"', async () => {
    // The recording's 20210101..20220101 windows (365 days apart) were answered: a leap
    // year's 2024-01-01..2024-12-31 is fine, one more day is not.
    assert.equal((await get(fake, '/v2/reports/time/clients?from=20240101&to=20241231')).status, 200);
    assert.equal((await get(fake, '/v2/reports/uninvoiced?from=20210101&to=20220101')).status, 200);
    for (const path of [
      '/v2/reports/time/clients?from=20240101&to=20250101',
      '/v2/reports/expenses/team?from=20240101&to=20250615',
      '/v2/reports/uninvoiced?from=20250301&to=20250201',
    ]) {
      const res = await get(fake, path);
      assert.deepEqual([res.status, await res.json()], [400, { code: 400, message: 'Invalid timeframe' }], path);
    }
    for (const path of ['/v2/reports/time/team', '/v2/reports/time/team?from=20240101', '/v2/reports/uninvoiced?from=2024xx01&to=20240201']) {
      assert.equal((await get(fake, path)).status, 422, path);
    }
    assert.equal((await get(fake, '/v2/reports/project_budget')).status, 200, 'project_budget has no window');
    const page = await getJson(fake, `/v2/reports/time/tasks?from=${from}&to=${to}&per_page=2`);
    assert.deepEqual([page.page, page.next_page, (page.results as Json[]).length], [1, 2, 2]);
    assert.match((page.links as Json).next as string, /\/v2\/reports\/time\/tasks\?page=2&per_page=2&from=20240301&to=20250228$/);
  });
});

describe('fake Harvest reports rate limit', () => {
  it('has its own window (default 100 per 15 min), separate from the general one', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 9, timeEntries: 50, expenses: 10, now: NOW }) });
    try {
      const path = '/v2/reports/time/clients?from=20250101&to=20251231';
      for (let i = 0; i < 100; i++) assert.equal((await get(fake, path)).status, 200, `report request ${i + 1}`);
      const limited = await get(fake, path);
      assert.equal(limited.status, 429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter > 15 && retryAfter <= 900, `Retry-After ${retryAfter}`);
      // 101 report requests used none of the general 100 per 15 s.
      for (let i = 0; i < 100; i++) assert.equal((await get(fake, '/v2/company')).status, 200, `general request ${i + 1}`);
      assert.equal((await get(fake, '/v2/company')).status, 429);
    } finally {
      await fake.close();
    }
  });

  it('is configurable and can be turned off', async () => {
    const fake = await startFakeHarvest({
      data: generateAccount({ seed: 9, timeEntries: 50, expenses: 10, now: NOW }),
      rateLimit: { limit: 2, windowMs: 60_000 },
      reportsRateLimit: { limit: 1, windowMs: 60_000 },
    });
    const off = await startFakeHarvest({ data: generateAccount({ seed: 9, timeEntries: 50, now: NOW }), reportsRateLimit: false });
    try {
      const path = '/v2/reports/project_budget';
      assert.deepEqual([(await get(fake, path)).status, (await get(fake, path)).status], [200, 429]);
      assert.deepEqual([(await get(fake, '/v2/company')).status, (await get(fake, '/v2/company')).status, (await get(fake, '/v2/company')).status], [200, 200, 429]);
      for (let i = 0; i < 110; i++) assert.equal((await get(off, path)).status, 200);
    } finally {
      await fake.close();
      await off.close();
    }
  });
});

// ---------------------------------------------------------------------------

describe('fake Harvest with several accounts', () => {
  let fake: FakeHarvest;
  const a = generateAccount({ seed: 21, timeEntries: 100, now: NOW });
  const b = generateAccount({ seed: 22, timeEntries: 100, now: NOW });
  const as = (data: FakeAccountData) => ({ ...headersFor(fake), 'Harvest-Account-Id': String(data.accountId) });

  before(async () => {
    fake = await startFakeHarvest({ data: a, accounts: [b], rateLimit: false });
  });
  after(() => fake.close());

  it('picks the account by Harvest-Account-Id; one token reaches all; others are 403', async () => {
    assert.notEqual(a.accountId, b.accountId);
    assert.equal(fake.data, a);
    assert.deepEqual(fake.accounts, [a, b]);
    for (const data of [a, b]) {
      const clients = await walkAll(fake, '/v2/clients', 'clients', as(data));
      assert.deepEqual(clients.map((c) => c.id), data.clients.map((c) => c.id));
      assert.equal((await getJson(fake, '/v2/company', as(data))).name, data.company.name);
    }
    const res = await get(fake, '/v2/clients', { ...headersFor(fake), 'Harvest-Account-Id': '424242' });
    assert.equal(res.status, 403);
  });

  it('lists every account at /api/v2/accounts and mutates one through account(id)', async () => {
    const list = (await (await fetch(fake.accountsUrl, { headers: { Authorization: 'Bearer test-pat', 'User-Agent': UA } })).json()) as Json;
    assert.deepEqual(list.accounts, [
      { id: a.accountId, name: a.company.name, product: 'harvest' },
      { id: b.accountId, name: b.company.name, product: 'harvest' },
    ]);
    const id = fake.account(b.accountId).create('clients', { name: 'Only in B' });
    assert.ok(b.clients.some((c) => c.id === id) && !a.clients.some((c) => c.id === id));
    const first = await getJson(fake, '/v2/clients?per_page=1', as(b));
    assert.equal((first.clients as Rec[])[0]!.name, 'Only in B');
    fake.account(b.accountId).remove('clients', id);
    assert.equal(fake.account(a.accountId).data, a);
    assert.throws(() => fake.account(1), /no account 1/);
  });
});

describe('fake Harvest as a member', () => {
  let fake: FakeHarvest;
  let data: FakeAccountData;
  let me: Rec;

  before(async () => {
    data = generateAccount({ seed: 31, timeEntries: 800, now: NOW });
    fake = await startFakeHarvest({ data, role: 'member', rateLimit: false });
    me = await getJson(fake, '/v2/users/me') as unknown as Rec;
  });
  after(() => fake.close());

  it('acts as a member user', () => {
    assert.deepEqual(me.access_roles, ['member']);
    assert.notEqual(me.id, data.meUserId, 'the generated me is an administrator: the oldest active member stands in');
  });

  it('is refused what Harvest keeps for Administrators and Managers', async () => {
    const other = data.users.find((u) => u.id !== me.id)!;
    const forbidden = [
      '/v2/users', `/v2/users/${other.id}`, '/v2/user_assignments', '/v2/task_assignments', '/v2/clients', '/v2/contacts',
      '/v2/projects', '/v2/tasks', '/v2/roles', `/v2/projects/${data.projects[0]!.id}/user_assignments`,
      `/v2/users/${other.id}/project_assignments`, `/v2/users/${other.id}/billable_rates`, `/v2/users/${other.id}/cost_rates`,
      '/v2/invoices', `/v2/invoices/${data.invoices[0]!.id}/payments`, '/v2/estimates', '/v2/invoice_item_categories',
      '/v2/reports/time/clients?from=20250101&to=20251231', '/v2/reports/project_budget',
    ];
    for (const path of forbidden) {
      const res = await get(fake, path);
      assert.deepEqual([res.status, await res.json()], [403, { code: 403, message: 'You do not have permission to access this resource.' }], path);
    }
  });

  it('reads its own data, and only its own time entries and expenses', async () => {
    for (const path of ['/v2/company', '/v2/expense_categories', '/v2/users/me/project_assignments', `/v2/users/${me.id}/project_assignments`, `/v2/users/${me.id}`]) {
      assert.equal((await get(fake, path)).status, 200, path);
    }
    const entries = await walkAll(fake, '/v2/time_entries', 'time_entries');
    assert.deepEqual(entries.map((e) => e.id), data.timeEntries.filter((e) => refId(e, 'user') === me.id).map((e) => e.id));
    assert.ok(entries.length > 0 && entries.length < data.timeEntries.length);
    const expenses = await walkAll(fake, '/v2/expenses', 'expenses');
    assert.ok(expenses.every((x) => refId(x as Rec, 'user') === me.id));
    const others = data.timeEntries.find((e) => refId(e, 'user') !== me.id)!;
    assert.equal((await get(fake, `/v2/time_entries/${others.id}`)).status, 403);
    const accounts = (await (await fetch(fake.accountsUrl, { headers: { Authorization: 'Bearer test-pat', 'User-Agent': UA } })).json()) as Json;
    assert.equal((accounts.user as Json).id, me.id);
  });
});
