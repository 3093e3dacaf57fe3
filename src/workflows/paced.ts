// A page or record activity that found no slot of Harvest's budget soon (or was answered
// 429) returns `waitUntil` without sending its request. The wait happens here, on a durable
// workflow timer, never inside an activity whose timeout it could outlast: an attempt that
// times out would leave its booked slot unused while its retry queued again behind it.
import { sleep } from '@temporalio/workflow';

/** What a page or record activity answers: its requests, and `waitUntil` when it waits. */
export interface PacedResult {
  requests: number;
  rateLimited: number;
  waitUntil?: number;
}

/** Shortest wait between two asks (a Retry-After of 0 must not spin). */
const LEAST_WAIT_MS = 1_000;

/**
 * Calls `call` until it answers without `waitUntil`, sleeping (workflow time) until then
 * in between; `onWait` hears of each wait. The answer counts the requests of every call.
 */
export async function paced<T extends PacedResult>(call: () => Promise<T>, onWait?: (untilMs: number) => void): Promise<T> {
  let requests = 0;
  let rateLimited = 0;
  for (;;) {
    const result = await call();
    if (result.waitUntil === undefined) {
      return requests + rateLimited === 0 ? result : { ...result, requests: result.requests + requests, rateLimited: result.rateLimited + rateLimited };
    }
    requests += result.requests;
    rateLimited += result.rateLimited;
    onWait?.(result.waitUntil);
    await sleep(Math.max(LEAST_WAIT_MS, result.waitUntil - Date.now()));
  }
}
