#!/bin/sh
# `shanyrak demo` and `shanyrak serve`: the first session of README.md, with curl.
# Run by scripts/test-cli.sh in an empty folder with $SHANYRAK_BIN and $SHANYRAK_ROOT.
set -eu
bin="$SHANYRAK_BIN"
root="$SHANYRAK_ROOT"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v curl >/dev/null || { echo "skipped: no curl"; exit 0; }
cp -r "$root/keys-example" keys && chmod 600 keys/*.key

# A permissive shell umask: every file shanyrak creates is still for its owner only.
umask 022
"$bin" demo --data demo --keys keys --policies "$root/policies" --households 300 --no-serve > demo.log
for f in demo/registry.sqlite demo/audit.sqlite; do
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f"), not 0600"
done
[ -f demo/demo-accounts.json ] || fail "no demo-accounts.json"
[ "$(stat -c %a demo/demo-accounts.json)" = 600 ] || fail "demo-accounts.json is not mode 0600"
grep -q "curl -s -H 'Authorization: Bearer" demo.log || fail "no curl lines printed"
# A second run reuses the finished folder; another existing folder is refused.
"$bin" demo --data demo --keys keys --policies "$root/policies" --no-serve > again.log || fail "finished demo not reused"
mkdir other
if "$bin" demo --data other --keys keys --no-serve 2> refused.log; then fail "existing folder not refused"; fi
grep -q "not a finished demo folder" refused.log || fail "refusal does not say why"

field() { python3 -c "import json,sys; d=json.load(open('demo/demo-accounts.json')); print($1)"; }
sw=$(field "[a for a in d['accounts'] if a['role']=='social_worker'][0]['token']")
gbv=$(field "[a for a in d['accounts'] if a['role']=='gbv_specialist'][0]['token']")
researcher=$(field "[a for a in d['accounts'] if a['role']=='researcher'][0]['token']")
auditor=$(field "[a for a in d['accounts'] if a['role']=='auditor'][0]['token']")
household=$(field "d['example_household']")
person=$(field "d['example_person']")

port=$((20000 + $$ % 20000))
"$bin" serve --data demo --port "$port" > serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
i=0
until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat serve.log; fail "server did not start"; }
    sleep 0.1
done
url="http://127.0.0.1:$port"
# The server may not dump core (keys and opened values would be in the dump).
grep -Eq "^Max core file size +0 +0 " "/proc/$server/limits" || fail "serve may dump core: $(grep core "/proc/$server/limits")"
code() { curl -s -o body -w '%{http_code}' "$@"; }

[ "$(code -H "Authorization: Bearer $sw" "$url/v1/households/$household")" = 200 ] || fail "social worker card"
grep -q '"members"' body || fail "card has no members"
if grep -q 'violence\.' body; then fail "violence data in a household card"; fi
[ "$(code -H "Authorization: Bearer $gbv" "$url/v1/persons/$person")" = 200 ] || fail "GBV person view"
grep -q 'violence\.' body || fail "GBV person view shows no violence indicator"
[ "$(code -H "Authorization: Bearer $researcher" "$url/v1/persons/$person")" = 403 ] || fail "researcher not denied"
grep -q '"detail":"access denied"' body || fail "denial is not a problem document"
[ "$(code -H "Authorization: Bearer nope" "$url/v1/caseload")" = 401 ] || fail "wrong token not 401"
[ "$(code -X POST -H "Authorization: Bearer $gbv" -H 'Content-Type: application/json' \
    -d '{"justification": "Night shelter called:\tcheck\nher safety"}' "$url/v1/persons/$person/break-glass")" = 200 ] \
    || { cat body; fail "GBV break-glass"; }
[ "$(code "$url/v1/audit/checkpoint")" = 200 ] || fail "checkpoint"
head -1 body | grep -q "shanyrak.example/audit" || fail "checkpoint origin"
[ "$(code -H "Authorization: Bearer $auditor" "$url/v1/audit/entries?subject=$person")" = 200 ] || fail "auditor entries"
python3 -c "
import json; e=json.load(open('body'))['entries']
ds=[x['decision'] for x in e]
assert 'allow' in ds and 'deny' in ds, ds
" || fail "the log does not hold the GBV view and the researcher's denial"
[ "$(code "$url/openapi.yaml")" = 200 ] || fail "openapi.yaml"
grep -q "^openapi: 3" body || fail "openapi.yaml is not the contract"
kill $server; wait $server 2>/dev/null || true
trap - EXIT
"$bin" audit verify --data demo --keys keys > verify.log || { cat verify.log; fail "audit verify"; }
# The auditor reads the break-glass justification; the reading is recorded first.
"$bin" audit justifications --data demo > justifications.log || { cat justifications.log; fail "audit justifications"; }
[ "$(wc -l < justifications.log)" = 1 ] || fail "caller's newline or tab forged a line: $(cat justifications.log)"
grep -q 'Night shelter called:\\tcheck\\nher safety' justifications.log || fail "justification not shown (escaped)"
"$bin" audit justifications --data demo --json | python3 -c "
import json,sys; e=[json.loads(l) for l in sys.stdin]
assert len(e) == 1 and e[0]['justification'] == 'Night shelter called:\tcheck\nher safety', e
" || fail "justifications --json"
"$bin" audit query --data demo --action audit.justifications > reviews.log
[ "$(wc -l < reviews.log)" = 2 ] || fail "each review is not audited: $(cat reviews.log)"
echo ok
