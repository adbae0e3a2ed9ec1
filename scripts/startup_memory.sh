#!/usr/bin/env bash
# Start-up time and idle memory with N feeds: seeds a fresh Postgres database with N subscribed feeds that are
# not due for an hour (so nothing is fetched), starts the engine on it, and prints the time from process start
# to /healthcheck answering, the supervisor's "feed actors started" log line, VmRSS 5 s later, and the time from
# SIGTERM to exit. Run it at N = 0 too: (VmRSS(N) - VmRSS(0)) / N is the memory of one idle feed actor.
#
#   cargo build --release && scripts/startup_memory.sh 100000 [target/release/syndic]
#
# Needs psql, curl, python3 (to pick a free port) and Postgres on 127.0.0.1:5432 (trust auth, role postgres).
# The database, syndic_startup_N, is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

feeds=${1:?usage: scripts/startup_memory.sh N [binary]}
binary=${2:-target/release/syndic}
database=syndic_startup_${feeds}
server=postgres://postgres@127.0.0.1:5432
# A free port, not a fixed one: a local feed farm or another engine may hold any given port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bind=127.0.0.1:$port
log=$(mktemp)
pid=

psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  psql_admin -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -f "$log"
}
trap cleanup EXIT

# Starts the engine in the background, and waits until /healthcheck answers; sets pid and started_ns.
start_engine() {
  started_ns=$(date +%s%N)
  DATABASE_URL=$server/$database SYNDIC_BIND=$bind SYNDIC_METRICS_BIND=127.0.0.1:0 RUST_LOG=info SYNDIC_LOG_FORMAT=json \
    "$binary" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    curl -sf "http://$bind/healthcheck" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "the engine exited" >&2; exit 1; }
    sleep 0.05
  done
  echo "no /healthcheck answer within 30 s" >&2
  exit 1
}

stop_engine() {
  local stop_ns
  stop_ns=$(date +%s%N)
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  stopped_ms=$(( ($(date +%s%N) - stop_ns) / 1000000 ))
}

psql_admin -c "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null
# A first start runs the migrations.
start_engine
stop_engine
psql -q -h 127.0.0.1 -U postgres -d "$database" -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, username, email, password_hash)
  VALUES ('00000000-0000-0000-0000-000000000001', 'load', 'load@example.com', 'x');
INSERT INTO feeds (url, status, next_poll_at)
  SELECT 'https://feed' || n || '.example.com/rss', 'ok', now() + interval '1 hour' FROM generate_series(1, $feeds) n;
INSERT INTO subscriptions (user_id, feed_id) SELECT '00000000-0000-0000-0000-000000000001', id FROM feeds;
SQL

start_engine
healthy_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
sleep 5
resident_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
actors_ms=$(grep -m1 '"feed actors started"' "$log" | grep -o '"elapsed_ms":[0-9]*' | cut -d: -f2 || true)
stop_engine

echo "feeds:                     $feeds"
echo "process start to /healthcheck: ${healthy_ms} ms"
echo "feed actors started in:    ${actors_ms:-?} ms (the supervisor's log line)"
echo "VmRSS 5 s after:           ${resident_kb} kB"
echo "SIGTERM to exit:           ${stopped_ms} ms"
