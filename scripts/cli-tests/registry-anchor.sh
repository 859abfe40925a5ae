#!/bin/sh
# Registry contents anchored in the audit log: every ingest's audit entry carries the digest of the
# batch's records, and `registry verify` finds a record deleted, re-dated, swapped or added, a batch
# deleted or added, by someone who can write registry.sqlite; `keys rewrap` renews the anchors of the
# batches it re-seals; a registry without anchors gets one clear message. The Python export verifier
# accepts the new field, and recomputes a digest from registry.sqlite by the documented format.
# Run by scripts/test-cli.sh in an empty folder with SHANYRAK_BIN and SHANYRAK_ROOT set.
set -eu

# $py, fail, ok, bin, run
. "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"

write_population
labour 180000 2024-02-01 >labour.csv
labour 200000 2024-03-01 >labour-2.csv

run 0 out.txt bin keys init --out keys
run 0 out.txt bin init --data data --keys keys --policies "$SHANYRAK_ROOT/policies"
for feed in population labour labour-2; do
    run 0 out.txt bin ingest --data data --source "${feed%-2}" "$feed.csv"
done

# 1. An untouched registry verifies, and verify changes neither database (files and WALs; the -shm files
#    are SQLite's shared-memory index, which every reader writes to).
sums() { cat data/registry.sqlite data/registry.sqlite-wal data/audit.sqlite data/audit.sqlite-wal 2>/dev/null | sha256sum; }
before=$(sums)
run 0 out.txt bin registry verify --data data
grep -q "registry OK: 3 batches, 6 records" out.txt || { cat out.txt >&2; fail "an untouched registry does not verify"; }
[ "$(sums)" = "$before" ] || fail "registry verify changed a database file"
run 0 report.json bin registry verify --data data --json
grep -q '"valid" : true' report.json || fail "the JSON report is not valid"
ok "untouched registry verifies, read-only"

# 2. The export carries the anchors; the Python verifier accepts it, and the anchor of batch 3 is the
#    digest that docs/data-model.md describes, recomputed here from registry.sqlite with hashlib.
run 0 out.txt bin audit export --data data --out export --keys keys
run 0 out.txt "$py" "$SHANYRAK_ROOT/scripts/verify_audit_export.py" export --vkey export/audit.vkey
"$py" - <<'PY' || fail "the anchor of batch 3 is not the documented digest of its records"
import hashlib, json, sqlite3, struct
anchors = {}
for line in open("export/entries.jsonl"):
    for a in json.loads(line)["fields"].get("batchAnchors", []):
        anchors[a["batch"]] = a
assert sorted(anchors) == [1, 2, 3], anchors
db = sqlite3.connect("file:data/registry.sqlite?mode=ro", uri=True)
def framed(b):
    return struct.pack(">I", len(b)) + b
h = hashlib.blake2b(framed(b"shanyrak batch records v1"), digest_size=32)
n = 0
for rid, subject, source, date, payload in db.execute(
        "SELECT r.id, r.subject, s.name, r.observed_at, r.payload FROM record r JOIN source s ON s.number = r.source "
        "WHERE r.id >> 32 = 3 ORDER BY r.id"):
    h.update(struct.pack(">q", rid) + framed(subject) + framed(source.encode()) + framed(date.encode()) + framed(payload))
    n += 1
assert anchors[3]["digest"] == h.hexdigest() and anchors[3]["records"] == n == 2, (anchors[3], n)
assert anchors[3]["source"] == "labour"
PY
# The decoded anchors in `fields` must match the authenticated bytes.
cp -r export export-edited
"$py" - <<'PY'
import json
lines = open("export-edited/entries.jsonl").read().splitlines()
out = []
for line in lines:
    e = json.loads(line)
    for a in e["fields"].get("batchAnchors", []):
        a["records"] += 1
    out.append(json.dumps(e))
open("export-edited/entries.jsonl", "w").write("\n".join(out) + "\n")
PY
run 1 out.txt "$py" "$SHANYRAK_ROOT/scripts/verify_audit_export.py" export-edited --vkey export/audit.vkey
ok "export with anchors verifies in Python; the digest is as documented"

# 3. Edits of registry.sqlite by someone who can write it: each is reported, naming the batch, exit 1.
edit() {
    rm -rf edited
    cp -r data edited
    "$py" -c 'import sqlite3, sys; c = sqlite3.connect("edited/registry.sqlite"); c.executescript(sys.argv[1]); c.commit()' "$1"
}
expect_reported() {
    run 1 out.txt bin registry verify --data edited
    grep -q "$2" out.txt || { cat out.txt >&2; fail "$1: the report does not say '$2'"; }
    ! grep -q -e "$A" -e "$B" out.txt || fail "$1: the report names an IIN"
    ok "$1 is reported"
}
edit "DELETE FROM record WHERE id = (SELECT max(id) FROM record WHERE id >> 32 = 3)"
expect_reported "the newest record deleted" "batch 3 (labour, .*anchored 2 records, the registry holds 1"
edit "UPDATE record SET observed_at = '2024-01-15' WHERE id = (SELECT max(id) FROM record)"
expect_reported "a record dated back" "batch 3 (labour, .*differ from its anchor"
edit "CREATE TEMP TABLE kept AS SELECT id, payload FROM record WHERE id IN ((2 << 32 | 1), (3 << 32 | 1));
      UPDATE record SET payload = (SELECT payload FROM kept WHERE kept.id <> record.id)
      WHERE id IN ((2 << 32 | 1), (3 << 32 | 1))"
expect_reported "two payloads swapped" "batch 2 (labour"
grep -q "batch 3 (labour" out.txt || fail "a swap names only one of its batches"
# A changed batch is re-anchored only when named with --renew (after a rewrap killed before its anchors).
run 2 out.txt bin registry anchor --data edited --batch 2
grep -q -- "--renew" out.txt || { cat out.txt >&2; fail "the refusal does not mention --renew"; }
run 0 out.txt bin registry anchor --data edited --renew --batch 2 --batch 3
run 0 out.txt bin registry verify --data edited
edit "DELETE FROM record WHERE id >> 32 = 3; DELETE FROM batch WHERE id = 3"
expect_reported "a batch deleted" "batch 3 (labour.*missing from the registry"
edit "INSERT INTO record SELECT (2 << 32 | 9), subject, source, '2025-01-01', payload FROM record WHERE id = (2 << 32 | 1)"
expect_reported "a record added" "batch 2 (labour, .*the registry holds 3"
# A batch committed without its audit entry (an ingest killed between the two) is reported as unanchored,
# with what to do; `registry anchor` adopts it once checked.
edit "INSERT INTO batch SELECT 4, source, file_digest, started_at, finished_at, rows_read, rows_accepted,
      rows_quarantined, values_written, values_unchanged FROM batch WHERE id = 3;
      INSERT INTO record SELECT (4 << 32 | 1), subject, source, '2025-01-01', payload FROM record WHERE id = (3 << 32 | 1)"
expect_reported "a batch without an anchor" "batch 4 (labour, .*no anchor in the audit log: an ingest interrupted"
grep -q "registry anchor --batch 4" out.txt || fail "the report does not say how to anchor the batch"
run 2 out.txt bin registry anchor --data edited --batch 3
run 0 out.txt bin registry anchor --data edited --batch 4
run 0 out.txt bin registry verify --data edited
ok "registry anchor adopts an unanchored batch, and only such a batch"

# 4. An audit log that does not verify is refused before anything is compared.
rm -rf edited
cp -r data edited
"$py" -c 'import sqlite3; c = sqlite3.connect("edited/audit.sqlite"); c.execute("UPDATE entries SET entry = entry || x'"'"'00'"'"' WHERE seq = 1"); c.commit()'
run 2 out.txt bin registry verify --data edited
grep -q "the audit log does not verify" out.txt || { cat out.txt >&2; fail "a broken log is not refused"; }
ok "a log that does not verify is refused"

# 5. keys rotate + keys rewrap re-seal the labour batches and renew their anchors: verify stays clean.
run 0 out.txt bin keys rotate --data data --class economic
run 0 out.txt bin keys rewrap --data data
run 0 out.txt bin registry verify --data data
grep -q "registry OK: 3 batches" out.txt || { cat out.txt >&2; fail "a rewrapped registry does not verify"; }
grep -q "note: 2 batches were anchored again" out.txt || { cat out.txt >&2; fail "re-anchored batches not listed"; }
run 0 out.txt bin audit query --data data --action registry.anchor --json
grep -q '"batchAnchors"' out.txt || { cat out.txt >&2; fail "the rewrap's anchors are not in the log"; }
ok "verify after keys rotate + rewrap is clean"

# The anchors are renewed after every transaction, not once at the end: a rewrap of one record per
# transaction leaves one anchor entry per transaction (so one killed mid-way leaves at most one
# transaction's batches unanchored).
anchor_entries() {
    bin audit query --data data --action registry.anchor --json >anchors.json
    "$py" -c 'import json; print(sum(1 for l in open("anchors.json") if json.loads(l)["requestId"].startswith("keys.rewrap:")))'
}
before=$(anchor_entries)
run 0 out.txt bin keys rotate --data data --class economic
run 0 out.txt bin keys rewrap --data data --batch-size 1
resealed=$(sed -n 's/^re-sealed \([0-9]*\) values$/\1/p' out.txt)
after=$(anchor_entries)
records=$("$py" -c 'import sqlite3; print(sqlite3.connect("data/registry.sqlite").execute("SELECT count(*) FROM record WHERE source = (SELECT number FROM source WHERE name = '"'labour'"')").fetchone()[0])')
[ $((after - before)) -eq "$records" ] || fail "a rewrap of $records records one by one left $((after - before)) anchor entries, not one per transaction"
[ "$resealed" -ge "$records" ] || fail "the rewrap re-sealed $resealed values of $records records"
run 0 out.txt bin registry verify --data data
ok "keys rewrap renews the anchors after each transaction"

# 6. A registry written before anchors (its log holds none): one clear message, exit 2; `registry anchor`
#    anchors every batch, then it verifies.
rm -rf old
cp -r data old
rm -f old/audit.sqlite old/audit.sqlite-wal old/audit.sqlite-shm
run 0 out.txt bin audit checkpoint --data old --keys keys
run 2 out.txt bin registry verify --data old
grep -q "no batch of this registry is anchored in the audit log" out.txt || { cat out.txt >&2; fail "no clear message"; }
[ "$(grep -c "registry verify" out.txt)" -le 3 ] || { cat out.txt >&2; fail "a wall of errors for a registry without anchors"; }
# Batches written before anchoring are unverified, not mismatched.
grep -q "3 batches written before anchoring not verified" out.txt || { cat out.txt >&2; fail "summary of unanchored batches"; }
if grep -q "do not match" out.txt; then cat out.txt >&2; fail "batches without anchors reported as mismatches"; fi
run 0 out.txt bin registry anchor --data old
grep -q "anchored 3 batches" out.txt || { cat out.txt >&2; fail "registry anchor did not anchor the 3 batches"; }
run 0 out.txt bin registry verify --data old
ok "a registry without anchors gets one message, and can be anchored"
