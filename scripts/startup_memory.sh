#!/usr/bin/env bash
# Start-up time, idle memory and shutdown time with N feeds: seeds a fresh database with N subscribed feeds that
# are not due for an hour (so nothing is fetched), starts the engine on it, and prints
#   - the time from process start to /healthcheck answering,
#   - the time from process start to the supervisor's "feed actors started" log line (every actor running),
#   - VmRSS 5 s after that,
#   - the time from SIGTERM to exit.
# Run it at N = 0 too: (VmRSS(N) - VmRSS(0)) / N is the memory of one idle feed actor.
#
#   cargo build --release && scripts/startup_memory.sh 100000 [target/release/syndic] [postgres|sqlite]
#   scripts/startup_memory.sh 1000000 target/release/syndic sqlite
#
# Needs curl, python3 (to pick a free port), and for Postgres psql and a server on 127.0.0.1:5432 (trust auth,
# role postgres), for SQLite the sqlite3 shell. The database (syndic_startup_N, or a file in a temporary
# directory) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

feeds=${1:?usage: scripts/startup_memory.sh N [binary] [postgres|sqlite]}
binary=${2:-target/release/syndic}
backend=${3:-postgres}
# A free port, not a fixed one: a local feed farm or another engine may hold any given port.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
bind=127.0.0.1:$(free_port)
log=$(mktemp)
scratch=$(mktemp -d)
pid=
# How long start-up may take before the script gives up.
patience_s=180

case $backend in
  postgres)
    database=syndic_startup_${feeds}
    database_url=postgres://postgres@127.0.0.1:5432/$database
    ;;
  sqlite)
    database_file=$scratch/syndic.db
    database_url=sqlite://$database_file
    ;;
  *) echo "unknown backend $backend: postgres or sqlite" >&2; exit 2 ;;
esac

psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ "$backend" = postgres ] && { psql_admin -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true; }
  rm -rf "$log" "$scratch"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Starts the engine in the background, and waits until /healthcheck answers; sets pid, started_ms, healthy_ms.
start_engine() {
  started_ms=$(now_ms)
  DATABASE_URL=$database_url SYNDIC_BIND=$bind SYNDIC_METRICS_BIND=127.0.0.1:0 RUST_LOG=info SYNDIC_LOG_FORMAT=json \
    "$binary" >"$log" 2>&1 &
  pid=$!
  local deadline=$(( started_ms + patience_s * 1000 ))
  until curl -sf "http://$bind/healthcheck" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "the engine exited" >&2; exit 1; }
    [ "$(now_ms)" -lt "$deadline" ] || { echo "no /healthcheck answer within $patience_s s" >&2; exit 1; }
    sleep 0.05
  done
  healthy_ms=$(( $(now_ms) - started_ms ))
}

# Waits for the supervisor's log line saying every feed actor runs; sets actors_ms (from process start).
wait_for_actors() {
  local deadline=$(( started_ms + patience_s * 1000 ))
  until grep -q '"feed actors started"' "$log"; do
    [ "$(now_ms)" -lt "$deadline" ] || { echo "feed actors not started within $patience_s s" >&2; exit 1; }
    sleep 0.05
  done
  actors_ms=$(( $(now_ms) - started_ms ))
}

stop_engine() {
  local stop_ms
  stop_ms=$(now_ms)
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  stopped_ms=$(( $(now_ms) - stop_ms ))
}

seed_postgres() {
  psql -q -h 127.0.0.1 -U postgres -d "$database" -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, username, email, password_hash)
  VALUES ('00000000-0000-0000-0000-000000000001', 'load', 'load@example.com', 'x');
INSERT INTO feeds (url, status, next_poll_at)
  SELECT 'https://feed' || n || '.example.com/rss', 'ok', now() + interval '1 hour' FROM generate_series(1, $feeds) n;
INSERT INTO subscriptions (user_id, feed_id) SELECT '00000000-0000-0000-0000-000000000001', id FROM feeds;
ANALYZE;
SQL
}

seed_sqlite() {
  sqlite3 "$database_file" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO users (id, username, email, password_hash)
  VALUES ('00000000-0000-0000-0000-000000000001', 'load', 'load@example.com', 'x');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $feeds)
INSERT INTO feeds (url, status, next_poll_at)
  SELECT 'https://feed' || i || '.example.com/rss', 'ok',
         CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) + 3600000000 FROM n;
INSERT INTO subscriptions (user_id, feed_id) SELECT '00000000-0000-0000-0000-000000000001', id FROM feeds;
COMMIT;
ANALYZE;
SQL
}

[ "$backend" = postgres ] && psql_admin -c "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null
# A first start runs the migrations.
start_engine
stop_engine
seed_started_ms=$(now_ms)
"seed_$backend"
seeded_ms=$(( $(now_ms) - seed_started_ms ))

start_engine
wait_for_actors
sleep 5
resident_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
stop_engine

echo "backend:                        $backend"
echo "feeds:                          $feeds (seeded in ${seeded_ms} ms)"
echo "process start to /healthcheck:  ${healthy_ms} ms"
echo "process start to every actor:   ${actors_ms} ms (the supervisor's \"feed actors started\" line)"
echo "VmRSS 5 s after:                ${resident_kb} kB"
echo "SIGTERM to exit:                ${stopped_ms} ms"
grep -E '"(feeds loaded|feed actors started|shutting down|engine stopped|exiting)"' "$log" | sed 's/^/log: /' || true
