// The embedded Temporal of `harvest-sync run`: the official dev server with its state in
// a database file under the state directory, so a `run` killed mid-sync (SIGKILL, a
// closed laptop, OOM) loses nothing: the next `run` starts the server on the same file
// and its worker resumes the unfinished sync at the page it reached.
//
// One `run` at a time owns a state directory: a lock file names its pid and its server's
// pid. A lock whose owner is dead is stale and taken over, and the server it left behind
// (an orphan: a SIGKILLed parent cannot stop its child) is stopped first.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from './sync/search-attributes';

export const EMBEDDED_DB_FILE = 'temporal-run.db';
export const EMBEDDED_LOCK_FILE = 'temporal-run.lock';

interface LockContent {
  pid: number;
  startedAt: string;
  dbFile: string;
  serverPid?: number;
  address?: string;
}

export class StateDirBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateDirBusyError';
  }
}

export interface DurableDevServer {
  address: string;
  dbFile: string;
  /** Whether the server was stopped from a previous, killed run (taken over). */
  tookOver: boolean;
  stop(): Promise<void>;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process, or undefined when it cannot be read (gone, or no /proc and no ps). */
function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * Stops a dev server a killed `run` left behind, but only when its command line shows it
 * is the server of this database file (a recycled pid belongs to someone else).
 */
async function stopOrphan(serverPid: number, dbFile: string): Promise<boolean> {
  if (!isAlive(serverPid)) return false;
  const cmd = commandLine(serverPid);
  if (!cmd || !cmd.includes('start-dev') || !cmd.includes(dbFile)) return false;
  process.kill(serverPid, 'SIGTERM');
  if (!(await waitGone(serverPid, 10_000))) {
    process.kill(serverPid, 'SIGKILL');
    await waitGone(serverPid, 5_000);
  }
  return true;
}

function readLock(file: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockContent>;
    return typeof parsed.pid === 'number' ? (parsed as LockContent) : undefined;
  } catch {
    return undefined;
  }
}

interface Lock {
  update(patch: Partial<LockContent>): void;
  release(): void;
  /** The server a previous, killed run left behind was stopped. */
  stoppedOrphan: boolean;
}

/** Takes the state directory's lock, or says clearly who holds it. */
async function acquireLock(stateDir: string, dbFile: string): Promise<Lock> {
  const file = path.join(stateDir, EMBEDDED_LOCK_FILE);
  let stoppedOrphan = false;
  for (let attempt = 0; attempt < 20; attempt++) {
    const content: LockContent = { pid: process.pid, startedAt: new Date().toISOString(), dbFile };
    try {
      fs.writeFileSync(file, JSON.stringify(content), { flag: 'wx' });
      let current = content;
      return {
        stoppedOrphan,
        update(patch) {
          current = { ...current, ...patch };
          fs.writeFileSync(file, JSON.stringify(current));
        },
        release() {
          if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = readLock(file);
    if (!held) {
      // Being written this instant, or garbage: give a writer a moment, then treat it as stale.
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 2000) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
    } else if (held.pid !== process.pid && isAlive(held.pid)) {
      throw new StateDirBusyError(
        `another harvest-sync run (pid ${held.pid}, started ${held.startedAt}) is using the embedded Temporal state in ${stateDir}. ` +
          `Wait for it to finish, stop it (Ctrl-C in its terminal, or kill ${held.pid}), or give this run another HARVEST_SYNC_STATE_DIR.`,
      );
    }
    // Stale: its owner died. Claim it by renaming (only one contender can), then clean up.
    const claimed = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, claimed);
    } catch {
      continue; // someone else claimed it first
    }
    const claimedContent = readLock(claimed);
    if (held && claimedContent && (claimedContent.pid !== held.pid || claimedContent.startedAt !== held.startedAt)) {
      // A live contender's fresh lock was renamed, not the stale one: put it back.
      fs.renameSync(claimed, file);
      continue;
    }
    if (held?.serverPid !== undefined && (await stopOrphan(held.serverPid, dbFile))) stoppedOrphan = true;
    fs.rmSync(claimed, { force: true });
  }
  throw new StateDirBusyError(`could not take the lock ${file}; remove it if no harvest-sync run is using ${stateDir}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the dev server on `<stateDir>/temporal-run.db`, once the lock is ours. */
export async function startDurableDevServer(opts: { cli: string; stateDir: string; namespace: string }): Promise<DurableDevServer> {
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const dbFile = path.join(opts.stateDir, EMBEDDED_DB_FILE);
  const lock = await acquireLock(opts.stateDir, dbFile);
  let child: ChildProcess | undefined;
  const killNow = (): void => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  try {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    child = spawn(
      opts.cli,
      [
        'server', 'start-dev',
        '--ip', '127.0.0.1', '--port', String(port), '--headless',
        '--db-filename', dbFile,
        '--namespace', opts.namespace,
        ...CUSTOM_SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${a.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`]),
        '--log-level', 'error',
      ],
      // Its own process group: Ctrl-C in the terminal reaches this process, which stops
      // the worker first and the server after it, instead of both at once.
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const server = child;
    let stderr = '';
    server.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    if (server.pid !== undefined) lock.update({ serverPid: server.pid, address });
    // An uncaught failure or process.exit() still stops the server (a SIGKILL cannot: the next run does).
    process.once('exit', killNow);
    await waitReady(address, opts.namespace, server, () => stderr);
    return {
      address,
      dbFile,
      tookOver: lock.stoppedOrphan,
      async stop() {
        process.off('exit', killNow);
        if (server.exitCode === null && server.signalCode === null) {
          const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
          server.kill('SIGTERM');
          const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        lock.release();
      },
    };
  } catch (err) {
    killNow();
    process.off('exit', killNow);
    lock.release();
    throw err;
  }
}

async function waitReady(address: string, namespace: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the Temporal dev server exited (${child.exitCode ?? child.signalCode}): ${stderr().trim().slice(-1000) || 'no output'}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        // The namespace is registered just after the frontend comes up.
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${address} within 60 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
