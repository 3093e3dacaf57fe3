// Activity stubs with the retry policy the pipeline relies on: 5xx, resets and
// truncated bodies retry with backoff for as long as it takes; 429 retries after the
// delay Harvest asked for (nextRetryDelay); 4xx failures are non-retryable. ClickHouse
// outages retry with backoff; ClickHouse mistakes (schema, types, credentials) arrive as
// non-retryable failures (src/clickhouse/errors.ts). A cancelled sync waits for its
// in-flight page requests to be aborted (heartbeats deliver the cancellation).
import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { reportsTaskQueue } from '../core/windows';

/** A Harvest request each: pages (stored in the same attempt) and single records. */
export const pageActivities = proxyActivities<Pick<Activities, 'fetchPage' | 'fetchRecord'>>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '15 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The reports API has its own budget: its pages run on a task queue paced for it. */
export function reportActivities(): Pick<Activities, 'fetchPage'> {
  return proxyActivities<Pick<Activities, 'fetchPage'>>({
    taskQueue: reportsTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '3 minutes',
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
}

/** The rest: schema, plans, parent lists, deletions, report windows, cursors, the run log. */
export const controlActivities = proxyActivities<Omit<Activities, 'fetchPage' | 'fetchRecord'>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
