/** Public API of the fake Harvest server and account generator. */
export { generateAccount, TIME_ENTRY_ID_FLOOR, type GenerateOptions } from './generate';
export {
  startFakeHarvest,
  TOKEN_PATH,
  ACCOUNTS_PATH,
  type FakeHarvest,
  type FakeHarvestOptions,
  type RequestLogEntry,
  type RequestInfo,
  type RequestHook,
} from './server';
export type { Fault, FaultControls } from './faults';
export type { OAuthOptions, RateLimit } from './auth';
export { projectAssignmentsFor } from './store';
export { ROUTES, FILTERS, type Route, type ListRoute, type ObjectRoute, type FilterName } from './routes';
export { RESOURCE_KINDS, type FakeAccountData, type Rec, type ResourceKind, type SortOrder } from './types';
