// Activity stubs with the retry policy the pipeline relies on: 5xx, resets and
// truncated bodies retry with backoff for as long as it takes; 429 retries after the
// delay Harvest asked for (nextRetryDelay); 4xx failures are non-retryable. ClickHouse
// outages retry with backoff; ClickHouse mistakes (schema, types, credentials) arrive as
// non-retryable failures (src/clickhouse/errors.ts). A cancelled sync waits for its
// in-flight page requests to be aborted (heartbeats deliver the cancellation).
// A page or record activity never waits long for Harvest's budget: with no slot soon (or a
// 429) it returns `waitUntil`, and the workflow waits (src/workflows/paced.ts).
import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { reportsTaskQueue } from '../core/windows';

/** Start-to-close of a page or record activity (seconds), unless the sync's `pageTimeout` says otherwise. */
const PAGE_TIMEOUT_S = 180;

/** Page and record activities; `timeoutS`: their start-to-close (the sync's `pageTimeout`). */
export function pageActivities(timeoutS = PAGE_TIMEOUT_S): Pick<Activities, 'fetchPage' | 'fetchRecord'> {
  return proxyActivities<Pick<Activities, 'fetchPage' | 'fetchRecord'>>({
    startToCloseTimeout: timeoutS * 1000,
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
}

/** Page and record activities with the usual start-to-close. */
export const defaultPageActivities = pageActivities();

/** The reports API has its own budget: its pages run on a task queue paced for it. */
export function reportActivities(timeoutS = PAGE_TIMEOUT_S): Pick<Activities, 'fetchPage'> {
  return proxyActivities<Pick<Activities, 'fetchPage'>>({
    taskQueue: reportsTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: timeoutS * 1000,
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
}

/** Control activities: plan, commit, store checks, the run log (ClickHouse and Harvest's account facts). */
export const controlActivities = proxyActivities<Omit<Activities, 'fetchPage' | 'fetchRecord'>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
