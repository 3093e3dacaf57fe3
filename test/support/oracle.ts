// An independent reading of what the fake Harvest serves, for comparison with what the
// pipeline stored: a plain fetch loop over every catalog resource (links.next until
// null), per parent for fan-out resources, with nested arrays flattened like the tables.
import { CATALOG, tablesOf, type ResourceSpec, type TableDef } from '../../src/catalog';
import { windowsBetween } from '../../src/core/windows';
import type { FakeHarvest } from '../../fake-harvest/src';

type Rec = Record<string, unknown>;

async function getJson(url: string, token: string, accountId: string, emptyOn?: number): Promise<Rec | null> {
  for (;;) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'harvest-account-id': accountId, 'user-agent': 'oracle (tests@example.com)' } });
    if (res.status === 429) {
      // The fake may be rate limited in this test too: wait as asked.
      await res.text();
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? '1') * 1000));
      continue;
    }
    // A parent without such a list (teammates of a non-manager: 422) has none.
    if (emptyOn !== undefined && res.status === emptyOn) {
      await res.text();
      return null;
    }
    if (res.status !== 200) throw new Error(`oracle: ${res.status} for ${url}: ${await res.text()}`);
    return (await res.json()) as Rec;
  }
}

async function listAll(fake: FakeHarvest, spec: ResourceSpec, path: string, token: string, accountId: string, query = ''): Promise<Rec[]> {
  if (spec.paging === 'none') return [(await getJson(fake.baseUrl + path, token, accountId))!];
  const out: Rec[] = [];
  let url: string | null = `${fake.baseUrl}${path}?per_page=2000${query}`;
  while (url) {
    const body = await getJson(url, token, accountId, spec.emptyOnStatus);
    if (body === null) return out;
    out.push(...(body[spec.dataKey] as Rec[]));
    url = ((body.links as Rec | undefined)?.next as string | null) ?? null;
  }
  return out;
}

/** Expected rows per table name: key (key columns joined by '/') → the JSON the row's `_raw` must equal. */
export async function servedTables(fake: FakeHarvest, opts: { token?: string; accountId?: string } = {}): Promise<Map<string, Map<string, unknown>>> {
  const token = opts.token ?? 'test-pat';
  const accountId = opts.accountId ?? String(fake.data.accountId);
  const byResource = new Map<string, Rec[]>();
  const tables = new Map<string, Map<string, unknown>>();
  for (const spec of CATALOG) {
    const rows: Array<{ record: Rec; parentId?: number }> = [];
    if (spec.report?.windowed) {
      // Every 365-day window from the oldest time entry or expense to today, as a full sync reads them.
      const dates = ['time_entries', 'expenses'].flatMap((r) => (byResource.get(r) ?? []).map((e) => String(e.spent_date)));
      const today = new Date().toISOString().slice(0, 10);
      const oldest = dates.reduce((a, b) => (b < a ? b : a), today);
      for (const w of windowsBetween(oldest, today)) {
        const query = `&from=${w.from.replace(/-/g, '')}&to=${w.to.replace(/-/g, '')}`;
        for (const record of await listAll(fake, spec, spec.path, token, accountId, query)) {
          rows.push({ record: { ...record, window_from: w.from, window_to: w.to } });
        }
      }
    } else if (spec.parent) {
      for (const parent of byResource.get(spec.parent.resource) ?? []) {
        const path = spec.path.replace(`{${spec.parent.param}}`, String(parent.id));
        for (const record of await listAll(fake, spec, path, token, accountId)) rows.push({ record, parentId: parent.id as number });
      }
    } else {
      for (const record of await listAll(fake, spec, spec.path, token, accountId)) rows.push({ record });
    }
    byResource.set(spec.name, rows.map((r) => r.record));
    const own = new Map<string, unknown>();
    for (const { record, parentId } of rows) {
      const served = { ...record };
      if (spec.report?.windowed) {
        delete served.window_from;
        delete served.window_to;
      }
      own.set(keyOf(spec.key, { ...record, ...(spec.parent ? { [spec.parent.column]: parentId } : {}) }), served);
    }
    tables.set(spec.name, own);
    for (const n of spec.nested ?? []) {
      const lines = new Map<string, unknown>();
      for (const { record, parentId } of rows) {
        const parentRow: Rec = { ...record, ...(spec.parent ? { [spec.parent.column]: parentId } : {}) };
        for (const item of (record[n.from] as unknown[] | undefined) ?? []) {
          const keyed: Rec = {};
          for (const [childCol, parentCol] of Object.entries(n.parentKey)) keyed[childCol] = parentRow[parentCol];
          for (const c of n.columns) keyed[c.name] = c.from === '$' ? item : (item as Rec)[c.from ?? c.name];
          lines.set(keyOf(n.key, keyed), item);
        }
      }
      tables.set(n.name, lines);
    }
  }
  return tables;
}

function keyOf(key: string[], row: Rec): string {
  return key.map((k) => String(row[k] ?? '')).join('/');
}

/** SQL giving (key, _raw) of the live rows of a table, one per record, keyed like `servedTables`. */
export function liveRowsSQL(db: string, table: TableDef, accountId?: string): string {
  const key = table.key.length ? `arrayStringConcat([${table.key.map((k) => `toString(\`${k}\`)`).join(', ')}], '/')` : "''";
  const account = accountId ? ` AND account_id = ${Number(accountId)}` : '';
  return `SELECT ${key} AS key, _raw FROM \`${db}\`.\`${table.name}\` FINAL WHERE _deleted = 0${account} ORDER BY key`;
}

export const ALL_TABLES: TableDef[] = CATALOG.flatMap(tablesOf);
