#!/bin/sh
# End-to-end check of `shanyrak audit`: create a signed log, prove append-only growth, export it,
# verify the export with the independent Python verifier, then tamper and expect both verifiers to fail.
# Runs in a fresh temporary folder; needs $SHANYRAK_BIN and $SHANYRAK_PYTHON (with PyNaCl).
set -eu
bin=${SHANYRAK_BIN:?set SHANYRAK_BIN}
py=${SHANYRAK_PYTHON:?set SHANYRAK_PYTHON}
verifier="$(cd "$(dirname "$0")/.." && pwd)/verify_audit_export.py"

fail() { echo "audit.sh: $*" >&2; exit 1; }

"$bin" audit keygen --keys keys >/dev/null
"$bin" audit append-demo --data data --keys keys --count 500 --checkpoint-every 100 >kept.ckpt 2>/dev/null
grep -q '^500$' kept.ckpt || fail "append-demo did not print a checkpoint of size 500"
"$bin" audit verify --data data --keys keys >/dev/null || fail "a fresh log does not verify"

# Grow the log; the checkpoint kept earlier must prove it was only appended to.
"$bin" audit append-demo --data data --keys keys --count 250 >/dev/null 2>&1
"$bin" audit verify --data data --keys keys --checkpoint kept.ckpt --json >report.json \
    || fail "append-only extension not proved"
grep -q '"consistencyProofVerified" : true' report.json || fail "no consistency proof in the report"
"$bin" audit checkpoint --data data --keys keys | grep -q '^750$' || fail "checkpoint is not of size 750"
"$bin" audit prove --data data --index 123 --size 600 | grep -q '"treeSize" : 600' || fail "prove"
"$bin" audit consistency --data data --from 500 | grep -q '"size2" : 750' || fail "consistency"
"$bin" audit query --data data --actor officer-3 --json | head -n 1 | grep -q '"actorId":"officer-3"' || fail "query"

# Offline verification of the export with nothing but SHA-256 and Ed25519.
"$bin" audit export --data data --out export >/dev/null
"$py" "$verifier" export || fail "the Python verifier rejects a good export"

# A log grown past its newest checkpoint (a live server's usual state) still exports a verifiable
# set: the export ends at that checkpoint; with the signing key it checkpoints first and holds all.
cp -r data grown
"$bin" audit append-demo --data grown --keys keys --count 30 >/dev/null 2>&1
# (append-demo checkpoints at its end; drop that checkpoint, so 30 entries follow the newest one)
"$py" -c 'import sqlite3; c = sqlite3.connect("grown/audit.sqlite"); c.execute("DELETE FROM checkpoints WHERE size > 750"); c.commit()'
"$bin" audit export --data grown --out export-cut | grep -q "exported 750 entries" \
    || fail "an export without the key does not end at the newest checkpoint"
"$py" "$verifier" export-cut || fail "the Python verifier rejects an export of a grown log"
"$bin" audit export --data grown --keys keys --out export-all | grep -q "exported 780 entries" \
    || fail "an export with the key does not hold every entry"
"$py" "$verifier" export-all || fail "the Python verifier rejects an export made with the key"

# Tamper with the export: one flipped byte in entry 42's canonical bytes.
cp -r export bad
"$py" - bad/entries.jsonl <<'PYEOF'
import base64, json, sys
path = sys.argv[1]
lines = open(path).read().splitlines()
obj = json.loads(lines[42])
raw = bytearray(base64.b64decode(obj["entry"]))
raw[-3] ^= 1
obj["entry"] = base64.b64encode(bytes(raw)).decode()
lines[42] = json.dumps(obj)
open(path, "w").write("\n".join(lines) + "\n")
PYEOF
if "$py" "$verifier" bad 2>err.txt; then fail "the Python verifier accepted a tampered export"; fi
grep -q "entry 42" err.txt || fail "the Python verifier did not name entry 42: $(cat err.txt)"

# Tamper with the export differently: drop an entry.
cp -r export gap
sed -i '100d' gap/entries.jsonl
if "$py" "$verifier" gap 2>/dev/null; then fail "the Python verifier accepted an export with a missing entry"; fi

# Tamper with the log itself: flip a byte of entry 42; `audit verify` must fail and name it.
"$py" - data/audit.sqlite <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(blob,) = db.execute("SELECT entry FROM entries WHERE seq = 42").fetchone()
b = bytearray(blob)
b[-3] ^= 1
db.execute("UPDATE entries SET entry = ? WHERE seq = 42", (bytes(b),))
db.commit()
PYEOF
if "$bin" audit verify --data data --keys keys 2>err.txt >/dev/null; then fail "audit verify accepted a tampered log"; fi
grep -q "audit entry 42" err.txt || fail "audit verify did not name entry 42: $(cat err.txt)"
echo "audit.sh: ok"
