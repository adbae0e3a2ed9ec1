#!/usr/bin/env bash
# Memory under a burst of logins: starts the engine on a fresh SQLite file with two password-hashing threads,
# sends 64 logins at once (each from its own X-Forwarded-For address, so throttling lets every one be hashed),
# twice, and prints VmRSS and VmHWM after each burst and 3 s later.
#
#   cargo build --release && scripts/login_burst.sh [target/release/syndic] [ENV=VALUE ...]
#
# Extra arguments are environment settings for the engine, e.g. MALLOC_MMAP_THRESHOLD_=… or another allocator's.
# Needs curl and python3 (to pick a free port).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-target/release/syndic}
shift || true
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

env SYNDIC_REGISTRATION=open SYNDIC_TRUST_FORWARDED_FOR=true SYNDIC_PASSWORD_HASHING_THREADS=2 \
  DATABASE_URL="sqlite://$work/syndic.db" SYNDIC_BIND="127.0.0.1:$port" SYNDIC_METRICS_BIND=127.0.0.1:0 "$@" \
  "$binary" >"$work/engine.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null 2>&1 && break
  sleep 0.1
done
memory() { grep -E 'VmRSS|VmHWM' "/proc/$pid/status" | tr -s ' \t\n' ' '; }
echo "idle: $(memory)"
for round in 1 2; do
  seq 0 63 | xargs -P 64 -I{} curl -s -o /dev/null -H 'content-type: application/json' \
    -H "x-forwarded-for: 192.0.2.{}" -d '{"identifier":"nobody{}","password":"correct horse battery"}' \
    "http://127.0.0.1:$port/v1/auth/login"
  echo "after burst $round: $(memory)"
done
sleep 3
echo "3 s later: $(memory)"
