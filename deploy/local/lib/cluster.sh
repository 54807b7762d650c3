# shellcheck shell=bash
# The local cluster mode (`./sluice stack up --cluster`): what the pipeline meets once it outgrows
# one machine, as real multi-node engines on this one.
#   - Kafka: three KRaft nodes, each broker and controller (a three-voter quorum), topics with
#     replication factor 3 and min.insync.replicas=2 (every sluice producer writes with acks=all);
#   - Redis Cluster: three masters, each with a replica that takes over when its master dies;
#   - PostgreSQL, the cache Redis and Jaeger: the small stack's own, with a database of the
#     cluster's own (sluice_cluster): PostgreSQL keeps each partition's Kafka offset, and offsets of
#     the small stack's topics mean nothing on the cluster's.
# It runs beside the small stack (its own ports and data under $SLUICE_DATA/cluster), so the test
# suite's cluster tier needs no restart of the rest.

SLUICE_CLUSTER_KAFKA_PORT="${SLUICE_CLUSTER_KAFKA_PORT:-9192}"
SLUICE_CLUSTER_CONTROLLER_PORT="${SLUICE_CLUSTER_CONTROLLER_PORT:-9292}"
SLUICE_CLUSTER_REDIS_PORT="${SLUICE_CLUSTER_REDIS_PORT:-7001}"
CLUSTER_DATA="$SLUICE_DATA/cluster"
KAFKA_NODES=(1 2 3)
REDIS_NODES=(1 2 3 4 5 6)

# shellcheck disable=SC2034 # read by stack.sh
CLUSTER_PG_DATABASE="${SLUICE_PG_DATABASE:-sluice}_cluster"

cluster_kafka_port() { echo $((SLUICE_CLUSTER_KAFKA_PORT + $1 - 1)); }
cluster_controller_port() { echo $((SLUICE_CLUSTER_CONTROLLER_PORT + $1 - 1)); }
cluster_redis_port() { echo $((SLUICE_CLUSTER_REDIS_PORT + $1 - 1)); }

cluster_kafka_brokers() {
  local k out=()
  for k in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(cluster_kafka_port "$k")"); done
  (IFS=,; echo "${out[*]}")
}

cluster_redis_url() {
  local k out=()
  for k in "${REDIS_NODES[@]}"; do out+=("127.0.0.1:$(cluster_redis_port "$k")"); done
  (IFS=,; echo "redis+cluster://${out[*]}")
}

# --- Kafka: three nodes -------------------------------------------------------------------------

_cluster_kafka_render() {
  local k=$1 voters=() v
  for v in "${KAFKA_NODES[@]}"; do voters+=("$v@127.0.0.1:$(cluster_controller_port "$v")"); done
  mkdir -p "$CLUSTER_DATA/kafka-$k/logs"
  kafka_render_config "$CLUSTER_DATA/kafka-$k/server.properties" "$k" "$(cluster_kafka_port "$k")" \
    "$(cluster_controller_port "$k")" "$CLUSTER_DATA/kafka-$k/logs" \
    "controller.quorum.voters=$(IFS=,; echo "${voters[*]}")" 3 2
}

# kafka_node_healthy K: node K answers metadata and sees all three brokers.
kafka_node_healthy() {
  [[ $(kcat -b "127.0.0.1:$(cluster_kafka_port "$1")" -L -t __sluice_health -m 2 2>/dev/null |
    grep -c ' at 127\.0\.0\.1:') -ge 3 ]]
}

kafka_cluster_healthy() {
  local k
  for k in "${KAFKA_NODES[@]}"; do kafka_node_healthy "$k" || return 1; done
}

# kafka_node_up K: start node K (formatted once, with the cluster's id); no wait.
kafka_node_up() {
  local k=$1 port
  port=$(cluster_kafka_port "$k")
  pid_of "kafka-$k" >/dev/null && return 0
  require_port_free "Kafka node $k" "$port" SLUICE_CLUSTER_KAFKA_PORT
  require_port_free "Kafka controller $k" "$(cluster_controller_port "$k")" SLUICE_CLUSTER_CONTROLLER_PORT
  _cluster_kafka_render "$k"
  if [[ ! -f $CLUSTER_DATA/kafka-$k/logs/meta.properties ]]; then
    [[ -s $CLUSTER_DATA/kafka-cluster-id ]] || kafka_cluster_id >"$CLUSTER_DATA/kafka-cluster-id"
    kafka_java kafka.tools.StorageTool format -t "$(cat "$CLUSTER_DATA/kafka-cluster-id")" \
      -c "$CLUSTER_DATA/kafka-$k/server.properties" >>"$SLUICE_LOGS/kafka-$k.log" 2>&1 ||
      die "formatting Kafka node $k failed; see $SLUICE_LOGS/kafka-$k.log"
  fi
  log "starting Kafka node $k on 127.0.0.1:$port (controller 127.0.0.1:$(cluster_controller_port "$k"))"
  spawn "kafka-$k" java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SLUICE_ROOT/deploy/local/kafka/log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$CLUSTER_DATA/kafka-$k/server.properties"
}

kafka_node_down() { stop_pid "kafka-$1" 60; }

# --- Redis Cluster: three masters, three replicas ------------------------------------------------

_redis_node_healthy() { [[ $(redis-cli -h 127.0.0.1 -p "$(cluster_redis_port "$1")" ping 2>/dev/null) == PONG ]]; }

redis_cluster_healthy() {
  local info
  info=$(redis-cli -h 127.0.0.1 -p "$(cluster_redis_port 1)" cluster info 2>/dev/null) || return 1
  grep -q 'cluster_state:ok' <<<"$info" && grep -q 'cluster_size:3' <<<"$info"
}

# redis_node_up K: start cluster node K; no wait.
redis_node_up() {
  local k=$1 port dir
  port=$(cluster_redis_port "$k")
  dir="$CLUSTER_DATA/redis-$k"
  pid_of "redis-node-$k" >/dev/null && return 0
  require_port_free "Redis Cluster node $k" "$port" SLUICE_CLUSTER_REDIS_PORT
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<CONF
# Rendered by deploy/local/lib/cluster.sh.
bind 127.0.0.1
port $port
protected-mode yes
dir $dir
daemonize no
cluster-enabled yes
cluster-config-file nodes.conf
# A master silent this long is failed over to its replica (the default 15 s, shortened so the
# drills' failovers take seconds).
cluster-node-timeout 3000
# A stop waits at most this long for replicas to catch up (a stop of the whole cluster has none
# left to wait for).
shutdown-timeout 3
# Like the single state Redis: AOF every second, nothing evicted.
appendonly yes
appendfsync everysec
save ""
maxmemory ${SLUICE_REDIS_MAXMEMORY:-1gb}
maxmemory-policy noeviction
CONF
  log "starting Redis Cluster node $k on 127.0.0.1:$port"
  spawn "redis-node-$k" redis-server "$dir/redis.conf"
}

redis_node_down() { stop_pid "redis-node-$1" 15; }

# The nodes meet and split the 16384 slots once (a node remembers its cluster in nodes.conf).
_redis_cluster_create() {
  local k nodes=()
  for k in "${REDIS_NODES[@]}"; do nodes+=("127.0.0.1:$(cluster_redis_port "$k")"); done
  log "creating the Redis Cluster (3 masters, 1 replica each)"
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >>"$SLUICE_LOGS/redis-cluster.log" 2>&1 || die "creating the Redis Cluster failed; see $SLUICE_LOGS/redis-cluster.log"
}

# --- the cluster as one unit ---------------------------------------------------------------------

cluster_up() {
  kafka_install
  mkdir -p "$CLUSTER_DATA"
  local k
  for k in "${KAFKA_NODES[@]}"; do kafka_node_up "$k"; done
  for k in "${REDIS_NODES[@]}"; do redis_node_up "$k"; done
  for k in "${REDIS_NODES[@]}"; do
    wait_until 30 "redis-node-$k" _redis_node_healthy "$k" || die "Redis Cluster node $k did not answer PING in 30s"
  done
  if ! redis_cluster_healthy; then
    [[ -f $CLUSTER_DATA/redis-cluster.created ]] || { _redis_cluster_create && touch "$CLUSTER_DATA/redis-cluster.created"; }
    wait_until 60 redis-cluster redis_cluster_healthy || die "the Redis Cluster is not ok after 60s; see $SLUICE_LOGS/redis-node-*.log"
  fi
  wait_until 120 kafka-cluster kafka_cluster_healthy || die "the Kafka cluster did not show 3 brokers in 120s; see $SLUICE_LOGS/kafka-[123].log"
  log "cluster is up ($(ok_word healthy)): Kafka $(cluster_kafka_brokers) (RF 3, min ISR 2), Redis Cluster $(cluster_redis_url)"
}

cluster_down() {
  local k stops=()
  # Side by side, each waited for by its pid: a bare `wait` would also wait for every service this
  # shell spawned (they are its children), which never exit.
  for k in "${KAFKA_NODES[@]}"; do
    kafka_node_down "$k" &
    stops+=("$!")
  done
  for k in "${REDIS_NODES[@]}"; do
    redis_node_down "$k" &
    stops+=("$!")
  done
  wait "${stops[@]}"
}

cluster_rows() {
  local k
  for k in "${KAFKA_NODES[@]}"; do
    _status_row "kafka-$k" "$(cluster_kafka_port "$k")" "$(pid_of "kafka-$k" || true)" "$(_health kafka_node_healthy "$k")"
  done
  for k in "${REDIS_NODES[@]}"; do
    _status_row "redis-node-$k" "$(cluster_redis_port "$k")" "$(pid_of "redis-node-$k" || true)" "$(_health _redis_node_healthy "$k")"
  done
}

# Whether any cluster process runs (status shows the cluster rows then).
cluster_running() {
  local k
  for k in "${KAFKA_NODES[@]}"; do pid_of "kafka-$k" >/dev/null && return 0; done
  for k in "${REDIS_NODES[@]}"; do pid_of "redis-node-$k" >/dev/null && return 0; done
  return 1
}
