#!/bin/sh
# End-to-end checks of the built `shanyrak` command, run by `make test` after the
# Swift test suite. Each script under scripts/cli-tests/ runs in a fresh folder.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.build/debug/shanyrak"
export SHANYRAK_BIN="$bin" SHANYRAK_ROOT="$root" SHANYRAK_PYTHON="${SHANYRAK_PYTHON:-$root/.venv/bin/python}"
status=0
for t in "$root"/scripts/cli-tests/*.sh; do
    [ -e "$t" ] || continue
    work=$(mktemp -d)
    if (cd "$work" && sh "$t") >"$work.log" 2>&1; then
        echo "cli test passed: $(basename "$t")"
    else
        echo "cli test FAILED: $(basename "$t")"; cat "$work.log"; status=1
    fi
    rm -rf "$work" "$work.log"
done
exit $status
