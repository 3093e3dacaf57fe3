# harvest-sync worker image (used by docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/harvest-sync.js"]
CMD ["worker"]
