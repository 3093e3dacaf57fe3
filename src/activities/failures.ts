// How the activities' errors reach the workflows: Harvest's and ClickHouse's errors as
// Temporal failures (retryable or not, with Harvest's Retry-After), and a request that
// must wait for Harvest's budget as a time the workflow waits until.
import { ApplicationFailure } from '@temporalio/activity';
import { ClickHouseStoreError } from '../clickhouse/errors';
import { HarvestError } from '../harvest/errors';
import { PacingWait } from '../pacing/pacer';
import { FORBIDDEN_FAILURE } from '../core/types';

/** Request counts of one page, carried across attempts in the heartbeat details. */
export interface AttemptCounts {
  requests: number;
  rateLimited: number;
}

/**
 * When a page or record request must wait for Harvest's budget (ms epoch): no pacing slot
 * soon (nothing was sent: not a request), or a 429 (a request, answered 429; the pacer
 * already holds the budget for its Retry-After). `counts` is corrected to match.
 */
export function budgetWait(err: unknown, counts: AttemptCounts): number | undefined {
  if (err instanceof PacingWait) {
    counts.requests--;
    return err.waitUntil;
  }
  if (err instanceof HarvestError && err.status === 429) {
    counts.rateLimited++;
    return Date.now() + (err.retryAfterMs ?? 1000);
  }
  return undefined;
}

/**
 * Harvest errors become Temporal failures: 429 waits Retry-After, 4xx stops retrying.
 * ClickHouse errors by kind: outages retry with backoff, mistakes fail at once.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof ClickHouseStoreError) {
    return ApplicationFailure.create({ message: err.message, type: `ClickHouse.${err.kind.name}`, nonRetryable: !err.kind.retryable });
  }
  if (err instanceof PacingWait) {
    // Elsewhere than a page or record (e.g. the token's reach): Temporal's retry timer waits.
    return ApplicationFailure.create({ message: err.message, type: 'Harvest.paced', nextRetryDelay: Math.max(1000, err.waitUntil - Date.now()) });
  }
  if (!(err instanceof HarvestError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    // 403 has its own type: the workflow skips a forbidden resource unless strict.
    type: err.status === 403 ? FORBIDDEN_FAILURE : `Harvest.${err.kind}`,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryAfterMs,
    details: err.status !== undefined ? [{ status: err.status }] : undefined,
  });
}

/** Activities whose store (or Harvest) failures become retryable or non-retryable Temporal failures. */
export function classifiedAll<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  type Fn = (...args: never[]) => Promise<unknown>;
  const classified = (fn: Fn): Fn =>
    async (...args) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err);
      }
    };
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, classified(fn)])) as T;
}
