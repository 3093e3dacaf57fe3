// Bounded parallelism in a workflow: one helper for every fan-out of the engine.

export interface LanesOptions<T> {
  /** Tasks that may run at once (asked again each time one could start). */
  width: () => number;
  /** The next item to start, given the free lanes; undefined when none can start now. */
  take: (free: number) => T | undefined;
  work: (item: T) => Promise<void>;
  /** Start nothing more (e.g. the history is full); running tasks still end. */
  stop?: () => boolean;
}

/**
 * Keeps up to `width()` tasks running until `take` has nothing left and nothing runs. A task
 * that ends may make more items available. The first failure stops further starts; it is
 * rethrown once every running task has ended, so no activity is left unawaited.
 */
export async function runLanes<T>(opts: LanesOptions<T>): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  for (;;) {
    while (!failure && !opts.stop?.() && running.size < opts.width()) {
      const item = opts.take(opts.width() - running.size);
      if (item === undefined) break;
      const task: Promise<void> = opts
        .work(item)
        .catch((err: unknown) => {
          failure ??= { err };
        })
        .finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  if (failure) throw failure.err;
}
