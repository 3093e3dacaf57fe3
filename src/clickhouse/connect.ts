// One store per configuration: a server when CLICKHOUSE_URL is set, otherwise the embedded
// engine (chdb) at CLICKHOUSE_PATH.
import type { ClickHouseConfig } from '../config';
import { openEmbedded } from './embedded';
import type { ClickHouseStore } from './port';
import { openServer } from './server';

export type { ClickHouseStore } from './port';

export function openClickHouse(cfg: ClickHouseConfig): ClickHouseStore {
  return cfg.url ? openServer({ ...cfg, url: cfg.url }) : openEmbedded(cfg);
}
