# shellcheck shell=bash
# The four sluice services as local processes beside the stack: ingest and the processor on
# Node 24, query on Bun, the edge on Deno (SLUICE_EDGE_RUNTIME=bun to use Bun).

SLUICE_INGEST_PORT="${SLUICE_INGEST_PORT:-8080}"
SLUICE_QUERY_PORT="${SLUICE_QUERY_PORT:-8081}"
SLUICE_EDGE_PORT="${SLUICE_EDGE_PORT:-8787}"
SLUICE_PROCESSOR_PORT="${SLUICE_PROCESSOR_PORT:-9464}"
SLUICE_EDGE_RUNTIME="${SLUICE_EDGE_RUNTIME:-deno}"
APP_SERVICES=(ingest processor query edge)

_service_port() {
  case $1 in
    ingest) echo "$SLUICE_INGEST_PORT" ;;
    query) echo "$SLUICE_QUERY_PORT" ;;
    edge) echo "$SLUICE_EDGE_PORT" ;;
    processor) echo "$SLUICE_PROCESSOR_PORT" ;;
  esac
}

_service_var() {
  case $1 in
    ingest) echo SLUICE_INGEST_PORT ;;
    query) echo SLUICE_QUERY_PORT ;;
    edge) echo SLUICE_EDGE_PORT ;;
    processor) echo SLUICE_PROCESSOR_PORT ;;
  esac
}

# How a service starts (its runtime, flags and environment) is defined once, in
# tools/services/launch.ts, which the tests' harness uses too; this asks it for the words to run.
_service_cmd() {
  node "$SLUICE_ROOT/tools/cli.ts" service-launch "$1" "$SLUICE_EDGE_RUNTIME"
}

service_healthy() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(_service_port "$1")/healthz"; }

service_up() {
  local name=$1 port
  port=$(_service_port "$name")
  if pid_of "$name" >/dev/null; then
    service_healthy "$name" && return 0
  else
    require_port_free "sluice-$name" "$port" "$(_service_var "$name")"
    log "starting sluice-$name on 127.0.0.1:$port"
    local launch=()
    mapfile -t launch < <(_service_cmd "$name")
    ((${#launch[@]} > 0)) || die "no launch for sluice-$name (tools/services/launch.ts)"
    (cd "$SLUICE_ROOT" && spawn "$name" "${launch[@]}")
  fi
  wait_until 60 "$name" service_healthy "$name" || die "sluice-$name not healthy in 60s; see $SLUICE_LOGS/$name.log"
}

# The local stack's own API keys, in $SLUICE_DATA/keys (0600; never in the repo): the edge's relay
# key (scope events:relay, sent to ingest with every forwarded batch) and the demo tenant's write,
# read and admin keys. A key is kept while it is live in PostgreSQL and made anew otherwise (after
# `./sluice stack reset`), so `up` and `demo` are safe to run twice.
SLUICE_KEYS_DIR="$SLUICE_DATA/keys"
DEMO_TENANT=demo

_ensure_key() {
  local name=$1 tenant=$2 scopes=$3
  sluice_node keys ensure --file "$SLUICE_KEYS_DIR/$name.key" --tenant "$tenant" \
    --scopes "$scopes" --name "local $name" >/dev/null
}

ensure_local_keys() {
  [[ ${SLUICE_AUTH:-on} == off ]] && return 0
  mkdir -p "$SLUICE_KEYS_DIR"
  chmod 700 "$SLUICE_KEYS_DIR"
  _ensure_key edge-relay sluice events:relay
  _ensure_key demo-write "$DEMO_TENANT" events:write
  _ensure_key demo-read "$DEMO_TENANT" windows:read
  # The operator's view: the dashboard's stream-wide health figures (all tenants) need admin too.
  _ensure_key demo-ops "$DEMO_TENANT" windows:read,admin
  _ensure_key demo-admin "$DEMO_TENANT" admin
}

# A local key's secret, for the services' and tools' environment (never their command line).
local_key() { cat "$SLUICE_KEYS_DIR/$1.key" 2>/dev/null || true; }

services_up() {
  stack_env_exports
  export SLUICE_INGEST_PORT SLUICE_QUERY_PORT SLUICE_EDGE_PORT SLUICE_PROCESSOR_PORT
  export SLUICE_INGEST_URL="http://127.0.0.1:$SLUICE_INGEST_PORT"
  # Health and metrics without a key: these listen on 127.0.0.1 only, and the status probes use them.
  export SLUICE_OPS_OPEN="${SLUICE_OPS_OPEN:-true}"
  ensure_local_keys
  SLUICE_EDGE_INGEST_KEY="$(local_key edge-relay)"
  export SLUICE_EDGE_INGEST_KEY
  # Ingest and the processor create the topics and the schema; query and edge come after them.
  service_up ingest
  service_up processor
  service_up query
  service_up edge
}

services_down() {
  local name
  stop_pid generator 10
  stop_pid bakery-generator 10
  for name in edge query ingest processor; do stop_pid "$name" 30; done
}

services_status() {
  local name port pid
  for name in "${APP_SERVICES[@]}"; do
    port=$(_service_port "$name")
    pid=$(pid_of "$name" || true)
    _status_row "$name" "$port" "$pid" "$(_health service_healthy "$name")"
  done
}
