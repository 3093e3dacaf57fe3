// The state of one resource's sync, shared by its readers: progress, the carried state,
// the page request (with its accounting and pacing waits), lanes and continue-as-new.
import { continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { DateRange, PageRequest, PageResult, RecordCheck, ResourceCarry, ResourceProgress, ResourceSyncInput, WorkflowSpec } from '../core/types';
import type { ReportWindow } from '../core/windows';
import { defaultPageActivities, pageActivities, reportActivities } from './proxies';
import { paced } from './paced';
import { FAN_OUT_LANES, IN_FLIGHT_HEADROOM, LISTING_PASSES } from '../core/tuning';

/** What a reader asks of one page: the resource's first page (url null, filtered so) or a link. */
export interface PageAsk {
  url: string | null;
  parentId?: number;
  window?: ReportWindow;
  range?: DateRange;
  /** A page of a page-numbered list other than the first (page 1: url null, no page). */
  page?: number;
  /** Default: the run's lower bound. */
  updatedSince?: string | null;
}

export class ResourceRun {
  readonly spec: WorkflowSpec;
  readonly carry: ResourceCarry;
  readonly progress: ResourceProgress;
  /** Passes a page-numbered listing gets while it keeps shifting. */
  readonly maxPasses: number;
  private inFlight = 0;
  private readonly pages: { fetchPage(req: PageRequest): Promise<PageResult> };
  private readonly records: Pick<typeof defaultPageActivities, 'fetchRecord'>;

  constructor(readonly input: ResourceSyncInput) {
    this.spec = input.spec;
    this.carry = input.carry ?? { progress: freshProgress(input) };
    this.progress = this.carry.progress;
    this.maxPasses = Math.max(1, input.listingPasses ?? LISTING_PASSES);
    // `pageTimeout`: a sync given a shorter attempt limit (tests that scale Harvest's windows down).
    const general = input.pageTimeout ? pageActivities(input.pageTimeout) : defaultPageActivities;
    this.pages = this.spec.report ? reportActivities(input.pageTimeout) : general;
    this.records = general;
  }

  /**
   * Requests in flight: fixed, or (inFlight set) enough to spend the budget's rate while a
   * page holds its lane (Harvest's latency plus storing it), as the pages so far tell.
   */
  lanes(): number {
    const { concurrency, inFlight } = this.input;
    let least = Math.max(1, concurrency);
    if (inFlight && this.spec.parent) least = Math.max(least, FAN_OUT_LANES);
    if (!inFlight || this.spec.report || !this.carry.busyMs) return least;
    const wanted = Math.ceil(inFlight.requestsPerSecond * (this.carry.busyMs / 1000) * IN_FLIGHT_HEADROOM);
    return Math.max(least, Math.min(inFlight.max, wanted));
  }

  historyFull(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= this.input.historyLimit;
  }

  /** Continues as new with the carried state: every reader keeps what it needs to resume there. */
  carryOn(): Promise<never> {
    this.progress.continuedAsNew++;
    return continueAsNew<(input: ResourceSyncInput) => Promise<ResourceProgress>>({ ...this.input, carry: this.carry });
  }

  /** One page: fetched and stored by an activity; the workflow learns its metadata only. */
  async fetch(ask: PageAsk): Promise<PageResult> {
    this.inFlight++;
    this.progress.mostInFlight = Math.max(this.progress.mostInFlight ?? 0, this.inFlight);
    let page: PageResult;
    try {
      page = await paced(() =>
        this.pages.fetchPage({
          accountId: this.input.accountId,
          syncId: this.input.syncId,
          resource: this.spec.name,
          updatedSince: ask.updatedSince === undefined ? this.input.updatedSince : ask.updatedSince,
          url: ask.url,
          ...(ask.parentId !== undefined ? { parentId: ask.parentId } : {}),
          ...(ask.window ? { window: ask.window } : {}),
          ...(ask.range ? { range: ask.range } : {}),
          ...(ask.page !== undefined && ask.page > 1 ? { page: ask.page } : {}),
          // Reports under a token below Administrator store only the rows within its reach.
          ...(this.spec.report && this.input.reach ? { reach: this.input.reach } : {}),
        }),
      (until) => this.waiting(until));
    } finally {
      this.inFlight--;
    }
    this.waited();
    this.progress.requests += page.requests;
    this.progress.rateLimited += page.rateLimited;
    if (page.busyMs !== undefined) this.carry.busyMs = this.carry.busyMs ? Math.round(this.carry.busyMs * 0.7 + page.busyMs * 0.3) : page.busyMs;
    if (!page.parentGone) {
      this.progress.pages++;
      this.progress.rows += page.rows;
      this.progress.typeMismatches += page.typeMismatches;
      if (page.maxUpdatedAt && (!this.progress.newestUpdatedAt || page.maxUpdatedAt > this.progress.newestUpdatedAt)) {
        this.progress.newestUpdatedAt = page.maxUpdatedAt;
      }
    }
    return page;
  }

  /** One record asked of Harvest (deletion confirmation). */
  async checkRecord(id: string): Promise<RecordCheck> {
    const { accountId, syncId, reach } = this.input;
    const check = await paced(() => this.records.fetchRecord({ accountId, syncId, resource: this.spec.name, id, ...(reach ? { reach } : {}) }), (until) => this.waiting(until));
    this.waited();
    this.progress.requests += check.requests;
    this.progress.rateLimited += check.rateLimited;
    return check;
  }

  /** A request waits in the workflow for Harvest's budget: progress says until when. */
  private waiting(untilMs: number): void {
    this.progress.pacingWaits = (this.progress.pacingWaits ?? 0) + 1;
    const until = new Date(untilMs).toISOString();
    if (!this.progress.waitingUntil || until > this.progress.waitingUntil) this.progress.waitingUntil = until;
  }

  private waited(): void {
    if (this.progress.waitingUntil && Date.parse(this.progress.waitingUntil) <= Date.now()) delete this.progress.waitingUntil;
  }
}

function freshProgress(input: ResourceSyncInput): ResourceProgress {
  return {
    resource: input.spec.name,
    state: 'running',
    pages: 0,
    rows: 0,
    requests: 0,
    rateLimited: 0,
    typeMismatches: 0,
    ...(input.spec.parent ? { parentsDone: 0, parentsGone: 0, changedParentsOnly: input.changedOnly } : {}),
    updatedSince: input.updatedSince,
    committedCursor: null,
    newestUpdatedAt: null,
    continuedAsNew: 0,
  };
}
