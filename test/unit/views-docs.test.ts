// docs/analytics.md's view reference is generated from src/clickhouse/views/docs.ts; the
// SQL (sql.ts) and the docs must name the same views.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ANALYTICS_VIEWS, renderViewReference, withViewReference } from '../../src/clickhouse/views';
import { VIEW_SQL } from '../../src/clickhouse/views/sql';

const DOC = path.join(__dirname, '..', '..', 'docs', 'analytics.md');

describe('view docs', () => {
  it('docs/analytics.md holds the view reference generated from views/docs.ts (npm run docs:views)', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    assert.ok(doc.includes(renderViewReference()), 'docs/analytics.md is out of step with src/clickhouse/views/docs.ts: run `npm run docs:views`');
    assert.equal(withViewReference(doc), doc);
  });

  it('every documented view has SQL and every view with SQL is documented', () => {
    assert.deepEqual(VIEW_SQL.map((v) => v.name).sort(), ANALYTICS_VIEWS.map((v) => v.name).sort());
  });

  it('an edited description shows up as a difference', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const stale = doc.replace('| `hours` | hours tracked |', '| `hours` | hours |');
    assert.notEqual(stale, doc);
    assert.ok(!stale.includes(renderViewReference()));
    assert.equal(withViewReference(stale), doc);
  });
});
