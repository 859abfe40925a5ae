#!/bin/sh
# `shanyrak demo` and `shanyrak serve`: the first session of README.md, with curl.
# Run by scripts/test-cli.sh in an empty folder with $SHANYRAK_BIN and $SHANYRAK_ROOT.
set -eu
bin="$SHANYRAK_BIN"
root="$SHANYRAK_ROOT"
. "$root/scripts/cli-tests/serve.inc"
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
# The metrics token: mode 0600 in the data folder, and a curl line that reads it from there.
[ "$(stat -c %a demo/metrics.token)" = 600 ] || fail "metrics.token is not mode 0600"
grep -Fq "curl -s -H \"Authorization: Bearer \$(cat '$PWD/demo/metrics.token')\" 'http://127.0.0.1:8080/metrics'" demo.log \
    || { cat demo.log; fail "no curl line for /metrics"; }
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

start_server serve.log --metrics-token-file demo/metrics.token
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
# /metrics: the metrics token opens it; no token, a staff token (even the administrator's) do not;
# the metrics token opens nothing else.
metrics="Authorization: Bearer $(cat demo/metrics.token)"
administrator=$(field "[a for a in d['accounts'] if a['role']=='administrator'][0]['token']")
[ "$(code -H "$metrics" "$url/metrics")" = 200 ] || fail "metrics with the metrics token"
grep -q '^shanyrak_http_requests_total{method="GET",route="/v1/households/{id}",status="200"} ' body \
    || fail "metrics do not count the card"
[ "$(code "$url/metrics")" = 401 ] || fail "metrics without a token not 401"
grep -q '"detail":"the metrics token is required"' body || fail "metrics 401 is not a problem document"
[ "$(code -H "Authorization: Bearer $administrator" "$url/metrics")" = 401 ] || fail "administrator token opens metrics"
[ "$(code -H "$metrics" "$url/v1/caseload")" = 401 ] || fail "metrics token opens the caseload"
# A new metrics token written to the file replaces the old one without a restart (the file is looked at
# once a second at most).
old_metrics_token=$(cat demo/metrics.token)
(umask 077 && python3 -c "import secrets; print(secrets.token_urlsafe(32))" > demo/metrics.token.new)
mv demo/metrics.token.new demo/metrics.token
sleep 1.2
[ "$(code -H "$metrics" "$url/metrics")" = 401 ] || fail "the old metrics token still opens metrics after the file changed"
metrics="Authorization: Bearer $(cat demo/metrics.token)"
[ "$(code -H "$metrics" "$url/metrics")" = 200 ] || { cat serve.log; fail "the new metrics token does not open metrics"; }
grep -q "metrics token file $PWD/demo/metrics.token changed: read again" serve.log \
    || { cat serve.log; fail "serve does not say it read the metrics token file again"; }
# A rotated staff token stops working within the authentication cache's second; the new one works at once.
sw_id=$(field "[a for a in d['accounts'] if a['role']=='social_worker'][0]['user_id']")
new_sw=$("$bin" users rotate-token --data demo --user "$sw_id" --json \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])") || fail "users rotate-token on a served folder"
[ "$(code -H "Authorization: Bearer $new_sw" "$url/v1/households/$household")" = 200 ] || fail "rotated token refused"
sleep 1.2
[ "$(code -H "Authorization: Bearer $sw" "$url/v1/households/$household")" = 401 ] || fail "the old token works after rotation"
kill $server; wait $server 2>/dev/null || true
trap - EXIT
grep -q "/metrics with the metrics token" serve.log || { cat serve.log; fail "serve does not say /metrics is on"; }

# Without a metrics token /metrics is off (404, a problem saying how to turn it on).
start_server serve-off.log
[ "$(code -H "$metrics" "$url/metrics")" = 404 ] || fail "metrics not off without a metrics token"
grep -q '"type":"https://shanyrak.example/problems/metrics-off"' body || fail "metrics-off problem"
grep -q -- '--metrics-token-file' body || fail "the metrics-off problem does not say how to turn metrics on"
kill $server; wait $server 2>/dev/null || true
trap - EXIT
grep -q "/metrics off" serve-off.log || { cat serve-off.log; fail "serve does not say /metrics is off"; }

# A metrics token file the group can read is refused as a key file is; so is a token given twice.
chmod 640 demo/metrics.token
if "$bin" serve --data demo --port "$port" --metrics-token-file demo/metrics.token 2> refused.log; then
    fail "a group-readable metrics token file was accepted"
fi
grep -q "metrics token file $PWD/demo/metrics.token is readable by group or others" refused.log \
    && grep -q "chmod 600 $PWD/demo/metrics.token" refused.log || { cat refused.log; fail "mode refusal message"; }
chmod 600 demo/metrics.token
if SHANYRAK_METRICS_TOKEN=$(cat demo/metrics.token) "$bin" serve --data demo --port "$port" \
    --metrics-token-file demo/metrics.token 2> refused.log; then fail "a metrics token given twice was accepted"; fi
grep -q "given twice" refused.log || { cat refused.log; fail "token given twice: message"; }
if grep -Fq -e "$(cat demo/metrics.token)" -e "$old_metrics_token" refused.log serve.log serve-off.log; then
    fail "a log shows the metrics token"
fi
"$bin" audit verify --data demo --keys keys > verify.log || { cat verify.log; fail "audit verify"; }

# The server checks its registry against the batch anchors in the audit log (--verify-registry-every):
# the first check passes; a survivor's newest police record deleted through SQLite shows on /metrics
# with the next one, and the log names the batch and its source. On a copy: the demo folder stays as it is.
cp -r demo watched
served=watched start_server serve-watch.log --metrics-token-file demo/metrics.token --verify-registry-every 2s
grep -q "registry checked every 2s" serve-watch.log || { cat serve-watch.log; fail "serve does not say it checks the registry"; }
# metric NAME: its value on /metrics, or nothing.
metric() { curl -s -H "$metrics" "$url/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
# wait_metric NAME VALUE: until NAME shows VALUE (20 s at most).
wait_metric() {
    i=0
    until [ "$(metric "$1")" = "$2" ]; do
        i=$((i + 1)); [ $i -gt 200 ] && { cat serve-watch.log; fail "$1 is '$(metric "$1")', not $2"; }
        sleep 0.1
    done
}
wait_metric 'shanyrak_registry_checks_total{result="passed"}' 1
[ "$(metric 'shanyrak_registry_check_problems{kind="changed"}')" = 0 ] || fail "an untouched registry has changed batches"
grep -q "registry check passed: " serve-watch.log || { cat serve-watch.log; fail "no log line for a passed check"; }
police=$(python3 -c "import sqlite3; print(sqlite3.connect('watched/registry.sqlite').execute(\"SELECT id FROM batch WHERE source = 'police'\").fetchone()[0])")
python3 -c "
import sqlite3; c = sqlite3.connect('watched/registry.sqlite')
c.execute('DELETE FROM record WHERE id = (SELECT max(id) FROM record WHERE id >> 32 = $police)'); c.commit()"
wait_metric 'shanyrak_registry_check_problems{kind="changed"}' 1
grep -q "warning shanyrak: registry check: changed: batch $police (police, " serve-watch.log \
    || { cat serve-watch.log; fail "the log does not name the changed batch"; }
[ "$(code -H "Authorization: Bearer $new_sw" "$url/v1/households/$household")" = 200 ] || fail "no card while the check finds problems"
if grep -q "shanyrak_registry" body; then fail "a card carries registry-check results"; fi
kill $server; wait $server 2>/dev/null || true
trap - EXIT
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
