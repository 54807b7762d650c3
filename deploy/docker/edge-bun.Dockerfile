# syntax=docker/dockerfile:1
# sluice-edge-bun on Bun: the edge (Web APIs only), its tracing SDK preloaded (docs/DEPLOY.md).
# Build from the repository root: docker build -f deploy/docker/edge-bun.Dockerfile -t sluice-edge-bun .

# --- dependencies: production packages only, install scripts off (the librdkafka addon is not
# built: the default Kafka client is @platformatic/kafka, and Bun cannot load the addon).
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
# patch applies the project's fixes to dependencies (deploy/local/patches), as ./sluice does.
RUN apt-get update \
  && apt-get install -y --no-install-recommends patch=2.7.6-7 \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY edge/package.json edge/
COPY ingest/package.json ingest/
COPY processor/package.json processor/
COPY query/package.json query/
COPY client/package.json client/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY deploy/local/patches deploy/local/patches
RUN patch -p1 -s -f -d node_modules/postgres < deploy/local/patches/postgres@3.4.9.patch

# --- runtime: Bun runs the TypeScript sources with the packages installed above.
FROM oven/bun:1.4.5-slim
WORKDIR /app
# No transpiler cache on disk: the root filesystem may be read-only (the Helm chart's is).
ENV NODE_ENV=production \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0 \
    SLUICE_EDGE_HOST=0.0.0.0 \
    SLUICE_EDGE_PORT=8787
COPY --from=deps /app/node_modules node_modules
COPY package.json ./
COPY shared shared
COPY edge edge
COPY ingest/package.json ingest/
COPY processor/package.json processor/
COPY query/package.json query/
COPY client/package.json client/
# The image's own unprivileged user, `bun` (uid 1000), by number so the platform can check it.
USER 1000:1000
EXPOSE 8787
STOPSIGNAL SIGTERM
# Alive when it answers HTTP at all (401: its ops endpoints want a key, SLUICE_OPS_OPEN=false).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["bun", "--preload", "./edge/bun/tracing-preload.ts", "edge/src/main.ts"]
CMD []
