# syntax=docker/dockerfile:1
# sluice-ingest on Node 24 (sluice-ingest-node): the same service as ingest.Dockerfile's on Bun,
# for SLUICE_KAFKA_CLIENT=confluent, whose librdkafka addon loads in Node only (KAFKA_ADDON below).
# Build from the repository root:
#   docker build -f deploy/docker/ingest-node.Dockerfile --build-arg KAFKA_ADDON=1 -t sluice-ingest-node .
# The image also carries tools/ for the operator's commands (keys, webhooks, windows, dlq, replay):
#   docker run --rm --env-file .env sluice-ingest-node node tools/cli.ts keys create --tenant t --scopes events:write

# --- dependencies: production packages only, install scripts off (the librdkafka addon is not
# built: the default Kafka client is @platformatic/kafka; see KAFKA_ADDON below).
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
# KAFKA_ADDON=1 builds @confluentinc/kafka-javascript (librdkafka) for SLUICE_KAFKA_CLIENT=confluent.
ARG KAFKA_ADDON=0
# hadolint ignore=DL3008
RUN if [ "$KAFKA_ADDON" = "1" ]; then \
      apt-get update && apt-get install -y --no-install-recommends build-essential python3 \
      && npm rebuild @confluentinc/kafka-javascript && rm -rf /var/lib/apt/lists/*; \
    fi

# --- runtime
FROM node:24.21.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    SLUICE_INGEST_HOST=0.0.0.0 \
    SLUICE_INGEST_PORT=8080
COPY --from=deps /app/node_modules node_modules
COPY package.json ./
COPY shared shared
COPY ingest ingest
COPY tools tools
COPY edge/package.json edge/
COPY processor/package.json processor/
COPY query/package.json query/
COPY client/package.json client/
# The image's own unprivileged user, `node` (uid 1000), by number so the platform can check it.
USER 1000:1000
EXPOSE 8080
STOPSIGNAL SIGTERM
# Alive when it answers HTTP at all (401: its ops endpoints want a key, SLUICE_OPS_OPEN=false).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "ingest/src/main.ts"]
CMD []
