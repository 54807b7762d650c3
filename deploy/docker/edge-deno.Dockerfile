# syntax=docker/dockerfile:1
# sluice-edge on Deno: the edge (Web APIs only); Deno's built-in OpenTelemetry exports its spans
# to OTEL_EXPORTER_OTLP_ENDPOINT (docs/DEPLOY.md).
# Build from the repository root: docker build -f deploy/docker/edge-deno.Dockerfile -t sluice-edge-deno .

# --- dependencies: production packages only, install scripts off (the librdkafka addon is not
# built: the default Kafka client is @platformatic/kafka, and Deno cannot load the addon).
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

# --- runtime: Deno runs the TypeScript sources with the packages installed above (node_modules).
FROM denoland/deno:debian-2.9.6
WORKDIR /app
# Deno's cache under /tmp: the root filesystem may be read-only (the Helm chart's is).
ENV DENO_DIR=/tmp/deno \
    DENO_NO_UPDATE_CHECK=1 \
    OTEL_DENO=true \
    OTEL_SERVICE_NAME=sluice-edge \
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
# The image's own unprivileged user, `deno` (uid 1993), by number so the platform can check it.
USER 1993:1993
EXPOSE 8787
STOPSIGNAL SIGTERM
# Alive when it answers HTTP at all (401: its ops endpoints want a key, SLUICE_OPS_OPEN=false).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "fetch('http://127.0.0.1:8787/healthz').then((r) => Deno.exit(r.status < 500 ? 0 : 1), () => Deno.exit(1))"]
ENTRYPOINT ["deno", "run", "--allow-env", "--allow-net", "--allow-read", "edge/src/main.ts"]
CMD []
