#!/usr/bin/env bash
# `floe stun` against Debian's coturn: the reflexive address on loopback must be the
# client socket's own address, in plain and JSON output; failures (nothing listening,
# bad address, bad options) must exit non-zero with a one-line reason in time.
# Never skipped: a missing turnserver or jq fails the test.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe
need_tool turnserver jq ss
FLOE=$FLOE_BIN_DIR/floe

TMP=$(mktemp -d /tmp/floe-coturn-stun.XXXXXX)
COTURN_PID=""
cleanup() {
    floe_coturn_stop
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(floe_free_udp_port)
floe_coturn_start "$TMP" "$PORT"
floe_coturn_wait "$PORT" "$TMP"
echo "coturn pid $COTURN_PID on 127.0.0.1:$PORT"
# Wait until it answers, so the first measured exchange below needs no retransmission.
"$FLOE" stun --timeout 10 "127.0.0.1:$PORT" >/dev/null || fail "coturn does not answer"

echo "--- JSON output, known source port"
SRC=$(floe_free_udp_port)
expect_exit 0 "$FLOE" stun --json --source "127.0.0.1:$SRC" "127.0.0.1:$PORT"
cat "$TMP/out"
jq -e --arg ref "127.0.0.1:$SRC" --arg srv "127.0.0.1:$PORT" '
    .reflexive == $ref and .local == $ref and .server == $srv and .sends == 1
    and (.rtt_ms | type) == "number" and .rtt_ms > 0 and .rtt_ms < 1000
    and (.software | startswith("Coturn"))' "$TMP/out" >/dev/null ||
    fail "unexpected JSON: $(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "JSON output is not one line"

echo "--- plain output, host name, debug logs to a file"
SRC=$(floe_free_udp_port)
expect_exit 0 "$FLOE" stun -4 --source "127.0.0.1:$SRC" --log-level debug \
    --log-file "$TMP/ok.jsonl" "localhost:$PORT"
cat "$TMP/out"
grep -qx "reflexive 127.0.0.1:$SRC" "$TMP/out" || fail "no reflexive line"
grep -qx "server 127.0.0.1:$PORT" "$TMP/out" || fail "no server line"
grep -qx "local 127.0.0.1:$SRC" "$TMP/out" || fail "no local line"
grep -qE '^rtt [0-9]+\.[0-9]{3} ms$' "$TMP/out" || fail "no rtt line"
grep -qE '^software Coturn' "$TMP/out" || fail "no software line"
[ ! -s "$TMP/err" ] || fail "stderr not empty: $(cat "$TMP/err")"
jq -r '"\(.time) \(.severity) \(.message)"' "$TMP/ok.jsonl" >"$TMP/ok.txt" ||
    fail "log is not JSON Lines"
cat "$TMP/ok.txt"
rfc3339_ns='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z'
grep -qE "^$rfc3339_ns DEBUG sending binding request\$" "$TMP/ok.txt" ||
    fail "no debug line for the first send"
jq -e --arg srv "127.0.0.1:$PORT" 'select(.message == "sending binding request")
    | .server == $srv and .attempt == 1 and .target == "floe::stun"' "$TMP/ok.jsonl" \
    >/dev/null || fail "send log fields wrong"

echo "--- nothing listening: retransmits, then times out"
DEAD=$(floe_free_udp_port)
t0=$(date +%s%N)
expect_exit 1 "$FLOE" stun --timeout 2 --log-level debug --log-file "$TMP/dead.jsonl" \
    "127.0.0.1:$DEAD"
t1=$(date +%s%N)
elapsed_ms=$(((t1 - t0) / 1000000))
cat "$TMP/err"
expect_stderr "floe stun: no response from 127.0.0.1:$DEAD within 2.0 s"
[ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 3500 ] ||
    fail "gave up after $elapsed_ms ms, expected about 2000"
[ ! -s "$TMP/out" ] || fail "stdout not empty on failure"
# RFC 8489 schedule bounded by 2 s: sends at 0, 0.5 and 1.5 s.
attempts=$(jq -c -s '[.[] | select(.message == "retransmitting binding request") | .attempt]' \
    "$TMP/dead.jsonl")
[ "$attempts" = "[2,3]" ] || fail "retransmissions $attempts, expected [2,3]"

echo "--- usage and resolution errors"
expect_exit 2 "$FLOE" stun not-an-address
expect_stderr "floe stun: invalid server address 'not-an-address'"
expect_exit 2 "$FLOE" stun 127.0.0.1:99999
expect_stderr "invalid server address"
expect_exit 2 "$FLOE" stun 127.0.0.1:0
expect_stderr "invalid server address"
expect_exit 2 "$FLOE" stun --timeout -1 "127.0.0.1:$PORT"
expect_stderr "invalid --timeout"
expect_exit 2 "$FLOE" stun --frobnicate "127.0.0.1:$PORT"
expect_stderr "unknown option '--frobnicate'"
expect_exit 2 "$FLOE" stun --source 127.0.0.1 "127.0.0.1:$PORT"
expect_stderr "invalid --source"
expect_exit 2 "$FLOE" stun --source 127.0.0.1:0 "[::1]:$PORT"
expect_stderr "is not of the address family"
expect_exit 2 "$FLOE" frobnicate
expect_stderr "floe: unknown command 'frobnicate'"
expect_exit 2 "$FLOE"
expect_exit 1 "$FLOE" stun --timeout 5 nonexistent.invalid:3478
expect_stderr "floe stun: cannot resolve 'nonexistent.invalid:3478'"

echo "--- help and version"
expect_exit 0 "$FLOE" --version
[ "$(cat "$TMP/out")" = "floe 0.1.0" ] || fail "version: $(cat "$TMP/out")"
expect_exit 0 "$FLOE" help stun
grep -q '^usage: floe stun' "$TMP/out" || fail "help stun"
expect_exit 0 "$FLOE" stun --help
grep -q -- '--timeout S' "$TMP/out" || fail "stun --help"
expect_exit 0 "$FLOE" --help
grep -q '^  stun ' "$TMP/out" || fail "--help lists no stun"
expect_exit 2 "$FLOE" help frobnicate

kill -0 "$COTURN_PID" || fail "coturn died during the test"
echo "PASS"
