// The table of environment variables (src/config/variables.ts) and what it drives: the
// parsing, the secrets redacted from logs, .env.example and docs/configuration.md's table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, ENV_VARIABLES, loadConfig, readEnv, secretValues, type EnvVariable, type VariableName } from '../../src/config';
import { readValues } from '../../src/config/values';
import { renderEnvExample, renderReadmeTable, withReadmeTable } from '../../src/config/docs';
import type { VariableType } from '../../src/config/variables';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const VARIABLES: readonly EnvVariable[] = ENV_VARIABLES;
const APP = VARIABLES.filter((v) => v.section !== 'compose');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-sync-config-'));
const pem = path.join(dir, 'ca.pem');
fs.writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const key32 = Buffer.alloc(32, 7).toString('base64');

/** A valid and an invalid value of each type (null: every value is valid). */
const SAMPLES: Record<VariableType, { valid: string; invalid: string | null }> = {
  text: { valid: 'some text', invalid: null },
  path: { valid: 'some/where', invalid: null },
  url: { valid: 'https://example.com/x/', invalid: 'ftp://example.com' },
  positive: { valid: '2.5', invalid: '-1' },
  count: { valid: '3', invalid: '2.5' },
  boolean: { valid: 'yes', invalid: 'maybe' },
  date: { valid: '2024-02-03', invalid: 'soon' },
  'pem-file': { valid: pem, invalid: path.join(dir, 'missing.pem') },
  identifier: { valid: 'harvest_2', invalid: 'a-b' },
  'host-port': { valid: '0.0.0.0:9464', invalid: '9464' },
  'account-ids': { valid: '1,2', invalid: 'abc' },
  'api-key': { valid: 'tmprl.key', invalid: 'has space' },
  'aes-key': { valid: key32, invalid: 'c2hvcnQ=' },
  'key-id': { valid: 'k1', invalid: 'no spaces allowed' },
  'key-ring': { valid: `old:${key32}`, invalid: 'nokey' },
  origins: { valid: 'https://cloud.temporal.io', invalid: 'not an origin' },
  'log-format': { valid: 'json', invalid: 'xml' },
  'log-level': { valid: 'warning', invalid: 'loud' },
  pacing: { valid: 'queue', invalid: 'fast' },
  'page-size': { valid: '150', invalid: '2001' },
  budgets: { valid: 'reports=100/30', invalid: 'reports=100' },
};

describe('config: the table of variables', () => {
  it('names each variable once, documents it, and gives a default or says what unset means', () => {
    assert.equal(new Set(VARIABLES.map((v) => v.name)).size, VARIABLES.length);
    for (const v of VARIABLES) {
      assert.match(v.name, /^[A-Z][A-Z0-9_]+$/);
      assert.ok(v.doc.length > 5, `${v.name}: no doc`);
      assert.ok(SAMPLES[v.type], `${v.name}: type ${v.type} has no sample here`);
    }
  });

  it('parses every variable by its type: a valid value is read, an invalid one is a problem naming it', () => {
    for (const v of APP) {
      const sample = SAMPLES[v.type];
      const good = readValues({ [v.name]: sample.valid });
      assert.deepEqual(good.problems, [], `${v.name}=${sample.valid}`);
      assert.notEqual(good.get(v.name as VariableName), undefined, `${v.name} is not read`);
      if (sample.invalid === null) continue;
      const badValues = readValues({ [v.name]: sample.invalid });
      assert.equal(badValues.problems.length, 1, `${v.name}=${sample.invalid}: ${badValues.problems.join('; ')}`);
      assert.ok(badValues.problems[0].startsWith(v.name), badValues.problems[0]);
    }
  });

  it('applies the defaults of the table, parsed like a set value', () => {
    const values = readValues({});
    for (const v of APP) {
      if (v.default === undefined) continue;
      const asSet = readValues({ [v.name]: v.default });
      assert.deepEqual(values.get(v.name as VariableName), asSet.get(v.name as VariableName), v.name);
    }
    const cfg = loadConfig({}, { requireHarvest: false });
    assert.equal(cfg.temporal.taskQueue, 'harvest-sync');
    assert.equal(cfg.worker.maxConcurrentActivities, 32);
    assert.equal(cfg.worker.reportsPerSecond, 100 / 900);
  });

  it('every variable the source reads is in the table', () => {
    const known = new Set(VARIABLES.map((v) => v.name));
    const files = fs.readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'));
    for (const f of files) {
      const source = read(path.join('src', f));
      for (const m of source.matchAll(/['`]((?:HARVEST|TEMPORAL|CLICKHOUSE|LOG)_[A-Z0-9_]+)['`]/g)) {
        assert.ok(known.has(m[1]), `src/${f} reads ${m[1]}, which src/config/variables.ts does not declare`);
      }
      for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) {
        if (m[1] === 'PATH' || m[1] === 'NO_COLOR') continue;
        assert.ok(known.has(m[1]), `src/${f} reads env.${m[1]}, which src/config/variables.ts does not declare`);
      }
    }
  });

  it('redacts exactly the secret variables, and passwords inside URLs', () => {
    const env: Record<string, string> = {};
    for (const v of VARIABLES) env[v.name] = v.type === 'key-ring' ? `old:value-of-${v.name}` : v.type === 'url' ? 'https://u:url-password@h' : `value-of-${v.name}`;
    const secrets = new Set(secretValues(env));
    for (const v of VARIABLES) {
      const value = `value-of-${v.name}`;
      assert.equal(secrets.has(value), Boolean(v.secret), `${v.name}: ${v.secret ? 'secret but not redacted' : 'redacted but not secret'}`);
    }
    assert.ok(secrets.has('url-password'));
    assert.equal(secrets.size, VARIABLES.filter((v) => v.secret).length + 1);
  });

  it('marks every token, password and key as secret', () => {
    for (const v of VARIABLES) {
      if (/(TOKEN|SECRET|PASSWORD|API_KEY|ENCRYPTION_KEY|OLD_KEYS)$/.test(v.name)) assert.ok(v.secret, `${v.name} looks secret but is not marked so`);
    }
  });

  it('.env.example and docs/configuration.md are what the table renders (npm run docs:config)', () => {
    assert.equal(read('.env.example'), renderEnvExample(), '.env.example is out of step: run npm run docs:config');
    const readme = read('docs/configuration.md');
    assert.equal(withReadmeTable(readme), readme, 'docs/configuration.md is out of step: run npm run docs:config');
    for (const v of APP) {
      assert.ok(renderReadmeTable().includes(`| \`${v.name}\` |`));
      assert.match(read('.env.example'), new RegExp(`^(# )?${v.name}=`, 'm'), `.env.example: no ${v.name}`);
    }
  });
});

describe('config: .env and problems', () => {
  it('reads .env with Node\'s parser, the environment winning', () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-sync-dotenv-'));
    fs.writeFileSync(path.join(cwd, '.env'), [
      '# comment',
      'HARVEST_ACCOUNT_ID=123',
      'export HARVEST_USER_AGENT="app (me@example.com)"',
      "TEMPORAL_NAMESPACE='from-file' # note",
      'TEMPORAL_TASK_QUEUE=file-queue',
    ].join('\n'));
    const env = readEnv(cwd, { TEMPORAL_TASK_QUEUE: 'env-queue' });
    assert.equal(env.HARVEST_ACCOUNT_ID, '123');
    assert.equal(env.HARVEST_USER_AGENT, 'app (me@example.com)');
    assert.equal(env.TEMPORAL_NAMESPACE, 'from-file');
    assert.equal(env.TEMPORAL_TASK_QUEUE, 'env-queue');
  });

  it('lists one problem per bad value, for every type at once, and never echoes a secret', () => {
    const env: Record<string, string> = {};
    const expected: string[] = [];
    for (const v of APP) {
      const invalid = SAMPLES[v.type].invalid;
      if (invalid === null || v.name === 'TEMPORAL_TLS') continue;
      env[v.name] = v.secret && v.type === 'api-key' ? 'secret with space' : invalid;
      expected.push(v.name);
    }
    env.HARVEST_ACCESS_TOKEN = 'sekrit-pat';
    try {
      loadConfig(env, { requireHarvest: true });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      for (const name of expected) assert.ok(err.problems.some((p) => p.startsWith(name)), `no problem for ${name}:\n${err.message}`);
      assert.doesNotMatch(err.message, /sekrit-pat|secret with space/);
    }
  });

  it('HARVEST_PER_PAGE: 2000 by default, 1..2000 accepted, anything else refused naming the range', () => {
    const base = { HARVEST_ACCOUNT_ID: '1', HARVEST_ACCESS_TOKEN: 'pat' };
    assert.equal(loadConfig(base, { requireHarvest: true }).harvest?.perPage, 2000);
    for (const ok of ['1', '150', '2000']) assert.equal(loadConfig({ ...base, HARVEST_PER_PAGE: ok }, { requireHarvest: true }).harvest?.perPage, Number(ok));
    for (const bad of ['0', '2001', '-5', '1.5', 'many']) {
      assert.throws(() => loadConfig({ ...base, HARVEST_PER_PAGE: bad }, { requireHarvest: true }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.problems.some((p) => p.startsWith('HARVEST_PER_PAGE must be a whole number from 1 to 2000') && p.includes(`"${bad}"`)), err.message);
        return true;
      });
    }
  });

  it('a blank value counts as unset (docker compose passes ${X:-} as "")', () => {
    const cfg = loadConfig({ TEMPORAL_TASK_QUEUE: '  ', HARVEST_CONCURRENCY: '' }, { requireHarvest: false });
    assert.equal(cfg.temporal.taskQueue, 'harvest-sync');
    assert.equal(cfg.worker.maxConcurrentActivities, 32);
  });
});
