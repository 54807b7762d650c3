# shellcheck shell=bash
# Shared helpers for ./sluice: paths, logging, process supervision, port checks.
# Sourced by ./sluice; every function here is idempotent.

: "${SLUICE_ROOT:?SLUICE_ROOT must be set by ./sluice}"
# shellcheck source=deploy/local/versions.env
source "$SLUICE_ROOT/deploy/local/versions.env"

SLUICE_DATA="${SLUICE_DATA:-$SLUICE_ROOT/.sluice}"
SLUICE_CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
SLUICE_RUN="$SLUICE_DATA/run"
SLUICE_LOGS="$SLUICE_DATA/logs"

SLUICE_KAFKA_PORT="${SLUICE_KAFKA_PORT:-9092}"
SLUICE_KAFKA_CONTROLLER_PORT="${SLUICE_KAFKA_CONTROLLER_PORT:-9093}"
SLUICE_PG_PORT="${SLUICE_PG_PORT:-5432}"
SLUICE_REDIS_PORT="${SLUICE_REDIS_PORT:-6379}"
SLUICE_JAEGER_OTLP_HTTP_PORT="${SLUICE_JAEGER_OTLP_HTTP_PORT:-4318}"
SLUICE_JAEGER_OTLP_GRPC_PORT="${SLUICE_JAEGER_OTLP_GRPC_PORT:-4317}"
SLUICE_JAEGER_QUERY_PORT="${SLUICE_JAEGER_QUERY_PORT:-16686}"
SLUICE_JAEGER_HEALTH_PORT="${SLUICE_JAEGER_HEALTH_PORT:-13133}"
SLUICE_JAEGER_QUERY_GRPC_PORT="${SLUICE_JAEGER_QUERY_GRPC_PORT:-16685}"
SLUICE_JAEGER_MAX_TRACES="${SLUICE_JAEGER_MAX_TRACES:-100000}"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  _c_dim=$'\e[2m' _c_red=$'\e[31m' _c_green=$'\e[32m' _c_yellow=$'\e[33m' _c_off=$'\e[0m'
else
  _c_dim='' _c_red='' _c_green='' _c_yellow='' _c_off=''
fi

log() { printf '%s[sluice]%s %s\n' "$_c_dim" "$_c_off" "$*" >&2; }
warn() { printf '%s[sluice] warning:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
die() {
  printf '%s[sluice] error:%s %s\n' "$_c_red" "$_c_off" "$*" >&2
  exit 1
}
ok_word() { printf '%s%s%s' "$_c_green" "$1" "$_c_off"; }
bad_word() { printf '%s%s%s' "$_c_red" "$1" "$_c_off"; }

ensure_dirs() { mkdir -p "$SLUICE_DATA" "$SLUICE_RUN" "$SLUICE_LOGS" "$SLUICE_CACHE"; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_port_free NAME PORT VAR: a clear error naming the port and the variable that moves it.
require_port_free() {
  local name=$1 port=$2 var=$3
  if port_open "$port"; then
    die "port $port for $name is already in use by a process sluice did not start; stop it or set $var to another port"
  fi
}

pid_file() { printf '%s/%s.pid' "$SLUICE_RUN" "$1"; }

# _proc_identity PID: "STATE START" of a process (its state letter and its start time), or
# failure when there is no such process. Linux reads /proc/PID/stat (fields 3 and 22, counted
# after the command name, which may hold spaces); elsewhere ps answers.
_proc_identity() {
  local stat fields
  if [[ -r /proc/self/stat ]]; then
    { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
    read -r -a fields <<<"${stat##*) }"
    printf '%s %s' "${fields[0]}" "${fields[19]}"
  else
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    printf '%s %s' "${stat:0:1}" "$(ps -o lstart= -p "$1" | tr -s ' ' _)"
  fi
}

# pid_alive PID [START]: true while PID is a live process, and the one that started at START when
# given. NOTE: kill -0 succeeds on a zombie (a crashed service nothing reaped, as in a container
# without an init) and on whatever process later reuses the pid; neither is the service.
pid_alive() {
  local pid=$1 want=${2:-} state start
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  read -r state start <<<"$(_proc_identity "$pid")" || return 1
  [[ -n $state && $state != Z && $state != X && $state != x ]] || return 1
  [[ -z $want || $want == "$start" ]]
}

# pid_of NAME: the pid recorded for NAME if that very process is still running. The pid file holds
# "PID START"; a file of an older ./sluice (the pid alone) is checked for liveness only.
pid_of() {
  local f pid start
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || [[ -n ${pid:-} ]] || return 1
  pid_alive "$pid" "${start:-}" || return 1
  printf '%s' "$pid"
}

# sluice_node COMMAND [ARGS]: the Node-level commands (tools/cli.ts); bash only bootstraps.
sluice_node() { node "$SLUICE_ROOT/tools/cli.ts" "$@"; }

# spawn NAME CMD...: start CMD in its own session (so stop can signal its whole process group),
# output appended to $SLUICE_LOGS/NAME.log, pid and start time recorded under $SLUICE_RUN.
spawn() {
  local name=$1 pid identity
  shift
  setsid "$@" >>"$SLUICE_LOGS/$name.log" 2>&1 </dev/null &
  pid=$!
  # The start time is the fork's, so it is the same before and after setsid execs the command.
  identity=$(_proc_identity "$pid") || identity=''
  printf '%s %s\n' "$pid" "${identity#* }" >"$(pid_file "$name")"
}

# stop_pid NAME [GRACE_SECONDS]: SIGTERM the process group, SIGKILL after the grace period.
# Idempotent: a missing or dead process is success.
stop_pid() {
  local name=$1 grace=${2:-30} pid i
  if ! pid=$(pid_of "$name"); then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    warn "$name did not stop within ${grace}s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 0.5 s until it succeeds.
wait_until() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

# with_progress WHAT CMD...: run CMD, saying every 15 s that WHAT is still going (a first run's
# installs take minutes, and a silent terminal looks hung). CMD runs in the foreground, so Ctrl-C
# stops it; the ticker stops with CMD, or by itself once this shell is gone. CMD's status returns.
with_progress() {
  local what=$1 ticker rc=0 parent=$$
  shift
  (
    waited=0
    while sleep 15 && kill -0 "$parent" 2>/dev/null; do
      waited=$((waited + 15))
      log "... still $what (${waited}s)"
    done
  ) &
  ticker=$!
  "$@" || rc=$?
  # Its sleep first (that ends the loop), so no orphaned sleep holds this output open; SIGPIPE, a
  # death bash does not report.
  pkill -PIPE -P "$ticker" sleep 2>/dev/null || true
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}

is_root() { [[ $EUID -eq 0 ]]; }
