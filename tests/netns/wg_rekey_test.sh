#!/usr/bin/env bash
# Rekey after REKEY_AFTER_TIME against wireguard-go (issue 9, item 16). floe-wg runs with
# FLOE_WG_TEST_CLOCK_RATE=20 (its protocol clock 20 times as fast: REKEY_AFTER_TIME, 120 s,
# comes after 6 s), wireguard-go on the real clock, in two namespaces joined by a veth.
# floe-wg initiates; during 24 s of pings (480 s of floe-wg's time) it must start at least
# three new handshakes as its keys age, wireguard-go must answer each, and the pings must
# go on through every key change (at most 2 of 120 lost).
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip wg wireguard-go ping
need_bin floe-wg

TMP=$(mktemp -d)
NS_A="floe-wgr-a-$$"
NS_B="floe-wgr-b-$$"
IF_A="fra$$"
IF_B="frb$$"
PID_A=""
PID_B=""

cleanup() {
    local rc=$?
    stop_pid "$PID_A"
    stop_pid "$PID_B"
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        echo "--- floe-wg log" >&2
        tail -n 20 "$TMP/floe.log" >&2 || true
        echo "--- wireguard-go log" >&2
        grep -i handshake "$TMP/wggo.log" | tail -n 20 >&2 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add vA netns "$NS_A" type veth peer name vB netns "$NS_B"
ip -n "$NS_A" addr add 10.77.0.1/24 dev vA
ip -n "$NS_B" addr add 10.77.0.2/24 dev vB
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set vA up
ip -n "$NS_B" link set vB up

ip netns exec "$NS_A" env FLOE_WG_TEST_CLOCK_RATE=20 "$FLOE_BIN_DIR/floe-wg" --foreground \
    --log-file "$TMP/floe.log" "$IF_A" &
PID_A=$!
ip netns exec "$NS_B" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose wireguard-go "$IF_B" \
    >"$TMP/wggo.log" 2>&1 &
PID_B=$!
for _ in $(seq 50); do
    [ -S "/var/run/wireguard/$IF_A.sock" ] && [ -S "/var/run/wireguard/$IF_B.sock" ] && break
    sleep 0.1
done
[ -S "/var/run/wireguard/$IF_A.sock" ] || fail "floe-wg made no UAPI socket"
[ -S "/var/run/wireguard/$IF_B.sock" ] || fail "wireguard-go made no UAPI socket"

umask 077
wg genkey >"$TMP/key_a"
wg genkey >"$TMP/key_b"
PUB_A=$(wg pubkey <"$TMP/key_a")
PUB_B=$(wg pubkey <"$TMP/key_b")
A wg set "$IF_A" private-key "$TMP/key_a" listen-port 51820 \
    peer "$PUB_B" allowed-ips 10.78.0.2/32 endpoint 10.77.0.2:51821
B wg set "$IF_B" private-key "$TMP/key_b" listen-port 51821 \
    peer "$PUB_A" allowed-ips 10.78.0.1/32 endpoint 10.77.0.1:51820
ip -n "$NS_A" addr add 10.78.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 10.78.0.2/24 dev "$IF_B"
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up

A ping -c 2 -i 0.2 -W 3 10.78.0.2 >/dev/null || fail "no first ping floe-wg -> wireguard-go"
FIRST=$(grep -c "Received handshake initiation" "$TMP/wggo.log" || true)
[ "$FIRST" -ge 1 ] || fail "wireguard-go saw no initiation from floe-wg"

# 120 pings over 24 s: 480 s of floe-wg's clock, REKEY_AFTER_TIME four times over.
LOSS=$(A ping -c 120 -i 0.2 -W 1 10.78.0.2 | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$LOSS" ] || fail "ping printed no summary"
LOST=$((120 - LOSS))
REKEYS=$(($(grep -c "Received handshake initiation" "$TMP/wggo.log") - FIRST))
RESPONSES=$(grep -c "Sending handshake response" "$TMP/wggo.log" || true)
echo "ok: $REKEYS rekeys by floe-wg answered by wireguard-go ($RESPONSES responses), $LOST of 120 pings lost"
[ "$REKEYS" -ge 3 ] || fail "floe-wg started $REKEYS new handshakes in 480 s of its time, not >= 3"
[ "$REKEYS" -le 12 ] || fail "floe-wg started $REKEYS handshakes: more than its keys' age asks"
[ "$RESPONSES" -ge $((FIRST + 3)) ] || fail "wireguard-go answered $RESPONSES handshakes"
[ "$LOST" -le 2 ] || fail "$LOST of 120 pings lost across the key changes"
[ "$(grep -c '"message":"handshake complete"' "$TMP/floe.log")" -ge 4 ] ||
    fail "floe-wg logged fewer than 4 completed handshakes"
kill -0 "$PID_A" || fail "floe-wg died"
echo "PASS"
