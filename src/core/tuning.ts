// The engine's tuning numbers, in one place. Each decides which activities a sync
// schedules, so a change is a workflow change (docs/releasing.md).

/** Parent ids asked of the store at once by a per-parent fan-out. */
export const PARENT_CHUNK = 200;
/** Passes read at most while a page-numbered listing keeps shifting. */
export const LISTING_PASSES = 3;
/** Deletion candidates confirmed one by one at most per resource and run. */
export const CONFIRM_BUDGET = 500;
/**
 * Report windows read at once. The reports budget (100 / 15 min) allows a fresh window's
 * worth at once, and each report is its own workflow: 9 reports × 4 windows stay within it.
 */
export const WINDOW_LANES = 4;
/** Least requests in flight of a per-parent fan-out: its pages are small and mostly latency. */
export const FAN_OUT_LANES = 16;
/** Headroom over budget rate × lane time, so a slower page does not idle the budget. */
export const IN_FLIGHT_HEADROOM = 1.25;
/** Rounds that list what changed during a dated listing, at most (docs/listings.md). */
export const CATCH_UP_ROUNDS = 3;
/** Pages a listing may take beyond the count its first page told before its links count as a loop. */
export const LINK_SLACK = 50;
/**
 * A date window split to keep lanes busy is cut into pieces expected to hold this many
 * pages: a piece that overflows goes on from where its first page ended (nothing re-read
 * but that page's oldest day), while a piece that holds little wastes a request.
 */
export const PIECE_PAGES = 4;
/** A dated list whose page spans fewer days than this is dense: its windows are read by page number. */
export const SNAPSHOT_DAYS = 10;
/** Pages a paged window of a dense dated list is cut to hold. */
export const PAGED_WINDOW_PAGES = 10;
/** A paged window holding more than this many times PAGED_WINDOW_PAGES, told by its first page, is cut again. */
export const RECUT_PAGES = 1.5;
/** Paged windows of a dense dated list planned ahead of the snapshot that tells the density further back. */
export const PAGED_WINDOWS_AHEAD = 8;
/**
 * A round that lists what changed during a dated listing reads from when the previous one
 * began, less this: Harvest's clock and the workflow's may differ by that much.
 */
export const CATCH_UP_MARGIN_MS = 60_000;
/** Pages in flight per resource at least (or exactly, when the sync was given `concurrency`). */
export const PAGES_IN_FLIGHT = 8;
/** Most requests in flight of one resource when sized by latency. */
export const IN_FLIGHT_MAX = 24;
/** Harvest's general budget as a rate: 100 requests per 15 s. */
export const GENERAL_REQUESTS_PER_SECOND = 100 / 15;
