#!/bin/sh
# End-to-end ingest benchmark: generate a population, ingest every feed, report
# sealed values per second and peak memory per feed, and the same load through a
# straightforward Python ingester (PyNaCl + sqlite3) for scale.
#
#   scripts/bench-ingest.sh [HOUSEHOLDS] [SEED]     (default 285000 households ~ 1,000,000 people)
#   BIN=/tmp/old-shanyrak scripts/bench-ingest.sh   # measure a given binary (no build), e.g. a before
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
households=${1:-285000}
seed=${2:-1}
work=${BENCH_DIR:-$(mktemp -d)}
python=${SHANYRAK_PYTHON:-$root/.venv/bin/python}
cd "$root"
. scripts/bench-binary.sh
rm -rf "$work/feeds" "$work/data"
start=$(date +%s.%N)
"$bin" generate --households "$households" --seed "$seed" --out "$work/feeds" >/dev/null
end=$(date +%s.%N)
people=$(($(wc -l < "$work/feeds/population.csv") - 1))
echo "generate: $people people in $(echo "$end - $start" | bc) s"
"$bin" init --data "$work/data" --keys keys-example --policies policies >/dev/null
total_values=0
total_seconds=0
for s in population labour health education police justice; do
    out=$(/usr/bin/time -f "%M %U %S" -o "$work/mem" "$bin" ingest --data "$work/data" --source $s "$work/feeds/$s.csv" --json || true)
    written=$(echo "$out" | "$python" -c 'import json,sys; d=json.load(sys.stdin); print(d["values_written"])')
    secs=$(echo "$out" | "$python" -c 'import json,sys; d=json.load(sys.stdin); print(d["seconds"])')
    rows=$(echo "$out" | "$python" -c 'import json,sys; d=json.load(sys.stdin); print(d["rows_read"])')
    read -r mem user sys < "$work/mem"
    rate=$(echo "$written / $secs" | bc)
    # CPU seconds (user + system, both threads) say what the run costs whatever else the machine runs.
    cpu=$(echo "$user + $sys" | bc)
    echo "ingest $s: $rows rows, $written values in $secs s = $rate values/s, CPU $cpu s, peak RSS $((mem / 1024)) MiB"
    total_values=$((total_values + written))
    total_seconds=$(echo "$total_seconds + $secs" | bc)
done
echo "ingest total: $total_values values in $total_seconds s = $(echo "$total_values / $total_seconds" | bc) values/s"
if [ -x "$python" ] && [ "${SKIP_PYTHON:-0}" != 1 ]; then
    "$python" "$root/scripts/bench_python_ingest.py" "$work/feeds" "$work/python.sqlite"
fi
[ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
