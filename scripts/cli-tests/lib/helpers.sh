# Helpers for the scripts in scripts/cli-tests/, which source this file (it is not a test itself:
# scripts/test-cli.sh runs only the scripts directly in that folder). Source it after `set -eu` as
#   . "${SHANYRAK_ROOT:?SHANYRAK_ROOT must name the repository}/scripts/cli-tests/lib/helpers.sh"
# It sets $py (the test suite's Python) and defines fail, ok, bin and run; and, for scripts that load
# feeds of two persons, $A and $B (their IINs), write_population and labour.

: "${SHANYRAK_BIN:?SHANYRAK_BIN must name the shanyrak binary}"
py=${SHANYRAK_PYTHON:-python3}
[ -x "$py" ] || command -v "$py" >/dev/null 2>&1 || py=python3

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
bin() { "$SHANYRAK_BIN" "$@"; }
# run EXPECTED_STATUS OUTFILE CMD...: runs CMD, stdout+stderr to OUTFILE, checks the status.
run() {
    want=$1 out=$2
    shift 2
    set +e
    "$@" >"$out" 2>&1
    got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat "$out" >&2; fail "$* exited $got, expected $want"; }
}

# Valid IINs from ../shared/vectors/iin.json.
A=900101300017 B=900101300027
# write_population: population.csv registering $A and $B in one household.
write_population() {
    cat >population.csv <<CSV
iin,observed_on,household_id,relation_to_head,district_code,last_name,first_name,patronymic,birth_date,sex,marital_status,citizenship,address,phone
$A,2024-01-01,H1,head,01-02,Zhaksylykov,Serik,Ergaliuly,1990-01-01,male,married,kz,"Abay 10, flat 4",+77015550001
$B,2024-01-01,H1,sibling,01-02,Zhaksylykov,Nurlan,Ergaliuly,1990-01-01,male,single,kz,"Abay 10, flat 4",+77015550002
CSV
}
labour_header=iin,observed_on,employment_status,registered_unemployed,sector,monthly_income,targeted_social_assistance,pension,disability_benefit,child_benefit,housing_tenure,housing_waiting_list,large_family
# labour INCOME [DATE]: a labour feed giving $A and $B that monthly income, observed on DATE (2024-02-01).
labour() {
    d=${2:-2024-02-01}
    printf '%s\n%s\n%s\n' "$labour_header" "$A,$d,employed,,,$1,,,,,,," "$B,$d,employed,,,$1,,,,,,,"
}
