#!/usr/bin/env bash
# Measures finding 5 of issue 8 against a fresh `warden serve` (SQLite, demo data) on loopback:
#   (a) 100 connections each sending ~4 MiB of body without a valid key, then stalling;
#   (b) 300 connections trickling a byte of body every 2 s, without a key; after 38 s;
#   and, for comparison, (c) (a) with a valid key (the body is then read, up to --max-body, as
#   far as the body budget lets it: --max-body-inflight-per-key). In (c) each connection
#   declares exactly --max-body (4 MiB) and sends all but its last byte: a declared length over
#   --max-body gets 413 unread.
# Each case gets a server of its own; its VmRSS is read from /proc/PID/status.
#
#   [STALL_ONLY=key] cmd/warden/testdata/stall/run.sh [SOURCE_DIR=.] [extra serve flags...]
#
#   (d) (a) against the decision API, /api/v1/check, whose key is inside the body.
#
# STALL_ONLY=key runs case (c) only, STALL_ONLY=check case (d) only.
set -euo pipefail
src=$(cd "${1:-.}" && pwd)
shift || true
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$src" && go build -o "$tmp/warden" ./cmd/warden)
(cd "$here" && go build -o "$tmp/stall" .)
echo "source: $src ($(cd "$src" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) vCPU, load average $(cut -d' ' -f1-3 /proc/loadavg)"

start() {
  "$tmp/warden" serve --db "$tmp/w.db" --addr 127.0.0.1:18089 "$@" >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q "warden listening" "$tmp/log" && return; sleep 0.1; done
  echo "serve did not start:"; cat "$tmp/log"; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

# One server start seeds the demo data; a key secret is issued while no server runs.
start "$@"; stop
secret=$("$tmp/warden" key secret storybook-bot --db "$tmp/w.db" 2>/dev/null)

if [ -z "${STALL_ONLY:-}" ]; then
  start "$@"; "$tmp/stall" -addr 127.0.0.1:18089 -pid "$pid" -mode body -n 100 -size $((4 << 20)) -hold 20s; stop
  start "$@"; "$tmp/stall" -addr 127.0.0.1:18089 -pid "$pid" -mode trickle -n 300 -every 2s -hold 38s -length $((4 << 20)); stop
  start "$@"; "$tmp/stall" -addr 127.0.0.1:18089 -pid "$pid" -mode trickle -n 300 -every 2s -hold 38s -length 1000; stop
fi
if [ "${STALL_ONLY:-}" != check ]; then
  start "$@"
  "$tmp/stall" -addr 127.0.0.1:18089 -pid "$pid" -mode body -n 100 -size $(((4 << 20) - 1)) -hold 20s -key "$secret"
  "$tmp/stall" -addr 127.0.0.1:18089 -pid "$pid" -mode body -n 100 -size $(((4 << 20) - 1)) -hold 40s -key "$secret"
  stop
fi
if [ "${STALL_ONLY:-}" != key ]; then
  start "$@"; "$tmp/stall" -addr 127.0.0.1:18089 -pid "$pid" -mode body -n 100 -size $(((4 << 20) - 1)) -hold 20s -path /api/v1/check; stop
fi
