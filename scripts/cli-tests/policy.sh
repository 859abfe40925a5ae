#!/bin/sh
# End-to-end checks of `shanyrak policy`: check, test, decide (against cedarpy when available),
# explain, diff and sign. Run by scripts/test-cli.sh in an empty folder.
set -eu

# $py, fail, ok, bin, run
. "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"

cp -R "$SHANYRAK_ROOT/policies" policies
rm -f policies/policies.sig

run 0 check.out bin policy check policies
grep -q "survivor-safety invariant holds" check.out || fail "check did not report the invariant"
ok "policy check accepts the default set"

run 0 test.out bin policy test policies
ok "policy test: $(tail -n 1 test.out)"

# An unsafe change: social workers get violence data in household views.
cp -R policies unsafe
rm unsafe/00-survivor-safety.cedar
run 1 unsafe.out bin policy check unsafe
grep -q "survivor-safety invariant violated" unsafe.out || fail "unsafe set not refused for the invariant"
ok "policy check refuses a set without the survivor-safety forbids"

# A parse error names file:line:column.
cp -R policies broken
printf 'permit(principal, action, resource) when { 1 + };\n' >broken/99-broken.cedar
run 1 broken.out bin policy check broken
grep -q "99-broken.cedar:1:48" broken.out || fail "parse error without file:line:column"
ok "policy check names file:line:column of a parse error"

# decide: JSON lines in, JSON lines out, same answers as cedarpy.
cat >entities.json <<'JSON'
[{"uid": {"type": "Shanyrak::Staff", "id": "sw1"}, "attrs": {"district": "almaty", "organisation": "akimat", "source": ""},
  "parents": [{"type": "Shanyrak::Role", "id": "social_worker"}]},
 {"uid": {"type": "Shanyrak::Role", "id": "social_worker"}, "attrs": {}, "parents": []},
 {"uid": {"type": "Shanyrak::Indicator", "id": "identity.phone"}, "attrs": {"survivorSensitive": true, "sphere": "social", "sources": ["population"]},
  "parents": [{"type": "Shanyrak::IndicatorClass", "id": "identity"}]},
 {"uid": {"type": "Shanyrak::IndicatorClass", "id": "identity"}, "attrs": {}, "parents": []}]
JSON
cat >requests.jsonl <<'JSON'
{"principal": "Shanyrak::Staff::\"sw1\"", "action": "Shanyrak::Action::\"read\"", "resource": "Shanyrak::Indicator::\"identity.phone\"", "context": {"view": "person", "assigned": true, "sameDistrict": true, "purpose": "", "breakGlass": false}}
{"principal": "Shanyrak::Staff::\"sw1\"", "action": "Shanyrak::Action::\"read\"", "resource": "Shanyrak::Indicator::\"identity.phone\"", "context": {"view": "household", "assigned": true, "sameDistrict": true, "purpose": "", "breakGlass": false}}
{"principal": "Shanyrak::Staff::\"sw1\"", "action": "Shanyrak::Action::\"read\"", "resource": "Shanyrak::Indicator::\"identity.phone\"", "context": {}}
JSON
bin policy decide --policies policies --entities entities.json --json <requests.jsonl >decide.out
[ "$(wc -l <decide.out)" -eq 3 ] || fail "decide: expected 3 lines"
head -n 1 decide.out | grep -q '"decision":"allow"' || fail "decide: first request should be allowed"
sed -n 2p decide.out | grep -q 'survivor-safety.no-sensitive-in-household-view' || fail "decide: household view not forbidden"
sed -n 3p decide.out | grep -q '"errors":\["error while evaluating policy' || fail "decide: missing context attribute not reported"
if "$py" -c 'import cedarpy' 2>/dev/null; then
    "$py" - policies entities.json requests.jsonl decide.out <<'PY'
import glob, json, os, sys, cedarpy
d, ents, reqs, out = sys.argv[1:]
files = sorted((os.path.relpath(p, d) for p in glob.glob(os.path.join(d, "**", "*.cedar"), recursive=True)), key=lambda s: s.encode())
text = "".join(open(os.path.join(d, f)).read() + "\n" for f in files)
for line, got in zip(open(reqs), open(out)):
    r = cedarpy.is_authorized(json.loads(line), text, open(ents).read())
    ann = r.diagnostics.id_annotations_by_reason
    want = ("allow" if r.allowed else "deny", sorted(ann.get(p, p) for p in r.diagnostics.reasons))
    g = json.loads(got)
    assert (g["decision"], sorted(g["reasons"])) == want, (line, got, want)
PY
    ok "policy decide agrees with cedarpy"
fi

run 0 explain.out bin policy explain --policies policies --roles social_worker --indicator violence.protection_order --view person --assigned --same-district
grep -q "determining policies: social-worker.never-violence" explain.out || fail "explain: wrong determining policy"
grep -q "\[held\] unless" explain.out || fail "explain: conditions not traced"
ok "policy explain traces each condition"

run 0 diff.out bin policy diff policies unsafe
grep -q "^+ social_worker read household" diff.out || fail "diff: the unsafe gain is not shown"
ok "policy diff shows $(tail -n 1 diff.out)"

cp "$SHANYRAK_ROOT/keys-example/policy-signing.key" signing.key
chmod 600 signing.key
run 0 sign.out bin policy sign policies --key signing.key
[ -f policies/policies.sig ] || fail "sign: no policies.sig"
run 0 verify.out bin policy sign policies --verify "$SHANYRAK_ROOT/keys-example/policy-signing.pub"
echo "// changed" >>policies/50-agency.cedar
run 1 tamper.out bin policy sign policies --verify "$SHANYRAK_ROOT/keys-example/policy-signing.pub"
grep -q "50-agency.cedar" tamper.out || fail "verify: the changed file is not named"
ok "policy sign: signature verifies, a changed file is refused"
