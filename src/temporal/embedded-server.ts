// The embedded Temporal of `harvest-sync run`: the official dev server with its state in
// a database file under the state directory, so a `run` killed mid-sync (SIGKILL, a
// closed laptop, OOM) loses nothing: the next `run` starts the server on the same file
// and its worker resumes the unfinished sync at the page it reached.
//
// One `run` at a time owns a state directory: a lock file names it (src/state-dir-lock.ts)
// and its server's pid. A lock whose holder is gone is stale and taken over, and the
// server it left behind (an orphan: a SIGKILLed parent cannot stop its child) is stopped
// first when it runs where this process can see it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../core/search-attributes';
import { acquireStateDirLock, isAlive, localPidSpace, StateDirBusyError, type StateDirLock } from './state-dir-lock';

export { isAlive, StateDirBusyError };

export const EMBEDDED_DB_FILE = 'temporal-run.db';
export const EMBEDDED_LOCK_FILE = 'temporal-run.lock';

export interface DurableDevServer {
  address: string;
  dbFile: string;
  /** Whether the server was stopped from a previous, killed run (taken over). */
  tookOver: boolean;
  stop(): Promise<void>;
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

/** Takes the state directory's lock, then stops the server a killed holder left behind. */
async function acquireLock(stateDir: string, dbFile: string, onWait?: (message: string) => void): Promise<StateDirLock & { stoppedOrphan: boolean }> {
  const lock = await acquireStateDirLock(path.join(stateDir, EMBEDDED_LOCK_FILE), stateDir, dbFile, { onWait });
  const held = lock.takenOver;
  // Its server pid means something only in this pid namespace (a lock of older releases: by its command line).
  const here = held !== undefined && (held.token === undefined || held.pidSpace === localPidSpace());
  let stoppedOrphan = false;
  try {
    if (here && held.serverPid !== undefined) stoppedOrphan = await stopOrphan(held.serverPid, dbFile);
  } catch (err) {
    lock.release();
    throw err;
  }
  return Object.assign(lock, { stoppedOrphan });
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
export async function startDurableDevServer(opts: { cli: string; stateDir: string; namespace: string; onWait?: (message: string) => void }): Promise<DurableDevServer> {
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const dbFile = path.join(opts.stateDir, EMBEDDED_DB_FILE);
  const lock = await acquireLock(opts.stateDir, dbFile, opts.onWait);
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
