#!/bin/sh
# End-to-end checks of the foundation commands: keys, init, ingest (with its feed rules), stats.
# Run by scripts/test-cli.sh in an empty folder with SHANYRAK_BIN and SHANYRAK_ROOT set.
set -eu

# $py, fail, ok, bin, run
. "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"
# never OUTFILE WORD...: none of the words appears in OUTFILE.
never() {
    out=$1
    shift
    for secret in "$@"; do
        if grep -q -- "$secret" "$out"; then cat "$out" >&2; fail "the output shows '$secret'"; fi
    done
}
json_ok() { "$py" -c 'import json,sys; json.load(sys.stdin)' <"$1" || { cat "$1" >&2; fail "$2: not JSON"; }; }
mode_of() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"; }

# Valid IINs from ../shared/vectors/iin.json: 1990-01-01 male (x3), 2004-05-12 female.
A=900101300017 B=900101300027 C=900101300811 D=040512650006

cat >population.csv <<CSV
iin,observed_on,household_id,relation_to_head,district_code,last_name,first_name,patronymic,birth_date,sex,marital_status,citizenship,address,phone
$A,2024-01-01,H1,head,01-02,Zhaksylykov,Serik,Ergaliuly,1990-01-01,male,married,kz,"Abay 10, flat 4",+77015550001
$B,2024-01-01,H1,sibling,01-02,Zhaksylykov,Nurlan,Ergaliuly,1990-01-01,male,single,kz,"Abay 10, flat 4",+77015550002
$C,2024-01-01,H2,head,01-03,Omarov,Bolat,,1990-01-01,male,married,kz,"Tole bi 5",+77015550003
$D,2024-01-01,H2,child,01-03,Omarova,Aigerim,Bolatkyzy,2004-05-12,female,single,kz,"Tole bi 5",+77015550004
CSV
labour_header=iin,observed_on,employment_status,registered_unemployed,sector,monthly_income,targeted_social_assistance,pension,disability_benefit,child_benefit,housing_tenure,housing_waiting_list,large_family
printf '%s\n%s\n%s\n' "$labour_header" "$A,2024-02-01,employed,false,trade,250000,false,,,,rented,false,false" \
    "$D,2024-02-01,student,,,0,,,,true,,," >labour.csv
# Line 3 has a wrong IIN check digit (…018); line 4 an income that is not an integer.
printf '%s\n%s\n%s\n%s\n' "$labour_header" "$B,2024-02-01,employed,,,180000,,,,,,," \
    "900101300018,2024-02-01,employed,,,190000,,,,,,," "$C,2024-02-01,employed,,,lots,,,,,,," >labour-bad.csv

# keys init: files written, secrets mode 600
run 0 out.txt bin keys init --out keys
for f in master.key pseudonym.key audit-signing.key policy-signing.key; do
    [ -f "keys/$f" ] || fail "keys init did not write $f"
    [ "$(mode_of "keys/$f")" = 600 ] || fail "keys/$f has mode $(mode_of "keys/$f"), expected 600"
done
cp keys/master.key master.copy
run 1 out.txt bin keys init --out keys
cmp -s keys/master.key master.copy || fail "keys init over an existing keyring changed master.key"
ok "keys init, modes 600, no overwrite"

# init, and init twice refused with data intact
run 0 out.txt bin init --data data --keys keys --policies "$SHANYRAK_ROOT/policies"
[ -f data/registry.sqlite ] || fail "init wrote no registry"
run 0 out.txt bin ingest --data data --source population population.csv
grep -q "4 accepted" out.txt || { cat out.txt >&2; fail "population: expected 4 accepted"; }
run 0 before.json bin stats --data data --json
json_ok before.json "stats --json"
set +e
bin init --data data --keys keys --policies "$SHANYRAK_ROOT/policies" >out.txt 2>&1
st=$?
set -e
[ "$st" -ne 0 ] || fail "init on an existing data folder succeeded"
run 0 after.json bin stats --data data --json
cmp -s before.json after.json || fail "a refused second init changed the registry"
"$py" -c 'import json,sys; s=json.load(open("after.json")); sys.exit(0 if s["persons"]==4 and s["households"]==2 else 1)' \
    || fail "stats after init twice: expected 4 persons in 2 households"
ok "init; second init refused, data intact; stats --json"

# ingest a good file: exit 0, --json summary parses
run 0 summary.json bin ingest --data data --source labour --json labour.csv
json_ok summary.json "ingest --json"
"$py" -c 'import json,sys; s=json.load(open("summary.json")); sys.exit(0 if s["rows_accepted"]==2 and s["rows_quarantined"]==0 and s["values_written"]>0 else 1)' \
    || { cat summary.json >&2; fail "labour summary counts"; }
ok "ingest good file, exit 0, JSON summary"

# ingest with bad rows: exit 3, names line/column/rule, never the IIN or value
run 3 out.txt bin ingest --data data --source labour labour-bad.csv
grep -q "line 3, column iin: .*check digit" out.txt || { cat out.txt >&2; fail "no line/column/rule for the bad IIN"; }
grep -q "line 4, column monthly_income: .*integer" out.txt || { cat out.txt >&2; fail "no line/column/rule for the bad income"; }
for secret in 900101300018 "$C" lots 190000; do
    if grep -q -- "$secret" out.txt; then cat out.txt >&2; fail "ingest output shows a personal value"; fi
done
run 3 out.json bin ingest --data data --source labour --json labour-bad.csv
json_ok out.json "ingest --json with bad rows"
for secret in 900101300018 "$C" lots; do
    if grep -q -- "$secret" out.json; then fail "ingest --json shows a personal value"; fi
done
ok "bad rows: exit 3, line/column/rule, no IIN"

# unknown source and wrong header: exit 2, nothing written
run 0 before.json bin stats --data data --json
run 2 out.txt bin ingest --data data --source nosuchagency labour.csv
grep -q "unknown source" out.txt || { cat out.txt >&2; fail "unknown source message"; }
run 2 out.txt bin ingest --data data --source population labour.csv
run 0 after.json bin stats --data data --json
cmp -s before.json after.json || fail "a refused ingest changed the registry"
ok "unknown source / wrong header: exit 2, nothing written"

# all-or-nothing: exit 4, nothing written
run 4 out.txt bin ingest --data data --source labour --all-or-nothing labour-bad.csv
run 0 after.json bin stats --data data --json
cmp -s before.json after.json || fail "--all-or-nothing changed the registry"
ok "all-or-nothing: exit 4, nothing written"

# key rotation
run 0 out.txt bin keys rotate --data data --class economic
run 0 status.json bin keys status --data data --json
json_ok status.json "keys status --json"
"$py" - <<'PY' || fail "status after rotate"
import json
s = json.load(open("status.json"))
e = {x["version"]: x for x in s if x["class"] == "economic"}
assert e[2]["current"] and not e[1]["current"], e
assert e[1]["sealed_count"] > 0 and e[2]["sealed_count"] == 0, e
PY
run 1 out.txt bin keys retire --data data --class economic --version 1
run 0 out.txt bin keys rewrap --data data
grep -q "re-sealed [1-9]" out.txt || { cat out.txt >&2; fail "rewrap re-sealed nothing"; }
run 0 status.json bin keys status --data data --json
"$py" - <<'PY' || fail "status after rewrap"
import json
s = json.load(open("status.json"))
e = {x["version"]: x for x in s if x["class"] == "economic"}
assert e[1]["sealed_count"] == 0 and e[2]["sealed_count"] > 0, e
PY
run 0 out.txt bin keys retire --data data --class economic --version 1
run 0 out.json bin ingest --data data --source labour --json labour.csv
"$py" -c 'import json,sys; s=json.load(open("out.json")); sys.exit(0 if s["values_written"]==0 and s["values_unchanged"]>0 else 1)' \
    || { cat out.json >&2; fail "re-delivery after rotation should write nothing"; }
ok "keys rotate / status --json / rewrap / retire"

# master-key rotation: data keys rewrapped, values unchanged, the old key refused afterwards
cp keys/master.key old-master.key
run 0 before.json bin stats --data data --json
run 0 out.txt bin keys rotate-master --data data
grep -q "data keys rewrapped" out.txt || { cat out.txt >&2; fail "rotate-master said nothing about rewrapping"; }
cmp -s keys/master.key old-master.key && fail "rotate-master left master.key unchanged"
[ "$(mode_of keys/master.key)" = 600 ] || fail "new master.key is not mode 0600"
[ ! -e keys/master.key.next ] || fail "rotate-master left master.key.next behind"
run 0 after.json bin stats --data data --json
cmp -s before.json after.json || fail "rotate-master changed the registry's contents"
run 0 out.json bin ingest --data data --source labour --json labour.csv
"$py" -c 'import json,sys; s=json.load(open("out.json")); sys.exit(0 if s["values_written"]==0 and s["values_unchanged"]>0 else 1)' \
    || { cat out.json >&2; fail "re-delivery after master rotation should write nothing"; }
# (keys given through the environment by functions, so that a failure message does not print them)
with_old_master() { SHANYRAK_MASTER_KEY="$(cat old-master.key)" "$SHANYRAK_BIN" "$@"; }
with_env_master() { SHANYRAK_MASTER_KEY="$(cat keys/master.key)" "$SHANYRAK_BIN" "$@"; }
run 1 out.txt with_old_master ingest --data data --source labour labour.csv
grep -q "does not open with this master key" out.txt || { cat out.txt >&2; fail "the old master key was not refused"; }
run 1 out.txt with_env_master keys rotate-master --data data
grep -q "SHANYRAK_MASTER_KEY" out.txt || { cat out.txt >&2; fail "rotation with the key from the environment not refused"; }
run 0 out.txt with_env_master keys status --data data
ok "keys rotate-master: rewraps, keeps values, refuses the old key and a key from the environment"

# a key file readable by others is refused, naming chmod 600
chmod 644 keys/master.key
run 1 out.txt bin stats --data data
grep -q "chmod 600" out.txt || { cat out.txt >&2; fail "loose master.key: message does not say chmod 600"; }
grep -q "master.key" out.txt || { cat out.txt >&2; fail "loose master.key: message does not name the file"; }
run 1 out.txt bin ingest --data data --source labour labour.csv
grep -q "chmod 600" out.txt || fail "ingest with a loose master.key not refused with chmod 600"
chmod 600 keys/master.key
run 0 out.txt bin stats --data data
ok "chmod 644 master.key refused with chmod 600"

# Feed rules from the ingest security review, in a second registry whose policies are a
# copy, so that a mapping can be edited after `init`.
cp -r "$SHANYRAK_ROOT/policies" policies
run 0 out.txt bin init --data feeds --keys keys --policies "$PWD/policies"

# A byte-order mark, CRLF, and a last line ending in a lone CR: every row loads.
bom=$(printf '\357\273\277')
{
    printf '%s' "$bom"
    printf '%s\r\n' "iin,observed_on,household_id,relation_to_head,district_code,last_name,first_name,patronymic,birth_date,sex,marital_status,citizenship,address,phone"
    printf '%s\r\n' "$A,2024-01-01,H1,head,01-02,Zhaksylykov,Serik,Ergaliuly,1990-01-01,male,married,kz,\"Abay 10, flat 4\",+77015550001"
    printf '%s\r\n' "$B,2024-01-01,H1,sibling,01-02,Zhaksylykov,Nurlan,Ergaliuly,1990-01-01,male,single,kz,\"Abay 10, flat 4\",+77015550002"
    printf '%s\r\n' "$C,2024-01-01,H2,head,01-03,Omarov,Bolat,,1990-01-01,male,married,kz,\"Tole bi 5\",+77015550003"
    printf '%s\r' "$D,2024-01-01,H2,child,01-03,Omarova,Aigerim,Bolatkyzy,2004-05-12,female,single,kz,\"Tole bi 5\",+77015550004"
} >bom-population.csv
run 0 out.txt bin ingest --data feeds --source population bom-population.csv
grep -q "4 accepted, 0 quarantined" out.txt || { cat out.txt >&2; fail "population with a BOM and CRs: expected 4 accepted"; }
ok "byte-order mark, CRLF and a final lone CR: every row accepted"

# An observation date in the future is quarantined, naming line, column and rule, not the date.
today=$(date -u +%Y-%m-%d)
printf '%s\n%s\n%s\n' "iin,indicator,value,observed_on" "$A,violence.protected_survivor,true,9999-12-31" \
    "$D,violence.protected_survivor,true,$today" >future-police.csv
run 3 out.txt bin ingest --data feeds --source police future-police.csv
grep -q "1 accepted, 1 quarantined" out.txt || { cat out.txt >&2; fail "police: expected 1 accepted, 1 quarantined"; }
grep -q "line 2, column observed_on: observation date: in the future" out.txt \
    || { cat out.txt >&2; fail "no line/column/rule for the future date"; }
never out.txt 9999 "$A" "$D"
ok "observation date in the future: quarantined by line, column and rule"

# A file without its header line: the error names cells by position, never an IIN.
printf '%s\n' "$A,$A,2024-02-01,employed,false,trade,250000,false,,,,rented,false" >headerless.csv
run 2 out.txt bin ingest --data feeds --source labour headerless.csv
grep -q "column 2 of the header" out.txt || { cat out.txt >&2; fail "headerless file: cell not named by position"; }
never out.txt "$A" 250000
ok "headerless file: exit 2, no IIN in the error"

# A line over 4 MiB refuses the feed, naming the line and the rule.
{
    printf '%s\n' "iin,indicator,value,observed_on"
    printf '%s' "$B,violence.dv_report_count,"
    head -c 4194304 /dev/zero | tr '\0' 7
    printf ',2024-03-01\n'
} >long.csv
run 2 out.txt bin ingest --data feeds --source police long.csv
grep -q "line 2 is longer than the line length limit" out.txt || { cat out.txt >&2; fail "long line: no line or rule"; }
never out.txt "$B" 7777777
ok "line over 4 MiB: exit 2, line and rule named"

# Mappings: household columns without registers_persons, and a source: naming another file.
run 0 before.txt bin stats --data feeds --json
printf 'household:\n  id: household_id\n  relation: relation_to_head\n  district: district_code\n' \
    >>policies/sources/police.yaml
printf '%s\n%s\n' "iin,indicator,value,observed_on,household_id,relation_to_head,district_code" \
    "$D,violence.dv_report_count,1,2024-03-01,H1,child,01-02" >police-household.csv
run 2 out.txt bin ingest --data feeds --source police police-household.csv
grep -q "police.yaml:.*'household' columns need 'registers_persons: true'" out.txt \
    || { cat out.txt >&2; fail "police mapping with household columns not refused with file and rule"; }
sed 's/^source: health$/source: education/' "$SHANYRAK_ROOT/policies/sources/health.yaml" >policies/sources/health.yaml
printf '%s\n%s\n' "iin,observed_on,disability_group,chronic_illness,dispensary_registered,pregnancy_registered" \
    "$D,2024-03-01,,false,false,false" >health.csv
run 2 out.txt bin ingest --data feeds --source health health.csv
grep -q "health.yaml:.*'source' is 'education', but must be the file's name, 'health'" out.txt \
    || { cat out.txt >&2; fail "health.yaml naming education not refused"; }
run 0 after.txt bin stats --data feeds --json
cmp -s before.txt after.txt || fail "a refused mapping changed the registry"
ok "mappings: household columns need registers_persons; source must be the file's name"

echo "foundation CLI checks passed"
