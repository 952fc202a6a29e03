#!/usr/bin/env bash
# Load test of the decision API (see handlers/mcpgw/BENCHMARKS.md): the web.New stack over a live
# state of a SQLite database seeded with the demo policy (apiserver, as `warden serve` runs it),
# and wrk as the load generator in another process, both on this machine's loopback.
#
#   handlers/mcpgw/testdata/loadtest/run.sh [DURATION=20s] [CONNECTIONS=32] [THREADS=1] ["-decision-log -keys 10000"]
#
# The fourth argument is the apiserver's flags: -decision-log writes the decision log, -keys N
# adds N keys whose secrets the requests cycle through (10,000 keys: a realistic spread of
# tuples for the log's rollup).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
duration=${1:-20s} conns=${2:-32} threads=${3:-1} flags=${4:-}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/apiserver" ./handlers/mcpgw/testdata/loadtest/apiserver
"$tmp/apiserver" $flags >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 3000); do [ -s "$tmp/out" ] && break; sleep 0.1; done
read -r addr secret secrets <"$tmp/out"
export WARDEN_SECRET=$secret WARDEN_SECRETS_FILE=${secrets:-}
url="http://$addr/api/v1/check"
curl -s -D- -X POST -H 'Content-Type: application/json' \
  -d "{\"key\":\"$WARDEN_SECRET\",\"server\":\"github\",\"tool\":\"delete_repo\"}" "$url"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; decision log: ${flags:-off}"
wrk -t"$threads" -c"$conns" -d5s -s handlers/mcpgw/testdata/loadtest/check.lua "$url" >/dev/null # warm-up
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
wrk -t"$threads" -c"$conns" -d"$duration" --latency -s handlers/mcpgw/testdata/loadtest/check.lua "$url"
cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
secs=${duration%s}
echo "server CPU: $(awk -v a="$cpu0" -v b="$cpu1" -v s="$secs" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f cores", (b-a)/hz/s}')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
curl -s "http://$addr/metrics" | grep -E '^warden_(decisions_total|decision_log_dropped_total)' || true
