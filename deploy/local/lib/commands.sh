# shellcheck shell=bash
# The developer commands built on the toolchain and the stack: demo, test, lint, fmt.

demo_cmd() {
  ensure_toolchain
  stack_up
  stack_status
  cat <<EOF

sluice demo: the local stack is running.
  Kafka       127.0.0.1:$SLUICE_KAFKA_PORT      (kcat -b 127.0.0.1:$SLUICE_KAFKA_PORT -L)
  PostgreSQL  $(postgres_url)
  Redis       redis://127.0.0.1:$SLUICE_REDIS_PORT   (redis-cli -p $SLUICE_REDIS_PORT ping)
  Jaeger      http://127.0.0.1:$SLUICE_JAEGER_QUERY_PORT/api/v3/services (OTLP/HTTP in on :$SLUICE_JAEGER_OTLP_HTTP_PORT)
  logs        ./sluice stack logs [kafka|postgres|redis|jaeger]
  stop        ./sluice down      (wipe all data: ./sluice stack reset)

The pipeline services (edge, ingest, processor, query) and the synthetic workload join the demo
as they land; see docs/ARCHITECTURE.md for what exists today.
EOF
}

# Test files: every *.test.ts under a service's or the stack's test/ folder.
_test_files() {
  find "$SLUICE_ROOT/shared" "$SLUICE_ROOT/edge" "$SLUICE_ROOT/ingest" "$SLUICE_ROOT/processor" \
    "$SLUICE_ROOT/query" "$SLUICE_ROOT/deploy" -path '*/node_modules' -prune -o \
    -path '*/test/*' -name '*.test.ts' -print | sort
}

test_cmd() {
  ensure_toolchain
  stack_up
  stack_env_exports
  cd "$SLUICE_ROOT"
  lint_cmd
  local files=()
  if (($# > 0)); then
    files=("$@")
  else
    mapfile -t files < <(_test_files)
  fi
  ((${#files[@]} > 0)) || die "no test files found"
  log "running ${#files[@]} test files on $(node --version)"
  node --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
}

# Type-check both configs (the edge without Node types) and lint; the same gate `test` runs first.
lint_cmd() {
  ensure_npm_deps
  cd "$SLUICE_ROOT"
  log "type-checking (tsc) and linting (biome)"
  tsc -p tsconfig.json
  tsc -p edge/tsconfig.json
  biome check --error-on-warnings .
}

fmt_cmd() {
  ensure_npm_deps
  cd "$SLUICE_ROOT"
  biome check --write .
}
