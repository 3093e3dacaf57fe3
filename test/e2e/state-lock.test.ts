// The state directory's lock when pids repeat (every container's first process is pid 1):
// holders are told apart by pid namespace, process start time and token; a holder the
// contender cannot see is judged by its heartbeat.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireStateDirLock, localPidSpace, processStartTime, readLock, StateDirBusyError, type LockContent } from '../../src/temporal/state-dir-lock';
import { PROJECT_ROOT, TMP } from '../support/harness';

const FAST = { heartbeatMs: 100, staleMs: 1500 };

function lockDir(): { dir: string; file: string } {
  fs.mkdirSync(TMP, { recursive: true });
  const dir = fs.mkdtempSync(path.join(TMP, 'lock-'));
  return { dir, file: path.join(dir, 'temporal-run.lock') };
}

/** A lock written by someone else, with pid = this process's pid unless told otherwise. */
function writeLock(file: string, patch: Partial<LockContent>, mtimeAgoMs = 0): LockContent {
  const content: LockContent = {
    pid: process.pid,
    startedAt: new Date(Date.now() - 3_600_000).toISOString(),
    dbFile: 'db',
    token: 'other-holder-token',
    hostname: 'other-container',
    pidSpace: 'another-boot/pid:[4026532999]',
    processStart: '12345',
    ...patch,
  };
  fs.writeFileSync(file, JSON.stringify(content));
  const at = new Date(Date.now() - mtimeAgoMs);
  fs.utimesSync(file, at, at);
  return content;
}

/** Refreshes a lock's mtime as a live holder does. */
function beat(file: string, everyMs: number): () => void {
  const t = setInterval(() => {
    const now = new Date();
    fs.utimesSync(file, now, now);
  }, everyMs);
  return () => clearInterval(t);
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('state directory lock: holders with the same pid', () => {
  it('a live holder in another container with our own pid is refused, named, and left alone', async () => {
    const { dir, file } = lockDir();
    writeLock(file, {});
    const stop = beat(file, FAST.heartbeatMs);
    const began = Date.now();
    try {
      await assert.rejects(acquireStateDirLock(file, dir, 'db', { timing: FAST }), (err: Error) => {
        assert.ok(err instanceof StateDirBusyError);
        assert.match(err.message, new RegExp(`another harvest-sync run \\(pid ${process.pid}, started .*, host other-container, last heartbeat \\d+ s ago\\) is using the embedded Temporal state in ${dir}`));
        assert.match(err.message, /kill \d+ in host other-container/);
        return true;
      });
    } finally {
      stop();
    }
    assert.ok(Date.now() - began < FAST.staleMs, 'a moving heartbeat is recognised before the stale age');
    assert.equal(readLock(file)?.token, 'other-holder-token', 'the live holder keeps its lock');
  });

  it('a holder in another container whose heartbeat stopped long ago is taken over at once', async () => {
    const { dir, file } = lockDir();
    writeLock(file, {}, 10 * FAST.staleMs);
    const began = Date.now();
    const lock = await acquireStateDirLock(file, dir, 'db', { timing: FAST });
    try {
      assert.ok(Date.now() - began < FAST.staleMs);
      assert.equal(lock.takenOver?.token, 'other-holder-token');
      const mine = readLock(file)!;
      assert.equal(mine.pid, process.pid);
      assert.notEqual(mine.token, 'other-holder-token');
      assert.equal(mine.pidSpace, localPidSpace());
    } finally {
      lock.release();
    }
    assert.ok(!fs.existsSync(file), 'released');
  });

  it('a holder elsewhere killed a moment ago: the heartbeat is watched until it is stale, then taken over', async () => {
    const { dir, file } = lockDir();
    writeLock(file, {});
    const waits: string[] = [];
    const began = Date.now();
    const lock = await acquireStateDirLock(file, dir, 'db', { timing: FAST, onWait: (m) => waits.push(m) });
    lock.release();
    const took = Date.now() - began;
    assert.ok(took >= FAST.staleMs - 200 && took < FAST.staleMs * 3, `took ${took} ms`);
    assert.equal(waits.length, 1);
    assert.match(waits[0], /locked by a harvest-sync run elsewhere \(pid \d+, .*host other-container\); waiting up to 2 s for its heartbeat/);
  });

  it('in this pid namespace: a lock of our pid from a process that started at another time is stale (the previous pid 1)', async () => {
    const { dir, file } = lockDir();
    writeLock(file, { pidSpace: localPidSpace(), hostname: os.hostname(), processStart: 'not-our-start' });
    const began = Date.now();
    const lock = await acquireStateDirLock(file, dir, 'db', { timing: FAST });
    lock.release();
    assert.ok(Date.now() - began < FAST.staleMs, 'no heartbeat wait where pids can be checked');
    assert.equal(lock.takenOver?.token, 'other-holder-token');
  });

  it('in this pid namespace: a dead pid is stale; a live pid with its own start time holds the lock', async () => {
    const { dir, file } = lockDir();
    writeLock(file, { pid: await deadPid(), pidSpace: localPidSpace(), processStart: undefined });
    const lock = await acquireStateDirLock(file, dir, 'db', { timing: FAST });
    lock.release();
    assert.equal(lock.takenOver?.token, 'other-holder-token');

    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await new Promise((r) => holder.once('spawn', r));
      writeLock(file, { pid: holder.pid!, pidSpace: localPidSpace(), processStart: processStartTime(holder.pid!) });
      await assert.rejects(acquireStateDirLock(file, dir, 'db', { timing: FAST }), new RegExp(`another harvest-sync run \\(pid ${holder.pid}, started `));
      // The same pid with another start time is a recycled pid.
      writeLock(file, { pid: holder.pid!, pidSpace: localPidSpace(), processStart: 'earlier' });
      (await acquireStateDirLock(file, dir, 'db', { timing: FAST })).release();
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a second lock in the same process is refused (its pid and start time are the holder\'s)', async () => {
    const { dir, file } = lockDir();
    const first = await acquireStateDirLock(file, dir, 'db', { timing: FAST });
    try {
      await assert.rejects(acquireStateDirLock(file, dir, 'db', { timing: FAST }), StateDirBusyError);
    } finally {
      first.release();
    }
  });

  it('locks of the previous release (pid only) are judged as that release did', async () => {
    const { dir, file } = lockDir();
    fs.writeFileSync(file, JSON.stringify({ pid: await deadPid(), startedAt: new Date().toISOString(), dbFile: 'db' }));
    (await acquireStateDirLock(file, dir, 'db', { timing: FAST })).release();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await new Promise((r) => holder.once('spawn', r));
      fs.writeFileSync(file, JSON.stringify({ pid: holder.pid, startedAt: new Date().toISOString(), dbFile: 'db' }));
      await assert.rejects(acquireStateDirLock(file, dir, 'db', { timing: FAST }), StateDirBusyError);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

// Two "containers": each holder is pid 1 of its own pid namespace (unshare needs root).
const unshareWorks = process.platform === 'linux' && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

describe('state directory lock: two processes that are both pid 1', { skip: !unshareWorks && 'needs unshare --pid (root on Linux)' }, () => {
  function holder(file: string, dir: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn(
      'unshare',
      ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, '--import', 'tsx', path.join(PROJECT_ROOT, 'test', 'support', 'lock-holder.ts'), file, dir],
      // Without NODE_TEST_CONTEXT: the holder is a program, not a test file of this run.
      { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOCK_HEARTBEAT_MS: '200', LOCK_STALE_MS: '3000' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, output: () => out, exited };
  }
  async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('the second pid 1 is refused while the first runs, and takes over once it is killed', async () => {
    const { dir, file } = lockDir();
    const a = holder(file, dir);
    try {
      await until('the first holder locked', () => a.output().includes('locked pid='));
      assert.match(a.output(), /locked pid=1\n/);
      const lockA = readLock(file)!;
      assert.equal(lockA.pid, 1);

      const b = holder(file, dir);
      assert.equal(await b.exited, 3, b.output());
      assert.match(b.output(), /refused: another harvest-sync run \(pid 1, started .*, another pid namespace \(container\), last heartbeat \d+ s ago\) is using the embedded Temporal state in .*kill 1 in another pid namespace/);
      assert.equal(readLock(file)?.token, lockA.token, 'the first holder keeps its lock');

      // A killed container: its heartbeat stops; the next pid 1 waits for it to go stale, then takes over.
      a.child.kill('SIGKILL');
      await a.exited;
      const c = holder(file, dir);
      try {
        await until('the third holder locked', () => c.output().includes('locked pid='));
        assert.match(c.output(), /locked pid=1 took-over=1\n/);
        assert.notEqual(readLock(file)?.token, lockA.token);
      } finally {
        // unshare ignores SIGTERM while it waits: the holder itself (its child) is told to stop.
        const holderPid = Number(fs.readFileSync(`/proc/${c.child.pid}/task/${c.child.pid}/children`, 'utf8').trim().split(' ')[0]);
        process.kill(holderPid, 'SIGTERM');
        await c.exited;
      }
      assert.ok(!fs.existsSync(file), 'released on SIGTERM');
    } finally {
      a.child.kill('SIGKILL');
    }
  });
});
