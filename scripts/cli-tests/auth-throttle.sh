#!/bin/sh
# Failed authentications against a real server: each recorded on its own up to the burst of one address,
# then 429 with Retry-After and one summary entry with their number (written when the server stops); the
# log still verifies, in Swift and with the independent Python verifier of the export.
# Run by scripts/test-cli.sh in an empty folder with $SHANYRAK_BIN, $SHANYRAK_ROOT and $SHANYRAK_PYTHON.
set -eu
bin="$SHANYRAK_BIN"
root="$SHANYRAK_ROOT"
py="${SHANYRAK_PYTHON:-python3}"
[ -x "$py" ] || py=python3
. "$root/scripts/cli-tests/serve.inc"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 0; }
cp -r "$root/keys-example" keys && chmod 600 keys/*.key
"$bin" demo --data demo --keys keys --policies "$root/policies" --households 50 --no-serve > demo.log
sw=$(python3 -c "import json; d=json.load(open('demo/demo-accounts.json')); print([a for a in d['accounts'] if a['role']=='social_worker'][0]['token'])")
household=$(python3 -c "import json; print(json.load(open('demo/demo-accounts.json'))['example_household'])")

# Bad settings are refused before anything starts, naming the option.
for bad in "--failed-authentication-burst 0" "--failed-authentications-per-second 0" "--failed-authentications-per-second nan"; do
    # shellcheck disable=SC2086
    if "$bin" serve --data demo --port 1 $bad 2> refused.txt; then fail "serve took $bad"; fi
    grep -q -- "${bad%% *}" refused.txt || { cat refused.txt; fail "the refusal of $bad does not name the option"; }
done

start_server serve.log --failed-authentication-burst 5 --failed-authentications-per-second 0.01 \
    --metrics-token-file demo/metrics.token

# Twelve requests with a wrong token: five 401s, then seven 429s with Retry-After.
: > statuses.txt
n=0
while [ $n -lt 12 ]; do
    curl -s -D headers.txt -o body.json -w '%{http_code}\n' -H "Authorization: Bearer shk_wrong$n" \
        "$url/v1/households/$household" >> statuses.txt
    n=$((n + 1))
done
[ "$(grep -c '^401$' statuses.txt)" = 5 ] || { cat statuses.txt; fail "not five 401s"; }
[ "$(grep -c '^429$' statuses.txt)" = 7 ] || { cat statuses.txt; fail "not seven 429s"; }
[ "$(head -5 statuses.txt | sort -u)" = 401 ] || fail "the 429s did not come after the burst"
grep -qi '^retry-after: [1-9]' headers.txt || { cat headers.txt; fail "a 429 without Retry-After"; }
grep -q 'too-many-failed-authentications' body.json || fail "the 429 is not the documented problem"
if grep -q "$household" body.json; then fail "the 429 names the household"; fi
# A valid token from the same address is not held back.
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $sw" "$url/v1/households/$household")" = 200 ] \
    || fail "a valid token was refused while its address was throttled"
curl -s -H "Authorization: Bearer $(cat demo/metrics.token)" "$url/metrics" > metrics.txt
grep -q '^shanyrak_failed_authentications_throttled_total 7$' metrics.txt || fail "/metrics does not count the 429s"

# Stopping the server records what it throttled: one entry with 7 occurrences, its address in the server log.
kill -TERM $server
wait $server || true
trap - EXIT
grep -q "throttled 7 failed authentications from 127.0.0.1" serve.log || { cat serve.log; fail "no summary in the log"; }
"$bin" audit verify --data demo --keys keys > verify.txt 2>&1 || { cat verify.txt; fail "the log does not verify"; }
"$bin" audit export --data demo --out export --keys keys > /dev/null
"$py" "$root/scripts/verify_audit_export.py" export --vkey export/audit.vkey > pyverify.txt 2>&1 \
    || { cat pyverify.txt; fail "the Python verifier refuses the export"; }
python3 - <<'PY' || fail "the export does not hold five single failures and one summary of seven"
import json
entries = [json.loads(line)["fields"] for line in open("export/entries.jsonl")]
failed = [e for e in entries if e["actorId"] == "anonymous" and e["view"] == "household"]
counts = sorted(e.get("occurrences", 1) for e in failed)
assert counts == [1, 1, 1, 1, 1, 7], counts
PY
# The auditor's listing shows the summary's count.
"$bin" audit query --data demo --actor anonymous > query.txt
grep -q "occurrences=7" query.txt || { cat query.txt; fail "audit query does not show the summary's occurrences"; }
echo "auth-throttle: ok"
