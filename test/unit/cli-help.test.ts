// Runs with --test-force-exit (test:fast, npm test): main() installs Temporal's native runtime, which keeps the process alive.
// `harvest-sync <command> --help` / `-h` for every command and `schedule` sub-command, and
// `--version`: in-process through main(), and once through the real binary.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { main, parseRunArgs } from '../../src/cli/main';
import { COMMANDS, SCHEDULE_COMMANDS } from '../../src/cli/help';

const ROOT = path.join(__dirname, '..', '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function capture(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    // No configuration at all: help must not need any (nor connect anywhere).
    const code = await main(argv, {}, { isTTY: false, write: (t) => void (stdout += t) });
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('cli: help and version', () => {
  const every: string[][] = [
    ...Object.keys(COMMANDS).filter((c) => c !== 'help').map((c) => [c]),
    ...Object.keys(SCHEDULE_COMMANDS).map((s) => ['schedule', s]),
  ];
  for (const words of every) {
    for (const flag of ['--help', '-h']) {
      it(`${words.join(' ')} ${flag} prints its usage and exits 0`, async () => {
        const r = await capture([...words, flag]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.ok(r.stdout.startsWith(`usage: harvest-sync ${words.join(' ')}`), r.stdout);
      });
    }
  }

  it('help with extra options still prints help, not "Unknown option"', async () => {
    const r = await capture(['status', '--json', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: harvest-sync status/);
  });

  it('help COMMAND, the overview, and unknown commands', async () => {
    assert.match((await capture(['help', 'backfill'])).stdout, /^usage: harvest-sync backfill --since DATE/);
    assert.match((await capture(['help', 'schedule', 'trigger'])).stdout, /^usage: harvest-sync schedule trigger/);
    const overview = await capture(['--help']);
    assert.equal(overview.code, 0);
    for (const c of Object.keys(COMMANDS)) if (c !== 'schedule') assert.match(overview.stdout, new RegExp(`^  ${c}\\b`, 'm'), c);
    for (const s of Object.keys(SCHEDULE_COMMANDS)) assert.match(overview.stdout, new RegExp(`^  schedule ${s}\\b`, 'm'), s);
    const unknown = await capture(['help', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "nope"/);
  });

  it('--version prints the package version', async () => {
    for (const flag of ['--version', '-V']) assert.equal((await capture([flag])).stdout, `harvest-sync ${VERSION}\n`);
  });

  it('run and backfill accept every option their usage lists', () => {
    for (const command of ['run', 'backfill'] as const) {
      for (const [flag] of COMMANDS[command].options ?? []) {
        const [name, placeholder] = flag.split(' ');
        assert.doesNotThrow(() => parseRunArgs(placeholder ? [name, 'x'] : [name], command), `${command} ${flag}`);
      }
    }
  });

  // Through the binary: commands that run install the process's Temporal runtime, which
  // must not happen inside the test process (the end-to-end suite installs its own).
  it('the binary: --version, a command\'s -h, and a bad option (its usage, exit 2) with no configuration', async () => {
    const bin = path.join(ROOT, 'bin', 'harvest-sync.js');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [bin, ...args], { env, cwd: ROOT }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const [version, help, bad, afterDashes] = await Promise.all([
      run(['--version']),
      run(['schedule', 'create', '-h']),
      run(['status', '--bogus']),
      run(['sql', '--', '-h']),
    ]);
    assert.equal(version.stdout, `harvest-sync ${VERSION}\n`);
    assert.match(help.stdout, /^usage: harvest-sync schedule create/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
    assert.match(bad.stderr, /usage: harvest-sync status/);
    assert.doesNotMatch(bad.stderr, /schedule create/, 'that command\'s usage, not the whole overview');
    assert.equal(afterDashes.code, 2, 'after --, -h is an argument, not a request for help');
  });
});
