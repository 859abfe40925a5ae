#!/bin/sh
# Keys given in environment variables leave the process environment: `shanyrak serve` started with
# SHANYRAK_MASTER_KEY, SHANYRAK_PSEUDONYM_KEY and SHANYRAK_AUDIT_SIGNING_KEY (and no key files) and
# SHANYRAK_METRICS_TOKEN serves, and neither /proc/PID/environ nor, read as root, the process's memory
# outside its one locked copy holds a key's or the token's text. Run by scripts/test-cli.sh in an empty folder with SHANYRAK_BIN and SHANYRAK_ROOT set.
set -eu

# $py, fail, ok, bin, run
. "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 0; }
root="$SHANYRAK_ROOT"
cp -r "$root/keys-example" keys && chmod 600 keys/*.key
run 0 demo.log bin demo --data demo --keys keys --policies "$root/policies" --households 300 --no-serve
field() { "$py" -c "import json,sys; d=json.load(open('demo/demo-accounts.json')); print($1)"; }
sw=$(field "[a for a in d['accounts'] if a['role']=='social_worker'][0]['token']")
household=$(field "d['example_household']")

# The key files leave the key folder: the server can only have its keys from the environment.
mkdir -m 700 secrets
for f in master.key pseudonym.key audit-signing.key; do mv "keys/$f" "secrets/$f"; done
(umask 077 && head -c 32 /dev/urandom | base64 > secrets/metrics.token)
run 1 out.txt bin stats --data demo
grep -q "master.key cannot be read: it does not exist" out.txt || { cat out.txt >&2; fail "key files not gone"; }

port=$((20000 + ($$ + 7) % 20000))
(
    SHANYRAK_MASTER_KEY=$(cat secrets/master.key)
    SHANYRAK_PSEUDONYM_KEY=$(cat secrets/pseudonym.key)
    SHANYRAK_AUDIT_SIGNING_KEY=$(cat secrets/audit-signing.key)
    SHANYRAK_METRICS_TOKEN=$(cat secrets/metrics.token)
    SHANYRAK_TEST_MARKER=stays
    export SHANYRAK_MASTER_KEY SHANYRAK_PSEUDONYM_KEY SHANYRAK_AUDIT_SIGNING_KEY SHANYRAK_METRICS_TOKEN
    export SHANYRAK_TEST_MARKER
    exec "$SHANYRAK_BIN" serve --data demo --port "$port"
) >serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port"
i=0
until curl -fs "$url/health" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat serve.log >&2; fail "server with keys from the environment did not start"; }
    sleep 0.1
done
grep -q serve "/proc/$server/cmdline" || fail "process $server is not the server"

# The server works with the keys it was given: a household card opens (values unsealed, entry signed).
code=$(curl -s -o card.json -w '%{http_code}' -H "Authorization: Bearer $sw" "$url/v1/households/$household")
[ "$code" = 200 ] || { cat card.json >&2; fail "household card with keys from the environment: $code"; }
grep -q '"members"' card.json || fail "the card has no members"

# The environment block the kernel shows holds neither the variables nor their values; the rest is
# untouched. A process that is not dumpable shows it to root only: another user cannot read it at all.
if [ -r "/proc/$server/environ" ] && cat "/proc/$server/environ" >/dev/null 2>&1; then
    "$py" - "$server" <<'PY' || fail "a key given in the environment is still in /proc/$server/environ"
import sys
env = open("/proc/%s/environ" % sys.argv[1], "rb").read()
assert b"SHANYRAK_TEST_MARKER=stays\0" in env, "the block read is not the server's environment"
for name, file in (("SHANYRAK_MASTER_KEY", "master.key"), ("SHANYRAK_PSEUDONYM_KEY", "pseudonym.key"),
                   ("SHANYRAK_AUDIT_SIGNING_KEY", "audit-signing.key"), ("SHANYRAK_METRICS_TOKEN", "metrics.token")):
    value = open("secrets/" + file, "rb").read().strip()
    assert name.encode() + b"=" + value not in env, name + "=value is in the environment block"
    assert value not in env, "the value of " + name + " is in the environment block"
    assert name.encode() not in env, name + " is named in the environment block"
PY
    ok "/proc/PID/environ holds no key or token given in the environment"
else
    echo "note: /proc/$server/environ cannot be read by $(id -un) (the server is not dumpable); not checked"
fi

# Root can read the process's memory: each key's and the token's text is there once at most, in the
# locked copy that EnvironmentSecrets keeps (no String copy left by Foundation or anything else).
if [ "$(id -u)" = 0 ]; then
    "$py" - "$server" <<'PY' || fail "a key's text is in the server's memory more than once"
import re, sys
pid = sys.argv[1]
files = ("master.key", "pseudonym.key", "audit-signing.key", "metrics.token")
values = {f: open("secrets/" + f, "rb").read().strip() for f in files}
counts = dict.fromkeys(values, 0)
chunk = 1 << 24
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", buffering=0) as mem:
    for line in maps:
        fields = line.split()
        if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        data = b""
        try:
            mem.seek(start)
            while start < end:
                data += mem.read(min(chunk, end - start))
                start += chunk
        except OSError:
            pass
        for name, value in values.items():
            counts[name] += data.count(value)
bad = {k: v for k, v in counts.items() if v > 1}
assert not bad, "copies in memory: %s" % bad
PY
    ok "the server's memory holds each key's and the token's text once (locked), if at all"
fi
# The metrics token given in the environment opens /metrics (checked last: a request that presents the
# token puts copies of it in the server's request buffers).
code=$(curl -s -o metrics.txt -w '%{http_code}' -H "Authorization: Bearer $(cat secrets/metrics.token)" "$url/metrics")
[ "$code" = 200 ] || { cat metrics.txt >&2; fail "metrics with the token from the environment: $code"; }
kill $server
wait $server 2>/dev/null || true
trap - EXIT
echo ok
