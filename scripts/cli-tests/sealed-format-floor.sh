#!/bin/sh
# The sealed-format floor (docs/crypto.md): a demo registry accepts sealed-value format 3 only and
# `keys status` says so; a registry made before the floor (no row) accepts every format until a
# `keys rewrap` finds no older value, which raises the floor, says so and records it in its audit entry.
# Run by scripts/test-cli.sh in an empty folder with SHANYRAK_BIN and SHANYRAK_ROOT set.
set -eu

# $py, fail, ok, bin, run
. "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"
root="$SHANYRAK_ROOT"
cp -r "$root/keys-example" keys && chmod 600 keys/*.key
run 0 demo.log bin demo --data demo --keys keys --policies "$root/policies" --households 20 --no-serve

run 0 out.txt bin keys status --data demo
head -n 1 out.txt | grep -q "sealed-value formats accepted: 3 and newer" \
    || { cat out.txt >&2; fail "a demo registry does not accept format 3 only"; }
run 0 status.json bin keys status --data demo --json
"$py" -c 'import json; s=json.load(open("status.json")); assert isinstance(s, list) and s and "class" in s[0], s' \
    || { cat status.json >&2; fail "keys status --json is no longer the list of key versions"; }
run 0 out.txt bin keys rewrap --data demo
grep -q "re-sealed 0 values" out.txt || { cat out.txt >&2; fail "rewrap of a demo registry re-sealed something"; }
! grep -q "floor" out.txt || { cat out.txt >&2; fail "rewrap raised a floor that was at 3 already"; }
ok "a demo registry accepts sealed-value format 3 only"

# A registry made before the floor existed has no row: every format is accepted.
"$py" -c 'import sqlite3; c=sqlite3.connect("demo/registry.sqlite"); c.execute("DELETE FROM sealed_format_floor"); c.commit()'
run 0 out.txt bin keys status --data demo
head -n 1 out.txt | grep -q "sealed-value formats accepted: all" \
    || { cat out.txt >&2; fail "a registry without a floor does not say it accepts every format"; }
run 0 out.txt bin keys rewrap --data demo --class quarantine
! grep -q "floor raised" out.txt || { cat out.txt >&2; fail "a rewrap of the quarantine alone raised the floor"; }
run 0 out.txt bin keys rewrap --data demo
grep -q "re-sealed 0 values" out.txt || { cat out.txt >&2; fail "rewrap re-sealed something"; }
grep -q "sealed-format floor raised to 3" out.txt || { cat out.txt >&2; fail "rewrap did not raise the floor"; }
run 0 out.txt bin keys status --data demo
head -n 1 out.txt | grep -q "sealed-value formats accepted: 3 and newer" \
    || { cat out.txt >&2; fail "keys status does not show the raised floor"; }
run 0 audit.txt bin audit query --data demo --action keys.rewrap --json
grep -q 'sealed-format-floor-3' audit.txt || { cat audit.txt >&2; fail "the floor raise is not in the audit log"; }
ok "keys rewrap raises the floor of an older registry, says so, and audits it"
