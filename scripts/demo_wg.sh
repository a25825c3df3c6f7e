#!/usr/bin/env bash
# The WireGuard part of the demo: floe-wg (floe's userspace WireGuard interface) and Debian's
# wireguard-go, each in its own network namespace joined by a veth, configured with wg(8);
# a ping through the tunnel each way, then `wg show` on the floe-wg side. Needs root.
# Usage: bash scripts/demo_wg.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: bash scripts/demo_wg.sh BUILD_DIR}
FLOE_WG=$BUILD/bin/floe-wg
[ -x "$FLOE_WG" ] || { echo "demo: $FLOE_WG not built" >&2; exit 1; }
for t in ip wg wireguard-go ping; do
    command -v "$t" >/dev/null || { echo "demo: $t not installed (make deps)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "demo: the WireGuard demo needs root (namespaces)" >&2; exit 1; }

TMP=$(mktemp -d)
NS_A="floe-demo-a-$$"
NS_B="floe-demo-b-$$"
IF_A="floe$$"
IF_B="wggo$$"
PID_A=""
PID_B=""
cleanup() {
    local p
    for p in "$PID_A" "$PID_B"; do
        [ -n "$p" ] || continue
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add vA netns "$NS_A" type veth peer name vB netns "$NS_B"
ip -n "$NS_A" addr add 10.77.0.1/24 dev vA
ip -n "$NS_B" addr add 10.77.0.2/24 dev vB
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set vA up
ip -n "$NS_B" link set vB up

ip netns exec "$NS_A" "$FLOE_WG" --foreground --log-file "$TMP/floe-wg.jsonl" "$IF_A" &
PID_A=$!
ip netns exec "$NS_B" env WG_PROCESS_FOREGROUND=1 wireguard-go "$IF_B" >"$TMP/wggo.log" 2>&1 &
PID_B=$!
for _ in $(seq 50); do
    [ -S "/var/run/wireguard/$IF_A.sock" ] && [ -S "/var/run/wireguard/$IF_B.sock" ] && break
    sleep 0.1
done

umask 077
wg genkey >"$TMP/a.key"
wg genkey >"$TMP/b.key"
ip netns exec "$NS_A" wg set "$IF_A" private-key "$TMP/a.key" listen-port 51820 \
    peer "$(wg pubkey <"$TMP/b.key")" allowed-ips 10.78.0.2/32 endpoint 10.77.0.2:51821
ip netns exec "$NS_B" wg set "$IF_B" private-key "$TMP/b.key" listen-port 51821 \
    peer "$(wg pubkey <"$TMP/a.key")" allowed-ips 10.78.0.1/32 endpoint 10.77.0.1:51820
ip -n "$NS_A" addr add 10.78.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 10.78.0.2/24 dev "$IF_B"
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up

echo "floe-wg ($IF_A, 10.78.0.1) in $NS_A <-> wireguard-go ($IF_B, 10.78.0.2) in $NS_B"
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 3 10.78.0.2
ip netns exec "$NS_B" ping -c 3 -i 0.2 -W 3 10.78.0.1
echo
ip netns exec "$NS_A" wg show "$IF_A"
