// Harvest misbehaving: rate limits, 5xx bursts, resets, truncated bodies, permissions,
// expiring OAuth tokens; and what ends up in Temporal's history.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { generateAccount, startFakeHarvest } from '../../fake-harvest/src';
import { ALL_TABLES, liveRowsSQL, servedTables } from '../support/oracle';
import type { FakeHarvest } from '../../fake-harvest/src';
import { query, rootMessage, runSync, temporalEnv, testConfig, unique } from '../support/harness';

async function assertComplete(db: string, fake: FakeHarvest, token?: string): Promise<void> {
  const served = await servedTables(fake, { token });
  for (const table of ALL_TABLES) {
    const rows = await query<{ key: string }>(liveRowsSQL(db, table));
    assert.deepEqual(rows.map((r) => r.key).sort(), [...served.get(table.name)!.keys()].sort(), `${table.name} is incomplete`);
  }
}

/** Every event of every execution whose id starts with one of `prefixes` (the sync, its task queue's account syncs), as JSON text. */
async function historiesText(...prefixes: string[]): Promise<string> {
  const env = await temporalEnv();
  const parts: string[] = [];
  for await (const wf of env.client.workflow.list()) {
    if (!prefixes.some((p) => wf.workflowId.startsWith(p))) continue;
    const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    parts.push(JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)));
  }
  assert.ok(parts.length >= 2, `expected the sync and its resource workflows, found ${parts.length} executions`);
  return parts.join('\n');
}

describe('Harvest misbehaving', () => {
  it('429 storms, 5xx bursts, resets and truncated bodies cost time, not data', async () => {
    const fake = await startFakeHarvest({
      data: generateAccount({ seed: 11, timeEntries: 4200, users: 12 }),
      // Far below what the worker is allowed to send: real 429s with Retry-After.
      rateLimit: { limit: 12, windowMs: 2000 },
    });
    try {
      fake.faults.add({ kind: '5xx', count: 2, pathPrefix: '/v2/time_entries' });
      fake.faults.add({ kind: 'reset', count: 1, pathPrefix: '/v2/projects' });
      fake.faults.add({ kind: 'truncate', count: 1, pathPrefix: '/v2/users' });
      fake.faults.add({ kind: '429', count: 3, pathPrefix: '/v2/tasks', retryAfter: 1 });
      fake.faults.add({ kind: 'slow', count: 2, pathPrefix: '/v2/task_assignments', delayMs: 1500 });
      const ids = unique('faults');
      const { summary, error } = await runSync(testConfig(fake, ids).cfg);
      assert.ifError(error);
      assert.ok(summary);
      const statuses = fake.requests.map((r) => r.status);
      assert.ok(statuses.filter((s) => s === 429).length >= 3, 'expected 429 answers');
      assert.ok(statuses.some((s) => s >= 500), 'expected 5xx answers');
      await assertComplete(ids.database, fake);
    } finally {
      await fake.close();
    }
  });

  it('403 on a resource: skipped with a warning by default; --strict fails naming the resource and Harvest\'s words', async () => {
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 12, timeEntries: 100, users: 5 }), rateLimit: false });
    try {
      fake.faults.forbid('/v2/projects', 'Only administrators can list projects');
      const ids = unique('forbidden');
      const { cfg } = testConfig(fake, ids);

      const lenient = await runSync(cfg);
      assert.ifError(lenient.error);
      const projects = lenient.summary!.resources.find((r) => r.resource === 'projects')!;
      assert.equal(projects.state, 'skipped');
      assert.match(projects.warning!, /403 for projects .*Only administrators can list projects/);
      // Its dependents are skipped too; everything else landed.
      for (const dependent of ['project_tasks', 'user_assignments', 'user_projects']) {
        assert.equal(lenient.summary!.resources.find((r) => r.resource === dependent)!.state, 'skipped', dependent);
      }
      assert.equal(lenient.summary!.resources.find((r) => r.resource === 'time_entries')!.state, 'done');
      assert.equal(fake.requests.filter((r) => r.path === '/v2/task_assignments').length, 0);

      fake.resetLog();
      const strict = await runSync(cfg, { strict: true });
      assert.ok(strict.error, 'a strict sync should fail');
      const msg = rootMessage(strict.error);
      assert.match(msg, /projects/);
      assert.match(msg, /403/);
      assert.match(msg, /Only administrators can list projects/);
      // Non-retryable: one request.
      assert.equal(fake.requests.filter((r) => r.path === '/v2/projects').length, 1);
    } finally {
      await fake.close();
    }
  });

  it('OAuth: an expired access token is refreshed, a rotated refresh token kept, and no secret reaches history', async () => {
    const oauth = { clientId: 'client-id-abc', clientSecret: 'client-secret-DO-NOT-LEAK', refreshToken: 'refresh-token-DO-NOT-LEAK', accessTtlSeconds: 3600, rotateRefreshToken: true };
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 13, timeEntries: 2500, users: 8 }), rateLimit: false, tokens: ['oracle-pat'], oauth });
    try {
      const ids = unique('oauth');
      const { cfg } = testConfig(fake, ids, {
        HARVEST_ACCESS_TOKEN: undefined,
        HARVEST_CLIENT_ID: oauth.clientId,
        HARVEST_CLIENT_SECRET: oauth.clientSecret,
        HARVEST_REFRESH_TOKEN: oauth.refreshToken,
      });
      let expired = false;
      let timeEntryRequests = 0;
      const unsubscribe = fake.onRequest((req) => {
        // Mid-listing: before the second request of time entries.
        if (!expired && req.path === '/v2/time_entries' && ++timeEntryRequests === 2) {
          expired = true;
          fake.expireAccessTokens();
        }
      });
      const workflowId = `oauth-secret-check-${Date.now()}`;
      const { error } = await runSync(cfg, {}, { workflowId });
      unsubscribe();
      assert.ifError(error);
      assert.ok(expired, 'the access token was never expired');
      const refreshes = fake.requests.filter((r) => r.path === '/api/v2/oauth2/token');
      assert.equal(refreshes.length, 2, 'one refresh at start, one after the 401');
      assert.ok(fake.requests.some((r) => r.status === 401));
      await assertComplete(ids.database, fake, 'oracle-pat');

      const stored = JSON.parse(fs.readFileSync(cfg.harvest!.tokenFile, 'utf8')) as { refreshToken: string };
      assert.notEqual(stored.refreshToken, oauth.refreshToken, 'the rotated refresh token must be kept');

      const text = await historiesText(workflowId, `${cfg.temporal.taskQueue}/`);
      for (const secret of [oauth.clientSecret, oauth.refreshToken, stored.refreshToken, 'Bearer ']) {
        assert.ok(!text.includes(secret), `workflow history contains a credential (${secret.slice(0, 8)}…)`);
      }
    } finally {
      await fake.close();
    }
  });

  it('a personal access token never reaches workflow history either', async () => {
    const pat = 'pat-value-DO-NOT-LEAK-123';
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 14, timeEntries: 50, users: 3 }), rateLimit: false, tokens: [pat] });
    try {
      const ids = unique('pat');
      const workflowId = `pat-secret-check-${Date.now()}`;
      const { error } = await runSync(testConfig(fake, ids, { HARVEST_ACCESS_TOKEN: pat }).cfg, {}, { workflowId });
      assert.ifError(error);
      const text = await historiesText(workflowId, `${ids.taskQueue}/`);
      assert.ok(!text.includes(pat));
      // A failed run's error messages must not carry it either.
      fake.faults.forbid('/v2/users');
      const failed = await runSync(testConfig(fake, ids, { HARVEST_ACCESS_TOKEN: pat }).cfg, { strict: true }, { workflowId: `${workflowId}-failed` });
      assert.ok(failed.error);
      assert.ok(!(await historiesText(`${workflowId}-failed`, `${ids.taskQueue}/`)).includes(pat));
    } finally {
      await fake.close();
    }
  });
});
