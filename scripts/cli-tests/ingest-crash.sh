#!/bin/sh
# A batch is one transaction: killing `shanyrak ingest` with SIGKILL at any point
# leaves the registry with the whole batch or none of it, and a re-run completes it.
set -eu
B="$SHANYRAK_BIN"
PY="${SHANYRAK_PYTHON:-python3}"
fail() { echo "FAIL: $*" >&2; exit 1; }
cp -r "$SHANYRAK_ROOT/keys-example" keys && chmod 600 keys/*.key
"$B" init --data d --keys keys --policies "$SHANYRAK_ROOT/policies" >/dev/null
"$B" generate --households 6000 --seed 11 --out feeds >/dev/null
rows=$(($(wc -l < feeds/population.csv) - 1))
count() { "$B" stats --data d --json | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d['$1'])"; }

for delay in 0.3 1 2; do
    "$B" ingest --data d --source population feeds/population.csv >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    persons=$(count persons)
    batches=$(count batches)
    if [ "$batches" = 0 ]; then
        [ "$persons" = 0 ] || fail "killed after ${delay}s: no batch recorded but $persons persons present"
    else
        [ "$persons" = "$rows" ] || fail "killed after ${delay}s: batch recorded but $persons of $rows persons"
    fi
    echo "killed after ${delay}s: batches=$batches persons=$persons (all or nothing)"
done

# A re-run completes the work, and a second re-run changes nothing.
"$B" ingest --data d --source population feeds/population.csv --json > run.json || fail "re-run did not exit 0"
[ "$(count persons)" = "$rows" ] || fail "re-run left $(count persons) of $rows persons"
"$B" ingest --data d --source population feeds/population.csv --json > again.json
"$PY" -c "import json; d=json.load(open('again.json')); assert d['values_written'] == 0 and d['values_unchanged'] > 0, d" \
    || fail "identical re-delivery wrote values"
echo "re-run completed $rows persons; identical re-delivery wrote nothing"

# registry verify: every committed batch is anchored, except one whose ingest was killed between its
# commit and its audit entry (the crash window), which is reported as unanchored and as nothing else.
set +e
"$B" registry verify --data d --json > verify.json 2>verify.err
status=$?
set -e
"$PY" - "$status" <<'PY' || { cat verify.json verify.err >&2; fail "registry verify after killed ingests"; }
import json, sys
report = json.load(open("verify.json"))
kinds = {p["kind"] for p in report["problems"]}
assert kinds <= {"unanchored"}, kinds
assert (int(sys.argv[1]) == 0) == report["valid"] == (not kinds), (sys.argv[1], report["valid"])
PY
echo "registry verify after killed ingests: $(grep -c '"kind"' verify.json || true) unanchored batches (crash window), nothing else"
