// Activities: thin adapters between the workflows and the outside world, in three groups.
// Page activities send Harvest a request (and store what it answers); report and control
// activities read and write the store, their failures classified (outages retry,
// mistakes fail at once).
import { controlActivities } from './control';
import type { ActivityDeps } from './deps';
import { classifiedAll } from './failures';
import { pageActivities } from './pages';
import { reportActivities } from './reports';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return { ...classifiedAll({ ...controlActivities(deps), ...reportActivities(deps) }), ...pageActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
