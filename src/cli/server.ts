// `harvest-sync server`: the official Temporal dev server, kept running with its data in
// a file, so schedules survive restarts without a Temporal cluster. Its UI shows the
// syncs; point the worker and the other commands at it with TEMPORAL_ADDRESS.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Env } from '../config';
import type { Output } from './session';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../core/search-attributes';
import { findTemporalCli } from '../temporal/connection';
import { CliUsageError } from './schedule';

export async function runLocalServer(args: string[], env: Env, out: Output): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { ip: { type: 'string' }, port: { type: 'string' }, 'ui-port': { type: 'string' }, 'db-file': { type: 'string' }, 'codec-endpoint': { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const cfg = loadConfig(env, { requireHarvest: false });
  const cli = findTemporalCli(cfg.temporal);
  if (!cli) throw new Error('no temporal binary: run `bash scripts/ensure-deps.sh` (installs it into .venv) or set TEMPORAL_CLI_PATH');
  const ip = values.ip ?? '127.0.0.1';
  const port = values.port ?? '7233';
  const uiPort = values['ui-port'] ?? '8233';
  const dbFile = path.resolve(values['db-file'] ?? path.join('.harvest-sync', 'temporal.db'));
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const child = spawn(
    cli,
    [
      'server', 'start-dev',
      '--ip', ip, '--port', port, '--ui-port', uiPort,
      '--db-filename', dbFile,
      '--namespace', cfg.temporal.namespace,
      ...CUSTOM_SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${a.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`]),
      // The Web UI decrypts payloads through `harvest-sync codec-server` when encryption is on.
      ...(values['codec-endpoint'] ? ['--ui-codec-endpoint', values['codec-endpoint']] : []),
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  out.write(
    `Temporal dev server on ${ip}:${port} (data in ${dbFile}); Web UI http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}\n` +
      `In another terminal: export TEMPORAL_ADDRESS=${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${port}; npx harvest-sync worker\n`,
  );
  const stop = (): void => {
    child.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 0));
  });
}
