#!/usr/bin/env bash
# The contract stage of the test command. A client generated from openapi.yaml runs the reader's flow, then
# schemathesis fuzzes every operation in every phase (stateful included) and fails on any finding. Both run
# against the real debug binary on embedded SQLite, inside a network namespace that has only loopback, so no
# fuzzed feed URL can make the engine send traffic off this machine.
#
# Needs root (for `ip netns`) and python3. Tunables: SYNDIC_FUZZ_SECONDS (schemathesis's time budget, 180 by
# default), SYNDIC_FUZZ_EXAMPLES (most test cases per operation and phase, 60 by default), SYNDIC_FUZZ_ENGINE (an
# engine binary already built, instead of `cargo build --bin syndic`).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
CLIENT_GENERATOR_VERSION=0.29.1
VENV=.venv-fuzz
TARGET_DIR=${CARGO_TARGET_DIR:-target}
ENGINE=${SYNDIC_FUZZ_ENGINE:-$TARGET_DIR/debug/syndic}
FUZZ_SECONDS=${SYNDIC_FUZZ_SECONDS:-180}
FUZZ_EXAMPLES=${SYNDIC_FUZZ_EXAMPLES:-60}
# Inside the namespace nothing else listens, so fixed ports cannot collide.
API=http://127.0.0.1:8080

# CPython 3.11.7 (this machine's python3) can fail inside hypothesis with "SystemError: AST constructor
# recursion depth mismatch" (a CPython bug, fixed later); prefer a newer pyenv interpreter where there is one.
python=python3
for candidate in "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.1[3-9]*/bin/python3; do
  [[ -x "$candidate" ]] && python=$candidate
done

if [[ -z "${SYNDIC_FUZZ_NAMESPACE:-}" ]]; then
  # Outside the namespace: install the pinned tools, build the engine, then run this script again inside.
  if [[ "$("$VENV/bin/python" --version 2>&1)" != "$("$python" --version 2>&1)" ]] ||
    ! "$VENV/bin/pip" freeze 2>/dev/null | grep -qx "schemathesis==$SCHEMATHESIS_VERSION" ||
    ! "$VENV/bin/pip" freeze 2>/dev/null | grep -qx "openapi-python-client==$CLIENT_GENERATOR_VERSION"; then
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "schemathesis==$SCHEMATHESIS_VERSION" "openapi-python-client==$CLIENT_GENERATOR_VERSION"
  fi
  if [[ -z "${SYNDIC_FUZZ_ENGINE:-}" ]]; then
    cargo build --bin syndic
  fi
  export SYNDIC_FUZZ_ENGINE="$ENGINE"
  namespace="syndic-fuzz-$$"
  ip netns add "$namespace"
  trap 'ip netns delete "$namespace"' EXIT
  ip netns exec "$namespace" ip link set lo up
  ip netns exec "$namespace" env SYNDIC_FUZZ_NAMESPACE="$namespace" "$0" "$@"
  exit
fi

# Inside the namespace: one engine for both checks, with its data in a temp dir.
work=$(mktemp -d)
engine_pid=""
cleanup() {
  if [[ -n "$engine_pid" ]]; then
    kill "$engine_pid" 2>/dev/null || true
    wait "$engine_pid" 2>/dev/null || true
  fi
  # The whole engine log outlives the run, for what a failure's tail does not show.
  cp "$work/engine.log" "$TARGET_DIR/fuzz-engine.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Fuzzed subscriptions point many feeds at this one host: without the per-host gap and with short fetch
# timeouts, a feed actor's poll never keeps a refresh request waiting past schemathesis's request timeout.
env -u DATABASE_URL -u REDIS_URL \
  DATABASE_URL="sqlite://$work/syndic.db" \
  SYNDIC_BIND=127.0.0.1:8080 \
  SYNDIC_METRICS_BIND=127.0.0.1:9464 \
  SYNDIC_JWT_SECRET="fuzz-$(date +%s%N)" \
  SYNDIC_REGISTRATION=open \
  SYNDIC_ALLOW_PRIVATE_NETWORKS=true \
  SYNDIC_STARTUP_SPREAD_SECS=0 \
  SYNDIC_PER_HOST_INTERVAL_MS=0 \
  SYNDIC_CONNECT_TIMEOUT_SECS=2 \
  SYNDIC_FETCH_TIMEOUT_SECS=3 \
  RUST_LOG=warn \
  "$ENGINE" >"$work/engine.log" 2>&1 &
engine_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "$API/healthcheck" >/dev/null 2>&1 && break
  sleep 0.5
done
if ! curl -fsS "$API/healthcheck" >/dev/null; then
  echo "the engine did not come up:" >&2
  cat "$work/engine.log" >&2
  exit 1
fi

echo "== generated client: register, subscribe, read, mark read"
# With `--meta none` the output directory is the package itself; no post hooks, as ruff is not installed.
printf 'post_hooks: []\n' >"$work/client.yaml"
"$VENV/bin/openapi-python-client" generate --path openapi.yaml --meta none --config "$work/client.yaml" \
  --output-path "$work/syndic_client" >"$work/generate.log" 2>&1 || {
  cat "$work/generate.log" >&2
  exit 1
}
PYTHONPATH="$work" "$VENV/bin/python" scripts/client_flow.py --api "$API" --feed-dir "$work/feeds"

echo "== schemathesis $SCHEMATHESIS_VERSION: every phase, ${FUZZ_SECONDS}s budget, $FUZZ_EXAMPLES examples"
curl -fsS -H 'content-type: application/json' -o /dev/null "$API/v1/auth/register" \
  -d '{"username":"fuzzer","email":"fuzzer@example.com","password":"fuzzing password"}'
# Operator rights come from the CLI, as in production, so that the admin routes are fuzzed past their 403.
DATABASE_URL="sqlite://$work/syndic.db" "$ENGINE" admin grant fuzzer >/dev/null
# The credential comes from a hook: an access token, replaced when a fuzzed logout ends it (scripts/fuzz_auth.py).
export SCHEMATHESIS_HOOKS=scripts/fuzz_auth.py SYNDIC_FUZZ_API="$API" SYNDIC_FUZZ_USERNAME=fuzzer \
  SYNDIC_FUZZ_PASSWORD="fuzzing password"
# `timeout` is the hard stop should schemathesis overrun its own budget.
status=0
timeout --signal=INT --kill-after=30 $((FUZZ_SECONDS + 240)) \
  "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$API/openapi.yaml" \
  --phases examples,coverage,fuzzing,stateful \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "$FUZZ_EXAMPLES" \
  --max-time "$FUZZ_SECONDS" \
  --request-timeout 20 \
  --workers 2 \
  --suppress-health-check all || status=$?
if [[ $status -ne 0 ]]; then
  echo "schemathesis failed (exit $status); the engine's log follows" >&2
  tail -n 100 "$work/engine.log" >&2
  exit "$status"
fi
