#!/usr/bin/env bash
# Measures the policy-as-code commands as whole processes on the document of issue 13
# (50 organizations, 2,000 teams, 100,000 keys, 200 servers x 30 tools; see main.go), on
# SQLite and Postgres: wall time, CPU time (user + sys) and peak RSS from /usr/bin/time -v, each
# command RUNS times (default 3), one line a run, then the median of each figure.
#
#   WARDEN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
#     cmd/warden/testdata/bigdoc/run.sh [SOURCE_DIR=.] [RUNS=3]
#
# The Postgres server at WARDEN_TEST_DATABASE_URL gets databases warden_bigdoc_* (dropped
# after). Output of the commands goes to /dev/null, except that their exit status is checked.
set -euo pipefail
src=$(cd "${1:-.}" && pwd)
runs=${2:-3}
base=${WARDEN_TEST_DATABASE_URL:?set WARDEN_TEST_DATABASE_URL to a Postgres server}
tmp=$(mktemp -d)
cleanup() {
  for d in $(psql "$base" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'warden\_bigdoc\_%'" 2>/dev/null); do
    psql "$base" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$src" && go build -o "$tmp/warden" ./cmd/warden && go build -o "$tmp/bigdoc" ./cmd/warden/testdata/bigdoc)
"$tmp/bigdoc" >"$tmp/doc.json"
"$tmp/bigdoc" -change-org org-007 >"$tmp/changed.json"
echo "source: $src ($(cd "$src" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) vCPU, $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "document: $(wc -c <"$tmp/doc.json") bytes of JSON"

# pgdb NAME: a fresh Postgres database, migrated.
pgdb() {
  local name=warden_bigdoc_$1
  psql "$base" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
  local url
  url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$base" "$name")
  "$tmp/warden" migrate --db "$url" >/dev/null
  echo "$url"
}

# measure LABEL PREPARE COMMAND: runs PREPARE then COMMAND (shell snippets; only COMMAND is
# timed), RUNS times.
measure() {
  local label=$1 prepare=$2 command=$3
  local walls=() cpus=() rss=()
  for i in $(seq 1 "$runs"); do
    eval "$prepare"
    eval "/usr/bin/time -v -o \"\$tmp/time\" $command" >/dev/null 2>"$tmp/err" || { echo "$label: exit $?"; cat "$tmp/err"; exit 1; }
    local w c m
    w=$(awk -F': ' '/Elapsed/ {n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$tmp/time")
    c=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' "$tmp/time")
    m=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$tmp/time")
    walls+=("$w") cpus+=("$c") rss+=("$m")
    printf '  %-32s run %d: %6.2f s wall, %5.2f s cpu, %5d MB\n' "$label" "$i" "$w" "$c" "$m"
  done
  med() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
  printf '%-34s median: %6.2f s wall, %5.2f s cpu, %5d MB peak RSS (load %s)\n' "$label" "$(med "${walls[@]}")" "$(med "${cpus[@]}")" "$(med "${rss[@]}")" "$(cut -d' ' -f1 /proc/loadavg)"
}

W=$tmp/warden
D=$tmp/doc.json
C=$tmp/changed.json
measure "policy validate -f" : '"$W" policy validate -f "$D"'
measure "policy diff --before --after" : '"$W" policy diff --before "$D" --after "$C"'
measure "policy access -f" : '"$W" policy access -f "$D"'
measure "policy access -f --org org-001" : '"$W" policy access -f "$D" --org org-001'

pg=""
measure "import (empty Postgres)" 'pg=$(pgdb import$i)' '"$W" import -f "$D" --db "$pg"'
# The last database of the loop above holds the document.
measure "import one org changed (Postgres)" '"$W" import -f "$D" --db "$pg" >/dev/null' '"$W" import -f "$C" --db "$pg"'
measure "export (Postgres)" : '"$W" export --db "$pg"'
measure "policy access --db (Postgres)" : '"$W" policy access --db "$pg"'

sq=$tmp/s.db
measure "import (empty SQLite)" 'rm -f "$sq"; "$W" migrate --db "$sq" >/dev/null' '"$W" import -f "$D" --db "$sq"'
measure "import one org changed (SQLite)" '"$W" import -f "$D" --db "$sq" >/dev/null' '"$W" import -f "$C" --db "$sq"'
measure "export (SQLite)" : '"$W" export --db "$sq"'
measure "policy access --db (SQLite)" : '"$W" policy access --db "$sq"'
