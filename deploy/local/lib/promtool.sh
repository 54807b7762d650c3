# shellcheck shell=bash
# promtool (Prometheus's rule checker and rule unit-test runner) built from the Prometheus Go module
# at a pinned version, for the monitoring tests (deploy/local/test/monitoring.integration.test.ts). Like Jaeger,
# the module source is fetched from the Go module proxy and built as the main module, so its own
# go.sum pins every dependency; GOWORK=off because the module ships a go.work naming directories
# that are not in the module zip. Heavy on 2 cores, so it builds once into $SLUICE_CACHE, niced.

PROMTOOL_HOME="$SLUICE_CACHE/promtool-$PROMTOOL_VERSION"
PROMTOOL_BIN="$PROMTOOL_HOME/promtool"

_promtool_go() {
  (cd "$1" && GOWORK=off GOFLAGS=-mod=mod nice -n 10 go build -trimpath \
    -ldflags "-X github.com/prometheus/common/version.Version=$(cat VERSION)" \
    -o "$PROMTOOL_HOME.tmp/promtool" ./cmd/promtool) >"$SLUICE_CACHE/logs/promtool-build.log" 2>&1
}

promtool_install() {
  [[ -x $PROMTOOL_BIN ]] && return 0
  log "building promtool $PROMTOOL_VERSION from the Prometheus Go module (once, several minutes)"
  mkdir -p "$SLUICE_CACHE/logs"
  local src work
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/prometheus@$PROMTOOL_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "downloading the Prometheus module failed"
  [[ -d $src ]] || die "the Prometheus module source was not found after download"
  work=$(mktemp -d)
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  # `promtool --version` names the Prometheus release (the module's VERSION file), as its release
  # builds do through the same -X flag.
  with_progress "building promtool" _promtool_go "$work" ||
    { rm -rf "$work"; die "building promtool failed; see $SLUICE_CACHE/logs/promtool-build.log"; }
  rm -rf "$work" "$PROMTOOL_HOME"
  mv "$PROMTOOL_HOME.tmp" "$PROMTOOL_HOME"
}
