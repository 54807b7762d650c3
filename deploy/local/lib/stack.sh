# shellcheck shell=bash
# The local stack as one unit (up, down, status, logs, reset) and the commands built on it.

STACK_SERVICES=(kafka postgres redis redis-cache redis-secure jaeger)

stack_install() {
  ensure_apt all
  ensure_dirs
  kafka_install
  jaeger_install
  k6_install
}

# stack_up [--fast]: every stack service, healthy. --fast (the demo) waits for what the pipeline
# needs only: Jaeger is left to jaeger_up_background and k6 to the commands that run it.
# shellcheck disable=SC2120 # demo_cmd (commands.sh) passes --fast; the others pass nothing.
stack_up() {
  local fast=${1:-}
  if [[ $fast == --fast ]]; then
    ensure_apt run
    ensure_dirs
    kafka_install
  else
    stack_install
  fi
  ensure_dirs
  # Kafka's JVM is the slowest to come up: start it first and bring the others up meanwhile.
  local kafka_job rc=0
  # Before the parallel starts: Kafka, PostgreSQL and Redis all read the one certificate.
  tls_ensure
  kafka_up &
  kafka_job=$!
  postgres_up
  redis_up
  redis_cache_up
  redis_secure_up
  [[ $fast == --fast ]] || jaeger_up
  wait "$kafka_job" || rc=$?
  ((rc == 0)) || die "Kafka failed to start (exit $rc); see $SLUICE_LOGS/kafka.log"
  if [[ $fast == --fast ]]; then
    log "stack is up ($(ok_word healthy)): Kafka 127.0.0.1:$SLUICE_KAFKA_PORT, PostgreSQL 127.0.0.1:$SLUICE_PG_PORT, Redis 127.0.0.1:$SLUICE_REDIS_PORT (cache 127.0.0.1:$SLUICE_CACHE_REDIS_PORT)"
  else
    log "stack is up ($(ok_word healthy)): Kafka 127.0.0.1:$SLUICE_KAFKA_PORT, PostgreSQL 127.0.0.1:$SLUICE_PG_PORT, Redis 127.0.0.1:$SLUICE_REDIS_PORT (cache 127.0.0.1:$SLUICE_CACHE_REDIS_PORT), Jaeger 127.0.0.1:$SLUICE_JAEGER_QUERY_PORT"
  fi
}

# stack_up_cluster: the cluster mode (cluster.sh) with the small stack's PostgreSQL, cache Redis
# and Jaeger.
stack_up_cluster() {
  stack_install
  local cluster_job rc=0
  cluster_up &
  cluster_job=$!
  postgres_up
  postgres_ensure_database "$CLUSTER_PG_DATABASE"
  redis_cache_up
  jaeger_up
  wait "$cluster_job" || rc=$?
  ((rc == 0)) || die "the cluster failed to start (exit $rc); see $SLUICE_LOGS/kafka-[123].log, redis-node-*.log"
}

stack_down() {
  # Reverse dependency order; each stop is idempotent and waits for the process to exit.
  cluster_down
  jaeger_down
  kafka_down
  redis_secure_down
  redis_cache_down
  redis_down
  postgres_down
  log "stack is down"
}

_status_row() {
  local name=$1 port=$2 pid=$3 healthy=$4
  local health
  if [[ -z $pid ]]; then
    health=$(bad_word down)
  elif [[ $healthy == yes ]]; then
    health=$(ok_word healthy)
  else
    health=$(bad_word unhealthy)
  fi
  printf '%-12s %-22s %-8s %s\n' "$name" "127.0.0.1:$port" "${pid:--}" "$health"
}

_health() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }

status_header() { printf '%-12s %-22s %-8s %s\n' SERVICE ADDRESS PID HEALTH; }

stack_rows() {
  _status_row kafka "$SLUICE_KAFKA_PORT" "$(pid_of kafka || true)" "$(_health kafka_healthy)"
  _status_row postgres "$SLUICE_PG_PORT" "$(_pg_pid || true)" "$(_health postgres_healthy)"
  _status_row redis "$SLUICE_REDIS_PORT" "$(pid_of redis || true)" "$(_health redis_healthy)"
  _status_row redis-cache "$SLUICE_CACHE_REDIS_PORT" "$(pid_of redis-cache || true)" "$(_health redis_cache_healthy)"
  _status_row redis-secure "$SLUICE_REDIS_TLS_PORT" "$(pid_of redis-secure || true)" "$(_health redis_secure_healthy)"
  _status_row jaeger "$SLUICE_JAEGER_QUERY_PORT" "$(pid_of jaeger || true)" "$(_health jaeger_healthy)"
  if cluster_running; then cluster_rows; fi
}

# One phrase on the Jaeger UI: running, being built, or missing (and why).
jaeger_ui_state() {
  if pid_of jaeger-setup >/dev/null; then
    printf 'being built in the background, ./sluice stack logs jaeger-setup'
  elif ! pid_of jaeger >/dev/null; then
    printf 'not running (the build log: ./sluice stack logs jaeger-setup)'
  elif _jaeger_running_is_best && jaeger_has_ui; then
    printf 'with its UI built in'
  else
    printf 'no UI: the query API only'
  fi
}

status_footer() {
  printf '%-12s %s\n' jaeger-ui "$(jaeger_ui_state)"
  if [[ -x $K6_BIN ]]; then
    printf '%-12s %s\n' k6 "$K6_BIN ($K6_VERSION)"
  else
    printf '%-12s %s\n' k6 "not built yet (./sluice stack up builds it)"
  fi
  if [[ -x $PROMTOOL_BIN ]]; then
    printf '%-12s %s\n' promtool "$PROMTOOL_BIN ($PROMTOOL_VERSION)"
  else
    printf '%-12s %s\n' promtool "not built yet (./sluice test builds it)"
  fi
  printf 'data: %s\n' "$SLUICE_DATA"
}

stack_logs() {
  local svc=${1:-} follow=()
  [[ ${2:-} == -f || ${1:-} == -f ]] && follow=(-f)
  [[ $svc == -f ]] && svc=''
  if [[ -n $svc ]]; then
    [[ -f $SLUICE_LOGS/$svc.log ]] || die "no log for '$svc' in $SLUICE_LOGS (services: ${STACK_SERVICES[*]})"
    tail -n 100 "${follow[@]}" "$SLUICE_LOGS/$svc.log"
  else
    tail -n 20 "${follow[@]}" "$SLUICE_LOGS"/*.log
  fi
}

stack_reset() {
  services_down
  stack_down
  log "removing $SLUICE_DATA"
  rm -rf "$SLUICE_DATA" "$PG_DATA"
}

stack_cmd() {
  local sub=${1:-status}
  shift || true
  case $sub in
    up)
      if [[ ${1:-} == --cluster ]]; then stack_up_cluster; else stack_up; fi
      ;;
    down) stack_down ;;
    status)
      status_header
      stack_rows
      status_footer
      ;;
    logs) stack_logs "$@" ;;
    reset) stack_reset ;;
    start | stop)
      # One service at a time, for failure drills: ./sluice stack stop kafka; ./sluice stack start kafka
      local svc=${1:-}
      case $svc in
        kafka | postgres | redis | jaeger) "${svc}_$([[ $sub == start ]] && echo up || echo down)" ;;
        redis-cache) "redis_cache_$([[ $sub == start ]] && echo up || echo down)" ;;
        redis-secure) "redis_secure_$([[ $sub == start ]] && echo up || echo down)" ;;
        # The cluster's nodes: a start waits until the node is back in its cluster.
        kafka-[123])
          if [[ $sub == start ]]; then
            kafka_node_up "${svc#kafka-}"
            wait_until 120 "$svc" kafka_node_healthy "${svc#kafka-}" || die "$svc did not rejoin in 120s"
          else kafka_node_down "${svc#kafka-}"; fi
          ;;
        redis-node-[1-6])
          if [[ $sub == start ]]; then
            redis_node_up "${svc#redis-node-}"
            wait_until 30 "$svc" _redis_node_healthy "${svc#redis-node-}" || die "$svc did not answer in 30s"
          else redis_node_down "${svc#redis-node-}"; fi
          ;;
        *) die "usage: ./sluice stack $sub kafka|postgres|redis|redis-cache|redis-secure|jaeger|kafka-1..3|redis-node-1..6" ;;
      esac
      ;;
    *) die "unknown stack command '$sub' (up, down, status, logs, reset)" ;;
  esac
}

# The environment every service and test reads (each service's zod config parses these). With
# SLUICE_STACK=cluster (the --cluster flags) Kafka and the state Redis are the cluster's.
stack_env_exports() {
  if [[ ${SLUICE_STACK:-single} == cluster ]]; then
    export SLUICE_KAFKA_BROKERS
    SLUICE_KAFKA_BROKERS=$(cluster_kafka_brokers)
    export SLUICE_REDIS_URL
    SLUICE_REDIS_URL=$(cluster_redis_url)
    export SLUICE_DATABASE_URL
    SLUICE_DATABASE_URL=$(postgres_url "$CLUSTER_PG_DATABASE")
    # Its keys are rows of its own database.
    # shellcheck disable=SC2034 # read by services.sh
    SLUICE_KEYS_DIR="$CLUSTER_DATA/keys"
  else
    export SLUICE_KAFKA_BROKERS="127.0.0.1:$SLUICE_KAFKA_PORT"
    export SLUICE_REDIS_URL="redis://127.0.0.1:$SLUICE_REDIS_PORT"
    export SLUICE_DATABASE_URL
    SLUICE_DATABASE_URL=$(postgres_url)
  fi
  export SLUICE_CACHE_REDIS_URL="redis://127.0.0.1:$SLUICE_CACHE_REDIS_PORT"
  export SLUICE_OTLP_ENDPOINT="http://127.0.0.1:$SLUICE_JAEGER_OTLP_HTTP_PORT"
  export SLUICE_JAEGER_QUERY_URL="http://127.0.0.1:$SLUICE_JAEGER_QUERY_PORT"
  export SLUICE_K6_BIN="$K6_BIN"
  export SLUICE_PROMTOOL_BIN="$PROMTOOL_BIN"
  export SLUICE_HELM_BIN="$HELM_BIN" SLUICE_HADOLINT_BIN="$HADOLINT_BIN" SLUICE_COMPOSE_SCHEMA="$COMPOSE_SCHEMA"
  export SLUICE_KAFKA_HOME="$KAFKA_HOME"
  export SLUICE_SECRETS_KEY
  SLUICE_SECRETS_KEY=$(local_secrets_key)
  secure_env_exports
}

# The key sealing webhook secrets at rest (webhooks/secret-box.ts): 32 random bytes, made once per
# data directory (0600; never in the repo). A new data directory has new sources, so a new key.
local_secrets_key() {
  local file="$SLUICE_DATA/keys/secrets.key"
  if [[ ! -s $file ]]; then
    mkdir -p "$SLUICE_DATA/keys"
    chmod 700 "$SLUICE_DATA/keys"
    (umask 077 && head -c 32 /dev/urandom | base64 >"$file.tmp" && mv "$file.tmp" "$file")
  fi
  cat "$file"
}

# env [--cluster]: the environment to paste into a shell.
stack_env() {
  if [[ ${1:-} == --cluster ]]; then SLUICE_STACK=cluster; fi
  stack_env_exports
  local v
  for v in SLUICE_KAFKA_BROKERS SLUICE_DATABASE_URL SLUICE_REDIS_URL SLUICE_CACHE_REDIS_URL SLUICE_OTLP_ENDPOINT SLUICE_JAEGER_QUERY_URL SLUICE_K6_BIN SLUICE_PROMTOOL_BIN SLUICE_KAFKA_HOME SLUICE_SECRETS_KEY SLUICE_HELM_BIN SLUICE_HADOLINT_BIN SLUICE_COMPOSE_SCHEMA SLUICE_TLS_CA_FILE SLUICE_SECURE_KAFKA_BROKERS SLUICE_SECURE_KAFKA_USERNAME SLUICE_SECURE_KAFKA_PASSWORD SLUICE_SECURE_REDIS_URL; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
}
