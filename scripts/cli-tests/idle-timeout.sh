#!/bin/sh
# `serve --idle-timeout`: a connection left idle, or one whose request head never completes, is closed by the
# server; a request being answered is not cut, and a connection in use keeps working.
# Run by scripts/test-cli.sh in an empty folder with $SHANYRAK_BIN and $SHANYRAK_ROOT.
set -eu
bin="$SHANYRAK_BIN"
root="$SHANYRAK_ROOT"
. "$root/scripts/cli-tests/serve.inc"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 0; }
cp -r "$root/keys-example" keys && chmod 600 keys/*.key
"$bin" demo --data demo --keys keys --policies "$root/policies" --households 20 --no-serve > demo.log

if "$bin" serve --data demo --port 1 --idle-timeout 0 2> refused.txt; then fail "serve took --idle-timeout 0"; fi
grep -q -- "--idle-timeout" refused.txt || { cat refused.txt; fail "the refusal does not name --idle-timeout"; }

start_server serve.log --idle-timeout 1

python3 - "$port" <<'PY' || fail "idle connections are not closed as documented"
import socket, sys, time
port = int(sys.argv[1])
def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    return s
def closed_within(s, seconds):
    start = time.monotonic()
    data = s.recv(4096)
    return data == b"" and time.monotonic() - start <= seconds
# Idle from the start: closed after about a second, well before the 10 s of the client's own timeout.
assert closed_within(connect(), 5), "an idle connection stayed open"
# A request head that never completes (slowloris): closed too.
s = connect()
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
assert closed_within(s, 5), "a connection with half a request head stayed open"
# A connection in use: requests within the timeout keep it open, then it closes once idle.
s = connect()
for _ in range(3):
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:40]
    time.sleep(0.5)
assert closed_within(s, 5), "a used connection stayed open once idle"
PY
echo "idle-timeout: ok"
