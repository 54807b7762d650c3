# shellcheck shell=bash
# Apache Kafka in KRaft combined mode, run from Maven Central jars (no distribution tarball).

# The cache key carries the pom's hash too, so a change to the resolved jars is a new cache entry.
KAFKA_HOME="$SLUICE_CACHE/kafka-$KAFKA_VERSION-$(sha256sum "$SLUICE_ROOT/deploy/local/kafka/pom.xml" | cut -c1-8)"
KAFKA_DATA="$SLUICE_DATA/kafka"

_kafka_resolve() {
  mvn -B -q -f "$SLUICE_ROOT/deploy/local/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" \
    >"$SLUICE_CACHE/logs/kafka-mvn.log" 2>&1
}

kafka_install() {
  [[ -f $KAFKA_HOME/.complete ]] && return 0
  log "resolving Apache Kafka $KAFKA_VERSION jars from Maven Central (once)"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME/libs" "$SLUICE_CACHE/logs"
  with_progress "resolving Kafka jars" _kafka_resolve ||
    die "resolving Kafka jars failed; see $SLUICE_CACHE/logs/kafka-mvn.log"
  touch "$KAFKA_HOME/.complete"
}

# kafka_java CLASS ARGS...: run a Kafka main class (tools, perf tests) from the cached jars.
kafka_java() {
  java -Xms64m -Xmx512m -Dlog4j2.configurationFile="$SLUICE_ROOT/deploy/local/kafka/log4j2.properties" \
    -Dlog4j2.level=warn -cp "$KAFKA_HOME/libs/*" "$@"
}

# kafka_render_config FILE NODE_ID PORT CONTROLLER_PORT LOG_DIR QUORUM_LINE RF MIN_ISR
kafka_render_config() {
  sed -e "s#@NODE_ID@#$2#g" -e "s#@PORT@#$3#g" -e "s#@CONTROLLER_PORT@#$4#g" -e "s#@DATA@#$5#g" \
    -e "s#@QUORUM@#$6#g" -e "s#@RF@#$7#g" -e "s#@MIN_ISR@#$8#g" \
    "$SLUICE_ROOT/deploy/local/kafka/server.properties.tmpl" >"$1"
}

_kafka_render_config() {
  mkdir -p "$KAFKA_DATA/logs"
  kafka_render_config "$KAFKA_DATA/server.properties" 1 "$SLUICE_KAFKA_PORT" "$SLUICE_KAFKA_CONTROLLER_PORT" \
    "$KAFKA_DATA/logs" "controller.quorum.bootstrap.servers=127.0.0.1:$SLUICE_KAFKA_CONTROLLER_PORT" 1 1
}

# kafka_cluster_id: a new cluster id (the 22-character base64url line the tool prints; it may log a
# line to stdout before it, log4j's MBean registration).
kafka_cluster_id() {
  local cluster_id
  cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | grep -E '^[A-Za-z0-9_-]{22}$' | tail -n1)
  [[ -n $cluster_id ]] || die "kafka-storage random-uuid printed no cluster id"
  echo "$cluster_id"
}

kafka_healthy() {
  # A real metadata request from a client that is not sluice's own.
  kcat -b "127.0.0.1:$SLUICE_KAFKA_PORT" -L -t __sluice_health -m 2 2>/dev/null | grep -q 'broker 1 at'
}

kafka_up() {
  kafka_install
  if pid_of kafka >/dev/null; then
    kafka_healthy && return 0
  else
    require_port_free Kafka "$SLUICE_KAFKA_PORT" SLUICE_KAFKA_PORT
    require_port_free "Kafka controller" "$SLUICE_KAFKA_CONTROLLER_PORT" SLUICE_KAFKA_CONTROLLER_PORT
    _kafka_render_config
    if [[ ! -f $KAFKA_DATA/logs/meta.properties ]]; then
      local cluster_id
      cluster_id=$(kafka_cluster_id)
      log "formatting Kafka storage (cluster $cluster_id)"
      kafka_java kafka.tools.StorageTool format --standalone -t "$cluster_id" \
        -c "$KAFKA_DATA/server.properties" >>"$SLUICE_LOGS/kafka.log" 2>&1 ||
        die "formatting Kafka storage failed; see $SLUICE_LOGS/kafka.log"
    fi
    log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$SLUICE_KAFKA_PORT"
    spawn kafka java -Xms512m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$SLUICE_ROOT/deploy/local/kafka/log4j2.properties" \
      -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_DATA/server.properties"
  fi
  wait_until 90 kafka kafka_healthy || die "Kafka did not become healthy in 90s; see $SLUICE_LOGS/kafka.log"
}

kafka_down() { stop_pid kafka 60; }
