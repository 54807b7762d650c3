# shellcheck shell=bash
# Redis from Debian's package, as its own instance in the data directory, AOF on (everysec).

REDIS_DATA="$SLUICE_DATA/redis"

redis_healthy() { [[ $(redis-cli -h 127.0.0.1 -p "$SLUICE_REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

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

redis_down() { stop_pid redis 30; }
