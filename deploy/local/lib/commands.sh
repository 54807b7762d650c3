# shellcheck shell=bash
# The developer commands built on the toolchain and the stack: demo, test, lint, fmt.

# up [--processors N] [--cluster]: the stack (or the cluster mode) and the services, the processor
# as a fleet of N workers.
up_cmd() {
  local processors=''
  while (($# > 0)); do
    case $1 in
      --processors)
        processors=${2:?--processors needs a number}
        shift 2
        ;;
      --cluster)
        export SLUICE_STACK=cluster
        shift
        ;;
      *) die "usage: ./sluice up [--processors N] [--cluster]" ;;
    esac
  done
  ensure_toolchain
  if [[ ${SLUICE_STACK:-single} == cluster ]]; then stack_up_cluster; else stack_up; fi
  services_up "$processors"
  status_cmd
}

# scale processor N: the running fleet grows or drains to N workers, the stack and the other
# services untouched.
scale_cmd() {
  [[ ${1:-} == processor && $# -eq 2 ]] || die "usage: ./sluice scale processor N"
  ensure_npm_deps
  services_env_exports
  processors_scale "$2"
  fleet_status
}

down_cmd() {
  services_down
  stack_down
}

status_cmd() {
  status_header
  stack_rows
  services_status
  status_footer
  echo
  fleet_status
}

# The demo's critical path is what its first window needs: the Debian packages the pipeline runs
# on, Node/Bun/Deno with the npm dependencies, Kafka's jars, PostgreSQL, Redis and the services.
# Jaeger (and its UI build) comes up in the background; librdkafka's addon, Biome, k6 and the test
# browser are built or installed by the commands that use them.
demo_cmd() {
  local started=$SECONDS
  log "demo: 1/4 the toolchain (Debian packages, Node $NODE_VERSION, Bun $BUN_VERSION, Deno $DENO_VERSION, npm dependencies)"
  ensure_apt run
  ensure_npm_deps
  log "demo: 2/4 the stack (Kafka, PostgreSQL, Redis; Jaeger follows in the background)"
  stack_up --fast
  log "demo: 3/4 the services (ingest, processor, query, edge)"
  services_up
  stop_pid generator 10
  stop_pid bakery-generator 10
  local rate=${SLUICE_DEMO_RATE:-50} duration=${SLUICE_DEMO_DURATION:-3600}
  local bakery_rate=$(((rate + 1) / 2))
  log "demo: 4/4 the synthetic workloads through the edge for ${duration}s: ecommerce $rate events/s, bakery $bakery_rate events/s"
  SLUICE_API_KEY="$(local_key demo-write)"
  export SLUICE_API_KEY
  (cd "$SLUICE_ROOT" && spawn generator node "$SLUICE_ROOT/tools/cli.ts" gen ecommerce --rate "$rate" --duration "$duration" \
    --url "http://127.0.0.1:$SLUICE_EDGE_PORT")
  (cd "$SLUICE_ROOT" && spawn bakery-generator node "$SLUICE_ROOT/tools/cli.ts" gen bakery --rate "$bakery_rate" \
    --duration "$duration" --url "http://127.0.0.1:$SLUICE_EDGE_PORT")
  log "demo: events flowing $((SECONDS - started))s after start; the first one-minute window settles about two minutes after that"
  jaeger_up_background
  cat <<DEMO

sluice demo is running: $rate synthetic ecommerce transactions and $bakery_rate bakery events per second
go in at the edge (bakery: some sales uploaded hours late, some rule breakers, a few malformed).
Every endpoint needs an API key (Authorization: Bearer <key>). The demo tenant "$DEMO_TENANT" has:
  write key     $(local_key demo-write)   (events:write; the generators use it)
  read key      $(local_key demo-read)   (windows:read; paste it into the dashboard)
  ops key       $(local_key demo-ops)   (windows:read,admin; paste it instead to see the stream's figures of all tenants)
  admin key     $(local_key demo-admin)   (admin: /v1/admin/keys)
  (kept in $SLUICE_KEYS_DIR; more with ./sluice keys create --tenant T --scopes ...)
  the URLs below need the read key: curl -H "Authorization: Bearer \$(cat $SLUICE_KEYS_DIR/demo-read.key)" URL
  dashboard     http://127.0.0.1:$SLUICE_QUERY_PORT/   (live charts per stream, asks for the read key; API docs at /docs, OpenAPI at /openapi.json)
  send events   http://127.0.0.1:$SLUICE_EDGE_PORT/v1/events (edge)  or  http://127.0.0.1:$SLUICE_INGEST_PORT/v1/events (ingest)
  streams       http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams
  windows       http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/ecommerce/windows?from=-15m
  rolled up     http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/ecommerce/windows?from=-15m&group_by=none
  bakery        http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/sales-events/windows?window=1h&from=-48h  (quality_score per window)
  oven runs     http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/equipment-metrics/windows?window=session:10m&from=-2h
  per day       http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/ecommerce/windows?window=1d&tz=Europe/Paris&group_by=none&from=-2d&aggs=count,sum_amount
  top 3         http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/ecommerce/top?agg=sum_amount&from=-1h&n=3
  live (SSE)    curl -N -H "Authorization: Bearer $(local_key demo-read)" http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/ecommerce/live
  usage         curl -H "Authorization: Bearer $(local_key demo-read)" http://127.0.0.1:$SLUICE_QUERY_PORT/v1/usage
  metrics       http://127.0.0.1:$SLUICE_EDGE_PORT/metrics  http://127.0.0.1:$SLUICE_INGEST_PORT/metrics  http://127.0.0.1:$SLUICE_PROCESSOR_PORT/metrics (worker 1; its partitions and lag: ./sluice status)  http://127.0.0.1:$SLUICE_QUERY_PORT/metrics
  traces        http://127.0.0.1:$SLUICE_JAEGER_QUERY_PORT/   (Jaeger UI; the dashboard's trace links open it; $(jaeger_ui_state))
  PostgreSQL    psql $(postgres_url) -c 'select * from windows order by window_start desc limit 12'
  Kafka         kcat -b 127.0.0.1:$SLUICE_KAFKA_PORT -C -t ecommerce -c 5
  logs          ./sluice stack logs [kafka|postgres|redis|redis-cache|jaeger|ingest|processor-1|query|edge|generator|bakery-generator]
DEMO
  demo_webhooks
  echo "  stop          ./sluice down      (wipe all data: ./sluice stack reset)"
}

send_cmd() {
  ensure_npm_deps
  local target=edge file='' url
  while (($# > 0)); do
    case $1 in
      --to)
        target=${2:?--to needs edge or ingest}
        shift 2
        ;;
      *)
        file=$1
        shift
        ;;
    esac
  done
  [[ -n $file && -f $file ]] || die "usage: ./sluice send FILE.ndjson [--to edge|ingest]"
  case $target in
    edge) url="http://127.0.0.1:$SLUICE_EDGE_PORT" ;;
    ingest) url="http://127.0.0.1:$SLUICE_INGEST_PORT" ;;
    *) die "--to must be edge or ingest" ;;
  esac
  SLUICE_API_KEY="${SLUICE_API_KEY:-$(local_key demo-write)}" \
    sluice_node send "$file" --url "$url"
}

gen_cmd() {
  ensure_npm_deps
  local stream=${1:-}
  [[ $stream == ecommerce || $stream == bakery ]] ||
    die "usage: ./sluice gen ecommerce|bakery [--rate N] [--duration S] [--to edge|ingest]"
  shift
  local args=() target=edge
  while (($# > 0)); do
    case $1 in
      --to)
        target=${2:?--to needs edge or ingest}
        shift 2
        ;;
      *)
        args+=("$1")
        shift
        ;;
    esac
  done
  local port=$SLUICE_EDGE_PORT
  [[ $target == ingest ]] && port=$SLUICE_INGEST_PORT
  SLUICE_API_KEY="${SLUICE_API_KEY:-$(local_key demo-write)}" \
    sluice_node gen "$stream" --url "http://127.0.0.1:$port" "${args[@]}"
}

# ./sluice test [--unit|--integration|--drills] [files...]: the tests by tier (tools/test-tiers.ts
# reads the tier from each file's name). --unit needs no stack and no lint: Node and node_modules
# only. Otherwise the gate (lint) runs first, the stack comes up, unit and integration files run side
# by side (SLUICE_TEST_CONCURRENCY, default 3) and the drills, which stop shared services, alone.
# test [--unit|--integration|--drills|--cluster] [files]: a run without a tier flag or files runs
# every tier: unit, integration and drills on the small stack, the processor's own tests and the
# end-to-end tests again on those services' other runtime (Node; Bun is their default), then the
# cluster drills on the cluster mode.
test_cmd() {
  local tiers=() files=() arg full=yes
  for arg in "$@"; do
    full=no
    case $arg in
      --unit) tiers+=(--tier unit) ;;
      --integration) tiers+=(--tier integration) ;;
      --drills) tiers+=(--tier drill) ;;
      --cluster) tiers+=(--tier cluster) ;;
      *) files+=("$arg") ;;
    esac
  done
  if [[ ${tiers[*]:-} == "--tier unit" ]]; then
    ensure_npm_deps
    cd "$SLUICE_ROOT" || exit
    sluice_node test "${tiers[@]}" --concurrency "${SLUICE_TEST_CONCURRENCY:-4}" "${files[@]}"
    return
  fi
  ensure_toolchain
  # The monitoring tests run promtool on the alerting rules (deploy/monitoring); the deploy tests
  # run helm, hadolint and the Compose schema on deploy/ (deploytools.sh).
  promtool_install
  deploytools_install
  cd "$SLUICE_ROOT" || exit
  lint_cmd
  if [[ ${tiers[*]:-} == "--tier cluster" ]]; then
    _test_on_cluster "${files[@]}"
    return
  fi
  stack_up
  stack_env_exports
  if [[ $full == no ]]; then
    sluice_node test "${tiers[@]}" "${files[@]}"
    return
  fi
  local rc=0 other
  sluice_node test || rc=1
  other=$(_other_runtime processor)
  log "the processor's tests again on its other runtime ($other)"
  SLUICE_PROCESSOR_RUNTIME=$other sluice_node test processor/test/*.integration.test.ts processor/test/*.drill.test.ts || rc=1
  # ingest's own files run its app in the test's process (Node); the end-to-end files start it as a
  # process on its default runtime, so they run again with ingest on the other one.
  other=$(_other_runtime ingest)
  log "the end-to-end tests again, with ingest on its other runtime ($other)"
  SLUICE_INGEST_RUNTIME=$other sluice_node test e2e/test/*.integration.test.ts || rc=1
  _test_on_cluster || rc=1
  return "$rc"
}

# The runtime NAME (the processor or ingest: Bun or Node, launch.ts) is tested on besides the one
# it runs on now.
_other_runtime() {
  [[ $(node "$SLUICE_ROOT/tools/cli.ts" service-launch "$1" | sed -n 2p) == bun ]] && echo node || echo bun
}

# The cluster tier on the cluster mode (brought up for it, and down after it in CI, where the
# machine has no memory to spare for both stacks at once).
_test_on_cluster() {
  stack_up_cluster
  local rc=0
  local was=${SLUICE_STACK:-single}
  export SLUICE_STACK=cluster
  stack_env_exports
  sluice_node test --tier cluster "$@" || rc=1
  SLUICE_STACK=$was
  stack_env_exports
  if [[ -n ${CI:-} ]]; then cluster_down; fi
  return "$rc"
}

# Type-check the three configs (the edge and the client without Node types), lint the TypeScript
# (biome) and the bash (shellcheck, following every sourced library); the same gate `test` runs first.
lint_cmd() {
  ensure_npm_deps
  ensure_biome
  ensure_apt_for shellcheck:shellcheck
  cd "$SLUICE_ROOT" || exit
  log "type-checking (tsc) and linting (biome, shellcheck)"
  tsc -p tsconfig.json
  tsc -p edge/tsconfig.json
  tsc -p client/tsconfig.json
  biome check --error-on-warnings .
  shellcheck -x sluice .ci/run deploy/local/lib/*.sh
}

fmt_cmd() {
  ensure_npm_deps
  ensure_biome
  cd "$SLUICE_ROOT" || exit
  biome check --write .
}

# Benchmarks print figures and ratios against a baseline measured in the same run; they are not
# tests and assert nothing but exactness.
bench_cmd() {
  local what=${1:-}
  shift || true
  case $what in
    e2e)
      ensure_toolchain
      stack_up
      stack_env_exports
      cd "$SLUICE_ROOT" || exit
      sluice_node bench e2e "$@"
      ;;
    processor)
      # --cluster: on the cluster mode (three brokers, Redis Cluster), where --workers shows a fleet.
      local args=() arg
      for arg in "$@"; do
        if [[ $arg == --cluster ]]; then export SLUICE_STACK=cluster; else args+=("$arg"); fi
      done
      ensure_toolchain
      if [[ ${SLUICE_STACK:-single} == cluster ]]; then stack_up_cluster; else stack_up; fi
      stack_env_exports
      cd "$SLUICE_ROOT" || exit
      sluice_node bench processor "${args[@]}"
      ;;
    query)
      ensure_toolchain
      ensure_bench_nginx
      stack_up
      stack_env_exports
      cd "$SLUICE_ROOT" || exit
      sluice_node bench query "$@"
      ;;
    nexmark)
      ensure_toolchain
      stack_up
      stack_env_exports
      cd "$SLUICE_ROOT" || exit
      sluice_node bench nexmark "$@"
      ;;
    dedup)
      ensure_toolchain
      stack_up
      stack_env_exports
      cd "$SLUICE_ROOT" || exit
      sluice_node bench dedup "$@"
      ;;
    webhooks)
      ensure_toolchain
      stack_up
      stack_env_exports
      cd "$SLUICE_ROOT" || exit
      sluice_node bench webhooks "$@"
      ;;
    *) die "usage: ./sluice bench e2e [--duration S] [--warmup S] [--vus N] [--perf-records N] [--sampling 0,1,0.01] [--auth-runs N] [--via ingest|edge] | bench processor [--events N] [--rounds R] [--windows tumbling-count-sum,tumbling,hopping,session,session-no-live] [--clients confluent,platformatic] [--runtimes bun,node] [--workers 1,2,3] [--cluster] | bench query [--rate N] [--duration S] [--days N] [--rounds R] [--k6-nice N] [--auth-rounds R] [--mix-runs R] | bench nexmark [--events N] [--rate R] [--rounds R] [--queries q0,q5,q7,q11,q12] [--runtime bun|node] [--client platformatic|confluent] | bench dedup [--claims N] [--rate EVENTS_PER_S] | bench webhooks [--iterations N] [--rounds R] [--round-seconds S] [--concurrency C]" ;;
  esac
}

# ./sluice load --stream S --profile smoke|average|spike|soak ...: the shipped k6 scenarios
# (tools/load/) against the services `./sluice up` runs, with the demo tenant's write and ops keys
# (the ops key reads each partition's watermark) unless --key-file / --read-key-file name others
# (the options given last win). Exits as k6 does:
# 0 when every threshold held, 99 when one failed.
load_cmd() {
  ensure_toolchain
  stack_up
  stack_env_exports
  # From the caller's directory, so a relative --summary or --key-file is theirs.
  sluice_node load --edge-url "http://127.0.0.1:$SLUICE_EDGE_PORT" \
    --ingest-url "http://127.0.0.1:$SLUICE_INGEST_PORT" --query-url "http://127.0.0.1:$SLUICE_QUERY_PORT" \
    --key-file "$SLUICE_KEYS_DIR/demo-write.key" --read-key-file "$SLUICE_KEYS_DIR/demo-ops.key" "$@"
}

# ./sluice replay late --stream S: re-inject a stream's late topic as a backfill that amends windows.
replay_cmd() {
  ensure_toolchain
  stack_up
  stack_env_exports
  cd "$SLUICE_ROOT" || exit
  sluice_node replay "$@"
}

# ./sluice dlq list|show|replay --stream S: a stream's dead letters with their reasons, and the replay
# of those that pass the stream's check now (tools/dlq.ts). The processor's SLUICE_STREAMS_MODULE, if
# set, is the stream definition a replay judges by. A replay (not a dry run) holds an exclusive lock per
# topic prefix and stream, so two replays never overlap: their commits would move the replay position
# and the record of what was sent backwards (tools/dlq-topic.ts also merges with what is stored).
dlq_cmd() {
  ensure_toolchain
  stack_up >&2
  stack_env_exports
  cd "$SLUICE_ROOT" || exit
  local stream='' replay=false dry=false arg prev=''
  [[ ${1:-} == replay ]] && replay=true
  for arg in "$@"; do
    case $arg in
      --stream=*) stream=${arg#--stream=} ;;
      --dry-run) dry=true ;;
      *) [[ $prev == --stream ]] && stream=$arg ;;
    esac
    prev=$arg
  done
  if [[ $replay == true && $dry == false && -n $stream ]]; then
    ensure_dirs
    # Any byte of the name that is not safe in a file name becomes _: the lock is per name.
    local lock
    lock="$SLUICE_RUN/dlq-$(printf '%s' "${SLUICE_TOPIC_PREFIX:-}$stream" | tr -c 'A-Za-z0-9._-' '_').lock"
    exec 9>>"$lock"
    flock -n 9 || die "another replay of stream $stream holds $lock; wait for it to end and run again"
  fi
  sluice_node dlq "$@"
}

# ./sluice keys ...: API keys and tenant quotas, straight in PostgreSQL (tools/keys.ts).
# With SLUICE_DATABASE_URL set, the keys of that database (another deployment's); else the local stack's.
keys_cmd() {
  ensure_toolchain
  if [[ -z ${SLUICE_DATABASE_URL:-} ]]; then
    stack_up >&2
    stack_env_exports
  fi
  cd "$SLUICE_ROOT" || exit
  sluice_node keys "$@"
}

# ./sluice webhooks ...: a tenant's webhook sources, straight in PostgreSQL (tools/webhooks.ts),
# their secrets sealed with SLUICE_SECRETS_KEY (the local stack's, unless one is set).
webhooks_cmd() {
  ensure_toolchain
  if [[ -z ${SLUICE_DATABASE_URL:-} ]]; then
    stack_up >&2
    stack_env_exports
  fi
  cd "$SLUICE_ROOT" || exit
  sluice_node webhooks "$@"
}

# ./sluice windows ...: the window table's day partitions (tools/windows.ts), of SLUICE_DATABASE_URL
# when set, else of the local stack's database.
windows_cmd() {
  ensure_toolchain
  if [[ -z ${SLUICE_DATABASE_URL:-} ]]; then
    stack_up >&2
    stack_env_exports
  fi
  cd "$SLUICE_ROOT" || exit
  sluice_node windows "$@"
}
