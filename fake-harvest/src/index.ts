/** Public API of the fake Harvest server and account generator. */
export { generateAccount, TIME_ENTRY_ID_FLOOR, type GenerateOptions } from './generate';
export {
  startFakeHarvest,
  TOKEN_PATH,
  ACCOUNTS_PATH,
  type AccountHandle,
  type FakeHarvest,
  type FakeHarvestOptions,
  type RequestLogEntry,
  type RequestInfo,
  type RequestHook,
} from './server';
export type { Fault, FaultControls } from './faults';
export { editWhileListing, type ListingEdit, type ListingEditHandle } from './edits';
export {
  DATE_FIELD,
  DATED_KINDS,
  DATED_LIST_PATHS,
  snapshotDated,
  startEditStream,
  type AppliedEdit,
  type DatedKind,
  type EditCounts,
  type EditStream,
  type EditStreamOptions,
  type EditType,
  type RecordVersion,
} from './edit-stream';
export type { OAuthOptions, RateLimit } from './auth';
export {
  actingUser,
  managedProjects,
  PARENT_FIELDS,
  parentIdOf,
  presentRecord,
  projectAssignmentsFor,
  teammatesFor,
  visibleToToken,
  type TokenRole,
} from './store';
export {
  MAX_REPORT_SPAN_DAYS,
  parseReportWindow,
  REPORTS,
  reportRows,
  type ReportName,
  type ReportOptions,
  type ReportWindow,
} from './reports';
export {
  ROUTES,
  FILTERS,
  type Access,
  type Route,
  type ListRoute,
  type ObjectRoute,
  type ReportRoute,
  type FilterName,
  type FilterSpec,
  type RouteContext,
} from './routes';
export { RESOURCE_KINDS, type FakeAccountData, type Rec, type ResourceKind, type SortOrder } from './types';
