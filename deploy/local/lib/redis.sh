# shellcheck shell=bash
# Redis from Debian's package, two instances in the data directory:
#   - the state Redis (SLUICE_REDIS_PORT, 6379): the processors' working state (window state, dedup
#     claims, epochs, cache generation counters) and the live feed; AOF on (everysec), noeviction,
#     since nothing in it may be dropped behind the pipeline's back;
#   - the cache Redis (SLUICE_CACHE_REDIS_PORT, 6380): the query service's response cache only; no
#     persistence, its own maxmemory with allkeys-lru, so traffic fills this one and never the other.

SLUICE_CACHE_REDIS_PORT="${SLUICE_CACHE_REDIS_PORT:-6380}"
REDIS_DATA="$SLUICE_DATA/redis"
REDIS_CACHE_DATA="$SLUICE_DATA/redis-cache"

_redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }
redis_healthy() { _redis_ping "$SLUICE_REDIS_PORT"; }
redis_cache_healthy() { _redis_ping "$SLUICE_CACHE_REDIS_PORT"; }

redis_up() {
  if pid_of redis >/dev/null; then
    redis_healthy && return 0
  else
    require_port_free Redis "$SLUICE_REDIS_PORT" SLUICE_REDIS_PORT
    mkdir -p "$REDIS_DATA"
    cat >"$REDIS_DATA/redis.conf" <<CONF
# Rendered by deploy/local/lib/redis.sh.
bind 127.0.0.1
port $SLUICE_REDIS_PORT
protected-mode yes
dir $REDIS_DATA
daemonize no
# Window state is rebuilt from Kafka and PostgreSQL if lost, but a restart should not lose it:
# AOF with an fsync per second, no RDB snapshots on top.
appendonly yes
appendfsync everysec
aof-use-rdb-preamble yes
save ""
maxmemory ${SLUICE_REDIS_MAXMEMORY:-2gb}
maxmemory-policy noeviction
CONF
    log "starting Redis on 127.0.0.1:$SLUICE_REDIS_PORT"
    spawn redis redis-server "$REDIS_DATA/redis.conf"
  fi
  wait_until 30 redis redis_healthy || die "Redis did not answer PING in 30s; see $SLUICE_LOGS/redis.log"
}

redis_cache_up() {
  if pid_of redis-cache >/dev/null; then
    redis_cache_healthy && return 0
  else
    require_port_free "Redis (cache)" "$SLUICE_CACHE_REDIS_PORT" SLUICE_CACHE_REDIS_PORT
    mkdir -p "$REDIS_CACHE_DATA"
    cat >"$REDIS_CACHE_DATA/redis.conf" <<CONF
# Rendered by deploy/local/lib/redis.sh.
bind 127.0.0.1
port $SLUICE_CACHE_REDIS_PORT
protected-mode yes
dir $REDIS_CACHE_DATA
daemonize no
# The query service's response cache only: every entry can be computed again from PostgreSQL, so
# no persistence, and the least recently used entries go when it is full (never a refused write).
appendonly no
save ""
maxmemory ${SLUICE_CACHE_REDIS_MAXMEMORY:-256mb}
maxmemory-policy allkeys-lru
CONF
    log "starting Redis (cache) on 127.0.0.1:$SLUICE_CACHE_REDIS_PORT"
    spawn redis-cache redis-server "$REDIS_CACHE_DATA/redis.conf"
  fi
  wait_until 30 redis-cache redis_cache_healthy ||
    die "Redis (cache) did not answer PING in 30s; see $SLUICE_LOGS/redis-cache.log"
}

redis_down() { stop_pid redis 30; }
redis_cache_down() { stop_pid redis-cache 30; }

# The secured Redis (tls.sh): TLS only (no plaintext port), and the default user off, so only the
# ACL user `sluice` with its password gets in, as on a managed Redis. The e2e test against the
# secured stack keeps its state here (noeviction, as the state Redis).
REDIS_SECURE_DATA="$SLUICE_DATA/redis-secure"
redis_secure_healthy() {
  REDISCLI_AUTH=$(local_password redis-acl.password) redis-cli --tls --cacert "$TLS_DIR/ca.pem" -h 127.0.0.1 \
    -p "$SLUICE_REDIS_TLS_PORT" --user "$SECURE_USER" --no-auth-warning ping 2>/dev/null | grep -q PONG
}

redis_secure_up() {
  if pid_of redis-secure >/dev/null; then
    redis_secure_healthy && return 0
  else
    require_port_free "Redis (TLS)" "$SLUICE_REDIS_TLS_PORT" SLUICE_REDIS_TLS_PORT
    tls_ensure
    mkdir -p "$REDIS_SECURE_DATA"
    (umask 077 && printf 'user default off\nuser %s on >%s ~* &* +@all\n' "$SECURE_USER" \
      "$(local_password redis-acl.password)" >"$REDIS_SECURE_DATA/users.acl")
    cat >"$REDIS_SECURE_DATA/redis.conf" <<CONF
# Rendered by deploy/local/lib/redis.sh.
bind 127.0.0.1
port 0
tls-port $SLUICE_REDIS_TLS_PORT
tls-cert-file $TLS_DIR/server.pem
tls-key-file $TLS_DIR/server.key
tls-ca-cert-file $TLS_DIR/ca.pem
tls-auth-clients no
aclfile $REDIS_SECURE_DATA/users.acl
protected-mode yes
dir $REDIS_SECURE_DATA
daemonize no
appendonly no
save ""
maxmemory ${SLUICE_REDIS_SECURE_MAXMEMORY:-256mb}
maxmemory-policy noeviction
CONF
    log "starting Redis (TLS, ACL) on 127.0.0.1:$SLUICE_REDIS_TLS_PORT"
    spawn redis-secure redis-server "$REDIS_SECURE_DATA/redis.conf"
  fi
  wait_until 30 redis-secure redis_secure_healthy ||
    die "Redis (TLS) did not answer PING in 30s; see $SLUICE_LOGS/redis-secure.log"
}

redis_secure_down() { stop_pid redis-secure 30; }
