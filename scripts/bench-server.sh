#!/bin/sh
# End-to-end load benchmark of the HTTP API (issue 5): a release build serves a generated
# population (made by `shanyrak demo --no-serve`), and wrk drives it from a second process
# on loopback with 64 connections, mixing household views by the social worker (70%),
# person views by the GBV specialist (15%) and denials (15%: researcher and administrator),
# every one of them audited. In the same run wrk measures GET /bench/fixed (a Hummingbird
# route returning a fixed string, mounted by SHANYRAK_BENCH_FIXED_ROUTE=1) on the same
# server, and the script prints both throughputs, p99 latencies and the ratio.
#
# It also prints the server's CPU time per request of the mix (from /proc), which depends far less
# than requests/s on what else the machine is doing.
#
# The warm-up checks every answer (200 for views, 403 for denials, nothing else); the timed mix runs
# wrk's Lua without a response callback, like the fixed-string run, so that the client costs the same
# per request in both, and is checked by wrk's own count of non-2xx answers (3 in every 20).
#
#   scripts/bench-server.sh            # HOUSEHOLDS=10000 DURATION=10s PORT=18080 THREADS=2
#   BIN=/tmp/old-shanyrak scripts/bench-server.sh    # measure a given binary (no build), e.g. a before
#   KINDS=1 scripts/bench-server.sh    # then also each kind of request alone (household views, person
#                                      # views, denials), for DURATION each
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
HOUSEHOLDS=${HOUSEHOLDS:-10000}
DURATION=${DURATION:-10s}
PORT=${PORT:-18080}
THREADS=${THREADS:-2}
CONNECTIONS=64
command -v wrk >/dev/null || { echo "bench-server: needs wrk (apt-get install wrk)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench-server: needs python3" >&2; exit 2; }

cd "$root"
. scripts/bench-binary.sh
work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "bench-server: generating and loading $HOUSEHOLDS households ..."
"$bin" demo --data "$work/data" --keys keys-example --households "$HOUSEHOLDS" --port "$PORT" --no-serve >"$work/demo.log"
# Write the freshly generated folder out first: otherwise the kernel flushes it during the run, and the audit
# log's commits (each waits for its fsync) queue behind that writeback.
sync

# The demo writes a metrics token for /metrics; binaries from before it (BIN=, for a "before") do not.
metrics_token="$work/data/metrics.token"
if [ -f "$metrics_token" ]; then
    SHANYRAK_BENCH_FIXED_ROUTE=1 "$bin" serve --data "$work/data" --port "$PORT" \
        --metrics-token-file "$metrics_token" >"$work/server.log" 2>&1 &
else
    SHANYRAK_BENCH_FIXED_ROUTE=1 "$bin" serve --data "$work/data" --port "$PORT" >"$work/server.log" 2>&1 &
fi
server=$!
i=0
until curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "bench-server: server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done

# The request mix, from demo-accounts.json: 14 household views, 3 person views, 3 denials in every 20.
python3 scripts/bench_mix.py "$work/data/demo-accounts.json" "$work" >"$work/requests.lua"

url="http://127.0.0.1:$PORT"
# The server checks its registry against the audit log's anchors 10 s after it starts, then hourly
# (`serve --verify-registry-every`). That first check reads every record: run inside the timed mix, it
# would be charged to a few seconds of requests instead of to its hour. Wait for it to finish first.
# Binaries from before the check (BIN=, for a "before") show no such counter and are not waited for.
if [ -f "$metrics_token" ]; then
    printf 'Authorization: Bearer %s\n' "$(cat "$metrics_token")" >"$work/metrics-header"
    if curl -fs -H @"$work/metrics-header" "$url/metrics" | grep -q '^shanyrak_registry_checks_total'; then
        echo "bench-server: waiting for the server's first registry check ..."
        i=0
        until curl -fs -H @"$work/metrics-header" "$url/metrics" \
            | grep -Eq '^shanyrak_registry_checks_total\{result="(passed|problems|failed)"\} [1-9]'; do
            i=$((i + 1)); [ $i -gt 600 ] && { echo "bench-server: the first registry check did not finish" >&2; exit 1; }
            sleep 0.1
        done
    fi
fi
echo "bench-server: warming up, and checking every answer of the mix ..."
# The warm-up counts answers by status (200, 403, other); the timed run does not, since counting in wrk's Lua
# costs the client CPU that the server then lacks (see scripts/bench-server.lua). wrk still counts the timed
# run's non-2xx answers, which must be the mix's 3 denials in 20.
BENCH_COUNT_STATUS=1 BENCH_REQUESTS="$work/requests.lua" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s \
    -s scripts/bench-server.lua "$url" >"$work/warmup.txt"
grep '^STATUS' "$work/warmup.txt" >"$work/status.txt"
echo "bench-server: audited mix, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
# The server's CPU time (user + system, clock ticks) around the run: CPU per request does not depend on how
# much of the machine other processes take, unlike requests/s.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat" 2>/dev/null || echo 0; }
cpu_before=$(cpu_ticks)
BENCH_REQUESTS="$work/requests.lua" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s scripts/bench-server.lua "$url" | tee "$work/mixed.txt"
cpu_after=$(cpu_ticks)
cat "$work/status.txt" >>"$work/mixed.txt"
echo "SERVER_CPU_TICKS $((cpu_after - cpu_before)) $(getconf CLK_TCK)" >>"$work/mixed.txt"
# The audit log's group commits so far (warm-up and mix): a slow one holds back every request of its group.
# /metrics takes the demo's metrics token, given to curl in a header file ($work is mode 0700), not argv.
if [ -f "$metrics_token" ]; then
    printf 'Authorization: Bearer %s\n' "$(cat "$metrics_token")" >"$work/metrics-header"
else
    : >"$work/metrics-header"
fi
curl -fs -H @"$work/metrics-header" "$url/metrics" >"$work/metrics.txt" || : >"$work/metrics.txt"
echo "bench-server: fixed string, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url/bench/fixed" | tee "$work/fixed.txt"

python3 - "$work/mixed.txt" "$work/fixed.txt" "$work/metrics.txt" <<'PY'
import re, sys
def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    st = re.search(r"STATUS ok=(\d+) denied=(\d+) other=(\d+)", text)
    return rps, p99, st
mixed, mp99, st = parse(sys.argv[1])
text = open(sys.argv[1]).read()
total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
cpu = re.search(r"SERVER_CPU_TICKS (-?\d+) (\d+)", text)
fixed, fp99, _ = parse(sys.argv[2])
households = mixed * 14 / 20
print()
print("audited requests/s (mix):      %10.0f   p99 %.2f ms" % (mixed, mp99))
print("  of which household views/s:  %10.0f   (70%% of the mix; target >= 5,000)" % households)
if st:
    print("  answers of the warm-up (counted): %s ok, %s denied (403), %s other" % st.groups())
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if total:
    # 3 denials in every 20 requests; each wrk connection may stop mid-way through its cycle.
    expected = 3 * int(total.group(1)) / 20
    got = int(non2xx.group(1)) if non2xx else 0
    verdict = "as expected" if abs(got - expected) <= 64 + expected / 100 else "UNEXPECTED"
    print("  answers of the mix: %d non-2xx, %.0f denials expected: %s" % (got, expected, verdict))
if total and cpu and int(cpu.group(1)) > 0:
    seconds = int(cpu.group(1)) / int(cpu.group(2))
    print("server CPU per request (mix):  %10.0f us  (%.0f%% of one core over the run)" % (
        1e6 * seconds / int(total.group(1)), 100 * seconds / (int(total.group(1)) / mixed)))
print("fixed-string requests/s:       %10.0f   p99 %.2f ms" % (fixed, fp99))
print("ratio audited mix / fixed:     %10.1f %%  (target >= 25 %%)" % (100 * mixed / fixed))
print("p99 target <= 25 ms: %s" % ("met" if mp99 <= 25 else "NOT met"))
metrics = open(sys.argv[3]).read()
def sample(name):
    m = re.search(r"^" + re.escape(name) + r" ([\d.]+)$", metrics, re.M)
    return float(m.group(1)) if m else None
commits = sample("shanyrak_audit_group_commit_seconds_count")
if commits:
    within10 = sample('shanyrak_audit_group_commit_seconds_bucket{le="0.01"}')
    within50 = sample('shanyrak_audit_group_commit_seconds_bucket{le="0.05"}')
    print("audit group commits (warm-up and mix): %d, over 10 ms: %d, over 50 ms: %d, slowest %.1f ms" % (
        commits, commits - within10, commits - within50,
        1000 * sample("shanyrak_audit_group_commit_slowest_seconds")))
PY

# KINDS=1: each kind of request alone, on the same server and folder: requests/s, p99, server CPU per request.
if [ "${KINDS:-0}" = 1 ]; then
    echo
    echo "each kind alone, wrk -t$THREADS -c$CONNECTIONS -d$DURATION:"
    for kind in households persons denials; do
        cpu_before=$(cpu_ticks)
        BENCH_COUNT_STATUS=1 BENCH_REQUESTS="$work/kind-$kind.lua" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
            -s scripts/bench-server.lua "$url" >"$work/kind.txt"
        cpu_after=$(cpu_ticks)
        python3 - "$work/kind.txt" "$kind" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
total = int(re.search(r"(\d+) requests in", text).group(1))
status = re.search(r"STATUS ok=(\d+) denied=(\d+) other=(\d+)", text).groups()
cpu_us = 1e6 * int(sys.argv[3]) / int(sys.argv[4]) / total
print("  %-10s %8.0f requests/s   p99 %6.2f ms   server CPU %4.0f us/request   (%s ok, %s denied, %s other)"
      % ((sys.argv[2], rps, p99, cpu_us) + status))
PY
    done
fi
