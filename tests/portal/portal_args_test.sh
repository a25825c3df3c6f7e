#!/bin/bash
# floe-portal's serving flags: --help documents them, bad flags exit 2 with a message on stderr.
set -euo pipefail
BIN=${FLOE_BIN_DIR:?FLOE_BIN_DIR not set}/floe-portal
[ -x "$BIN" ] || { echo "FAIL: $BIN missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'exit 130' INT TERM # so that the EXIT trap's cleanup runs
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" --help >"$tmp/help" || fail "--help exited non-zero"
for flag in --listen --database --tls-cert --tls-key --insecure --max-connections --max-frame \
    --token-rate --addr-rate --relay-check-ms --credential-ttl --candidate-cache --log-file \
    "Exit status"; do
    grep -q -- "$flag" "$tmp/help" || fail "--help does not mention $flag"
done

expect_usage() { # expect_usage PATTERN ARGS...: exit 2 and PATTERN on stderr
    local pattern=$1 rc=0
    shift
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" = 2 ] || fail "'$*' exited $rc, expected 2"
    grep -q -- "$pattern" "$tmp/err" || fail "'$*': no '$pattern' in: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "'$*' wrote to stdout"
}
expect_usage "unknown option '--frobnicate'" --insecure --frobnicate
expect_usage "loopback" --insecure --listen 192.0.2.1:8080
expect_usage "--tls-cert" --listen 127.0.0.1:8080
expect_usage "go together" --tls-key /nonexistent
expect_usage "--listen" --insecure --listen nonsense
expect_usage "--database" --insecure --database mysql://db
expect_usage "--max-frame" --insecure --max-frame 12
expect_usage "--candidate-cache: expected 0-300" --insecure --candidate-cache 301
expect_usage "missing value" --insecure --listen
echo "ok: floe-portal flags"
