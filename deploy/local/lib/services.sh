# shellcheck shell=bash
# The four sluice services as local processes beside the stack: the processor fleet and query on
# Bun, ingest on Bun, the edge on Deno. SLUICE_PROCESSOR_RUNTIME=node, SLUICE_INGEST_RUNTIME=node
# or SLUICE_EDGE_RUNTIME=bun choose another runtime (tools/services/launch.ts says which each takes).

SLUICE_INGEST_PORT="${SLUICE_INGEST_PORT:-8080}"
SLUICE_QUERY_PORT="${SLUICE_QUERY_PORT:-8081}"
SLUICE_EDGE_PORT="${SLUICE_EDGE_PORT:-8787}"
SLUICE_PROCESSOR_PORT="${SLUICE_PROCESSOR_PORT:-9464}"

# The processor runs as a fleet of workers in one consumer group: processor-1 .. processor-N, worker
# K with its health port at SLUICE_PROCESSOR_PORT + K - 1. The size is kept in $SLUICE_RUN, so
# `./sluice up` again keeps the fleet `./sluice scale processor N` made.
PROCESSOR_FLEET_FILE="$SLUICE_RUN/processors"
MAX_PROCESSORS=32

_service_base() { echo "${1%%-[0-9]*}"; }

_service_port() {
  case $1 in
    ingest) echo "$SLUICE_INGEST_PORT" ;;
    query) echo "$SLUICE_QUERY_PORT" ;;
    edge) echo "$SLUICE_EDGE_PORT" ;;
    processor) echo "$SLUICE_PROCESSOR_PORT" ;;
    processor-*) echo $((SLUICE_PROCESSOR_PORT + ${1#processor-} - 1)) ;;
  esac
}

_service_var() {
  case $(_service_base "$1") in
    ingest) echo SLUICE_INGEST_PORT ;;
    query) echo SLUICE_QUERY_PORT ;;
    edge) echo SLUICE_EDGE_PORT ;;
    processor) echo SLUICE_PROCESSOR_PORT ;;
  esac
}

# How a service starts (its runtime, flags and environment) is defined once, in
# tools/services/launch.ts, which the tests' harness uses too; this asks it for the words to run.
# The runtime comes from the service's variable (SLUICE_PROCESSOR_RUNTIME, ...) or its default.
_service_cmd() {
  node "$SLUICE_ROOT/tools/cli.ts" service-launch "$(_service_base "$1")"
}

service_healthy() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(_service_port "$1")/healthz"; }

# service_start NAME: spawn it unless it runs (no wait); service_up waits for its /healthz too.
service_start() {
  local name=$1 port
  port=$(_service_port "$name")
  pid_of "$name" >/dev/null && return 0
  require_port_free "sluice-$name" "$port" "$(_service_var "$name")"
  local launch=()
  mapfile -t launch < <(_service_cmd "$name")
  ((${#launch[@]} > 1)) || die "no launch for sluice-$name (tools/services/launch.ts)"
  log "starting sluice-$name on 127.0.0.1:$port"
  # launch[0] is `env`: the port goes beside the runtime's own settings, for this process only.
  (cd "$SLUICE_ROOT" && spawn "$name" env "$(_service_var "$name")=$port" "${launch[@]:1}")
}

service_up() {
  service_start "$1"
  wait_until 60 "$1" service_healthy "$1" || die "sluice-$1 not healthy in 60s; see $SLUICE_LOGS/$1.log"
}

# The fleet size: what `scale` recorded, else 1.
processors_recorded() {
  local n=1
  [[ -f $PROCESSOR_FLEET_FILE ]] && read -r n <"$PROCESSOR_FLEET_FILE"
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1)) || n=1
  echo "$n"
}

# The workers that run now, by number (processor-K pid files whose process lives).
processors_running() {
  local f name
  for f in "$SLUICE_RUN"/processor-*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    pid_of "$name" >/dev/null && echo "${name#processor-}"
  done | sort -n
}

# processors_scale N: workers 1..N running and healthy, any above N drained (SIGTERM: each commits
# its in-flight batch and leaves the group, so the others take its partitions at once).
processors_scale() {
  local n=$1 k
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > MAX_PROCESSORS)); then
    die "the processor fleet is 1 to $MAX_PROCESSORS workers, not '$n'"
  fi
  # A worker started by an older ./sluice (one `processor`, no number) is replaced by processor-1.
  stop_pid processor 30
  for k in $(processors_running); do
    if ((k > n)); then
      log "draining sluice-processor-$k"
      stop_pid "processor-$k" 30
    fi
  done
  for ((k = 1; k <= n; k++)); do service_start "processor-$k"; done
  for ((k = 1; k <= n; k++)); do
    wait_until 60 "processor-$k" service_healthy "processor-$k" ||
      die "sluice-processor-$k not healthy in 60s; see $SLUICE_LOGS/processor-$k.log"
  done
  echo "$n" >"$PROCESSOR_FLEET_FILE"
}

services_env_exports() {
  stack_env_exports
  export SLUICE_INGEST_PORT SLUICE_QUERY_PORT SLUICE_EDGE_PORT SLUICE_PROCESSOR_PORT
  export SLUICE_INGEST_URL="http://127.0.0.1:$SLUICE_INGEST_PORT"
  # Health and metrics without a key: these listen on 127.0.0.1 only, and the status probes use them.
  export SLUICE_OPS_OPEN="${SLUICE_OPS_OPEN:-true}"
  ensure_local_keys
  SLUICE_EDGE_INGEST_KEY="$(local_key edge-relay)"
  export SLUICE_EDGE_INGEST_KEY
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

# services_up [N]: the four services, the processor as a fleet of N workers (default: the recorded size).
services_up() {
  local processors=${1:-$(processors_recorded)}
  services_env_exports
  # Ingest and the processor create the topics and the schema; query and edge come after them.
  service_up ingest
  processors_scale "$processors"
  service_up query
  service_up edge
}

services_down() {
  local name k
  stop_pid generator 10
  stop_pid bakery-generator 10
  for name in edge query ingest processor; do stop_pid "$name" 30; done
  local stops=()
  for k in $(processors_running); do
    stop_pid "processor-$k" 30 &
    stops+=("$!")
  done
  # By pid: a bare `wait` would also wait for the stack's processes this shell spawned.
  if ((${#stops[@]} > 0)); then wait "${stops[@]}"; fi
}

services_status() {
  local name port pid k
  for name in ingest $(for k in $(processors_running); do echo "processor-$k"; done) query edge; do
    port=$(_service_port "$name")
    pid=$(pid_of "$name" || true)
    _status_row "$name" "$port" "$pid" "$(_health service_healthy "$name")"
  done
}

# The fleet: each worker's runtime, partitions and lag (from its /status).
fleet_status() {
  local urls=() k
  for k in $(processors_running); do urls+=("http://127.0.0.1:$(_service_port "processor-$k")"); done
  ((${#urls[@]} > 0)) || return 0
  sluice_node fleet status "${urls[@]}"
}
