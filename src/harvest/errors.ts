// Errors the Harvest client raises. Messages name the resource, the path (never a
// credential) and Harvest's own message; `retryable` decides what Temporal does next.

export type HarvestErrorKind =
  | 'rate_limited' // 429: wait Retry-After
  | 'server' // 5xx: retry with backoff
  | 'network' // reset, timeout, DNS: retry with backoff
  | 'malformed' // body is not the JSON we expect: retry (truncated answers are transient)
  | 'client' // 400/403/404/422: fail fast
  | 'auth'; // 401 after a token refresh: fail fast

export class HarvestError extends Error {
  constructor(
    message: string,
    readonly kind: HarvestErrorKind,
    readonly status: number | undefined,
    readonly retryable: boolean,
    /** For 429: how long Harvest asked us to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HarvestError';
  }
}

/** Harvest's error body is `{code, message}` or OAuth's `{error, error_description}`; 5xx may be HTML. */
export function harvestMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      for (const k of ['message', 'error_description', 'error']) {
        if (typeof o[k] === 'string' && o[k]) return o[k] as string;
      }
    }
  } catch {
    // not JSON: fall through to a short text excerpt
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || '(empty body)';
}

/** Seconds or an HTTP date, as RFC 9110 allows; defaults to 15 s (Harvest's window). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number {
  const v = Array.isArray(value) ? value[0] : value;
  if (v !== undefined) {
    const secs = Number(v);
    if (Number.isFinite(secs) && secs >= 0) return Math.max(1000, Math.ceil(secs * 1000));
    const date = Date.parse(v);
    if (!Number.isNaN(date)) return Math.max(1000, date - now);
  }
  return 15_000;
}

export function errorForStatus(status: number, body: string, what: string, retryAfter?: string | string[]): HarvestError {
  const msg = harvestMessage(body);
  const text = `Harvest answered ${status} for ${what}: ${msg}`;
  if (status === 429) return new HarvestError(text, 'rate_limited', status, true, parseRetryAfter(retryAfter));
  if (status >= 500) return new HarvestError(text, 'server', status, true);
  if (status === 401) return new HarvestError(`${text} (check the access token or OAuth2 credentials)`, 'auth', status, false);
  if (status === 403) return new HarvestError(`${text} (the token's user lacks permission, or HARVEST_ACCOUNT_ID is not an account of this token)`, 'client', status, false);
  return new HarvestError(text, 'client', status, false);
}
