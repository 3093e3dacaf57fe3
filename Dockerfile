# harvest-sync worker image (used by docker-compose.yml): `worker` by default; any other
# command works too (`docker compose run --rm worker run`, `… schedule list`).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: chdb lists per-platform optional packages that the registry
# does not serve for every platform, which `npm ci` takes for a stale lock.
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
# A rotated OAuth2 refresh token is kept here (a volume in docker-compose.yml).
RUN mkdir -p /var/lib/harvest-sync && chown node:node /var/lib/harvest-sync
ENV NODE_ENV=production HARVEST_SYNC_STATE_DIR=/var/lib/harvest-sync
USER node
ENTRYPOINT ["node", "bin/harvest-sync.js"]
CMD ["worker"]
