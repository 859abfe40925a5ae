# Helpers for the scripts in scripts/cli-tests/, which source this file (it is not a test itself:
# scripts/test-cli.sh runs only the scripts directly in that folder). Source it after `set -eu` as
#   . "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"
# It sets $py (the test suite's Python) and defines fail, ok, bin and run.

: "${SHANYRAK_BIN:?SHANYRAK_BIN must name the shanyrak binary}"
py=${SHANYRAK_PYTHON:-python3}
[ -x "$py" ] || command -v "$py" >/dev/null 2>&1 || py=python3

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
bin() { "$SHANYRAK_BIN" "$@"; }
# run EXPECTED_STATUS OUTFILE CMD...: runs CMD, stdout+stderr to OUTFILE, checks the status.
run() {
    want=$1 out=$2
    shift 2
    set +e
    "$@" >"$out" 2>&1
    got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat "$out" >&2; fail "$* exited $got, expected $want"; }
}
