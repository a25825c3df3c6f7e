#!/usr/bin/env bash
# Relay to relay through one floe-relay on a non-loopback address (issue 9, item 2): two
# allocations of the same relay send to each other's relayed address (Firezone's
# RelayToRelay path, the only one when both sides sit behind symmetric NATs and share a
# relay). The relay runs in a namespace of its own on 203.0.113.1 (two workers, so the two
# allocations may live in different workers' port shares); coturn's turnutils_uclient -y
# (client-to-client) runs in another namespace behind a veth. Its own listening port and
# ports outside the relayed range stay refused as peers (403), with the relayed range open.
# DONT-FRAGMENT is honoured: 1400-byte datagrams to a peer behind a 1280-byte route come
# back fragmented without it and not at all with it. With a wildcard --listen address the
# host's other addresses are refused as peers too. A --relay-ports range inside the
# namespace's ip_local_port_range is warned about at start.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip ss turnutils_uclient jq
need_bin floe floe-relay

TMP=$(mktemp -d)
NS_R="floe-r2r-r-$$"
NS_C="floe-r2r-c-$$"
RELAY_PID=""
PEER_PID=""
RELAY_IP=203.0.113.1
CLIENT_IP=198.51.100.2
PORTS=50000-50999

cleanup() {
    local rc=$?
    stop_pid "$RELAY_PID"
    stop_pid "$PEER_PID"
    ip netns del "$NS_R" 2>/dev/null || true
    ip netns del "$NS_C" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        echo "--- relay log" >&2
        tail -n 30 "$TMP/relay.log" >&2 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

R() { ip netns exec "$NS_R" "$@"; }
C() { ip netns exec "$NS_C" "$@"; }

# wait_udp_in NS PORT PID: wait up to 10 s until something binds UDP PORT in NS (PID lives).
wait_udp_in() {
    local i=0
    until [ -n "$(ip netns exec "$1" ss -Hlnu "sport = :$2")" ]; do
        [ "$i" -lt 100 ] || fail "nothing bound UDP port $2 in $1 within 10 s"
        kill -0 "$3" 2>/dev/null || fail "process $3 exited before binding UDP port $2"
        sleep 0.1
        i=$((i + 1))
    done
}

# ----------------------------------------------------------------- topology
ip netns add "$NS_R"
ip netns add "$NS_C"
ip link add vr netns "$NS_R" type veth peer name vc netns "$NS_C"
ip -n "$NS_R" addr add "$RELAY_IP/24" dev vr
ip -n "$NS_C" addr add "$CLIENT_IP/24" dev vc
for ns in "$NS_R" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_R" link set vr up
ip -n "$NS_C" link set vc up
ip -n "$NS_R" route add 198.51.100.0/24 dev vr
ip -n "$NS_C" route add 203.0.113.0/24 dev vc

# ----------------------------------------------------------------- the relay
# Started by `ip netns exec` itself, so that $! is the relay's own pid.
ip netns exec "$NS_R" "$FLOE_BIN_DIR/floe-relay" --listen "$RELAY_IP:3478" \
    --relay-ports "$PORTS" --threads 2 --user alice:secret --log-file "$TMP/relay.log" \
    --log-level debug &
RELAY_PID=$!
wait_udp_in "$NS_R" 3478 "$RELAY_PID"

# ------------------------------------------------------- relay to relay, both ways
echo "--- client to client through the relay (turnutils_uclient -y)"
out="$TMP/uclient.out"
C timeout 60 turnutils_uclient -y -u alice -w secret -n 30 -l 120 -m 4 -c -p 3478 "$RELAY_IP" \
    >"$out" 2>&1 || {
    cat "$out" >&2
    fail "turnutils_uclient -y exited non-zero"
}
sent=$(sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
recv=$(sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
[ -n "$sent" ] && [ "$sent" -gt 0 ] || {
    cat "$out" >&2
    fail "uclient sent nothing"
}
[ "$sent" = "$recv" ] || {
    cat "$out" >&2
    fail "relay to relay: sent $sent, received $recv"
}
echo "relay to relay: $sent messages sent, $recv received"
jq -e -s --arg ip "$RELAY_IP" \
    '[.[] | select(.message == "allocation created") | .addr | startswith($ip + ":")] |
     length >= 4 and all' "$TMP/relay.log" >/dev/null ||
    fail "the relay log lacks the allocations on $RELAY_IP"

# ------------------------------------------------------------ DONT-FRAGMENT honoured
# A peer behind a 1280-byte route: 1400-byte datagrams reach it fragmented, unless the
# Allocate asked for DONT-FRAGMENT (-g): then the relayed socket sends with DF and the
# kernel refuses them (RFC 8656 section 7.2), so none comes back.
echo "--- DONT-FRAGMENT: no fragments from the relayed socket"
ip -n "$NS_C" addr add 198.51.100.99/24 dev vc
ip -n "$NS_R" route add 198.51.100.99/32 dev vr mtu 1280
ip netns exec "$NS_C" turnutils_peer -L 198.51.100.99 -p 3480 >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
wait_udp_in "$NS_C" 3480 "$PEER_PID"
for df in no yes; do
    flag=""
    [ "$df" = yes ] && flag="-g"
    C timeout 60 turnutils_uclient -u alice -w secret -e 198.51.100.99 -r 3480 -n 10 -l 1400 \
        -c $flag -p 3478 "$RELAY_IP" >"$TMP/df-$df.out" 2>&1 || true
    recv=$(sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' "$TMP/df-$df.out" | tail -1)
    sent=$(sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' "$TMP/df-$df.out" | tail -1)
    echo "DONT-FRAGMENT $df: $sent sent, $recv back"
    [ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "DONT-FRAGMENT $df: uclient sent nothing"
    if [ "$df" = no ]; then
        [ "$recv" = "$sent" ] || fail "without DONT-FRAGMENT: sent $sent, got $recv back"
    else
        [ "$recv" = 0 ] || fail "with DONT-FRAGMENT: $recv of $sent came back fragmented"
    fi
done
stop_pid "$PEER_PID"
PEER_PID=""

# ------------------------------------------------ its listening port stays refused
echo "--- the relay's listening port and ports outside the range are refused"
for peer in "$RELAY_IP:3478" "$RELAY_IP:40000"; do
    rc=0
    C "$FLOE_BIN_DIR/floe" turn --timeout 5 --server "$RELAY_IP:3478" --user alice \
        --password secret --peer "$peer" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "peer $peer: floe turn exited $rc"
    grep -q "403" "$TMP/err" || fail "peer $peer: $(cat "$TMP/err")"
done
kill -0 "$RELAY_PID" || fail "floe-relay died"

# -------------------------- a wildcard listen address: every host address is the relay's
echo "--- with --listen 0.0.0.0:3478, the host's other address is refused as a peer"
stop_pid "$RELAY_PID"
RELAY_PID=""
ip -n "$NS_R" addr add 203.0.113.7/24 dev vr
ip netns exec "$NS_R" "$FLOE_BIN_DIR/floe-relay" --listen 0.0.0.0:3478 --relay-ip "$RELAY_IP" \
    --relay-ports "$PORTS" --user alice:secret --log-file "$TMP/relay.log" &
RELAY_PID=$!
wait_udp_in "$NS_R" 3478 "$RELAY_PID"
rc=0
C "$FLOE_BIN_DIR/floe" turn --timeout 5 --server "$RELAY_IP:3478" --user alice \
    --password secret --peer 203.0.113.7:4000 >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "403" "$TMP/err" || fail "peer 203.0.113.7: exit $rc, $(cat "$TMP/err")"

# --------------------------------------- the range against the kernel's ephemeral ports
echo "--- --relay-ports inside ip_local_port_range is logged at start; outside it is not"
grep -q '"severity":"WARN","message":"--relay-ports overlaps the kernel.s ephemeral ports' \
    "$TMP/relay.log" || fail "no warning for $PORTS inside $(R sysctl -n net.ipv4.ip_local_port_range)"
stop_pid "$RELAY_PID"
RELAY_PID=""
R sysctl -qw net.ipv4.ip_local_port_range="61000 65000"
ip netns exec "$NS_R" "$FLOE_BIN_DIR/floe-relay" --listen "$RELAY_IP:3478" \
    --relay-ports "$PORTS" --user alice:secret --log-file "$TMP/relay2.log" &
RELAY_PID=$!
i=0
until grep -q '"message":"floe-relay started"' "$TMP/relay2.log" 2>/dev/null; do
    [ "$i" -lt 100 ] || fail "the second floe-relay did not start"
    sleep 0.1
    i=$((i + 1))
done
sleep 0.2
grep -q 'ephemeral' "$TMP/relay2.log" && fail "a warning for a range outside the ephemeral ports"
# The help into a file first: grep -q stops reading at its match, and with pipefail the
# writer's SIGPIPE would fail the check.
"$FLOE_BIN_DIR/floe-relay" --help >"$TMP/help.txt"
for flag in --unauth-source-rate --no-software --allow-peer "relay to relay"; do
    grep -qF -- "$flag" "$TMP/help.txt" || fail "--help lacks $flag"
done
echo PASS
