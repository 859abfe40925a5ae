#!/bin/sh
# A data folder configured with a policy public key loads only a policy set whose
# signature covers exactly its files; any change to the set is refused.
set -eu
B="$SHANYRAK_BIN"
fail() { echo "FAIL: $*" >&2; exit 1; }
cp -r "$SHANYRAK_ROOT/policies" p && rm -f p/policies.sig
cp -r "$SHANYRAK_ROOT/keys-example" k && chmod 600 k/*.key
"$B" init --data d --keys k --policies p --policy-public-key k/policy-signing.pub >/dev/null
if "$B" users add --data d --name A --role auditor 2>err.txt; then fail "an unsigned policy set was loaded"; fi
grep -q "not signed" err.txt || fail "refusal does not say the set is not signed: $(cat err.txt)"
"$B" policy sign p --key k/policy-signing.key >/dev/null
"$B" users add --data d --name A --role auditor >/dev/null || fail "a correctly signed set was refused"
printf '\n// an edit after signing\n' >> p/10-social-worker.cedar
if "$B" users add --data d --name B --role auditor 2>err.txt; then fail "a modified policy set was loaded"; fi
grep -q "10-social-worker.cedar" err.txt || fail "refusal does not name the changed file: $(cat err.txt)"
# The catalog and the feed mappings are part of the signed set for every command, ingest included:
# a mapping edited after signing (household columns added to the police feed) is refused.
"$B" policy sign p --key k/policy-signing.key >/dev/null
"$B" stats --data d >/dev/null || fail "a re-signed set was refused"
# An ingest in a signed folder reads its mapping from the verified set.
printf 'iin,indicator,value,observed_on\n900101300017,violence.dv_report_count,1,2026-01-05\n' > police.csv
set +e; "$B" ingest --data d --source police police.csv >out.txt 2>&1; status=$?; set -e
[ "$status" = 0 ] || [ "$status" = 3 ] || fail "ingest in a signed folder failed ($status): $(cat out.txt)"
printf 'iin,indicator,value,observed_on\n' > police.csv
printf '\n# an edit after signing\n' >> p/sources/police.yaml
if "$B" ingest --data d --source police police.csv 2>err.txt >/dev/null; then fail "a modified mapping was used"; fi
grep -q "sources/police.yaml" err.txt || fail "refusal does not name the changed mapping: $(cat err.txt)"
if "$B" stats --data d 2>err.txt >/dev/null; then fail "a command ran on a modified policy set"; fi
echo "unsigned and modified policy sets refused; signed set loaded; mappings covered for every command"
