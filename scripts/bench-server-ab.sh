#!/bin/sh
# Side-by-side comparison of two `shanyrak` binaries under the audited mix of scripts/bench-server.sh.
#
# On this shared machine the host's speed moves by a third from one minute to the next, so two full
# runs of bench-server.sh, one after the other, compare minutes as much as code. Here both servers run
# at once, each on a demo folder made by its own binary, and each round drives one and then the other
# with the same wrk mix for SLICE seconds; the server CPU per request (user + system from /proc) of the
# two, slice by slice, shares the same minutes. The script prints every round and the medians.
#
#   BIN_A=/tmp/before BIN_B=/tmp/after scripts/bench-server-ab.sh      # ROUNDS=10 SLICE=3 HOUSEHOLDS=10000
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN_A:?set BIN_A and BIN_B to the two shanyrak binaries}" "${BIN_B:?set BIN_A and BIN_B}"
ROUNDS=${ROUNDS:-10}
SLICE=${SLICE:-3}
HOUSEHOLDS=${HOUSEHOLDS:-10000}
PORT_A=${PORT_A:-18871}
PORT_B=${PORT_B:-18872}
command -v wrk >/dev/null || { echo "bench-server-ab: needs wrk (apt-get install wrk)" >&2; exit 2; }

cd "$root"
chmod 600 keys-example/*.key
work=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The demo folder and the request mix (as bench-server.sh: 14 household views, 3 person views and
# 3 denials in every 20) for one binary.
prepare() {
    name=$1 bin=$2
    mkdir -p "$work/$name"
    "$bin" demo --data "$work/$name/data" --keys keys-example --households "$HOUSEHOLDS" --port 1 --no-serve \
        >"$work/$name/demo.log"
    python3 scripts/bench_mix.py "$work/$name/data/demo-accounts.json" >"$work/$name/requests.lua"
}

serve() {
    name=$1 bin=$2 port=$3
    "$bin" serve --data "$work/$name/data" --port "$port" >"$work/$name/server.log" 2>&1 &
    pids="$pids $!"
    eval "pid_$name=$!"
    i=0
    until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -gt 100 ] && { echo "bench-server-ab: $name did not start" >&2; exit 1; }
        sleep 0.1
    done
}

# One slice of the mix against one server; prints its CPU microseconds per request.
slice() {
    name=$1 port=$2 seconds=$3
    eval "pid=\$pid_$name"
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    BENCH_COUNT_STATUS=1 BENCH_REQUESTS="$work/$name/requests.lua" wrk -t2 -c64 -d"${seconds}s" -s scripts/bench-server.lua \
        "http://127.0.0.1:$port" >"$work/$name/wrk.txt"
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    requests=$(awk '/requests in/ {print $1}' "$work/$name/wrk.txt")
    grep -q 'other=0' "$work/$name/wrk.txt" || { echo "bench-server-ab: $name gave unexpected answers" >&2; exit 1; }
    awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%d", t / hz * 1e6 / n }'
}

echo "bench-server-ab: demo folders of $HOUSEHOLDS households for A ($BIN_A) and B ($BIN_B) ..."
prepare a "$BIN_A"
prepare b "$BIN_B"
sync
serve a "$BIN_A" "$PORT_A"
serve b "$BIN_B" "$PORT_B"
slice a "$PORT_A" 2 >/dev/null
slice b "$PORT_B" 2 >/dev/null

: >"$work/rounds.txt"
for r in $(seq "$ROUNDS"); do
    a=$(slice a "$PORT_A" "$SLICE")
    b=$(slice b "$PORT_B" "$SLICE")
    echo "round $r: A $a us, B $b us per request"
    echo "$a $b" >>"$work/rounds.txt"
done
python3 - "$work/rounds.txt" <<'PY'
import statistics, sys
rows = [tuple(map(int, line.split())) for line in open(sys.argv[1])]
a = statistics.median(r[0] for r in rows)
b = statistics.median(r[1] for r in rows)
ratio = statistics.median(r[1] / r[0] for r in rows)
print("server CPU per request, median of %d rounds: A %.0f us, B %.0f us; B/A per round, median %.3f"
      % (len(rows), a, b, ratio))
PY
