# shellcheck shell=bash
# Jaeger v2 built with `go install`-equivalent from its Go module at a pinned release commit.
# Its go.mod has replace directives, which `go install pkg@version` refuses, so the module source is
# fetched from the Go module proxy and built as the main module. The UI assets are not in the Go
# module, so this binary serves the query API (what tests use) and a placeholder page at /.

JAEGER_HOME="$SLUICE_CACHE/jaeger-$JAEGER_VERSION"
JAEGER_BIN="$JAEGER_HOME/jaeger"

jaeger_install() {
  [[ -x $JAEGER_BIN ]] && return 0
  log "building Jaeger $JAEGER_VERSION (v2 release commit ${JAEGER_COMMIT:0:8}) from its Go module (once, a few minutes)"
  mkdir -p "$SLUICE_CACHE/logs"
  local src work
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "downloading the Jaeger module failed"
  [[ -d $src ]] || die "the Jaeger module source was not found after download"
  work=$(mktemp -d)
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$JAEGER_HOME.tmp/jaeger" ./cmd/jaeger) \
    >"$SLUICE_CACHE/logs/jaeger-build.log" 2>&1 ||
    { rm -rf "$work"; die "building Jaeger failed; see $SLUICE_CACHE/logs/jaeger-build.log"; }
  rm -rf "$work" "$JAEGER_HOME"
  mv "$JAEGER_HOME.tmp" "$JAEGER_HOME"
}

jaeger_healthy() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$SLUICE_JAEGER_HEALTH_PORT/status"; }

jaeger_up() {
  jaeger_install
  if pid_of jaeger >/dev/null; then
    jaeger_healthy && return 0
  else
    require_port_free "Jaeger OTLP/HTTP" "$SLUICE_JAEGER_OTLP_HTTP_PORT" SLUICE_JAEGER_OTLP_HTTP_PORT
    require_port_free "Jaeger OTLP/gRPC" "$SLUICE_JAEGER_OTLP_GRPC_PORT" SLUICE_JAEGER_OTLP_GRPC_PORT
    require_port_free "Jaeger query" "$SLUICE_JAEGER_QUERY_PORT" SLUICE_JAEGER_QUERY_PORT
    require_port_free "Jaeger query gRPC" "$SLUICE_JAEGER_QUERY_GRPC_PORT" SLUICE_JAEGER_QUERY_GRPC_PORT
    require_port_free "Jaeger health" "$SLUICE_JAEGER_HEALTH_PORT" SLUICE_JAEGER_HEALTH_PORT
    log "starting Jaeger (OTLP 127.0.0.1:$SLUICE_JAEGER_OTLP_HTTP_PORT, query 127.0.0.1:$SLUICE_JAEGER_QUERY_PORT)"
    export SLUICE_JAEGER_OTLP_HTTP_PORT SLUICE_JAEGER_OTLP_GRPC_PORT SLUICE_JAEGER_QUERY_PORT \
      SLUICE_JAEGER_QUERY_GRPC_PORT SLUICE_JAEGER_HEALTH_PORT SLUICE_JAEGER_MAX_TRACES
    spawn jaeger "$JAEGER_BIN" --config "$SLUICE_ROOT/deploy/local/jaeger/config.yaml"
  fi
  wait_until 60 jaeger jaeger_healthy || die "Jaeger not healthy in 60s; see $SLUICE_LOGS/jaeger.log"
}

jaeger_down() { stop_pid jaeger 30; }
