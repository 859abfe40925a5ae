#!/bin/sh
# Key changes while other processes run: the key folder's lock (master.key.lock) keeps every
# command away from a master-key rotation in progress, a leftover new key is moved aside and never
# deleted, and a running server loads rotated data keys by itself, never sealing under the old ones.
# Run by scripts/test-cli.sh in an empty folder with SHANYRAK_BIN and SHANYRAK_ROOT set.
set -eu

# $py, fail, ok, bin, run
. "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"
# wait_for FILE: waits up to 30 s for FILE to exist.
wait_for() {
    i=0
    until [ -e "$1" ]; do
        i=$((i + 1)); [ $i -gt 300 ] && fail "$1 did not appear"
        sleep 0.1
    done
}
# hold_lock: another process takes the key folder's lock (as a rotation would) until release_lock.
hold_lock() {
    rm -f locked unlock
    "$py" - <<'PY' &
import fcntl, os, time
lock = open("keys/master.key.lock", "a")
fcntl.flock(lock, fcntl.LOCK_EX)
open("locked", "w").close()
while not os.path.exists("unlock"):
    time.sleep(0.05)
PY
    holder=$!
    pids="$pids $holder"
    wait_for locked
}
release_lock() { touch unlock; wait "$holder"; }
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done' EXIT

write_population
labour 180000 >labour.csv
labour 200000 >labour-2.csv

run 0 out.txt bin keys init --out keys
run 0 out.txt bin keys init --out spare
run 0 out.txt bin init --data data --keys keys --policies "$SHANYRAK_ROOT/policies"
run 0 out.txt bin ingest --data data --source population population.csv
run 0 out.txt bin ingest --data data --source labour labour.csv

# 1. A leftover new key while another process holds the lock: every command waits, then gives up
#    naming the holder, and the key stays where it is.
cp spare/master.key keys/master.key.next
hold_lock
for cmd in "stats --data data" "keys status --data data" "keys rotate --data data --class economic" \
    "keys rotate-master --data data"; do
    # shellcheck disable=SC2086 # the command's words are meant to split
    run 1 out.txt env SHANYRAK_KEY_LOCK_TIMEOUT=1 "$SHANYRAK_BIN" $cmd
    grep -q "master.key.lock" out.txt || { cat out.txt >&2; fail "$cmd: the refusal does not name the lock"; }
done
cmp -s keys/master.key.next spare/master.key || fail "a command touched master.key.next while the lock was held"
run 1 out.txt env SHANYRAK_KEY_LOCK_TIMEOUT=soon "$SHANYRAK_BIN" stats --data data
grep -q "SHANYRAK_KEY_LOCK_TIMEOUT" out.txt || { cat out.txt >&2; fail "a bad timeout is not named"; }
release_lock
pids=""
# Released: the next command settles the leftover by moving it aside, never deleting it.
run 0 out.txt bin stats --data data
grep -q "moved to .*master.key.next.unused-" out.txt || { cat out.txt >&2; fail "the leftover key was not moved aside"; }
[ ! -e keys/master.key.next ] || fail "master.key.next still there"
set -- keys/master.key.next.unused-*
[ -e "$1" ] || fail "no master.key.next.unused-* file"
cmp -s "$1" spare/master.key || fail "the moved-aside key is not the leftover key"
ok "lock held: commands wait and give up naming it; the leftover key is moved aside, not deleted"

# 2. A rotation started while the lock is held waits for it, then runs; its key opens the registry.
#    (The race itself, a command started while a rotation waits in step 2 for the registry, needs
#    a pause inside the rotation: MasterKeyRotationTests holds one there.)
cp keys/master.key old-master.key
hold_lock
SHANYRAK_KEY_LOCK_TIMEOUT=60 "$SHANYRAK_BIN" keys rotate-master --data data >rotate.txt 2>&1 &
rotation=$!
pids="$pids $rotation"
sleep 1
kill -0 "$rotation" 2>/dev/null || { cat rotate.txt >&2; fail "rotate-master did not wait for the lock"; }
cmp -s keys/master.key old-master.key || fail "rotate-master changed master.key without the lock"
[ ! -e keys/master.key.next ] || fail "rotate-master wrote master.key.next without the lock"
release_lock
wait "$rotation" || { cat rotate.txt >&2; fail "the rotation failed"; }
pids=""
cmp -s keys/master.key old-master.key && fail "master.key unchanged after the rotation"
[ ! -e keys/master.key.next ] || fail "master.key.next left behind"
run 0 out.json bin ingest --data data --source labour --json labour.csv
"$py" -c 'import json,sys; s=json.load(open("out.json")); sys.exit(0 if s["values_written"]==0 and s["values_unchanged"]==4 else 1)' \
    || { cat out.json >&2; fail "the values do not open after the rotation"; }
ok "a rotation waits for the lock, then completes, and its key opens the registry"

# 3. A server that loaded its data keys before `keys rotate` / `rewrap` / `retire` goes on working
#    without a restart: it loads the new keys when a card holds values rewrapped under a version it
#    never loaded, and when a feed it sealed under rotated keys is refused (nothing of it written).
command -v curl >/dev/null || { echo "skipped the server check: no curl"; exit 0; }
field() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
bin users add --data data --name Feeds --role agency --source labour --json >agency.json
token=$(field agency.json token)
bin users add --data data --name Worker --role social_worker --district 01-02 --json >worker.json
household=$(bin households find --data data --register-id H1)
run 0 out.txt bin assign --data data --user "$(field worker.json id)" --household "$household"
port=$((20000 + ($$ + 7) % 20000))
"$SHANYRAK_BIN" serve --data data --port "$port" >serve.log 2>&1 &
server=$!
pids="$server"
i=0
until curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { cat serve.log; fail "server did not start"; }
    sleep 0.1
done
card() {
    curl -s -o "$1" -w '%{http_code}' -H "Authorization: Bearer $(field worker.json token)" \
        "http://127.0.0.1:$port/v1/households/$household"
}
post() {
    curl -s -o body -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' \
        --data-binary @"$1" "http://127.0.0.1:$port/v1/ingest/labour"
}
written() { "$py" -c 'import json,sys; sys.exit(0 if json.load(open("body"))["values_written"]==int(sys.argv[1]) else 1)' "$1"; }
[ "$(card card-before.json)" = 200 ] || { cat card-before.json >&2; fail "no card before the rotation"; }
# Every value of the card (sex and birth date at least) and every income is re-sealed under a new version.
for class in demographic identity economic; do run 0 out.txt bin keys rotate --data data --class "$class"; done
run 0 out.txt bin keys rewrap --data data
for class in demographic identity economic; do
    run 0 out.txt bin keys retire --data data --class "$class" --version 1
done
[ "$(card card-after.json)" = 200 ] || { cat card-after.json serve.log >&2; fail "the running server's card failed"; }
cmp -s card-before.json card-after.json || fail "the card changed with the rotation"
grep -q "data keys reloaded" serve.log || { cat serve.log >&2; fail "the reload is not in the server's log"; }
[ "$(post labour-2.csv)" = 200 ] || { cat body serve.log >&2; fail "the running server did not ingest"; }
written 2 || { cat body >&2; fail "the running server wrote $(cat body)"; }
# Rotated again, not rewrapped: the server seals the next feed under version 2, which is refused; it
# loads the keys anew and the feed is loaded under version 3.
run 0 out.txt bin keys rotate --data data --class economic
labour 220000 >labour-3.csv
[ "$(post labour-3.csv)" = 200 ] || { cat body serve.log >&2; fail "a feed refused for rotated keys was not loaded"; }
written 2 || { cat body >&2; fail "the running server wrote $(cat body)"; }
run 0 status.json bin keys status --data data --json
"$py" -c 'import json,sys; s=[k for k in json.load(open("status.json")) if k["class"]=="economic" and k["version"]==3]; sys.exit(0 if s and s[0]["sealed_count"]==2 else 1)' \
    || { cat status.json >&2; fail "the feed was not sealed under economic v3"; }
for key in keys/*.key; do
    ! grep -qF "$(cat "$key")" serve.log || fail "the server's log holds $key"
done
kill "$server"; wait "$server" 2>/dev/null || true
pids=""
ok "a running server loads rotated data keys by itself: its card and feeds work through rotate, rewrap, retire"

# A key folder with an unfinished master-key rotation is not used to initialise another data folder.
run 0 out.txt bin keys init --out pending-keys
printf 'not a key\n' > pending-keys/master.key.next
chmod 600 pending-keys/master.key.next
run 1 out.txt bin init --data other --keys pending-keys --policies "$SHANYRAK_ROOT/policies"
grep -q "master-key rotation that is not finished" out.txt || { cat out.txt >&2; fail "init does not say why"; }
[ ! -e other/registry.sqlite ] || fail "init wrote a registry with a pending rotation in its key folder"
[ -f pending-keys/master.key.next ] || fail "init removed the pending key"
ok "init refuses a key folder with an unfinished master-key rotation, and touches nothing"

echo "keys safety CLI checks passed"
