// Running for real: TLS and API-key options for Temporal, ClickHouse over HTTPS with a
// private CA, payload encryption (unit, codec server, and a worker process whose history
// holds only ciphertext), JSON logs without secrets, and the worker's Prometheus metrics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError, loadConfig, secretValues, type Env } from '../../src/config';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadDecryptionError, dataConverterFor } from '../../src/temporal/codec';
import { runCodecServer } from '../../src/temporal/codec-server';
import { createLogger, resolveLogging } from '../../src/worker/observability';
import { connectTemporal, temporalConnectionOptions } from '../../src/temporal/connection';
import { openClickHouse } from '../../src/clickhouse/connect';
import type { SyncSummary } from '../../src/core/types';
import { generateAccount, startFakeHarvest } from '../../fake-harvest/src';
import { PROJECT_ROOT, TMP, temporalCli, temporalEnv, unique } from '../support/harness';

const DIR = path.join(TMP, 'operations');

/** A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate, signed by it. */
interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}
let pkiFiles: Pki | undefined;
const NO_OPENSSL = spawnSync('openssl', ['version']).status !== 0 ? 'needs the openssl command' : false;

function pki(): Pki {
  pkiFiles ??= makePki();
  return pkiFiles;
}

function makePki(): Pki {
  const dir = path.join(DIR, 'pki');
  fs.mkdirSync(dir, { recursive: true });
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=harvest-sync test CA');
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  ssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=harvest-sync worker');
  fs.writeFileSync(path.join(dir, 'client-ext.cnf'), 'extendedKeyUsage=clientAuth\n');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2', '-extfile', 'client-ext.cnf');
  const at = (f: string): string => path.join(dir, f);
  return { caCert: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key') };
}

function configProblems(env: Env, requireHarvest = false): string[] {
  try {
    loadConfig(env, { requireHarvest });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
}

const jsonPayload = (value: unknown): Payload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });
const text = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('utf8');

describe('operations: configuration', () => {
  it('lists every problem of the new variables at once, without echoing secrets or file contents', () => {
    fs.mkdirSync(DIR, { recursive: true });
    const notPem = path.join(DIR, 'not-a-pem.txt');
    fs.writeFileSync(notPem, 'PRIVATE-CONTENTS-42');
    const problems = configProblems({
      TEMPORAL_API_KEY: 'tmprl-api key-with-a-space',
      TEMPORAL_TLS: 'maybe',
      TEMPORAL_TLS_CERT: path.join(DIR, 'missing-client.pem'),
      TEMPORAL_TLS_CA: notPem,
      HARVEST_SYNC_ENCRYPTION_KEY: 'c2hvcnQta2V5',
      HARVEST_SYNC_ENCRYPTION_OLD_KEYS: 'nokey',
      CLICKHOUSE_URL: 'ftp://admin:ch-url-password@db.example:9000',
      CLICKHOUSE_CA_CERT: DIR,
      LOG_FORMAT: 'xml',
      LOG_LEVEL: 'loud',
      HARVEST_SYNC_METRICS_ADDRESS: '9464',
      HARVEST_SYNC_CODEC_CORS_ORIGIN: 'not an origin',
    });
    const all = problems.join('\n');
    for (const needle of [
      /TEMPORAL_API_KEY contains whitespace/,
      /TEMPORAL_TLS must be true or false/,
      /TEMPORAL_TLS_CERT: cannot read .*missing-client\.pem \(no such file\)/,
      /TEMPORAL_TLS_KEY is missing/,
      /TEMPORAL_TLS_CA: .*not-a-pem\.txt is not a PEM file/,
      /HARVEST_SYNC_ENCRYPTION_KEY must be 32 bytes/,
      /HARVEST_SYNC_ENCRYPTION_OLD_KEYS entry 1 must be id:key/,
      /CLICKHOUSE_URL must be an http:\/\/ or https:\/\/ URL/,
      /CLICKHOUSE_CA_CERT: cannot read .* \(it is a directory\)/,
      /LOG_FORMAT must be json or pretty/,
      /LOG_LEVEL must be one of/,
      /HARVEST_SYNC_METRICS_ADDRESS must be host:port/,
      /HARVEST_SYNC_CODEC_CORS_ORIGIN must be origins/,
    ]) {
      assert.match(all, needle);
    }
    assert.equal(problems.length, 13, all);
    assert.doesNotMatch(all, /tmprl-api|key-with-a-space|ch-url-password|PRIVATE-CONTENTS|c2hvcnQta2V5/);
  });

  it('an mTLS certificate needs its key, and the other way round', { skip: NO_OPENSSL }, () => {
    assert.match(configProblems({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_CERT: pki().serverCert }).join('\n'), /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together.*TEMPORAL_TLS_KEY is missing/);
    assert.match(configProblems({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_KEY: pki().serverKey }).join('\n'), /TEMPORAL_TLS_CERT is missing/);
    assert.match(
      configProblems({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CERT: pki().serverCert, TEMPORAL_TLS_KEY: pki().serverKey }).join('\n'),
      /TEMPORAL_TLS=false, but/,
    );
  });

  it('turns TLS on for an API key or a client certificate, and builds the connection options', { skip: NO_OPENSSL }, () => {
    const plain = loadConfig({ TEMPORAL_ADDRESS: 'localhost:7233' }, { requireHarvest: false });
    assert.deepEqual(temporalConnectionOptions(plain.temporal), { address: 'localhost:7233', tls: false });

    const cloud = loadConfig({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'the-api-key' }, { requireHarvest: false });
    assert.deepEqual(temporalConnectionOptions(cloud.temporal), { address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: 'the-api-key' });

    const mtls = loadConfig(
      { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_TLS_CERT: pki().serverCert, TEMPORAL_TLS_KEY: pki().serverKey, TEMPORAL_TLS_CA: pki().caCert, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' },
      { requireHarvest: false },
    );
    const opts = temporalConnectionOptions(mtls.temporal);
    assert.ok(opts.tls && typeof opts.tls === 'object');
    assert.deepEqual(Buffer.from(opts.tls.clientCertPair!.crt), fs.readFileSync(pki().serverCert));
    assert.deepEqual(Buffer.from(opts.tls.clientCertPair!.key), fs.readFileSync(pki().serverKey));
    assert.deepEqual(Buffer.from(opts.tls.serverRootCACertificate!), fs.readFileSync(pki().caCert));
    assert.equal(opts.tls.serverNameOverride, 'temporal.internal');
    assert.equal(opts.apiKey, undefined);

    const explicitOff = loadConfig({ TEMPORAL_ADDRESS: 'proxy:7233', TEMPORAL_API_KEY: 'k-behind-a-tls-proxy', TEMPORAL_TLS: 'false' }, { requireHarvest: false });
    assert.equal(temporalConnectionOptions(explicitOff.temporal).tls, false);
  });

  it('moves ClickHouse URL credentials out of the URL and lists every secret for redaction', { skip: NO_OPENSSL }, () => {
    const cfg = loadConfig({ CLICKHOUSE_URL: 'https://harvest:p%40ss-word@abc.clickhouse.cloud:8443', CLICKHOUSE_CA_CERT: pki().caCert }, { requireHarvest: false });
    assert.equal(cfg.clickhouse.url, 'https://abc.clickhouse.cloud:8443');
    assert.equal(cfg.clickhouse.user, 'harvest');
    assert.equal(cfg.clickhouse.password, 'p@ss-word');
    assert.deepEqual(cfg.clickhouse.caCert, fs.readFileSync(pki().caCert));
    assert.match(configProblems({ CLICKHOUSE_URL: 'http://db:8123', CLICKHOUSE_CA_CERT: pki().caCert }).join('\n'), /CLICKHOUSE_CA_CERT needs an https/);
    assert.match(configProblems({ CLICKHOUSE_CA_CERT: pki().caCert }).join('\n'), /CLICKHOUSE_CA_CERT needs an https/);
    const secrets = secretValues({
      HARVEST_ACCESS_TOKEN: 'pat-1',
      CLICKHOUSE_URL: 'https://u:p%40ss@h:8443',
      TEMPORAL_API_KEY: 'api-2',
      HARVEST_SYNC_ENCRYPTION_KEY: 'k3',
      HARVEST_SYNC_ENCRYPTION_OLD_KEYS: 'a:k4,b:k5',
    });
    for (const s of ['pat-1', 'p%40ss', 'p@ss', 'api-2', 'k3', 'k4', 'k5']) assert.ok(secrets.includes(s), s);
  });

  it('reads encryption keys as base64 or hex, with a key id and decrypt-only old keys', () => {
    const b64 = randomBytes(32);
    const hex = randomBytes(32);
    const cfg = loadConfig(
      { HARVEST_SYNC_ENCRYPTION_KEY: b64.toString('base64'), HARVEST_SYNC_ENCRYPTION_KEY_ID: '2025-06', HARVEST_SYNC_ENCRYPTION_OLD_KEYS: `2024-01:${hex.toString('hex')}` },
      { requireHarvest: false },
    );
    assert.equal(cfg.temporal.encryption?.keyId, '2025-06');
    assert.deepEqual(cfg.temporal.encryption?.key, b64);
    assert.deepEqual(cfg.temporal.encryption?.oldKeys['2024-01'], hex);
    assert.equal(loadConfig({}, { requireHarvest: false }).temporal.encryption, undefined);
    assert.equal(dataConverterFor(loadConfig({}, { requireHarvest: false }).temporal), undefined);
    const problems = configProblems({ HARVEST_SYNC_ENCRYPTION_KEY: b64.toString('base64'), HARVEST_SYNC_ENCRYPTION_OLD_KEYS: `default:${hex.toString('hex')}` }).join('\n');
    assert.match(problems, /repeats the current key id "default"/);
    assert.doesNotMatch(problems, new RegExp(hex.toString('hex')));
    assert.match(configProblems({ HARVEST_SYNC_ENCRYPTION_OLD_KEYS: `old:${hex.toString('hex')}` }).join('\n'), /need HARVEST_SYNC_ENCRYPTION_KEY/);
  });
});

describe('operations: payload codec', () => {
  const k1 = { keyId: 'k1', key: randomBytes(32), oldKeys: {} };
  const k2 = { keyId: 'k2', key: randomBytes(32), oldKeys: {} };

  it('round-trips payloads, a fresh IV each time, the key id in the metadata', async () => {
    const codec = new AesGcmPayloadCodec(k1);
    const inputs = [jsonPayload({ since: '2001-02-03' }), jsonPayload(null), { metadata: { encoding: Buffer.from('binary/plain') }, data: new Uint8Array() }, jsonPayload('x'.repeat(100_000))];
    const encoded = await codec.encode(inputs);
    for (const p of encoded) {
      assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(p.metadata?.[KEY_ID_METADATA]), 'k1');
      assert.ok(!Buffer.from(p.data!).includes('2001-02-03'));
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(
      decoded.map((p) => [text(p.metadata?.encoding), text(p.data)]),
      inputs.map((p) => [text(p.metadata?.encoding), text(p.data)]),
    );
    const again = await codec.encode([inputs[0]]);
    assert.notDeepEqual(Buffer.from(again[0].data!), Buffer.from(encoded[0].data!), 'same plaintext, different ciphertext');
    // Not encrypted (history from before encryption was switched on): passed through.
    assert.deepEqual(await codec.decode([inputs[0]]), [inputs[0]]);
    // The key never shows up in what the SDK would log about the codec.
    assert.doesNotMatch(JSON.stringify(codec) + inspect(codec, { depth: 5 }), new RegExp(k1.key.toString('hex').slice(0, 16)));
  });

  it('refuses a tampered payload with a clear error naming the key id', async () => {
    const codec = new AesGcmPayloadCodec(k1);
    const [p] = await codec.encode([jsonPayload({ resources: ['clients'] })]);
    const flipped = Buffer.from(p.data!);
    flipped[20] ^= 0x01;
    await assert.rejects(codec.decode([{ ...p, data: flipped }]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.match(err.message, /key id "k1": authentication failed/);
      assert.ok(!err.message.includes(k1.key.toString('base64')) && !err.message.includes(k1.key.toString('hex')));
      return true;
    });
    await assert.rejects(codec.decode([{ ...p, data: Buffer.from(p.data!).subarray(0, 10) }]), /key id "k1": it is truncated/);
    // Relabelled to another configured key: the id is authenticated too.
    const both = new AesGcmPayloadCodec({ ...k2, oldKeys: { k1: k1.key } });
    const [p2] = await both.encode([jsonPayload(1)]);
    await assert.rejects(both.decode([{ ...p2, metadata: { ...p2.metadata, [KEY_ID_METADATA]: Buffer.from('k1') } }]), /key id "k1": authentication failed/);
  });

  it('names an unknown key id, and decrypts with an old key after a rotation', async () => {
    const before = new AesGcmPayloadCodec(k1);
    const [old] = await before.encode([jsonPayload({ n: 42 })]);
    const rotated = new AesGcmPayloadCodec({ ...k2, oldKeys: { k1: k1.key } });
    assert.equal(text((await rotated.decode([old]))[0].data), '{"n":42}');
    const [fresh] = await rotated.encode([jsonPayload({ n: 43 })]);
    assert.equal(text(fresh.metadata?.[KEY_ID_METADATA]), 'k2', 'new payloads use the current key');
    const forgot = new AesGcmPayloadCodec(k2);
    await assert.rejects(forgot.decode([old]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.match(err.message, /key id "k1": no such key is configured \(known: "k2"\); add it to HARVEST_SYNC_ENCRYPTION_OLD_KEYS/);
      assert.ok(!err.message.includes(k2.key.toString('base64')));
      return true;
    });
  });

  it('serves the codec to the Web UI and the CLI (codec server, CORS)', async () => {
    const cfg = loadConfig({ HARVEST_SYNC_ENCRYPTION_KEY: k1.key.toString('base64'), HARVEST_SYNC_ENCRYPTION_KEY_ID: 'k1', HARVEST_SYNC_CODEC_CORS_ORIGIN: 'https://cloud.temporal.io' }, { requireHarvest: false });
    const server = await runCodecServer(cfg, 0);
    try {
      const [p] = await new AesGcmPayloadCodec(k1).encode([jsonPayload({ hello: 'ui' })]);
      const wire = { payloads: [{ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(p.data!).toString('base64') }] };
      const res = await fetch(`${server.url}/default/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: 'https://cloud.temporal.io' },
        body: JSON.stringify(wire),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://cloud.temporal.io');
      const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      assert.equal(Buffer.from(body.payloads[0].metadata.encoding, 'base64').toString(), 'json/plain');
      assert.deepEqual(JSON.parse(Buffer.from(body.payloads[0].data, 'base64').toString()), { hello: 'ui' });

      const encoded = (await (await fetch(`${server.url}/encode`, { method: 'POST', body: JSON.stringify({ payloads: body.payloads }) })).json()) as typeof body;
      assert.equal(Buffer.from(encoded.payloads[0].metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);

      const preflight = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'https://cloud.temporal.io', 'Access-Control-Request-Method': 'POST' } });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
      const stranger = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
      assert.equal(stranger.headers.get('access-control-allow-origin'), null);

      const unknown = await fetch(`${server.url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: [{ ...wire.payloads[0], metadata: { ...wire.payloads[0].metadata, [KEY_ID_METADATA]: Buffer.from('gone').toString('base64') } }] }) });
      assert.equal(unknown.status, 400);
      assert.match(((await unknown.json()) as { message: string }).message, /key id "gone"/);
    } finally {
      await server.close();
    }
  });
});

describe('operations: logs', () => {
  it('writes one JSON object per line with the SDK meta fields, secrets redacted', () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'INFO', secrets: ['pat-SECRET-123', 'x'], write: (l) => lines.push(l) });
    logger.debug('not at INFO');
    logger.info('token pat-SECRET-123 in a message', { workflowId: 'wf-1', activityType: 'fetchPage', taskQueue: 'tq', error: new Error('failed with pat-SECRET-123'), bytes: Buffer.alloc(4096), nested: { deeper: ['pat-SECRET-123'] } });
    logger.warn('plain', { message: 'a meta field named message', level: 'no' });
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(first.level, 'INFO');
    assert.equal(first.message, 'token [redacted] in a message');
    assert.equal(first.workflowId, 'wf-1');
    assert.equal(first.activityType, 'fetchPage');
    assert.equal(first.taskQueue, 'tq');
    assert.equal(first.bytes, '<4096 bytes>');
    assert.match(String(first.time), /^\d{4}-\d\d-\d\dT/);
    assert.ok(!lines.join('').includes('pat-SECRET-123'));
    const second = JSON.parse(lines[1]) as Record<string, unknown>;
    assert.deepEqual([second.level, second.message, second.meta_message, second.meta_level], ['WARN', 'plain', 'a meta field named message', 'no']);

    const pretty: string[] = [];
    createLogger({ format: 'pretty', level: 'WARN', secrets: ['pat-SECRET-123'], write: (l) => pretty.push(l) }).warn('x', { token: 'pat-SECRET-123' });
    assert.match(pretty[0], /\[WARN\] x \{ token: '\[redacted\]' \}/);
  });

  it('defaults: JSON at INFO for a worker under a supervisor, text otherwise, WARN for interactive commands', () => {
    assert.deepEqual(resolveLogging({ role: 'worker', stdoutIsTTY: false }), { format: 'json', level: 'INFO' });
    assert.deepEqual(resolveLogging({ role: 'worker', stdoutIsTTY: true }), { format: 'pretty', level: 'INFO' });
    assert.deepEqual(resolveLogging({ role: 'interactive', stdoutIsTTY: false }), { format: 'pretty', level: 'WARN' });
    assert.deepEqual(resolveLogging({ role: 'interactive', observability: { logFormat: 'json', logLevel: 'DEBUG' } }), { format: 'json', level: 'DEBUG' });
  });
});

describe('operations: ClickHouse over HTTPS', () => {
  it('trusts a private CA with CLICKHOUSE_CA_CERT, sends the credentials, never shows the password', { skip: NO_OPENSSL }, async () => {
    const seen: { auth?: string; user?: string; key?: string }[] = [];
    const server = https.createServer({ cert: fs.readFileSync(pki().serverCert), key: fs.readFileSync(pki().serverKey) }, (req, res) => {
      seen.push({ auth: req.headers.authorization, user: req.headers['x-clickhouse-user'] as string, key: req.headers['x-clickhouse-key'] as string });
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'X-ClickHouse-Format': 'JSONEachRow' });
        res.end('{"one":1}\n');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const password = 'ch-Pa55word-zz';
    try {
      const trusted = loadConfig({ CLICKHOUSE_URL: `https://127.0.0.1:${port}`, CLICKHOUSE_USER: 'harvest', CLICKHOUSE_PASSWORD: password, CLICKHOUSE_CA_CERT: pki().caCert }, { requireHarvest: false });
      const ch = openClickHouse(trusted.clickhouse);
      try {
        const rows = await ch.query('SELECT 1 AS one');
        assert.deepEqual(rows, [{ one: 1 }]);
      } finally {
        await ch.close();
      }
      // With a custom CA the client sends X-ClickHouse-User/Key instead of basic auth: over TLS either way.
      assert.ok(
        seen[0].auth === `Basic ${Buffer.from(`harvest:${password}`).toString('base64')}` || (seen[0].user === 'harvest' && seen[0].key === password),
        JSON.stringify(seen[0]),
      );

      const untrusted = loadConfig({ CLICKHOUSE_URL: `https://harvest:${password}@127.0.0.1:${port}` }, { requireHarvest: false });
      assert.doesNotMatch(untrusted.clickhouse.url!, new RegExp(password));
      const ch2 = openClickHouse(untrusted.clickhouse);
      try {
        await assert.rejects(ch2.query('SELECT 1'), (err: Error) => {
          assert.match(err.message, /certificate/i);
          assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes(password));
          return true;
        });
      } finally {
        await ch2.close();
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

/** Every payload under an `input` or `result` of a history event (or nested attributes). */
function historyPayloads(node: unknown, under = '', out: { where: string; payload: temporal.api.common.v1.IPayload }[] = []): typeof out {
  if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return out;
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'input' || k === 'result') && v && typeof v === 'object' && Array.isArray((v as { payloads?: unknown }).payloads)) {
      for (const p of (v as temporal.api.common.v1.IPayloads).payloads!) out.push({ where: `${under}.${k}`, payload: p });
    } else {
      historyPayloads(v, k, out);
    }
  }
  return out;
}

/**
 * A TLS front for the dev server (which speaks only plaintext): terminates TLS, requiring a
 * client certificate signed by the test CA, and passes the HTTP/2 stream through.
 */
async function startTlsFront(target: string): Promise<{ address: string; handshakes: { authorized: boolean }[]; close(): Promise<void> }> {
  const i = target.lastIndexOf(':');
  const [host, port] = [target.slice(0, i), Number(target.slice(i + 1))];
  const handshakes: { authorized: boolean }[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    { cert: fs.readFileSync(pki().serverCert), key: fs.readFileSync(pki().serverKey), ca: fs.readFileSync(pki().caCert), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (socket) => {
      handshakes.push({ authorized: socket.authorized });
      const upstream = net.connect(port, host);
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    handshakes,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('operations: Temporal over TLS', () => {
  it('connects the client and the worker connection with mTLS, a private CA, a server name and an API key', { skip: NO_OPENSSL }, async () => {
    const env = await temporalEnv();
    const front = await startTlsFront(env.address);
    const apiKey = 'tmprl-test-api-key-0123456789';
    try {
      const cfg = loadConfig(
        {
          TEMPORAL_ADDRESS: front.address,
          TEMPORAL_API_KEY: apiKey,
          TEMPORAL_TLS_CERT: pki().clientCert,
          TEMPORAL_TLS_KEY: pki().clientKey,
          TEMPORAL_TLS_CA: pki().caCert,
          TEMPORAL_TLS_SERVER_NAME: 'localhost',
        },
        { requireHarvest: false },
      );
      const handle = await connectTemporal(cfg.temporal);
      try {
        const ns = await handle.client.workflowService.describeNamespace({ namespace: 'default' });
        assert.equal(ns.namespaceInfo?.name, 'default');
        // The worker's (native) connection went through the same TLS front.
        assert.ok(front.handshakes.length >= 2, `${front.handshakes.length} TLS connections`);
        assert.ok(front.handshakes.every((h) => h.authorized), 'every connection presented the client certificate');
      } finally {
        await handle.close();
      }

      // Without the private CA the server's certificate is not trusted: a clear error, no API key in it.
      const untrusted = loadConfig({ TEMPORAL_ADDRESS: front.address, TEMPORAL_API_KEY: apiKey, TEMPORAL_TLS_CERT: pki().clientCert, TEMPORAL_TLS_KEY: pki().clientKey }, { requireHarvest: false });
      await assert.rejects(connectTemporal(untrusted.temporal), (err: Error) => {
        assert.match(err.message, new RegExp(`cannot connect to Temporal at ${front.address} \\(TLS, mTLS client certificate, API key\\)`));
        assert.ok(!`${err.message}\n${err.stack}`.includes(apiKey));
        return true;
      });
    } finally {
      await front.close();
    }
  });
});

describe('operations: an encrypting worker process', () => {
  it('stores only ciphertext in Temporal, logs JSON without secrets, and serves Prometheus metrics', async () => {
    const env = await temporalEnv();
    const token = `pat-${randomBytes(12).toString('hex')}`;
    const fake = await startFakeHarvest({ data: generateAccount({ seed: 7, clients: 4, users: 3, projects: 3, tasks: 3, timeEntries: 30, expenses: 5, invoices: 3, estimates: 2 }), tokens: [token], rateLimit: false });
    const ids = unique('ops');
    const metricsPort = await freePort();
    const key = randomBytes(32).toString('base64');
    const workerEnv: Env = {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: ids.taskQueue,
      HARVEST_ACCOUNT_ID: String(fake.data.accountId),
      HARVEST_ACCESS_TOKEN: token,
      HARVEST_BASE_URL: fake.baseUrl,
      HARVEST_TOKEN_URL: fake.tokenUrl,
      HARVEST_REQUESTS_PER_SECOND: '50',
      HARVEST_REPORTS_REQUESTS_PER_SECOND: '50',
      CLICKHOUSE_PATH: path.join(DIR, `clickhouse-${Date.now()}`),
      CLICKHOUSE_DATABASE: ids.database,
      HARVEST_SYNC_STATE_DIR: path.join(DIR, 'state'),
      HARVEST_SYNC_ENCRYPTION_KEY: key,
      HARVEST_SYNC_ENCRYPTION_KEY_ID: 'ops-test',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'DEBUG',
      HARVEST_SYNC_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'worker', 'worker.ts')], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...workerEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const cfg = loadConfig(workerEnv, { requireHarvest: true });
    const codecClient = await connectTemporal(cfg.temporal);
    const plainClient = new Client({ connection: env.connection, namespace: 'default' });
    try {
      const workflowId = `ops-encrypted-${Date.now()}`;
      const handle = await codecClient.client.workflow.start('harvestSync', {
        taskQueue: ids.taskQueue,
        workflowId,
        args: [{ resources: ['clients'], since: '2001-02-03T04:05:06Z' }],
      });
      const summary = (await Promise.race([
        handle.result(),
        exited(child).then(() => {
          throw new Error(`the worker exited early:\n${stderr.slice(-3000)}`);
        }),
      ])) as SyncSummary;
      assert.ok(summary.resources.some((r) => r.resource === 'clients' && r.state === 'done'), JSON.stringify(summary));
      // The marker does travel through payloads (the decoded result carries it)...
      assert.ok(JSON.stringify(summary).includes('2001-02-03'), 'the summary names the since of the run');

      // ...and Temporal holds only ciphertext: the parent's and the child's histories, raw.
      const histories = [await plainClient.workflow.getHandle(workflowId).fetchHistory()];
      for await (const wf of plainClient.workflow.list({ query: `WorkflowId STARTS_WITH "${workflowId}/"` })) {
        histories.push(await plainClient.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
      }
      let payloadCount = 0;
      for (const history of histories) {
        for (const { where, payload } of historyPayloads(history)) {
          payloadCount++;
          assert.equal(text(payload.metadata?.encoding), ENCRYPTED_ENCODING, `${where} is not encrypted`);
          assert.equal(text(payload.metadata?.[KEY_ID_METADATA]), 'ops-test');
        }
        const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
        assert.ok(!bytes.includes('2001-02-03'), 'the marker is in a raw history');
        assert.ok(!bytes.includes(token));
      }
      assert.ok(payloadCount >= 4, `only ${payloadCount} payloads`);
      // The plain client cannot read the result; the codec client can.
      await assert.rejects(plainClient.workflow.getHandle(workflowId).result(), /binary\/encrypted|Unknown encoding|encoding/i);

      // Prometheus metrics from the worker's runtime.
      let metrics = '';
      for (let i = 0; i < 50 && !/^temporal_workflow_completed/m.test(metrics); i++) {
        metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
        if (!/^temporal_workflow_completed/m.test(metrics)) await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(metrics, /^temporal_worker_task_slots_available\{/m);
      assert.match(metrics, /^temporal_workflow_completed\{/m);
      assert.match(metrics, new RegExp(`task_queue="${ids.taskQueue}"`));
    } finally {
      child.kill('SIGTERM');
      await exited(child);
      await codecClient.close();
      await fake.close();
    }

    // JSON logs: every line one object with time, level and message; the SDK's meta fields; no secrets.
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 5, `few log lines:\n${stderr}`);
    const entries = lines.map((line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON log line: ${line}`);
      }
      assert.equal(typeof entry.level, 'string', line);
      assert.equal(typeof entry.message, 'string', line);
      assert.equal(typeof entry.time, 'string', line);
      return entry;
    });
    assert.ok(entries.some((e) => e.taskQueue === ids.taskQueue), 'a line with the task queue');
    assert.ok(entries.some((e) => typeof e.workflowId === 'string' && e.workflowId.startsWith('ops-encrypted-')), 'a line with a workflow id');
    assert.ok(entries.some((e) => e.activityType === 'fetchPage'), 'a line with an activity type');
    assert.ok(!(stderr + stdout).includes(token), 'the Harvest token is in the worker output');
    assert.ok(!(stderr + stdout).includes(key), 'the encryption key is in the worker output');
  });

  it('the embedded mode encrypts too (its client carries the codec)', async () => {
    const cfg = loadConfig({ TEMPORAL_CLI_PATH: temporalCli(), HARVEST_SYNC_ENCRYPTION_KEY: randomBytes(32).toString('hex') }, { requireHarvest: false });
    const handle = await connectTemporal(cfg.temporal);
    try {
      assert.equal(handle.embedded, true);
      const codecs = handle.client.options.loadedDataConverter.payloadCodecs;
      assert.equal(codecs.length, 1);
      assert.ok(codecs[0] instanceof AesGcmPayloadCodec);
    } finally {
      await handle.close();
    }
  });
});
