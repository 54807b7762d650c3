# shellcheck shell=bash
# Jaeger v2 with its UI, found in one of three ways and cached by version under $SLUICE_CACHE:
#   1. the official release archive (jaeger-$JAEGER_V2_VERSION-linux-amd64.tar.gz), checked against
#      JAEGER_RELEASE_SHA256 when pinned, else against the release's own sha256sum.txt;
#   2. where that cannot be downloaded (a registry-only machine): the Go module built from source,
#      with the UI built from the jaeger-ui source release that matches it and embedded the way
#      Jaeger's own `make build-ui` does (copied under cmd/query/app/ui/actual/ and gzipped). The
#      source archive is SLUICE_JAEGER_UI_SRC (a path or URL; default the GitHub tag archive) and is
#      checked against JAEGER_UI_SRC_SHA256 when it is the pinned `git archive` of the tag;
#   3. when no UI source can be had at all: the Go module alone, which serves the query API (what
#      the tests read) and Jaeger's placeholder page at /. A warning says so.
# The demo does not wait for any of this (see jaeger_up_background): tracing is not on the path to
# the first window.

JAEGER_UI_HOME="$SLUICE_CACHE/jaeger-$JAEGER_VERSION-ui-$JAEGER_UI_VERSION"
JAEGER_PLAIN_HOME="$SLUICE_CACHE/jaeger-$JAEGER_VERSION"
JAEGER_UI_BUILD="$SLUICE_CACHE/jaeger-ui-build-$JAEGER_UI_VERSION"
_JAEGER_RELEASE_URL="https://github.com/jaegertracing/jaeger/releases/download/v$JAEGER_V2_VERSION"
_JAEGER_UI_SRC_DEFAULT="https://github.com/jaegertracing/jaeger-ui/archive/refs/tags/$JAEGER_UI_VERSION.tar.gz"

# The binary to run: the one with the UI when it is built, else the plain one.
jaeger_bin() {
  if [[ -x $JAEGER_UI_HOME/jaeger ]]; then
    printf '%s' "$JAEGER_UI_HOME/jaeger"
  else
    printf '%s' "$JAEGER_PLAIN_HOME/jaeger"
  fi
}

jaeger_has_ui() { [[ -x $JAEGER_UI_HOME/jaeger ]]; }

# _sha256_ok FILE WANT: the file's sha256 is WANT.
_sha256_ok() { [[ $(sha256sum "$1" | cut -d' ' -f1) == "$2" ]]; }

# 1. The release archive. Quiet and quick where there is no internet (curl fails on DNS at once).
_jaeger_download_release() {
  local work name="jaeger-$JAEGER_V2_VERSION-linux-amd64" want
  [[ $(uname -m) == x86_64 ]] || return 1
  work=$(mktemp -d "$SLUICE_CACHE/tmp/jaeger.XXXXXX")
  if ! curl -fsSL --connect-timeout 5 --max-time 300 -o "$work/$name.tar.gz" "$_JAEGER_RELEASE_URL/$name.tar.gz" 2>/dev/null; then
    rm -rf "$work"
    return 1
  fi
  want=${JAEGER_RELEASE_SHA256:-}
  if [[ -z $want ]]; then
    want=$(curl -fsSL --connect-timeout 5 --max-time 60 "$_JAEGER_RELEASE_URL/jaeger-$JAEGER_V2_VERSION.sha256sum.txt" 2>/dev/null |
      awk -v f="$name.tar.gz" '$2 == f || $2 == "*" f { print $1 }')
    if [[ -z $want ]]; then
      warn "no checksum for the Jaeger release archive (none pinned, none published beside it); building from source instead"
      rm -rf "$work"
      return 1
    fi
  fi
  if ! _sha256_ok "$work/$name.tar.gz" "$want"; then
    warn "the Jaeger release archive does not match its checksum; building from source instead"
    rm -rf "$work"
    return 1
  fi
  tar -xzf "$work/$name.tar.gz" -C "$work" "$name/jaeger" || { rm -rf "$work"; return 1; }
  rm -rf "$JAEGER_UI_HOME.tmp"
  mkdir -p "$JAEGER_UI_HOME.tmp"
  mv "$work/$name/jaeger" "$JAEGER_UI_HOME.tmp/jaeger"
  rm -rf "$work" "$JAEGER_UI_HOME"
  mv "$JAEGER_UI_HOME.tmp" "$JAEGER_UI_HOME"
  log "Jaeger $JAEGER_V2_VERSION: the release binary (with its UI), checksum verified"
}

# The jaeger-ui source archive as a local file path on stdout; nothing when none can be had. A
# local file must be the pinned `git archive` of the tag (JAEGER_UI_SRC_SHA256); a download is
# GitHub's tag archive, generated on request, whose bytes GitHub does not promise to keep stable.
_jaeger_ui_source() {
  local src=${SLUICE_JAEGER_UI_SRC:-$_JAEGER_UI_SRC_DEFAULT} file
  case $src in
    http://* | https://*)
      file="$SLUICE_CACHE/downloads/jaeger-ui-$JAEGER_UI_VERSION.tar.gz"
      if [[ ! -s $file ]]; then
        mkdir -p "$SLUICE_CACHE/downloads"
        curl -fsSL --connect-timeout 5 --max-time 300 -o "$file.tmp" "$src" 2>/dev/null && mv "$file.tmp" "$file"
        rm -f "$file.tmp"
      fi
      ;;
    *)
      file=$src
      [[ -s $file ]] || die "SLUICE_JAEGER_UI_SRC=$file: no such file"
      _sha256_ok "$file" "$JAEGER_UI_SRC_SHA256" ||
        die "$file is not the jaeger-ui $JAEGER_UI_VERSION source release (its sha256 is not $JAEGER_UI_SRC_SHA256)"
      ;;
  esac
  [[ -s $file ]] && printf '%s' "$file"
  return 0
}

# What jaeger's rebuild-ui.sh does: npm ci from the release's lock file, then the workspaces' build
# (plexus, the UI's own graph package, then the UI). No install script is needed to build (the one
# `prepare` installs git hooks), so none runs.
_jaeger_ui_npm() {
  (
    cd "$1" || exit
    export HUSKY=0
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    npm run build
  ) >"$SLUICE_CACHE/logs/jaeger-ui-build.log" 2>&1
}

# 2a. The UI's static build (packages/jaeger-ui/build), once per jaeger-ui version.
_jaeger_ui_build() {
  [[ -f $JAEGER_UI_BUILD/index.html ]] && return 0
  local archive work top
  archive=$(_jaeger_ui_source)
  [[ -n $archive ]] || return 1
  log "building the Jaeger UI $JAEGER_UI_VERSION from source (npm ci + vite build; once, about 2 minutes)"
  work=$(mktemp -d "$SLUICE_CACHE/tmp/jaeger.XXXXXX")
  tar -xzf "$archive" -C "$work" || { rm -rf "$work"; die "$archive is not a readable tar.gz"; }
  top=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [[ -f $top/packages/jaeger-ui/package.json ]] || { rm -rf "$work"; die "$archive holds no packages/jaeger-ui"; }
  with_progress "building the Jaeger UI" _jaeger_ui_npm "$top" ||
    { rm -rf "$work"; die "building the Jaeger UI failed; see $SLUICE_CACHE/logs/jaeger-ui-build.log"; }
  rm -rf "$JAEGER_UI_BUILD"
  mv "$top/packages/jaeger-ui/build" "$JAEGER_UI_BUILD"
  rm -rf "$work"
}

_jaeger_go() {
  (cd "$1" && GOFLAGS=-mod=mod go build -trimpath -o "$2" ./cmd/jaeger) >"$SLUICE_CACHE/logs/jaeger-build.log" 2>&1
}

# _jaeger_go_build DEST [UI_BUILD]: the Go module at the pinned release, built as the main module
# (its go.mod has replace directives, which `go install pkg@version` refuses).
_jaeger_go_build() {
  local dest=$1 ui=${2:-} src work
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "downloading the Jaeger module failed"
  [[ -d $src ]] || die "the Jaeger module source was not found after download"
  work=$(mktemp -d "$SLUICE_CACHE/tmp/jaeger.XXXXXX")
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  if [[ -n $ui ]]; then
    # Jaeger's build-ui step: the built files under cmd/query/app/ui/actual/, each gzipped (the
    # binary serves them through its gzip file system and falls back to a placeholder without).
    rm -rf "$work/cmd/query/app/ui/actual"
    mkdir -p "$work/cmd/query/app/ui/actual"
    cp -r "$ui/." "$work/cmd/query/app/ui/actual/"
    find "$work/cmd/query/app/ui/actual" -type f -exec gzip --no-name {} +
  fi
  with_progress "building Jaeger" _jaeger_go "$work" "$dest.tmp/jaeger" ||
    { rm -rf "$work"; die "building Jaeger failed; see $SLUICE_CACHE/logs/jaeger-build.log"; }
  rm -rf "$work" "$dest"
  mv "$dest.tmp" "$dest"
}

jaeger_install() {
  jaeger_has_ui && return 0
  mkdir -p "$SLUICE_CACHE/logs" "$SLUICE_CACHE/tmp"
  # A local UI source that is not the pinned archive is an error now, not a Jaeger without its UI.
  case ${SLUICE_JAEGER_UI_SRC:-} in
    '' | http://* | https://*) ;;
    *)
      [[ -s $SLUICE_JAEGER_UI_SRC ]] || die "SLUICE_JAEGER_UI_SRC=$SLUICE_JAEGER_UI_SRC: no such file"
      _sha256_ok "$SLUICE_JAEGER_UI_SRC" "$JAEGER_UI_SRC_SHA256" ||
        die "$SLUICE_JAEGER_UI_SRC is not the jaeger-ui $JAEGER_UI_VERSION source release (its sha256 is not $JAEGER_UI_SRC_SHA256)"
      ;;
  esac
  # One install at a time (the demo's background job and a `test` may both get here): the second
  # waits, then finds the binary built. The lock goes with the process.
  local lock
  exec {lock}>"$SLUICE_CACHE/jaeger.lock"
  flock "$lock"
  if jaeger_has_ui; then
    exec {lock}>&-
    return 0
  fi
  # Work directories of an install that was stopped half-way (nothing else holds the lock).
  rm -rf "$SLUICE_CACHE"/tmp/jaeger.*
  ensure_runtimes
  if ! _jaeger_download_release; then
    # A build needs Go (and Node, above) only.
    ensure_apt_for go:golang-go
    if _jaeger_ui_build; then
      log "building Jaeger $JAEGER_VERSION (v2 release commit ${JAEGER_COMMIT:0:8}) with the UI embedded (once, a few minutes)"
      _jaeger_go_build "$JAEGER_UI_HOME" "$JAEGER_UI_BUILD"
    else
      warn "no Jaeger release binary and no jaeger-ui source (set SLUICE_JAEGER_UI_SRC to its archive): Jaeger runs without its UI"
      if [[ ! -x $JAEGER_PLAIN_HOME/jaeger ]]; then
        log "building Jaeger $JAEGER_VERSION from its Go module, without the UI (once, a few minutes)"
        _jaeger_go_build "$JAEGER_PLAIN_HOME"
      fi
    fi
  fi
  exec {lock}>&-
}

jaeger_healthy() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$SLUICE_JAEGER_HEALTH_PORT/status"; }

# The running Jaeger is the binary with the UI (or no UI binary exists to switch to).
_jaeger_running_is_best() {
  local pid
  pid=$(pid_of jaeger) || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$(jaeger_bin)" ]]
}

jaeger_up() {
  jaeger_install
  if pid_of jaeger >/dev/null; then
    if _jaeger_running_is_best; then
      jaeger_healthy && return 0
    else
      # A Jaeger without its UI started while the UI build ran: switch (in-memory traces restart).
      log "restarting Jaeger with its UI"
      stop_pid jaeger 30
    fi
  fi
  if ! pid_of jaeger >/dev/null; then
    require_port_free "Jaeger OTLP/HTTP" "$SLUICE_JAEGER_OTLP_HTTP_PORT" SLUICE_JAEGER_OTLP_HTTP_PORT
    require_port_free "Jaeger OTLP/gRPC" "$SLUICE_JAEGER_OTLP_GRPC_PORT" SLUICE_JAEGER_OTLP_GRPC_PORT
    require_port_free "Jaeger query" "$SLUICE_JAEGER_QUERY_PORT" SLUICE_JAEGER_QUERY_PORT
    require_port_free "Jaeger query gRPC" "$SLUICE_JAEGER_QUERY_GRPC_PORT" SLUICE_JAEGER_QUERY_GRPC_PORT
    require_port_free "Jaeger health" "$SLUICE_JAEGER_HEALTH_PORT" SLUICE_JAEGER_HEALTH_PORT
    log "starting Jaeger (OTLP 127.0.0.1:$SLUICE_JAEGER_OTLP_HTTP_PORT, UI and query 127.0.0.1:$SLUICE_JAEGER_QUERY_PORT)"
    export SLUICE_JAEGER_OTLP_HTTP_PORT SLUICE_JAEGER_OTLP_GRPC_PORT SLUICE_JAEGER_QUERY_PORT \
      SLUICE_JAEGER_QUERY_GRPC_PORT SLUICE_JAEGER_HEALTH_PORT SLUICE_JAEGER_MAX_TRACES
    spawn jaeger "$(jaeger_bin)" --config "$SLUICE_ROOT/deploy/local/jaeger/config.yaml"
  fi
  wait_until 60 jaeger jaeger_healthy || die "Jaeger not healthy in 60s; see $SLUICE_LOGS/jaeger.log"
}

# The demo's Jaeger: started now when its binary is built; otherwise built (or downloaded) and
# started by a background job, so the pipeline and its first window do not wait for it. Spans sent
# before it listens are dropped by the services' exporters (tracing never blocks the pipeline).
jaeger_up_background() {
  if jaeger_has_ui; then
    jaeger_up
    return 0
  fi
  pid_of jaeger-setup >/dev/null && return 0
  log "Jaeger and its UI are being built in the background (log: $SLUICE_LOGS/jaeger-setup.log)"
  spawn jaeger-setup "$SLUICE_ROOT/sluice" stack start jaeger
}

jaeger_down() {
  # The background install may be in apt-get or dpkg: give it time to end a step cleanly.
  stop_pid jaeger-setup 60
  stop_pid jaeger 30
}
