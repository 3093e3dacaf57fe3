// The `harvest-sync` binary as users run it: a subprocess with a clean environment.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, TMP } from './harness';

export const BIN = path.join(PROJECT_ROOT, 'bin', 'harvest-sync.js');

export async function cli(args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = cwd ?? fs.mkdtempSync(path.join(TMP, 'cli-'));
  // A clean environment: nothing from the developer's shell or a .env leaks in.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: dir, env: { ...base, ...env }, timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}
