#!/usr/bin/env bash
# floe through floe: `floe turn` allocates on floe-relay, binds a channel to coturn's
# echo peer and gets its message back, with a static user and with REST credentials;
# a peer the relay's policy forbids is refused with 403; a peer that starts listening only
# after the first probe went out still answers (the probe is sent again). Never skipped.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe floe-relay
need_tool turnutils_peer jq ss
FLOE=$FLOE_BIN_DIR/floe
RELAY=$FLOE_BIN_DIR/floe-relay
TMP=$(mktemp -d /tmp/floe-turn-relay.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

PEER_PORT=$(floe_free_udp_port)
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.out" 2>&1 &
PIDS+=($!)
PORT=$(floe_free_udp_port)
"$RELAY" --listen "127.0.0.1:$PORT" --relay-ports 62000-62999 --allow-loopback-peers \
    --deny-peer 127.0.0.2/32 --user alice:secret --auth-secret s3cret --threads 2 \
    --log-file "$TMP/relay.log" &
PIDS+=($!)
wait_udp "$PEER_PORT"
wait_udp "$PORT"

# check_json [PEER_PORT]: $TMP/out is floe turn's answer through the relay to that peer.
check_json() {
    jq -e --arg srv "127.0.0.1:$PORT" --arg peer "127.0.0.1:${1:-$PEER_PORT}" '
        .server == $srv and .peer == $peer and (.relayed | startswith("127.0.0.1:62"))
        and (.reflexive | startswith("127.0.0.1:")) and .rtt_ms > 0' "$TMP/out" >/dev/null ||
        fail "unexpected answer: $(cat "$TMP/out")"
}

echo "--- static user"
"$FLOE" turn --json --timeout 10 --server "127.0.0.1:$PORT" --user alice --password secret \
    --peer "127.0.0.1:$PEER_PORT" >"$TMP/out" || fail "floe turn (static user) failed"
cat "$TMP/out"
check_json

echo "--- REST credentials"
"$FLOE" turn --json --timeout 10 --server "127.0.0.1:$PORT" --auth-secret s3cret --user carol \
    --peer "127.0.0.1:$PEER_PORT" >"$TMP/out" || fail "floe turn (REST) failed"
cat "$TMP/out"
check_json

echo "--- a peer listening only after the first probe was lost: the probe goes again"
LATE_PORT=$(floe_free_udp_port)
"$FLOE" turn --json --timeout 10 --log-level info --server "127.0.0.1:$PORT" --user alice \
    --password secret --peer "127.0.0.1:$LATE_PORT" >"$TMP/out" 2>"$TMP/late.log" &
TURN_PID=$!
PIDS+=("$TURN_PID")
i=0
until grep channel_established "$TMP/late.log" >/dev/null; do
    [ "$i" -lt 100 ] || fail "floe turn bound no channel within 10 s: $(cat "$TMP/late.log")"
    kill -0 "$TURN_PID" 2>/dev/null || fail "floe turn ended early: $(cat "$TMP/late.log")"
    sleep 0.1
    i=$((i + 1))
done
sleep 0.5 # the probe went out to a port nobody holds: lost
turnutils_peer -L 127.0.0.1 -p "$LATE_PORT" >"$TMP/late_peer.out" 2>&1 &
PIDS+=($!)
rc=0
wait "$TURN_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "floe turn to a late peer exited $rc: $(tail -n 3 "$TMP/late.log")"
cat "$TMP/out"
check_json "$LATE_PORT"

echo "--- wrong secret and forbidden peer"
rc=0
"$FLOE" turn --timeout 5 --server "127.0.0.1:$PORT" --auth-secret wrong \
    --peer "127.0.0.1:$PEER_PORT" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 1 ] || fail "wrong secret exited $rc"
grep -q "refused the credentials" "$TMP/err" || fail "wrong secret: $(cat "$TMP/err")"
rc=0
"$FLOE" turn --timeout 5 --server "127.0.0.1:$PORT" --user alice --password secret \
    --peer "127.0.0.2:$PEER_PORT" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 1 ] || fail "forbidden peer exited $rc"
grep -q "403" "$TMP/err" || fail "forbidden peer: $(cat "$TMP/err")"
echo "--- floe stun over IPv6 against an IPv6 floe-relay"
PORT6=$(floe_free_udp_port)
"$RELAY" --listen "[::1]:$PORT6" --relay-ip6 ::1 --user alice:secret --threads 1 \
    --log-file "$TMP/relay6.log" &
PIDS+=($!)
wait_udp "$PORT6"
"$FLOE" stun --json --timeout 5 "[::1]:$PORT6" >"$TMP/out" || fail "floe stun over IPv6 failed"
cat "$TMP/out"
jq -e --arg srv "[::1]:$PORT6" '.server == $srv and (.reflexive | startswith("[::1]:"))' \
    "$TMP/out" >/dev/null || fail "unexpected IPv6 answer: $(cat "$TMP/out")"
jq -e -s 'map(select(.message == "allocation created")) | length >= 2' "$TMP/relay.log" \
    >/dev/null || fail "relay log lacks the allocations"
echo PASS
