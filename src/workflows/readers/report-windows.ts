// Windowed reports: one listing per 365-day window, a few windows at once; a window read to
// its end without shifting replaces its rows, one that never held still keeps them.
import { runLanes } from '../lanes';
import type { ResourceRun } from '../resource-run';
import { controlActivities } from '../proxies';
import { WINDOW_LANES } from '../../core/tuning';
import { freshListing, readListing } from './listing';

export async function readReportWindows(run: ResourceRun): Promise<void> {
  const { input } = run;
  const windows = (run.carry.windows ??= await controlActivities.reportWindows({
    accountId: input.accountId,
    syncId: input.syncId,
    resource: run.spec.name,
    all: input.allWindows,
    ...(input.range ? { range: input.range } : {}),
  }));
  const done = new Set<string>();
  let next = 0;
  await runLanes({
    width: () => WINDOW_LANES,
    take: () => (next < windows.length ? windows[next++] : undefined),
    stop: () => run.historyFull(),
    work: async (window) => {
      run.progress.position = `windows from ${window.from} (${windows.length - done.size} left)`;
      if ((await readListing(run, { window }, freshListing())) === 'held') {
        await controlActivities.replaceWindow({
          accountId: input.accountId, resource: run.spec.name, syncId: input.syncId, window, syncStartedAt: input.runStartedAt,
          ...(input.reach ? { reach: input.reach } : {}),
        });
      } else run.carry.unstable = true;
      done.add(window.from);
    },
  });
  run.carry.windows = windows.filter((w) => !done.has(w.from));
  if (run.carry.windows.length > 0) await run.carryOn();
}
