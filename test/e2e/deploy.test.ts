// The local stack's files agree with each other and with the application: docker-compose
// services, ports, volumes and environment; the Grafana data source, dashboard provider
// and dashboard; the Dockerfile; .env.example; and docs/analytics.md.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/harness';
import { allPanels, loadDashboard, variableSql } from '../support/dashboard';
import { ANALYTICS_VIEWS } from '../../src/clickhouse/views';
import { APPLICATION_VARIABLES } from '../../src/config';

const read = (file: string): string => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[] | string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | number | boolean | null>;
  env_file?: Array<string | { path: string; required?: boolean }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string[] | string };
  restart?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const services = compose.services;

/** Published port pairs of a service: host → container. */
function ports(s: Service): Array<{ host: number; container: number }> {
  return (s.ports ?? []).map((p) => {
    const m = /^(?:[\d.]+:)?(\d+):(\d+)(?:\/tcp)?$/.exec(String(p).trim());
    assert.ok(m, `unexpected port syntax ${p}`);
    return { host: Number(m[1]), container: Number(m[2]) };
  });
}

const dependsOn = (s: Service): Record<string, { condition?: string }> =>
  Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});

/** Settings the compose stack does not use: the embedded engines, and a remote Temporal's TLS/API key. */
const NOT_FOR_COMPOSE = [/^CLICKHOUSE_PATH$/, /^TEMPORAL_CLI_PATH$/, /^CLICKHOUSE_CA_CERT$/, /^TEMPORAL_TLS/, /^TEMPORAL_API_KEY$/];

/** Every environment variable the application reads: the table in src/config/variables.ts. */
function configVariables(): string[] {
  return APPLICATION_VARIABLES.map((v) => v.name).sort();
}

describe('docker-compose.yml', () => {
  it('every service has an image or a build, and depends only on services that exist (healthy ones have a healthcheck)', () => {
    assert.deepEqual(
      Object.keys(services).sort(),
      ['clickhouse', 'grafana', 'postgresql', 'schedule', 'temporal', 'temporal-ui', 'worker'],
    );
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image || s.build, `${name}: no image and no build`);
      for (const [dep, cond] of Object.entries(dependsOn(s))) {
        assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
        if (cond.condition === 'service_healthy') assert.ok(services[dep].healthcheck, `${name} waits for ${dep} to be healthy, which has no healthcheck`);
      }
    }
    assert.equal(services.clickhouse.image, 'clickhouse/clickhouse-server:24.8');
    assert.match(String(services.temporal.image), /^temporalio\/(auto-setup|server):/);
    assert.match(String(services.grafana.image), /^grafana\/grafana:/);
    assert.equal(services.worker.build, '.');
  });

  it('publishes the documented ports', () => {
    const published = Object.fromEntries(Object.entries(services).map(([n, s]) => [n, ports(s)]));
    assert.deepEqual(published.temporal, [{ host: 7233, container: 7233 }]);
    assert.deepEqual(published['temporal-ui'], [{ host: 8080, container: 8080 }]);
    assert.deepEqual(published.clickhouse, [{ host: 8123, container: 8123 }, { host: 9000, container: 9000 }]);
    assert.deepEqual(published.grafana, [{ host: 3000, container: 3000 }]);
    const hostPorts = Object.values(published).flat().map((p) => p.host);
    assert.equal(new Set(hostPorts).size, hostPorts.length, 'a host port is published twice');
    const docs = read('docs/analytics.md');
    for (const url of ['http://localhost:3000', 'http://localhost:8080']) assert.ok(docs.includes(url), `docs/analytics.md does not mention ${url}`);
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    const used = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = String(v).split(':')[0];
        if (source.startsWith('.') || source.startsWith('/')) {
          assert.ok(fs.existsSync(path.join(PROJECT_ROOT, source)), `${name} mounts ${source}, which does not exist`);
          continue;
        }
        assert.ok(declared.has(source), `${name} mounts undeclared volume ${source}`);
        used.add(source);
      }
    }
    assert.deepEqual([...declared].sort(), [...used].sort());
    assert.ok((services.clickhouse.volumes ?? []).some((v) => v.endsWith(':/var/lib/clickhouse')), 'ClickHouse data lives in a volume');
  });

  it('passes the worker and the schedule every setting the application reads, and points them at the services', () => {
    const needed = configVariables().filter((v) => !NOT_FOR_COMPOSE.some((re) => re.test(v)));
    assert.ok(needed.includes('HARVEST_ACCESS_TOKEN') && needed.includes('CLICKHOUSE_URL'), `config variables not found: ${needed.join(', ')}`);
    for (const name of ['worker', 'schedule']) {
      const env = services[name].environment ?? {};
      const missing = needed.filter((v) => !(v in env));
      assert.deepEqual(missing, [], `${name}: settings read by src/config but not passed (add them to x-harvest-sync-env)`);
      assert.ok((services[name].env_file ?? []).some((f) => (typeof f === 'string' ? f : f.path) === '.env'), `${name} reads .env`);
      // Credentials come from .env or the shell, never from the file.
      for (const secret of ['HARVEST_ACCESS_TOKEN', 'HARVEST_CLIENT_SECRET', 'HARVEST_REFRESH_TOKEN']) {
        assert.match(String(env[secret]), /^\$\{[A-Z_]+(:-)?\}$/, `${name}: ${secret} must come from the environment`);
      }
      const [temporalHost, temporalPort] = String(env.TEMPORAL_ADDRESS).split(':');
      assert.ok(services[temporalHost], `${name}: TEMPORAL_ADDRESS names no service`);
      assert.equal(temporalPort, '7233');
      const ch = new URL(String(env.CLICKHOUSE_URL));
      assert.ok(services[ch.hostname], `${name}: CLICKHOUSE_URL names no service`);
      assert.ok(ports(services[ch.hostname]).some((p) => p.container === Number(ch.port)), `${name}: CLICKHOUSE_URL port is not a ClickHouse port`);
      assert.equal(ch.port, '8123', 'harvest-sync speaks HTTP to ClickHouse');
      assert.equal(env.CLICKHOUSE_USER, services.clickhouse.environment?.CLICKHOUSE_USER, `${name}: the ClickHouse user it logs in as is the one the server creates`);
      assert.equal(env.CLICKHOUSE_PASSWORD, services.clickhouse.environment?.CLICKHOUSE_PASSWORD);
      assert.equal(dependsOn(services[name]).temporal?.condition, 'service_healthy', `${name} waits for Temporal`);
    }
    assert.deepEqual(services.worker.command, ['worker']);
    assert.equal(dependsOn(services.worker).clickhouse?.condition, 'service_healthy');
  });

  it('creates the sync schedule once, retrying a bounded number of times', () => {
    const s = services.schedule;
    const command = Array.isArray(s.command) ? s.command : String(s.command).split(/\s+/);
    assert.deepEqual(command.slice(0, 3), ['schedule', 'create', '--every']);
    assert.match(command[3], /^(\$\{HARVEST_SYNC_EVERY:-1h\}|\d+[smhd])$/);
    // Deletions are reconciled every 7 days unless told otherwise.
    assert.deepEqual(command.slice(4), ['--full-every', '${HARVEST_SYNC_FULL_EVERY:-7d}']);
    assert.match(String(s.restart), /^on-failure(:\d+)?$/);
    assert.ok(dependsOn(s).worker, 'the schedule starts after the worker');
  });
});

describe('Grafana provisioning', () => {
  const datasources = (parse(read('deploy/grafana/provisioning/datasources/clickhouse.yaml')) as {
    datasources: Array<{ uid: string; type: string; jsonData: Record<string, unknown>; secureJsonData: Record<string, string> }>;
  }).datasources;
  const grafana = services.grafana;
  const mounts = (grafana.volumes ?? []).map((v) => {
    const [source, target] = String(v).split(':');
    return { source: path.normalize(source), target };
  });

  it('installs the ClickHouse plugin and mounts the provisioning and dashboards directories', () => {
    assert.match(String(grafana.environment?.GF_INSTALL_PLUGINS), /(^|,)grafana-clickhouse-datasource( [\d.]+)?(,|$)/);
    assert.ok(mounts.some((m) => m.source === path.normalize('./deploy/grafana/provisioning') && m.target === '/etc/grafana/provisioning'));
    assert.ok(mounts.some((m) => m.target === '/var/lib/grafana'), 'Grafana state lives in a volume');
  });

  it('the data source points at the ClickHouse service with credentials from the environment', () => {
    assert.equal(datasources.length, 1);
    const ds = datasources[0];
    assert.equal(ds.type, 'grafana-clickhouse-datasource');
    const host = String(ds.jsonData.host);
    assert.ok(services[host], `data source host ${host} is no service`);
    assert.equal(host, 'clickhouse');
    const port = Number(ds.jsonData.port);
    assert.equal(port, ds.jsonData.protocol === 'http' ? 8123 : 9000, 'port matches the protocol');
    assert.ok(ports(services.clickhouse).some((p) => p.container === port), 'the ClickHouse service listens on that port');
    const env = grafana.environment ?? {};
    for (const [value, variable] of [
      [ds.jsonData.username, 'CLICKHOUSE_USER'],
      [ds.jsonData.defaultDatabase, 'CLICKHOUSE_DATABASE'],
      [ds.secureJsonData.password, 'CLICKHOUSE_PASSWORD'],
    ] as const) {
      assert.equal(value, `\${${variable}}`);
      assert.ok(variable in env, `the Grafana container does not get ${variable}`);
      assert.equal(env[variable], services.clickhouse.environment?.[variable === 'CLICKHOUSE_DATABASE' ? 'CLICKHOUSE_DB' : variable], `${variable} differs from the ClickHouse server's`);
    }
  });

  it('the dashboard provider reads the mounted dashboards directory', () => {
    const { providers } = parse(read('deploy/grafana/provisioning/dashboards/harvest.yaml')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    assert.equal(providers.length, 1);
    assert.equal(providers[0].type, 'file');
    const mount = mounts.find((m) => m.target === providers[0].options.path);
    assert.ok(mount, `no volume is mounted at the provider path ${providers[0].options.path}`);
    assert.equal(mount.source, path.normalize('./deploy/grafana/dashboards'));
    assert.ok(fs.existsSync(path.join(PROJECT_ROOT, mount.source, 'harvest-sync.json')));
    const home = String(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '');
    if (home) assert.equal(path.posix.dirname(home), providers[0].options.path);
  });

  it('every panel and variable queries the provisioned data source with raw SQL over the views', () => {
    const uid = datasources[0].uid;
    const dashboard = loadDashboard();
    const viewNames = new Set(ANALYTICS_VIEWS.map((v) => v.name));
    const panels = allPanels(dashboard).filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    assert.equal(new Set(allPanels(dashboard).map((p) => p.id)).size, allPanels(dashboard).length, 'panel ids are unique');
    for (const p of panels) {
      assert.equal(p.datasource?.uid, uid, `${p.title}: data source`);
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: no query`);
      for (const t of p.targets) {
        assert.deepEqual([t.datasource?.type, t.datasource?.uid], ['grafana-clickhouse-datasource', uid], `${p.title}: target data source`);
        assert.equal(t.editorType, 'sql', `${p.title}: raw SQL editor`);
        assert.ok(t.rawSql.trim().length > 0);
        const timeSeries = p.type === 'timeseries';
        assert.deepEqual([t.queryType, t.format], timeSeries ? ['timeSeries', 0] : ['table', 1], `${p.title}: query type and format`);
        const views = [...t.rawSql.matchAll(/\$\{database\}\.([a-z_0-9]+)/g)].map((m) => m[1]);
        assert.ok(views.length > 0, `${p.title}: reads no view`);
        for (const v of views) assert.ok(viewNames.has(v), `${p.title}: reads ${v}, which is not an analytics view`);
      }
    }
    for (const v of dashboard.templating.list) {
      assert.equal(v.datasource?.uid, uid, `variable ${v.name}: data source`);
      assert.ok(variableSql(v).length > 0, `variable ${v.name}: no query`);
    }
    assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['database', 'account']);
  });
});

describe('image, .env.example and docs', () => {
  it('the Dockerfile builds dist/ in one stage and runs it with production dependencies only', () => {
    const dockerfile = read('Dockerfile');
    assert.doesNotMatch(dockerfile, /^RUN .*npm ci\b/m);
    // Stages: FROM … AS name; every --from names an earlier stage.
    const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => ({ image: m[1], name: m[2] }));
    const names = stages.map((st) => st.name);
    assert.ok(stages.length >= 3, 'multi-stage');
    for (const m of dockerfile.matchAll(/--from=(\S+)/g)) assert.ok(names.includes(m[1]), `COPY --from=${m[1]}: no such stage`);
    const stageText = (name: string): string => {
      const start = dockerfile.search(new RegExp(`^FROM \\S+ AS ${name}$`, 'm'));
      assert.ok(start >= 0, `no stage ${name}`);
      const rest = dockerfile.slice(start + 1);
      const next = rest.search(/^FROM /m);
      return next < 0 ? rest : rest.slice(0, next);
    };
    // The build stage installs everything and runs the build; deps installs production packages only.
    assert.match(stageText('build'), /^RUN npm install --no-audit --no-fund$/m);
    assert.match(stageText('build'), /^RUN npm run build$/m);
    assert.match(stageText('deps'), /^RUN npm install --omit=dev\b/m);
    // The image runs the compiled client with node: no tsx, no TypeScript sources.
    const worker = stageText('worker');
    assert.match(worker, /^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
    assert.match(worker, /^COPY --from=build \/app\/dist \.\/dist$/m);
    assert.doesNotMatch(worker, /^COPY src\b|tsx/m);
    assert.match(worker, /^ENTRYPOINT \["node", "dist\/src\/cli\/main\.js"\]$/m);
    assert.match(worker, /^CMD \["worker"\]$/m);
    assert.match(worker, /^USER node$/m);
    // What the build emits is what the entry point names; what is copied exists.
    const build = JSON.parse(read('tsconfig.build.json').replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { rootDir: string; outDir: string } };
    assert.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['.', 'dist']);
    assert.ok(fs.existsSync(path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts')));
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of m[1].split(/\s+/)) assert.ok(fs.existsSync(path.join(PROJECT_ROOT, source)), `COPY ${source}: no such file`);
    }
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    assert.ok(pkg.scripts.build, 'npm run build');
    assert.equal(pkg.dependencies.tsx, undefined, 'tsx is a dev dependency: the image runs without it');
    // The last stage (the default target) has the Temporal CLI, so `demo` runs in the image.
    assert.equal(stages.at(-1)?.image, 'worker');
    assert.match(dockerfile.slice(dockerfile.lastIndexOf('FROM ')), /\/usr\/local\/bin\/temporal$/m);
  });

  it('.env.example names only settings the application or the compose file reads, and the required ones', () => {
    const known = new Set([...configVariables(), ...[...read('docker-compose.yml').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1])]);
    const keys = [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    for (const k of keys) assert.ok(known.has(k), `.env.example: ${k} is read by nothing`);
    for (const k of ['HARVEST_ACCOUNT_ID', 'HARVEST_ACCESS_TOKEN', 'CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD']) {
      assert.match(read('.env.example'), new RegExp(`^${k}=`, 'm'), `.env.example: ${k} is not set up`);
    }
  });

  it('docs/analytics.md documents every view and column, and the way to a dashboard', () => {
    const docs = read('docs/analytics.md');
    for (const v of ANALYTICS_VIEWS) {
      // The view's own section: from its heading to the next heading.
      const start = docs.indexOf(`### \`${v.name}\``);
      assert.ok(start >= 0, `docs/analytics.md: no section for ${v.name}`);
      const end = docs.slice(start + 4).search(/^#{2,3} /m);
      const section = end < 0 ? docs.slice(start) : docs.slice(start, start + 4 + end);
      for (const c of v.columns) assert.ok(section.includes(`| \`${c.name}\` |`), `docs/analytics.md: ${v.name}.${c.name} is not documented`);
    }
    for (const step of ['cp .env.example .env', 'docker compose up -d']) assert.ok(docs.includes(step), `docs/analytics.md: no "${step}"`);
  });
});
