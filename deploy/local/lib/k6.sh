# shellcheck shell=bash
# k6 built from its Go module at a pinned version. `go install go.k6.io/k6/v2@VERSION` looks the
# module's deprecation up through the vanity host go.k6.io, which a machine that reaches only the
# Go module proxy cannot resolve; building it as a dependency of a throw-away main module does not.

K6_HOME="$SLUICE_CACHE/k6-$K6_VERSION"
K6_BIN="$K6_HOME/k6"

_k6_go() {
  (
    cd "$1" || exit
    go mod init sluice.local/k6build
    GOFLAGS=-mod=mod go get "go.k6.io/k6/v2@$K6_VERSION"
    GOFLAGS=-mod=mod go build -trimpath -o "$K6_HOME.tmp/k6" go.k6.io/k6/v2
  ) >"$SLUICE_CACHE/logs/k6-build.log" 2>&1
}

k6_install() {
  [[ -x $K6_BIN ]] && return 0
  log "building k6 $K6_VERSION from its Go module (once, a few minutes)"
  mkdir -p "$SLUICE_CACHE/logs"
  local work
  work=$(mktemp -d)
  with_progress "building k6" _k6_go "$work" ||
    { rm -rf "$work"; die "building k6 failed; see $SLUICE_CACHE/logs/k6-build.log"; }
  rm -rf "$work" "$K6_HOME"
  mv "$K6_HOME.tmp" "$K6_HOME"
}
