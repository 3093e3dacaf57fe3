// What every activity group works with: one Harvest client and one store per worker.
import type { HarvestConfig } from '../config';
import type { ClickHouseStore } from '../clickhouse/port';
import type { HarvestClient } from '../harvest/client';

export interface ActivityDeps {
  harvest: HarvestClient;
  harvestConfig: HarvestConfig;
  /** Its failures come classified: outages retry, mistakes fail at once (toFailure). */
  clickhouse: ClickHouseStore;
  /** Whether the namespace has harvest-sync's search attributes (workflows upsert them only then). */
  searchAttributes?: boolean;
}
