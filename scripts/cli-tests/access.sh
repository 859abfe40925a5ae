#!/bin/sh
# Staff accounts, caseloads and household lookup through the command line.
# Run by scripts/test-cli.sh in an empty folder with $SHANYRAK_BIN and $SHANYRAK_ROOT.
set -eu
bin="$SHANYRAK_BIN"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" keys init --out k >/dev/null
"$bin" init --data d --keys k --policies "$SHANYRAK_ROOT/policies" >/dev/null

cat > population.csv <<'CSV'
iin,observed_on,household_id,relation_to_head,district_code,last_name,first_name,patronymic,birth_date,sex,marital_status,citizenship,address,phone
850315410002,2026-01-10,HH-1,head,01-01,Abenova,Aigerim,,1985-03-15,female,married,kz,"Street 1, flat 2",+77001234567
880722410000,2026-01-10,HH-1,spouse,01-01,Abenov,Nurlan,,1988-07-22,female,married,kz,"Street 1, flat 2",
120401510004,2026-01-10,HH-1,child,01-01,Abenov,Timur,,2012-04-01,male,single,kz,,
900101310004,2026-01-10,HH-2,head,01-02,Serikov,Daniyar,,1990-01-01,male,single,kz,,
CSV
"$bin" ingest --data d --source population population.csv >/dev/null

# users add: the token is printed once; only a hash is stored.
"$bin" users add --data d --name "Social Worker" --role social_worker --district 01-01 --json > sw.json
sw_id=$(sed -n 's/.*"id" *: *\([0-9]*\).*/\1/p' sw.json)
sw_token=$(sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' sw.json)
[ -n "$sw_id" ] || fail "no id in users add --json"
case "$sw_token" in shk_*) ;; *) fail "no token in users add --json" ;; esac
if grep -aq "$sw_token" d/registry.sqlite* 2>/dev/null; then fail "token stored in the registry"; fi
"$bin" users list --data d | grep -q "social_worker" || fail "users list does not show the account"
if "$bin" users list --data d --json | grep -q "$sw_token"; then fail "users list prints the token"; fi

# Bad input is refused with the rule, never the value.
if "$bin" users add --data d --name X --role wizard 2>err.txt; then fail "unknown role accepted"; fi
grep -q "unknown role" err.txt || fail "unknown role: unclear message"
if "$bin" users add --data d --name X --role agency --source Police 2>err.txt; then fail "bad source name accepted"; fi
grep -q "source must be lower-case ASCII" err.txt || fail "bad source name: unclear message"
if "$bin" households find --data d --iin 850315410003 2>err.txt; then fail "bad IIN accepted"; fi
if grep -q "850315410003" err.txt; then fail "IIN echoed in an error"; fi

# households find by IIN and by register id give the same id.
h1=$("$bin" households find --data d --iin 850315410002)
h1b=$("$bin" households find --data d --register-id HH-1 --json | sed -n 's/.*"household" *: *"\([0-9a-f]*\)".*/\1/p')
[ "${#h1}" -eq 32 ] || fail "households find did not print a 32-hex id"
[ "$h1" = "$h1b" ] || fail "IIN and register id disagree"
if "$bin" households find --data d --register-id NOPE 2>/dev/null; then fail "unknown household found"; fi

# assign / unassign by each selector.
"$bin" assign --data d --user "$sw_id" --household "$h1" | grep -q "assigned" || fail "assign by id"
"$bin" assign --data d --user "$sw_id" --iin 850315410002 | grep -q "already assigned" || fail "assign by IIN"
"$bin" unassign --data d --user "$sw_id" --register-id HH-1 | grep -q "unassigned" || fail "unassign by register id"
if "$bin" assign --data d --user 999 --household "$h1" 2>/dev/null; then fail "assign to unknown user"; fi

# Token rotation: a new token, printed once; the account keeps its id; the old token's hash is gone.
"$bin" users rotate-token --data d --user "$sw_id" --json > rot.json
rot_token=$(sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' rot.json)
grep -q "\"id\" *: *$sw_id" rot.json || fail "rotate-token --json does not name the account"
case "$rot_token" in shk_*) ;; *) fail "no token from users rotate-token" ;; esac
[ "$rot_token" != "$sw_token" ] || fail "rotate-token gave the same token"
"$bin" users rotate-token --data d --user "$sw_id" | grep -q "token (shown once" || fail "rotate-token text output"
if "$bin" users rotate-token --data d --user 999 2>err.txt; then fail "rotate-token for an unknown user succeeded"; fi
grep -q "no active user with id 999" err.txt || fail "rotate-token unknown user: unclear message"
"$bin" audit query --data d --json | grep -q 'users.rotate-token' || fail "token rotation not audited"

# Revocation.
"$bin" users revoke --data d --user "$sw_id" | grep -q "revoked" || fail "revoke"
if "$bin" users revoke --data d --user "$sw_id" 2>/dev/null; then fail "second revoke succeeded"; fi
if "$bin" users rotate-token --data d --user "$sw_id" 2>/dev/null; then fail "rotate-token of a revoked user succeeded"; fi
"$bin" users list --data d | grep -q "revoked" || fail "users list does not show revocation"

# Every change and lookup is in the Merkle audit log, without IINs or tokens.
"$bin" audit query --data d --json > audit.jsonl
[ -s audit.jsonl ] || fail "no audit entries"
[ "$(grep -c '"action":"assign"' audit.jsonl)" -ge 3 ] || fail "assignments not audited"
[ "$(grep -c '"action":"find"' audit.jsonl)" -ge 3 ] || fail "lookups not audited"
[ "$(grep -c '"action":"administer"' audit.jsonl)" -ge 2 ] || fail "account changes not audited"
if grep -q "850315410002\|$sw_token" audit.jsonl; then fail "audit log holds an IIN or a token"; fi
"$bin" audit verify --data d --keys k >/dev/null 2>&1 || fail "audit log does not verify"
echo "access.sh: ok"
