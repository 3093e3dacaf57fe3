// Activity stubs with the retry policy the pipeline relies on: 5xx, resets and
// truncated bodies retry with backoff for as long as it takes; 429 retries after the
// delay Harvest asked for (nextRetryDelay); 4xx failures are non-retryable.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const harvestActivities = proxyActivities<Pick<Activities, 'fetchPage'>>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export const storeActivities = proxyActivities<Omit<Activities, 'fetchPage'>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
