// The lock of a state directory: one embedded `run` at a time drives its Temporal database
// (and, through its worker, the embedded ClickHouse directory beside it).
//
// A pid alone does not identify a process once pids repeat: every container's first
// process is pid 1, so two `docker compose run … run` sharing the state volume would each
// find "pid 1" alive. The lock therefore names its holder fully (pid, the start time of
// that pid, the pid namespace it lives in, hostname, a random token) and the holder
// refreshes the file's mtime every few seconds (a heartbeat). A lock is stale only when
// its holder is provably gone:
//   - same pid namespace (pids are comparable): its pid is dead, or now belongs to a
//     process that started at another time (a recycled pid, such as the pid 1 of the next
//     container run in the same namespace);
//   - anywhere else (another container, another host sharing the volume): its heartbeat
//     stopped. A fresh heartbeat is watched until it either moves (a live holder: the
//     contender is refused) or grows older than the stale age (taken over).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface LockContent {
  pid: number;
  startedAt: string;
  dbFile: string;
  serverPid?: number;
  address?: string;
  /** Absent in locks of older releases, which named their holder by pid alone. */
  token?: string;
  hostname?: string;
  /** Where the pid means something: boot id and pid namespace (Linux), or the hostname. */
  pidSpace?: string;
  /** Start time of `pid` as the system tells it (clock ticks since boot on Linux). */
  processStart?: string;
}

export class StateDirBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateDirBusyError';
  }
}

export interface LockTiming {
  /** How often the holder refreshes the lock's mtime. */
  heartbeatMs: number;
  /** A lock of a holder in another pid namespace is stale once its heartbeat is this old. */
  staleMs: number;
}

export const LOCK_TIMING: LockTiming = { heartbeatMs: 5_000, staleMs: 60_000 };

export interface StateDirLock {
  update(patch: Partial<LockContent>): void;
  release(): void;
  /** The lock was taken over from a holder that is gone; its content then. */
  takenOver?: LockContent;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

let ownPidSpace: string | undefined;
/** Where this process's pids mean something (see pidSpace). */
export function localPidSpace(): string {
  return (ownPidSpace ??= pidSpace());
}

/** Boot and pid namespace (Linux): two processes with equal values can compare pids. */
function pidSpace(): string {
  const boot = readText('/proc/sys/kernel/random/boot_id');
  let ns: string | undefined;
  try {
    ns = fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    ns = undefined;
  }
  // Without /proc (macOS), one host is one pid space.
  return boot && ns ? `${boot}/${ns}` : `host:${os.hostname()}`;
}

/** When process `pid` started, as an opaque string; undefined when it cannot be read. */
export function processStartTime(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat !== undefined) {
    // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  }
  try {
    return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function readLock(file: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockContent>;
    return typeof parsed.pid === 'number' ? (parsed as LockContent) : undefined;
  } catch {
    return undefined;
  }
}

const mtimeOf = (file: string): number | undefined => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;

type Holder = 'alive' | 'gone' | 'watch';

/** What the lock's content alone proves about its holder. */
function judge(held: LockContent, self: { pidSpace: string; processStart: string | undefined }): Holder {
  if (held.token === undefined) {
    // An older release's lock: pid alone, as that release judged it.
    return held.pid !== process.pid && isAlive(held.pid) ? 'alive' : 'gone';
  }
  if (held.pidSpace !== self.pidSpace) return 'watch';
  if (!isAlive(held.pid)) return 'gone';
  const start = held.pid === process.pid ? self.processStart : processStartTime(held.pid);
  // Alive with the same start time: the holder itself (in this very process, too).
  if (held.processStart !== undefined && start !== undefined && start !== held.processStart) return 'gone';
  return 'alive';
}

/** Where the holder runs, when that is not beside this process. */
function elsewhere(held: LockContent): string {
  if (held.pidSpace === undefined || held.pidSpace === localPidSpace()) return '';
  return held.hostname && held.hostname !== os.hostname() ? `host ${held.hostname}` : 'another pid namespace (container)';
}

function describeHolder(held: LockContent, heartbeatAgeMs?: number): string {
  const where = elsewhere(held) ? `, ${elsewhere(held)}` : '';
  const beat = heartbeatAgeMs !== undefined ? `, last heartbeat ${Math.round(heartbeatAgeMs / 1000)} s ago` : '';
  return `pid ${held.pid}, started ${held.startedAt}${where}${beat}`;
}

function busy(stateDir: string, held: LockContent, heartbeatAgeMs?: number): StateDirBusyError {
  const where = elsewhere(held) ? ` in ${elsewhere(held)}` : '';
  return new StateDirBusyError(
    `another harvest-sync run (${describeHolder(held, heartbeatAgeMs)}) is using the embedded Temporal state in ${stateDir}. ` +
      `Wait for it to finish, stop it (Ctrl-C in its terminal, or kill ${held.pid}${where}), or give this run another HARVEST_SYNC_STATE_DIR.`,
  );
}

/**
 * Takes the lock file `file` of `stateDir`, or throws StateDirBusyError naming its holder.
 * `onWait` hears why it waits (a holder elsewhere whose heartbeat is being watched).
 */
export async function acquireStateDirLock(
  file: string,
  stateDir: string,
  dbFile: string,
  opts: { timing?: LockTiming; onWait?: (message: string) => void } = {},
): Promise<StateDirLock> {
  const timing = opts.timing ?? LOCK_TIMING;
  const self = { pidSpace: localPidSpace(), processStart: processStartTime(process.pid) };
  let takenOver: LockContent | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    const content: LockContent = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      dbFile,
      token: randomBytes(12).toString('hex'),
      hostname: os.hostname(),
      pidSpace: self.pidSpace,
      ...(self.processStart !== undefined ? { processStart: self.processStart } : {}),
    };
    try {
      fs.writeFileSync(file, JSON.stringify(content), { flag: 'wx' });
      return holdLock(file, content, timing, takenOver);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = readLock(file);
    if (!held) {
      // Being written this instant, or garbage: give a writer a moment, then treat it as stale.
      const age = Date.now() - (mtimeOf(file) ?? 0);
      if (age < 2000) {
        await sleep(200);
        continue;
      }
    } else {
      const verdict = judge(held, self);
      if (verdict === 'alive') throw busy(stateDir, held);
      if (verdict === 'watch') {
        const seen = await watchHeartbeat(file, held, timing, () =>
          opts.onWait?.(`the state directory ${stateDir} is locked by a harvest-sync run elsewhere (${describeHolder(held)}); ` +
            `waiting up to ${Math.round(timing.staleMs / 1000)} s for its heartbeat to show whether it still runs`),
        );
        if (seen === 'changed') continue; // replaced or released meanwhile: look again
        if (seen === 'alive') throw busy(stateDir, held, Date.now() - (mtimeOf(file) ?? Date.now()));
      }
    }
    // Stale: its holder is gone. Claim it by renaming (only one contender can), then check
    // that what was renamed is the lock judged stale, not a fresh one written meanwhile.
    const claimed = `${file}.stale-${process.pid}-${content.token}`;
    try {
      fs.renameSync(file, claimed);
    } catch {
      continue; // someone else claimed it first
    }
    const claimedContent = readLock(claimed);
    if (held && claimedContent && !sameLock(held, claimedContent)) {
      fs.renameSync(claimed, file);
      continue;
    }
    takenOver = held;
    fs.rmSync(claimed, { force: true });
  }
  throw new StateDirBusyError(`could not take the lock ${file}; remove it if no harvest-sync run is using ${stateDir}`);
}

function sameLock(a: LockContent, b: LockContent): boolean {
  return a.token !== undefined || b.token !== undefined ? a.token === b.token : a.pid === b.pid && a.startedAt === b.startedAt;
}

/**
 * Watches the heartbeat of a holder whose pid cannot be checked from here: 'alive' when the
 * mtime moves, 'stale' once it is older than the stale age, 'changed' when the lock was
 * replaced or removed meanwhile.
 */
async function watchHeartbeat(file: string, held: LockContent, timing: LockTiming, onWait: () => void): Promise<'alive' | 'stale' | 'changed'> {
  const first = mtimeOf(file);
  if (first === undefined) return 'changed';
  let told = false;
  for (;;) {
    const mtime = mtimeOf(file);
    const now = readLock(file);
    if (mtime === undefined || !now || !sameLock(now, held)) return 'changed';
    if (mtime !== first) return 'alive';
    if (Date.now() - mtime > timing.staleMs) return 'stale';
    if (!told) {
      onWait();
      told = true;
    }
    await sleep(Math.min(250, timing.heartbeatMs / 4));
  }
}

function holdLock(file: string, content: LockContent, timing: LockTiming, takenOver: LockContent | undefined): StateDirLock {
  let current = content;
  const ours = (): boolean => readLock(file)?.token === content.token;
  // The heartbeat: a contender in another pid namespace knows the holder runs by it.
  const heartbeat = setInterval(() => {
    try {
      if (!ours()) return;
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // The state directory went away: nothing to refresh.
    }
  }, timing.heartbeatMs);
  heartbeat.unref();
  return {
    ...(takenOver ? { takenOver } : {}),
    update(patch) {
      current = { ...current, ...patch };
      // Written aside and renamed over: a reader never sees half a lock.
      const tmp = `${file}.${content.token}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(current));
      fs.renameSync(tmp, file);
    },
    release() {
      clearInterval(heartbeat);
      if (ours()) fs.rmSync(file, { force: true });
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
