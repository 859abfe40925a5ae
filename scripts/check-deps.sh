#!/bin/sh
# Checks for the system packages Shanyrak builds against (libsodium, SQLite,
# pkg-config) and installs them with apt-get where it can.
set -eu
missing=""
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists libsodium 2>/dev/null || missing="$missing libsodium-dev"
    pkg-config --exists sqlite3 2>/dev/null || missing="$missing libsqlite3-dev"
else
    missing="$missing libsodium-dev libsqlite3-dev"
fi
[ -z "$missing" ] && exit 0
echo "shanyrak: installing system packages:$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "shanyrak: cannot install$missing here." >&2
    echo "  On Debian/Ubuntu: sudo apt-get install$missing" >&2
    echo "  On macOS with Homebrew: brew install libsodium sqlite pkg-config" >&2
    exit 1
fi
