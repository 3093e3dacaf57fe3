// Harvest's clock behind ours: the cursors come from Temporal's clock, `updated_at` from
// Harvest's. Real Temporal dev server, real worker, real chdb, the fake Harvest over HTTP
// with a skewed clock (its `Date` header and its record stamps).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateAccount, startFakeHarvest, type FakeHarvest } from '../../fake-harvest/src';
import { CURSOR_SAFETY_MARGIN_MS } from '../../src/core/plan';
import type { SyncSummary } from '../../src/core/types';
import { query, runSync, testConfig, unique, type TestSetup } from '../support/harness';

const BEHIND_MS = 10 * 60_000;

describe('clock skew against Harvest\'s Date header', () => {
  let fake: FakeHarvest;
  let setup: TestSetup;
  let db: string;

  before(async () => {
    // 2,500 time entries: two pages, so a record on page 1 can change while page 2 is read.
    fake = await startFakeHarvest({ data: generateAccount({ seed: 93, timeEntries: 2500, users: 4 }), rateLimit: false, clockSkewMs: -BEHIND_MS });
    const ids = unique('skew');
    db = ids.database;
    setup = testConfig(fake, ids);
  });
  after(() => fake.close());

  it('Harvest 10 minutes behind: an entry changed during a run is read by the next run; the run warns', async () => {
    const entry = fake.data.timeEntries[0];
    let changedAt: string | undefined;
    let timeEntryRequests = 0;
    const unsubscribe = fake.onRequest((req) => {
      if (req.path === '/v2/time_entries' && ++timeEntryRequests === 2 && !changedAt) {
        changedAt = String(fake.update('timeEntries', entry.id, { notes: 'changed while the first sync was reading' }).updated_at);
      }
    });
    const first = await runSync(setup.cfg);
    unsubscribe();
    assert.ifError(first.error);
    assert.ok(changedAt, 'the entry changed during the first run');
    const summary = first.summary as SyncSummary;
    const started = Date.parse(summary.startedAt);
    // Harvest stamped the change with its own clock: before the run began by ours, and
    // further back than the margin alone reaches.
    assert.ok(Date.parse(changedAt!) < started - CURSOR_SAFETY_MARGIN_MS, `${changedAt} vs run start ${summary.startedAt}`);

    const te = summary.resources.find((r) => r.resource === 'time_entries')!;
    assert.match(te.warning ?? '', /Harvest's clock is up to 6\d\d s behind this sync's \(Temporal's\)/);
    const [run] = await query<{ warnings: string[] }>(
      `SELECT resources.error AS warnings FROM \`${db}\`._sync_runs FINAL WHERE status = 'succeeded'`,
    );
    assert.ok(run.warnings.some((w) => /Harvest's clock is up to/.test(w)), 'the run log keeps the warning');

    const [cursor] = await query<{ cursor: string }>(
      `SELECT toString(cursor) AS cursor FROM \`${db}\`._sync_state FINAL WHERE resource = 'time_entries'`,
    );
    const back = started - Date.parse(cursor.cursor.replace(' ', 'T') + 'Z');
    assert.ok(back >= CURSOR_SAFETY_MARGIN_MS + BEHIND_MS && back < CURSOR_SAFETY_MARGIN_MS + BEHIND_MS + 15_000, `cursor ${back} ms before the start`);

    fake.resetLog();
    const second = await runSync(setup.cfg);
    assert.ifError(second.error);
    const asked = fake.requests.find((r) => r.path === '/v2/time_entries');
    assert.ok(asked?.query.updated_since, 'the second run is incremental');
    assert.ok(asked.query.updated_since <= changedAt!, `updated_since ${asked.query.updated_since} is after the change ${changedAt}`);
    const [row] = await query<{ notes: string }>(`SELECT notes FROM \`${db}\`.time_entries FINAL WHERE id = {id:UInt64}`, { id: entry.id });
    assert.equal(row.notes, 'changed while the first sync was reading');
  });
});
