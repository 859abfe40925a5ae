#!/bin/sh
# Audit log speed (issue 4), through the command line of a release build:
#   1. durable appends per second with 64 concurrent appenders (append-demo; synchronous=FULL, WAL),
#      RUNS fresh logs of APPENDS entries each;
#   2. `audit verify` of a 1,000,000-entry log, RUNS times;
#   3. inclusion (and consistency) proofs from a 10,000,000-entry log (bench-proofs), RUNS times.
# The 1,000,000- and 10,000,000-entry logs are made once under $BENCH_DIR and reused by later runs
# (and by the AuditBenchmarks target, which reads $BENCH_DIR/log-10m).
#
# Usage: BENCH_DIR=/tmp/shanyrak-bench-audit RUNS=3 APPENDS=200000 sh scripts/bench-audit.sh
# Needs: swift build -c release --product shanyrak (done here), GNU time (/usr/bin/time) if present.
set -eu

BENCH_DIR=${BENCH_DIR:-/tmp/shanyrak-bench-audit}
RUNS=${RUNS:-3}
APPENDS=${APPENDS:-200000}
BIG=${BIG:-10000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.build/release/shanyrak"

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$ROOT" && swift build -c release --product shanyrak >/dev/null)
mkdir -p "$BENCH_DIR"
KEYS="$BENCH_DIR/keys"
if [ ! -f "$KEYS/audit-signing.key" ]; then
    mkdir -p "$KEYS"
    "$BIN" audit keygen --keys "$KEYS" >/dev/null
fi

timed() {
    # Runs "$@", printing wall, user and system seconds on standard error.
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "  wall %e s, user %U s, sys %S s, max RSS %M KiB" "$@"
    else
        "$@"
    fi
}

echo "## 1. durable appends, 64 concurrent appenders, $APPENDS entries, checkpoint every 1,024"
i=1
while [ "$i" -le "$RUNS" ]; do
    D="$BENCH_DIR/appends-$i"
    rm -rf "$D" && mkdir -p "$D"
    echo "\$ shanyrak audit append-demo --data $D --keys $KEYS --count $APPENDS --concurrency 64 (load $(cut -d' ' -f1 /proc/loadavg))"
    timed "$BIN" audit append-demo --data "$D" --keys "$KEYS" --count "$APPENDS" --concurrency 64 2>&1 >/dev/null |
        awk -v n="$APPENDS" '/appended/ { s = $(NF-1); printf "  %s -> %.0f appends/s\n", $0, n / s; next } { print }'
    rm -rf "$D"
    i=$((i + 1))
done

echo "## 2. audit verify, 1,000,000 entries"
M="$BENCH_DIR/log-1m"
if [ ! -f "$M/audit.sqlite" ]; then
    mkdir -p "$M"
    echo "  (making the log: append-demo --count 1000000 --concurrency 1024)"
    timed "$BIN" audit append-demo --data "$M" --keys "$KEYS" --count 1000000 --concurrency 1024 >/dev/null
fi
i=1
while [ "$i" -le "$RUNS" ]; do
    echo "\$ shanyrak audit verify --data $M --keys $KEYS (load $(cut -d' ' -f1 /proc/loadavg))"
    timed "$BIN" audit verify --data "$M" --keys "$KEYS" --json 2>&1 | grep -E '"valid"|"entriesVerified"|wall' | tr -s ' ' | tr '\n' ' '
    echo
    i=$((i + 1))
done

echo "## 3. proofs from a $BIG-entry log"
G="$BENCH_DIR/log-10m"
if [ ! -f "$G/audit.sqlite" ] || [ ! -f "$G/complete" ]; then
    rm -rf "$G" && mkdir -p "$G"
    echo "  (making the log: append-demo --count $BIG --concurrency 4096, several minutes)"
    timed "$BIN" audit append-demo --data "$G" --keys "$KEYS" --count "$BIG" --concurrency 4096 >/dev/null
    touch "$G/complete"
    du -sh "$G"
fi
i=1
while [ "$i" -le "$RUNS" ]; do
    echo "\$ shanyrak audit bench-proofs --data $G --samples 30000 (load $(cut -d' ' -f1 /proc/loadavg))"
    "$BIN" audit bench-proofs --data "$G" --samples 30000 | sed 's/^/  /'
    i=$((i + 1))
done
