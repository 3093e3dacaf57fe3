/**
 * Injected failures, so tests can prove the client survives what Harvest and the
 * network really do: 5xx (HTML or JSON), connection resets, slow answers, truncated
 * bodies, 429s and arbitrary statuses; plus permanent 403s for chosen paths.
 */

export interface Fault {
  kind: '5xx' | 'reset' | 'slow' | 'truncate' | '429' | 'status';
  /** How many of the next matching requests it hits. */
  count: number;
  /** Matches pathnames starting with this; default: every `/v2/` API path. */
  pathPrefix?: string;
  status?: number;
  message?: string;
  delayMs?: number;
  retryAfter?: number;
}

export interface FaultControls {
  add(fault: Fault): void;
  /** Permanent 403 `{code:403,message}` for matching paths until clear(). */
  forbid(pathPrefix: string, message?: string): void;
  /** Drops pending faults and forbidden paths. */
  clear(): void;
  /** Requests still to be hit by pending faults. */
  pending(): number;
}

/** A fault applied to one request, with the running number of its kind (to vary bodies). */
export interface AppliedFault {
  fault: Fault;
  /** 0-based count of faults of this kind applied so far by this server. */
  sequence: number;
}

const DEFAULT_PREFIX = '/v2/';

function matches(prefix: string | undefined, pathname: string): boolean {
  return pathname.startsWith(prefix ?? DEFAULT_PREFIX);
}

export class FaultController implements FaultControls {
  private queue: Array<{ fault: Fault; remaining: number }> = [];
  private forbidden: Array<{ prefix: string; message: string }> = [];
  private readonly applied = new Map<Fault['kind'], number>();

  add(fault: Fault): void {
    if (!Number.isInteger(fault.count) || fault.count < 1) throw new Error('fake-harvest: fault.count must be >= 1');
    this.queue.push({ fault: { ...fault }, remaining: fault.count });
  }

  forbid(pathPrefix: string, message = 'You do not have permission to access this resource.'): void {
    this.forbidden.push({ prefix: pathPrefix, message });
  }

  clear(): void {
    this.queue = [];
    this.forbidden = [];
  }

  pending(): number {
    return this.queue.reduce((sum, q) => sum + q.remaining, 0);
  }

  /** The 403 message for a forbidden path, if any. */
  forbiddenMessage(pathname: string): string | undefined {
    return this.forbidden.find((f) => pathname.startsWith(f.prefix))?.message;
  }

  /** Consumes one hit of the first pending fault matching the path (faults apply in the order added). */
  take(pathname: string): AppliedFault | undefined {
    const entry = this.queue.find((q) => matches(q.fault.pathPrefix, pathname));
    if (!entry) return undefined;
    entry.remaining--;
    if (entry.remaining === 0) this.queue.splice(this.queue.indexOf(entry), 1);
    const sequence = this.applied.get(entry.fault.kind) ?? 0;
    this.applied.set(entry.fault.kind, sequence + 1);
    return { fault: entry.fault, sequence };
  }
}
