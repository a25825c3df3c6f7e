#!/usr/bin/env bash
# `floe turn` against Debian's coturn: allocate, bind a channel to coturn's UDP echo
# peer (turnutils_peer) on loopback, echo one message through the relay; once with a
# static long-term user and once with REST credentials (--use-auth-secret). A wrong
# password, a dead server and bad options must fail with the right exit code and a
# one-line reason. Never skipped: a missing turnserver, turnutils_peer or jq fails.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe
need_tool turnserver turnutils_peer jq ss
FLOE=$FLOE_BIN_DIR/floe

TMP=$(mktemp -d /tmp/floe-coturn-turn.XXXXXX)
COTURN_PID=""
PEER_PID=""
stop_peer() {
    if [ -n "$PEER_PID" ]; then
        kill "$PEER_PID" 2>/dev/null || true
        wait "$PEER_PID" 2>/dev/null || true
        PEER_PID=""
    fi
}
cleanup() {
    floe_coturn_stop
    stop_peer
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_turnserver PORT ARGS...: coturn on 127.0.0.1:PORT with long-term credentials.
start_turnserver() {
    local port=$1
    shift
    turnserver -v -n --listening-ip=127.0.0.1 --listening-port="$port" --relay-ip=127.0.0.1 \
        --no-tls --no-dtls --no-tcp --no-tcp-relay --no-cli --simple-log \
        --allow-loopback-peers --realm=floe --fingerprint \
        --log-file="$TMP/coturn.log" --no-stdout-log --pidfile="$TMP/coturn.pid" \
        --userdb="$TMP/coturn-$port.db" --min-port=50000 --max-port=54999 "$@" \
        >"$TMP/coturn.out" 2>&1 &
    COTURN_PID=$!
    floe_coturn_wait "$port" "$TMP"
    echo "coturn pid $COTURN_PID on 127.0.0.1:$port ($*)"
}

# wait_log REGEX: wait (up to 5 s) until coturn's log has a line matching REGEX.
wait_log() {
    for _ in $(seq 1 50); do
        grep -qE "$1" "$TMP/coturn.log" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "coturn's log has no line matching '$1'"
}

# check_json PORT: the JSON result names the server, a relayed address of coturn's
# range, the peer, a channel and a plausible RTT.
check_json() {
    cat "$TMP/out"
    [ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "JSON output is not one line"
    jq -e --arg srv "127.0.0.1:$1" --arg peer "127.0.0.1:$PEER_PORT" '
        .server == $srv and .peer == $peer
        and (.relayed | test("^127\\.0\\.0\\.1:[0-9]+$"))
        and ((.relayed | split(":")[1] | tonumber) >= 50000)
        and (.reflexive | split(":")[1]) == (.local | split(":")[1])
        and .channel >= 16384 and .channel <= 20479
        and (.rtt_ms | type) == "number" and .rtt_ms > 0 and .rtt_ms < 2000' \
        "$TMP/out" >/dev/null || fail "unexpected JSON: $(cat "$TMP/out")"
}

PEER_PORT=$(floe_free_udp_port)
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
for _ in $(seq 1 50); do
    [ -n "$(ss -Hlnu "sport = :$PEER_PORT")" ] && break
    kill -0 "$PEER_PID" 2>/dev/null || fail "turnutils_peer exited: $(cat "$TMP/peer.out")"
    sleep 0.1
done
[ -n "$(ss -Hlnu "sport = :$PEER_PORT")" ] || fail "turnutils_peer did not bind $PEER_PORT"
echo "echo peer pid $PEER_PID on 127.0.0.1:$PEER_PORT"

echo "=== static long-term user"
PORT=$(floe_free_udp_port)
start_turnserver "$PORT" --lt-cred-mech --user=alice:secret

echo "--- JSON output"
expect_exit 0 "$FLOE" turn --json --server "127.0.0.1:$PORT" --user alice --password secret \
    --peer "127.0.0.1:$PEER_PORT" --log-level debug --log-file "$TMP/ok.jsonl"
check_json "$PORT"
jq -s -e 'any(.[]; .message == "turn event" and .event == "channel_established"
    and .target == "floe::turn")' "$TMP/ok.jsonl" >/dev/null ||
    fail "no channel_established event in the log"

echo "--- plain output"
expect_exit 0 "$FLOE" turn --server "127.0.0.1:$PORT" --user alice --password secret \
    --peer "127.0.0.1:$PEER_PORT"
cat "$TMP/out"
grep -qE '^relayed 127\.0\.0\.1:[0-9]+$' "$TMP/out" || fail "no relayed line"
grep -qE '^reflexive 127\.0\.0\.1:[0-9]+$' "$TMP/out" || fail "no reflexive line"
grep -qx "peer 127.0.0.1:$PEER_PORT" "$TMP/out" || fail "no peer line"
grep -qE '^channel 0x4[0-9a-f]{3}$' "$TMP/out" || fail "no channel line"
grep -qE '^rtt [0-9]+\.[0-9]{3} ms$' "$TMP/out" || fail "no rtt line"
[ ! -s "$TMP/err" ] || fail "stderr not empty: $(cat "$TMP/err")"

echo "--- wrong password: exit 1, one clear line, no retry storm"
expect_exit 1 "$FLOE" turn --server "127.0.0.1:$PORT" --user alice --password wrong \
    --peer "127.0.0.1:$PEER_PORT" --log-level debug --log-file "$TMP/bad.jsonl"
cat "$TMP/err"
expect_stderr "floe turn: 127.0.0.1:$PORT refused the credentials (401"
[ ! -s "$TMP/out" ] || fail "stdout not empty on failure"
# coturn saw exactly one authenticated attempt with the wrong password.
wait_log 'user <alice>: incoming packet message processed, error 401'
sleep 1
n=$(grep -c 'user <alice>: incoming packet message processed, error 401' "$TMP/coturn.log")
[ "$n" -eq 1 ] || fail "coturn saw $n authenticated attempts, expected 1"

echo "--- unknown user"
expect_exit 1 "$FLOE" turn --server "127.0.0.1:$PORT" --user mallory --password secret \
    --peer "127.0.0.1:$PEER_PORT"
expect_stderr "refused the credentials"
floe_coturn_stop

echo "=== REST credentials (use-auth-secret)"
PORT=$(floe_free_udp_port)
start_turnserver "$PORT" --use-auth-secret --static-auth-secret=s3cret
expect_exit 0 "$FLOE" turn --json --server "127.0.0.1:$PORT" --auth-secret s3cret \
    --peer "127.0.0.1:$PEER_PORT"
check_json "$PORT"
expect_exit 0 "$FLOE" turn --json --server "127.0.0.1:$PORT" --auth-secret s3cret --user bob \
    --peer "127.0.0.1:$PEER_PORT"
check_json "$PORT"
# The REST username is "<now + 1 h>:bob", and the allocation was deleted at the end.
wait_log 'username=<[0-9]+:bob>, lifetime=0'
expiry=$(grep -oE 'new, realm=<floe>, username=<[0-9]+:bob>' "$TMP/coturn.log" |
    grep -oE '[0-9]+:bob' | head -1 | cut -d: -f1)
now=$(date +%s)
[ -n "$expiry" ] && [ "$expiry" -gt $((now + 3500)) ] && [ "$expiry" -le $((now + 3600)) ] ||
    fail "REST username expiry '$expiry' is not now + 1 h ($now)"

echo "--- wrong secret"
expect_exit 1 "$FLOE" turn --server "127.0.0.1:$PORT" --auth-secret nope \
    --peer "127.0.0.1:$PEER_PORT"
cat "$TMP/err"
expect_stderr "refused the credentials (401"
kill -0 "$COTURN_PID" || fail "coturn died during the test"
floe_coturn_stop

echo "=== failures without a server"
DEAD=$(floe_free_udp_port)
t0=$(date +%s%N)
expect_exit 1 "$FLOE" turn --timeout 3 --server "127.0.0.1:$DEAD" --user a --password b \
    --peer "127.0.0.1:$PEER_PORT"
t1=$(date +%s%N)
cat "$TMP/err"
expect_stderr "floe turn: timed out after 3.0 s waiting for the allocation"
elapsed_ms=$(((t1 - t0) / 1000000))
[ "$elapsed_ms" -ge 2900 ] && [ "$elapsed_ms" -lt 4500 ] ||
    fail "gave up after $elapsed_ms ms, expected about 3000"
expect_exit 1 "$FLOE" turn --timeout 12 --server "127.0.0.1:$DEAD" --user a --password b \
    --peer "127.0.0.1:$PEER_PORT"
cat "$TMP/err"
expect_stderr "floe turn: no response from 127.0.0.1:$DEAD to Allocate"

echo "--- usage errors"
expect_exit 2 "$FLOE" turn --server "127.0.0.1:$DEAD" --peer "127.0.0.1:1"
expect_stderr "missing credentials"
expect_exit 2 "$FLOE" turn --server "127.0.0.1:$DEAD" --user a --password b
expect_stderr "missing --peer"
expect_exit 2 "$FLOE" turn --server "127.0.0.1:$DEAD" --password b --peer "127.0.0.1:1"
expect_stderr "--password needs --user"
expect_exit 2 "$FLOE" turn --server "127.0.0.1:$DEAD" --user a --password b --auth-secret c \
    --peer "127.0.0.1:1"
expect_stderr "exclude each other"
expect_exit 2 "$FLOE" turn --server nonsense --user a --password b --peer "127.0.0.1:1"
expect_stderr "invalid --server 'nonsense'"
expect_exit 2 "$FLOE" turn --server "127.0.0.1:$DEAD" --user a --password b --peer 127.0.0.1
expect_stderr "invalid --peer"
expect_exit 2 "$FLOE" turn --frobnicate
expect_stderr "unknown option '--frobnicate'"
expect_exit 0 "$FLOE" help turn
grep -q '^usage: floe turn' "$TMP/out" || fail "help turn"
expect_exit 0 "$FLOE" --help
grep -q '^  turn ' "$TMP/out" || fail "--help lists no turn"

kill -0 "$PEER_PID" || fail "the echo peer died during the test"
echo "PASS"
