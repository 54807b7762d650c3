# shellcheck shell=bash
# PostgreSQL from Debian's packages, as its own cluster in the data directory. PostgreSQL refuses
# to run as root, so when ./sluice runs as root the cluster belongs to and runs as `postgres`.

# The cluster lives in the data directory, unless ./sluice runs as root from a folder the postgres
# user cannot reach (a checkout under /root, say): then beside it in /var/tmp, keyed by the data
# directory, so each checkout still has its own cluster. Once chosen, the place stays.
_pg_home() {
  local preferred="$SLUICE_DATA/postgres" fallback
  fallback="/var/tmp/sluice-postgres-$(printf '%s' "$SLUICE_DATA" | sha256sum | cut -c1-12)"
  if [[ -d $preferred ]]; then
    printf '%s' "$preferred"
  elif [[ -d $fallback ]]; then
    printf '%s' "$fallback"
  elif is_root && { mkdir -p "$SLUICE_DATA" && ! runuser -u postgres -- test -x "$SLUICE_DATA"; } 2>/dev/null; then
    printf '%s' "$fallback"
  else
    printf '%s' "$preferred"
  fi
}
PG_DATA="$(_pg_home)"
PG_CLUSTER="$PG_DATA/cluster"
PG_SOCKETS="$PG_DATA/run"
SLUICE_PG_USER="${SLUICE_PG_USER:-sluice}"
SLUICE_PG_PASSWORD="${SLUICE_PG_PASSWORD:-sluice}"
SLUICE_PG_DATABASE="${SLUICE_PG_DATABASE:-sluice}"

_pg() {
  local bindir
  bindir=$(_pg_bindir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  local bin="$bindir/$1"
  shift
  if is_root; then
    runuser -u postgres -- "$bin" "$@"
  else
    "$bin" "$@"
  fi
}

postgres_healthy() { pg_isready -q -h 127.0.0.1 -p "$SLUICE_PG_PORT" -t 2; }

_pg_pid() {
  [[ -f $PG_CLUSTER/postmaster.pid ]] || return 1
  local pid
  pid=$(head -n 1 "$PG_CLUSTER/postmaster.pid")
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

_pg_init() {
  [[ -f $PG_CLUSTER/PG_VERSION ]] && return 0
  mkdir -p "$PG_CLUSTER" "$PG_SOCKETS"
  if is_root; then
    chown -R postgres:postgres "$PG_DATA"
    runuser -u postgres -- test -w "$PG_CLUSTER" ||
      die "the postgres user cannot reach $PG_CLUSTER; set SLUICE_DATA to a folder it can reach, for example /var/tmp/sluice"
  fi
  chmod 700 "$PG_CLUSTER"
  log "initialising a PostgreSQL cluster in $PG_CLUSTER"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "$SLUICE_PG_PASSWORD" >"$pwfile"
  chmod 644 "$pwfile"
  # Loopback clients authenticate with a password (scram); the unix socket in the data directory,
  # reachable only by its owner, is trusted for administration.
  _pg initdb -D "$PG_CLUSTER" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DATA/initdb.log" 2>&1 ||
    { rm -f "$pwfile"; die "initdb failed; see $PG_DATA/initdb.log"; }
  rm -f "$pwfile"
  cat >>"$PG_CLUSTER/postgresql.conf" <<CONF
# sluice local stack (deploy/local/lib/postgres.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCKETS'
max_connections = 200
shared_buffers = 256MB
work_mem = 8MB
# Durability stays on: guarantee 1 and 2 tests restart PostgreSQL and expect committed rows back.
fsync = on
synchronous_commit = on
wal_level = logical
log_destination = 'stderr'
log_min_messages = warning
CONF
  touch "$PG_DATA/.needs-bootstrap"
}

_pg_bootstrap() {
  [[ -f $PG_DATA/.needs-bootstrap ]] || return 0
  _pg psql -v ON_ERROR_STOP=1 -q -h "$PG_SOCKETS" -p "$SLUICE_PG_PORT" -U postgres -d postgres \
    -v user="$SLUICE_PG_USER" -v pass="$SLUICE_PG_PASSWORD" -v db="$SLUICE_PG_DATABASE" <<'SQL' >/dev/null
CREATE ROLE :"user" LOGIN CREATEDB PASSWORD :'pass';
CREATE DATABASE :"db" OWNER :"user";
SQL
  rm -f "$PG_DATA/.needs-bootstrap"
}

postgres_up() {
  _pg_init
  if _pg_pid >/dev/null; then
    postgres_healthy && return 0
  else
    require_port_free PostgreSQL "$SLUICE_PG_PORT" SLUICE_PG_PORT
    log "starting PostgreSQL on 127.0.0.1:$SLUICE_PG_PORT (TLS too)"
    _pg_tls_files
    # The server writes its log where it can reach; the logs folder links to it.
    touch "$PG_DATA/postgres.log"
    is_root && chown postgres:postgres "$PG_DATA/postgres.log"
    ln -sfn "$PG_DATA/postgres.log" "$SLUICE_LOGS/postgres.log"
    _pg pg_ctl -D "$PG_CLUSTER" -l "$PG_DATA/postgres.log" -o "-p $SLUICE_PG_PORT -c ssl=on -c ssl_cert_file=$PG_DATA/tls/server.pem -c ssl_key_file=$PG_DATA/tls/server.key" -w -t 60 start >/dev/null ||
      die "PostgreSQL did not start; see $SLUICE_LOGS/postgres.log"
  fi
  wait_until 60 postgres postgres_healthy || die "PostgreSQL not ready in 60s; see $SLUICE_LOGS/postgres.log"
  _pg_bootstrap
}

postgres_down() {
  _pg_pid >/dev/null || return 0
  _pg pg_ctl -D "$PG_CLUSTER" -m fast -w -t 60 stop >/dev/null || true
}

# postgres_url [DATABASE]: the URL of the stack's database (or another one of the same user).
# TLS on the one port (tls.sh): the server reads its certificate and key from its own data folder
# (it may not be able to reach $SLUICE_DATA), the key owned by its user and readable by no one else.
_pg_tls_files() {
  tls_ensure
  mkdir -p "$PG_DATA/tls"
  cp "$TLS_DIR/server.pem" "$PG_DATA/tls/server.pem"
  cp "$TLS_DIR/pg-server.key" "$PG_DATA/tls/server.key"
  chmod 600 "$PG_DATA/tls/server.key"
  is_root && chown -R postgres:postgres "$PG_DATA/tls"
  return 0
}

postgres_url() {
  printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$SLUICE_PG_USER" "$SLUICE_PG_PASSWORD" "$SLUICE_PG_PORT" "${1:-$SLUICE_PG_DATABASE}"
}

# postgres_ensure_database NAME: a database of the stack's user, made once.
postgres_ensure_database() {
  local exists
  exists=$(_pg psql -Atq -h "$PG_SOCKETS" -p "$SLUICE_PG_PORT" -U postgres -d postgres \
    -c "select 1 from pg_database where datname = '$1'")
  [[ $exists == 1 ]] && return 0
  _pg psql -v ON_ERROR_STOP=1 -q -h "$PG_SOCKETS" -p "$SLUICE_PG_PORT" -U postgres -d postgres \
    -v user="$SLUICE_PG_USER" -v db="$1" <<'SQL' >/dev/null
CREATE DATABASE :"db" OWNER :"user";
SQL
}
