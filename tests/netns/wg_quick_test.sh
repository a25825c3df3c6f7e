#!/usr/bin/env bash
# wg-quick(8) with floe-wg as its userspace implementation (WG_QUICK_USERSPACE_IMPLEMENTATION),
# in two network namespaces joined by a veth: `wg-quick up` of a configuration file in
# namespace A (floe-wg, started and detached by wg-quick) against wireguard-go in namespace
# B; a ping through the tunnel; `wg-quick down` deletes the interface and floe-wg exits and
# removes its socket. wg-quick only falls back to a userspace implementation when the kernel
# has no WireGuard module, so the test fails loudly on a kernel that has one.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip wg wg-quick wireguard-go ping ss
need_bin floe-wg

TMP=$(mktemp -d)
BIN=$FLOE_BIN_DIR
IF_A="fq$$"
IF_B="gq$$"
FLOE_PID=""
# shellcheck source=../../scripts/wg_netns.sh
. "$FLOE_SOURCE_DIR/scripts/wg_netns.sh"

cleanup() {
    local rc=$?
    stop_pid "$FLOE_PID"
    wgns_cleanup
    if [ "$rc" -ne 0 ]; then
        echo "--- wg-quick" >&2
        cat "$TMP/quick.out" >&2 2>/dev/null || true
        echo "--- floe-wg log" >&2
        tail -n 30 "$TMP/floe.log" >&2 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ -e /sys/module/wireguard ]; then
    fail "this kernel has the WireGuard module: wg-quick would not run floe-wg"
fi

wgns_create floe-wgq
wgns_start "$NS_B" "$IF_B" wireguard-go
wgns_setup "$NS_B" "$IF_B" "$TMP/kb" "$TMP/ka" 10.78.0.2 10.78.0.1 51821 51820 10.77.0.1

# wg-quick runs "$WG_QUICK_USERSPACE_IMPLEMENTATION IFNAME": a wrapper adds the log file.
cat >"$TMP/floe-wg-quick" <<EOF
#!/bin/sh
exec "$BIN/floe-wg" --log-file "$TMP/floe.log" "\$@"
EOF
chmod +x "$TMP/floe-wg-quick"
cat >"$TMP/$IF_A.conf" <<EOF
[Interface]
PrivateKey = $(cat "$TMP/ka")
ListenPort = 51820
Address = 10.78.0.1/24

[Peer]
PublicKey = $(wg pubkey <"$TMP/kb")
AllowedIPs = 10.78.0.2/32
Endpoint = 10.77.0.2:51821
EOF
chmod 600 "$TMP/$IF_A.conf"

ip netns exec "$NS_A" env WG_QUICK_USERSPACE_IMPLEMENTATION="$TMP/floe-wg-quick" \
    wg-quick up "$TMP/$IF_A.conf" >"$TMP/quick.out" 2>&1 || fail "wg-quick up failed"
grep -q "userspace implementation" "$TMP/quick.out" || fail "wg-quick did not fall back to floe-wg"
FLOE_PID=$(ip netns exec "$NS_A" ss -xlpn | grep -F "/var/run/wireguard/$IF_A.sock" |
    sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
[ -n "$FLOE_PID" ] || fail "no process serves /var/run/wireguard/$IF_A.sock"
grep -q floe-wg "/proc/$FLOE_PID/cmdline" || fail "the socket is not floe-wg's"
echo "ok: wg-quick up started floe-wg (pid $FLOE_PID)"

[ "$(ip netns exec "$NS_A" wg show "$IF_A" public-key)" = "$(wg pubkey <"$TMP/ka")" ] ||
    fail "wg show reports another key"
ip -n "$NS_A" -4 addr show dev "$IF_A" | grep -q "10.78.0.1/24" || fail "no address on $IF_A"
ip -n "$NS_A" link show dev "$IF_A" | grep -q "mtu 1420" || fail "wg-quick did not set MTU 1420"
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 3 10.78.0.2 >/dev/null || fail "no ping through the tunnel"
ip netns exec "$NS_A" wg show "$IF_A" latest-handshakes | awk '{exit !($2 > 0)}' ||
    fail "wg show reports no handshake"
echo "ok: ping through floe-wg set up by wg-quick, handshake shown"

ip netns exec "$NS_A" wg-quick down "$TMP/$IF_A.conf" >>"$TMP/quick.out" 2>&1 ||
    fail "wg-quick down failed"
wait_exit "$FLOE_PID" "floe-wg still runs after wg-quick down"
FLOE_PID=""
[ ! -e "/var/run/wireguard/$IF_A.sock" ] || fail "floe-wg left its socket"
grep -q '"interface '"$IF_A"' deleted"' "$TMP/floe.log" || fail "floe-wg did not log the deletion"
echo "ok: wg-quick down: floe-wg exited and removed its socket"
echo "PASS"
