#!/usr/bin/env bash
# Issue 14, part 3: floe-client.exe's data path under Wine against the real portal and gateway.
# The topology of tests/e2e/topo.sh (namespaces, NATs, the Linux floe-portal with TLS, floe-relay,
# floe-gateway 1 on the site beside the resource host); in the client's namespace, instead of
# the Linux client, floe-client.exe under wine64 with a Wine prefix of its own (so that its
# wineserver, which owns Wine's sockets, lives in that namespace), beside the wintun.dll double
# bridged to UDP (FLOE_WINTUN_DOUBLE_UDP) and linked with the netcfg double
# (client_wine/netcfg_wrap.c, calls logged to FLOE_NETCFG_DOUBLE_LOG). The client joins the
# portal, gets its tunnel address and the resource's route through the netcfg table, and asks
# for no authorization until ICMP echo requests injected into the double's ring
# (client_wine/tun.py) start it and the connection to the gateway; the resource's echo replies
# to the requests held meanwhile, then to more over the established connection, come back out
# of the ring; `floe-client.exe status` reports the connection; a resource no policy allows
# gets nothing. All of it with a stand-in of a 0.0.0.0/0 resource's route catching everything
# (floetun0 below): floe's own datagrams leave through wifi0 all the same (IP_UNICAST_IF).
# Nothing is skipped: a missing tool or program fails the test.
# Usage: client_wine_test.sh CLIENT_EXE WINE WINESERVER WINEPREFIX (the run's prefix, copied)
set -euo pipefail
CLIENT_EXE=$1 WINE=$2 WINESERVER=$3 PREFIX_SRC=$4
: "${FLOE_NATIVE_BIN_DIR:?FLOE_NATIVE_BIN_DIR must name the bin directory of the Linux build}"
export FLOE_BIN_DIR=$FLOE_NATIVE_BIN_DIR # portal, gateway, relay, floe: the Linux programs
TMP=$(mktemp -d)
WP=$TMP/wineprefix
TUN_PORT=5301 # the double's bridge and the status listener, on the client namespace's loopback
CTL_PORT=5302
TUN_PY=$FLOE_SOURCE_DIR/tests/windows/client_wine/tun.py
# shellcheck source=../e2e/e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
# shellcheck source=wine_lib.sh
. "$FLOE_SOURCE_DIR/tests/windows/wine_lib.sh"

on_exit() {
    local rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 30 "$TMP/client.log" "$TMP/client.out" "$TMP/gw1.log" "$TMP/netcfg.log" >&2 2>/dev/null || true
    fi
    e2e_keep_logs
    topo_down
    wine_down
    rm -rf "$TMP"
}
trap 'exit 130' INT TERM
trap on_exit EXIT

need_tool ip nft openssl curl python3 jq
need_bin floe floe-relay floe-portal floe-gateway
wine_need_client
[ -f "$(dirname "$CLIENT_EXE")/wintun.dll" ] || fail "no wintun.dll double beside $CLIENT_EXE"
wine_own_prefix

topo_up
topo_enroll
topo_relay
topo_portal
topo_gateway 1

# client_status: the client's status JSON into $TMP/status.json.
client_status() {
    in_ns "$NS_CLI" python3 "$TUN_PY" status "$CTL_PORT" >"$TMP/status.json" 2>/dev/null
}
# res_intents: the intents counted for the resource $RES_IP/32 in $TMP/status.json.
res_intents() {
    jq -r --arg a "$RES_IP/32" '[.resources[] | select(.address == $a)][0].intents' \
        "$TMP/status.json"
}
client_joined() {
    client_status && [ "$(jq -r .portal "$TMP/status.json")" = joined ]
}

# A resource of 0.0.0.0/0 on Windows routes everything into the tunnel. Its stand-in here: a veth
# (floetun0, its peer in the same namespace: what goes in reaches nothing) with 0.0.0.0/1 and
# 128.0.0.0/1 through it, more specific than the default route. floe's own datagrams to the
# relay and the gateway get through only bound out of it (IP_UNICAST_IF on wifi0, chosen with
# floetun0 excluded as the tunnel is). Linux's IP_UNICAST_IF, which Wine's is, steers datagrams
# only, not a TCP connection: the portal keeps a host route of its own (the portal connection's
# binding is only compile-checked here).
ip -n "$NS_CLI" link add floetun0 type veth peer name floetun0p
ip -n "$NS_CLI" link set floetun0p up
ip -n "$NS_CLI" link set floetun0 up
ip -n "$NS_CLI" route add 0.0.0.0/1 dev floetun0
ip -n "$NS_CLI" route add 128.0.0.0/1 dev floetun0
ip -n "$NS_CLI" route add "$PORTAL_IP/32" via 192.168.1.1 dev wifi0
TUNNEL_IFINDEX=$(ip -n "$NS_CLI" -o link show floetun0 | cut -d: -f1)
WIFI_IFINDEX=$(ip -n "$NS_CLI" -o link show wifi0 | cut -d: -f1)
[ -n "$TUNNEL_IFINDEX" ] && [ -n "$WIFI_IFINDEX" ] || fail "no floetun0 or wifi0 in $NS_CLI"

topo_bg client "$NS_CLI" env WINEPREFIX="$WP" WINEDEBUG=-all "WINEDLLOVERRIDES=mscoree,mshtml=" \
    FLOE_WINTUN_DOUBLE_UDP=$TUN_PORT "FLOE_NETCFG_DOUBLE_LOG=Z:$TMP/netcfg.log" \
    FLOE_NETCFG_DOUBLE_TUNNEL_IFINDEX="$TUNNEL_IFINDEX" \
    "$WINE" "$CLIENT_EXE" --portal "$PORTAL_URL" --token-file "Z:$TMP/client.token" \
    --ca-file "Z:$TMP/ca.pem" --foreground --interface floe0 \
    --control-socket "127.0.0.1:$CTL_PORT" --log-level debug --log-file "Z:$TMP/client.log"
# A new prefix's first program starts its wineserver (seconds on a busy machine).
topo_wait "floe-client.exe did not join the portal within 60 s: $(tail -n 5 "$TMP/client.log" \
    "$TMP/client.out" 2>/dev/null)" 600 client_joined
topo_wait "no tunnel address through the netcfg double" 100 grep -q '^addr 100\.' "$TMP/netcfg.log"
TUN_IP=$(sed -n 's|^addr \(100\.[0-9.]*\)/32 rc=0$|\1|p' "$TMP/netcfg.log" | tail -n 1)
[ -n "$TUN_IP" ] || fail "the tunnel address was not set: $(cat "$TMP/netcfg.log")"
topo_wait "no route to the resource through the netcfg double" 100 \
    grep -qx "route $RES_IP/32 rc=0" "$TMP/netcfg.log"
grep -qx "mtu 4 [0-9]* rc=0" "$TMP/netcfg.log" || fail "no MTU set: $(cat "$TMP/netcfg.log")"
grep -qx "sock_iface 4 $WIFI_IFINDEX rc=0" "$TMP/netcfg.log" ||
    fail "the UDP socket was not bound to wifi0 ($WIFI_IFINDEX): $(cat "$TMP/netcfg.log")"
if grep -q "^sock_iface [46] $TUNNEL_IFINDEX " "$TMP/netcfg.log"; then
    fail "a socket was bound to the tunnel's stand-in: $(cat "$TMP/netcfg.log")"
fi
echo "floe-client.exe joined; tunnel address $TUN_IP"
# No authorization and no connection before the first packet to the resource.
client_status || fail "no status from floe-client.exe"
if [ "$(res_intents)" != 0 ] || [ "$(jq -r '.connections | length' "$TMP/status.json")" != 0 ]; then
    fail "an intent or a connection before any packet: $(cat "$TMP/status.json")"
fi

in_ns "$NS_CLI" python3 "$TUN_PY" ping "$TUN_PORT" "$TUN_IP" "$RES_IP" 3 30 >"$TMP/ping.out" ||
    fail "no echo replies from $RES_IP through floe-client.exe: $(cat "$TMP/ping.out")"
cat "$TMP/ping.out"
# Then over the established connection (the first ones were held while it was set up).
in_ns "$NS_CLI" python3 "$TUN_PY" ping "$TUN_PORT" "$TUN_IP" "$RES_IP" 5 10 >"$TMP/ping.out" ||
    fail "echo replies stopped once connected: $(cat "$TMP/ping.out")"
tail -n 1 "$TMP/ping.out"
client_status || fail "no status from floe-client.exe"
[ "$(jq -r '.connections[0].established' "$TMP/status.json")" = true ] ||
    fail "no established connection: $(cat "$TMP/status.json")"
[ "$(res_intents)" -ge 1 ] || fail "no intent sent for the resource: $(cat "$TMP/status.json")"
echo "path: $(jq -r '.connections[0].path' "$TMP/status.json")"
# floe-client.exe status (status_cmd.c) asks the running client over its TCP listener.
in_ns "$NS_CLI" env WINEPREFIX="$WP" WINEDEBUG=-all "WINEDLLOVERRIDES=mscoree,mshtml=" \
    "$WINE" "$CLIENT_EXE" status --json --control-socket "127.0.0.1:$CTL_PORT" \
    >"$TMP/exe-status.json" 2>&1 || fail "floe-client.exe status failed: $(cat "$TMP/exe-status.json")"
[ "$(tr -d '\r' <"$TMP/exe-status.json" | jq -r '.connections[0].established')" = true ] ||
    fail "floe-client.exe status: $(cat "$TMP/exe-status.json")"
in_ns "$NS_CLI" python3 "$TUN_PY" silent "$TUN_PORT" "$TUN_IP" "$RES_DENIED_IP" 3 \
    >"$TMP/denied.out" || fail "a resource no policy allows answered: $(cat "$TMP/denied.out")"
echo "ok: floe-client.exe under Wine reached $RES_IP through floe-gateway (wintun and netcfg doubles)"
