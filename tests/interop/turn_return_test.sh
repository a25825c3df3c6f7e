#!/usr/bin/env bash
# The TURN client back on the 5-tuple of an allocation the server still holds (a roam back
# to a network whose NAT gives the old mapping): the server answers 437, the client sends
# the deletion (Refresh LIFETIME 0) and the Allocate right behind it in one flight, and the
# new allocation carries data, a second later too.
# floe-relay frees the 5-tuple with the deletion: one 437 only (the Allocate behind the
# deletion was accepted), one deletion. coturn (a server no one here wrote) answers the
# deletion but frees the 5-tuple only when its timer reaps the allocation (within about a
# second): the Allocate behind it meets 437 again, the client deletes and allocates again
# until it is free, and the new allocation must work all the same.
# Never skipped: a missing turnserver or turnutils_peer fails.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin turn_return_peer floe-relay
need_tool turnserver turnutils_peer ss
PEER=$FLOE_BIN_DIR/turn_return_peer
TMP=$(mktemp -d /tmp/floe-turn-return.XXXXXX)
COTURN_PID=""
PIDS=()
cleanup() {
    local pid
    floe_coturn_stop
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# check_run SERVER_PORT WHAT LINE_REGEX: the peer ends allocated, the echo came back through
# the new allocation, and its one line matches LINE_REGEX.
check_run() {
    local rc=0
    "$PEER" "$1" alice secret "$PEER_PORT" >"$TMP/out" 2>"$TMP/err" || rc=$?
    cat "$TMP/out" "$TMP/err"
    [ "$rc" -eq 0 ] || fail "$2: turn_return_peer exit $rc"
    grep -qxE "$3" "$TMP/out" || fail "$2: unexpected counts: $(cat "$TMP/out")"
}

PEER_PORT=$(floe_free_udp_port)
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.out" 2>&1 &
PIDS+=($!)
wait_udp "$PEER_PORT" "${PIDS[0]}"

echo "=== coturn"
PORT=$(floe_free_udp_port)
turnserver -v -n --listening-ip=127.0.0.1 --listening-port="$PORT" --relay-ip=127.0.0.1 \
    --no-tls --no-dtls --no-tcp --no-tcp-relay --no-cli --simple-log \
    --allow-loopback-peers --realm=floe --fingerprint --lt-cred-mech --user=alice:secret \
    --log-file="$TMP/coturn.log" --no-stdout-log --pidfile="$TMP/coturn.pid" \
    --userdb="$TMP/coturn.db" --min-port=50000 --max-port=54999 >"$TMP/coturn.out" 2>&1 &
COTURN_PID=$!
floe_coturn_wait "$PORT" "$TMP"
check_run "$PORT" coturn '437s [1-9][0-9]* allocates [2-9][0-9]* refreshes [1-9][0-9]* echo ok'
grep -q 'refreshed, realm=<floe>, username=<alice>, lifetime=0' "$TMP/coturn.log" ||
    fail "coturn saw no deletion"
floe_coturn_stop

echo "=== floe-relay"
PORT=$(floe_free_udp_port)
"$FLOE_BIN_DIR/floe-relay" --listen "127.0.0.1:$PORT" --relay-ports 64800-64999 \
    --allow-loopback-peers --user alice:secret --log-file "$TMP/relay.log" &
PIDS+=($!)
wait_udp "$PORT" "${PIDS[1]}"
check_run "$PORT" floe-relay '437s 1 allocates 2 refreshes 1 echo ok'
echo "PASS"
