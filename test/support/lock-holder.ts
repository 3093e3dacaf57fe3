// Takes a state directory's lock and holds it until killed: a `run` as the lock sees it,
// started in its own pid namespace by test/state-lock.test.ts (where it is pid 1).
import { acquireStateDirLock } from '../../src/temporal/state-dir-lock';

const [file, stateDir] = process.argv.slice(2);
const timing = { heartbeatMs: Number(process.env.LOCK_HEARTBEAT_MS ?? 5000), staleMs: Number(process.env.LOCK_STALE_MS ?? 60_000) };
acquireStateDirLock(file, stateDir, 'db', { timing, onWait: (m) => process.stdout.write(`waiting: ${m}\n`) }).then(
  (lock) => {
    process.stdout.write(`locked pid=${process.pid}${lock.takenOver ? ` took-over=${lock.takenOver.pid}` : ''}\n`);
    const release = (): void => {
      lock.release();
      process.exit(0);
    };
    process.on('SIGTERM', release);
    setInterval(() => undefined, 1 << 30);
  },
  (err: Error) => {
    process.stdout.write(`refused: ${err.message}\n`);
    process.exit(3);
  },
);
