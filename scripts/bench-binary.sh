# Sourced by the benchmark scripts, from the repository root: sets $bin to the `shanyrak` to measure, $BIN
# when given (a "before", no build), else a release build made here; and makes the example keys' modes what
# shanyrak accepts (git does not keep them).
chmod 600 keys-example/*.key
if [ -n "${BIN:-}" ]; then
    bin=$BIN
else
    swift build -c release --product shanyrak >/dev/null
    bin="$PWD/.build/release/shanyrak"
fi
