#!/bin/sh
# The sealed-format floor (docs/crypto.md): a demo registry accepts sealed-value format 3 only and
# `keys status` says so; the floor deleted in the file leaves the keys refusing to open; a registry made
# before the floor (no row, keys wrapped without one) accepts every format until a `keys rewrap` finds no
# older value, which raises the floor, binds the keys to it, says so and records it in its audit entry.
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
# floor_in_json N: every key version of `keys status --json` (status.json) shows the floor N, as the text does.
floor_in_json() {
    "$py" -c 'import json,sys; s=json.load(open("status.json")); assert all(k["sealed_format_floor"] == int(sys.argv[1]) for k in s), s' "$1" \
        || { cat status.json >&2; fail "keys status --json does not show the sealed-format floor $1"; }
}
floor_in_json 3
run 0 out.txt bin keys rewrap --data demo
grep -q "re-sealed 0 values" out.txt || { cat out.txt >&2; fail "rewrap of a demo registry re-sealed something"; }
! grep -q "floor" out.txt || { cat out.txt >&2; fail "rewrap raised a floor that was at 3 already"; }
ok "a demo registry accepts sealed-value format 3 only"

# The data keys are wrapped bound to the floor: deleting it in the file (someone who can write the registry
# but holds no master key) leaves every command that opens a key refusing, instead of accepting old formats.
cp -r demo attacked
"$py" -c 'import sqlite3; c=sqlite3.connect("attacked/registry.sqlite"); c.execute("DELETE FROM sealed_format_floor"); c.commit()'
run 1 out.txt bin keys status --data attacked
grep -q "sealed-value formats accepted: all" out.txt && grep -q "sealed-format floor (1)" out.txt \
    || { cat out.txt >&2; fail "keys status does not say that the keys do not open with the deleted floor"; }
run 1 out.txt bin keys rewrap --data attacked
grep -q "does not open with this master key and the registry's sealed-format floor (1)" out.txt \
    || { cat out.txt >&2; fail "a deleted floor is not refused with a clear message"; }
run 1 out.txt bin ingest --data attacked --source population demo/feeds/population.csv
grep -q "sealed-format floor (1)" out.txt || { cat out.txt >&2; fail "ingest after a deleted floor: message"; }
ok "a floor deleted in the file leaves the keys refusing to open"

# A registry made before the floor existed has no row and keys wrapped without one (the wrapping's associated
# data is "shanyrak.datakey.v1 NUL class NUL version", and "NUL floor NUL 3" once bound): made here with
# PyNaCl from the example master key, independently of the Swift code. Every format is accepted.
"$py" - <<'PY' || fail "could not make a registry of before the floor (PyNaCl)"
import base64, sqlite3
from nacl.bindings import (crypto_aead_xchacha20poly1305_ietf_decrypt as dec,
                           crypto_aead_xchacha20poly1305_ietf_encrypt as enc)
from nacl.utils import random
master = base64.b64decode(open("keys/master.key").read().strip())
c = sqlite3.connect("demo/registry.sqlite")
rows = c.execute("SELECT class, version, wrapped FROM data_key WHERE state = 'active'").fetchall()
for cls, version, wrapped in rows:
    base = b"shanyrak.datakey.v1\0" + cls.encode() + b"\0" + str(version).encode()
    key = dec(wrapped[24:], base + b"\0floor\0" + b"3", wrapped[:24], master)
    nonce = random(24)
    c.execute("UPDATE data_key SET wrapped = ? WHERE class = ? AND version = ?",
              (nonce + enc(key, base, nonce, master), cls, version))
c.execute("DELETE FROM sealed_format_floor")
c.commit()
PY
run 0 out.txt bin keys status --data demo
head -n 1 out.txt | grep -q "sealed-value formats accepted: all" \
    || { cat out.txt >&2; fail "a registry without a floor does not say it accepts every format"; }
run 0 status.json bin keys status --data demo --json
floor_in_json 1
run 0 out.txt bin keys rewrap --data demo --class quarantine
! grep -q "floor raised" out.txt || { cat out.txt >&2; fail "a rewrap of the quarantine alone raised the floor"; }
run 0 out.txt bin keys rewrap --data demo
grep -q "re-sealed 0 values" out.txt || { cat out.txt >&2; fail "rewrap re-sealed something"; }
grep -q "sealed-format floor raised to 3" out.txt || { cat out.txt >&2; fail "rewrap did not raise the floor"; }
run 0 out.txt bin keys status --data demo
head -n 1 out.txt | grep -q "sealed-value formats accepted: 3 and newer" \
    || { cat out.txt >&2; fail "keys status does not show the raised floor"; }
run 0 status.json bin keys status --data demo --json
floor_in_json 3
run 0 audit.txt bin audit query --data demo --action keys.rewrap --json
grep -q 'sealed-format-floor-3' audit.txt || { cat audit.txt >&2; fail "the floor raise is not in the audit log"; }
# The raise bound the keys to the floor: the same deletion is refused now.
"$py" -c 'import sqlite3; c=sqlite3.connect("demo/registry.sqlite"); c.execute("DELETE FROM sealed_format_floor"); c.commit()'
run 1 out.txt bin keys rewrap --data demo
grep -q "sealed-format floor (1)" out.txt || { cat out.txt >&2; fail "the raise did not bind the keys to the floor"; }
ok "keys rewrap raises the floor of an older registry, binds the keys to it, says so, and audits it"
