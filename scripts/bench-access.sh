#!/bin/sh
# The access path without HTTP (Benchmarks/Benchmarks/AccessBenchmarks): a release build of `shanyrak`
# makes a demo folder (HOUSEHOLDS=10000 by default, the population of scripts/bench-server.sh), then
# package-benchmark times household views, person views, denials and the HTTP benchmark's mix of 20
# requests through AccessService alone, with an audit log that releases at once.
#
#   scripts/bench-access.sh                  # builds shanyrak in release mode, then the benchmarks
#   BIN=/tmp/shanyrak scripts/bench-access.sh   # a given binary makes the folder (no build of it)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
HOUSEHOLDS=${HOUSEHOLDS:-10000}
cd "$root"
. scripts/bench-binary.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
echo "bench-access: generating and loading $HOUSEHOLDS households ..."
"$bin" demo --data "$work/data" --keys keys-example --households "$HOUSEHOLDS" --no-serve >"$work/demo.log"
cd Benchmarks
SHANYRAK_BENCH_DEMO="$work/data" swift package --allow-writing-to-package-directory benchmark \
    --target AccessBenchmarks --no-progress
