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
  _kafka_secure_listener "$KAFKA_DATA/server.properties"
}

# The single node's secured listener (tls.sh): SASL_SSL on SLUICE_KAFKA_SECURE_PORT with PLAIN and
# both SCRAMs, its certificate from the stack's CA. PLAIN's user is in the JAAS line; the SCRAM
# credentials live in the cluster's metadata, set once the broker is up (_kafka_scram_users).
_kafka_secure_listener() {
  local file=$1 password
  password=$(local_password kafka-sasl.password)
  sed -i -e "s#^listeners=PLAINTEXT://127.0.0.1:$SLUICE_KAFKA_PORT,#listeners=PLAINTEXT://127.0.0.1:$SLUICE_KAFKA_PORT,SECURE://127.0.0.1:$SLUICE_KAFKA_SECURE_PORT,#" \
    -e "s#^advertised.listeners=.*#&,SECURE://127.0.0.1:$SLUICE_KAFKA_SECURE_PORT#" \
    -e "s#^listener.security.protocol.map=.*#&,SECURE:SASL_SSL#" "$file"
  (umask 077 && cat >>"$file" <<PROPS

# The secured listener (deploy/local/lib/tls.sh), as a managed cluster would offer it.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.secure.ssl.keystore.type=PEM
listener.name.secure.ssl.keystore.location=$TLS_DIR/kafka-keystore.pem
listener.name.secure.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SECURE_USER="$password";
listener.name.secure.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
  )
  chmod 600 "$file"
}

# SCRAM-SHA-256 and -512 credentials for the secured listener's user, through the plaintext one;
# setting them again (every start) is harmless.
_kafka_scram_users() {
  local password mechanism out
  password=$(local_password kafka-sasl.password)
  # One mechanism per request (the broker refuses two changes of one user in one request); the
  # tool echoes its arguments on failure, so its output reaches the log with the password masked.
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    out=$(kafka_java kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$SLUICE_KAFKA_PORT" --alter \
      --add-config "$mechanism=[password=$password]" --entity-type users --entity-name "$SECURE_USER" 2>&1) ||
      {
        printf '%s\n' "${out//$password/***}" >>"$SLUICE_LOGS/kafka.log"
        die "setting Kafka's $mechanism credentials failed; see $SLUICE_LOGS/kafka.log"
      }
  done
  touch "$KAFKA_DATA/.scram-users"
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
    kafka_healthy && [[ -f $KAFKA_DATA/.scram-users ]] && return 0
  else
    require_port_free Kafka "$SLUICE_KAFKA_PORT" SLUICE_KAFKA_PORT
    require_port_free "Kafka controller" "$SLUICE_KAFKA_CONTROLLER_PORT" SLUICE_KAFKA_CONTROLLER_PORT
    require_port_free "Kafka (SASL_SSL)" "$SLUICE_KAFKA_SECURE_PORT" SLUICE_KAFKA_SECURE_PORT
    tls_ensure
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
  _kafka_scram_users
}

kafka_down() { stop_pid kafka 60; }
