#!/usr/bin/env bash
# The end-to-end topology itself (tests/e2e/topo.sh, issue 13): built, checked and removed.
# The portal answers over TLS (test CA, name portal.test) from the client's and a gateway's
# network; floe-relay answers STUN; the client is seen behind its wifi NAT's public address,
# then after a roam (wifi down, cellular up with a new address, default route moved) behind
# the cellular NAT's; 25 ms each way on the access link and on the site's uplink (the delay
# line: RTT client -> relay and gateway -> relay >= 50 ms), none with the delay lines bridged
# out (topo_delay off: RTT < 10 ms, more than the delay line's 0.25 Gbit/s) and back again; the
# resource's HTTP file reaches the site's gateway with its sha256 while the client, outside
# the tunnel, cannot reach the resource. A second run with symmetric NATs (fully-random) that
# fails on purpose half-way leaves no namespace, /etc/netns folder or process behind.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_tool ip nft tc openssl curl python3 iperf3 sha256sum ping jq
need_bin floe floe-relay floe-portal delayline

TMP=$(mktemp -d)
# shellcheck source=topo.sh
. "$FLOE_SOURCE_DIR/tests/e2e/topo.sh"
trap 'exit 130' INT TERM
trap 'topo_down; rm -rf "$TMP"' EXIT

# reflexive: the client's server-reflexive address as floe-relay sees it.
reflexive() {
    in_ns "$NS_CLI" "$FLOE_BIN_DIR/floe" stun --json --timeout 2 "$RELAY_IP:$RELAY_PORT" |
        jq -r .reflexive
}

topo_up
topo_enroll
topo_relay
topo_portal
in_ns "$NS_GW1" curl -fsS --max-time 5 --cacert "$TMP/ca.pem" "https://$PORTAL_NAME/healthz" \
    >/dev/null || fail "the gateway's network does not reach the portal over TLS"
if in_ns "$NS_CLI" curl -fsS --max-time 5 "https://$PORTAL_NAME/healthz" >/dev/null 2>&1; then
    fail "the portal's certificate passed without the test CA"
fi
[ "$(topo_admin --json relays list | jq length)" = 1 ] || fail "the relay is not enrolled"

addr=$(reflexive)
[ "${addr%:*}" = "$WIFI_PUBLIC" ] || fail "on wifi the client is seen as $addr, not $WIFI_PUBLIC"
# rtt_min NS: the least RTT of 3 pings from NS to the relay (ms).
rtt_min() {
    in_ns "$1" ping -c 3 -i 0.2 -q "$RELAY_IP" >"$TMP/ping" || fail "no ping from $1 to the relay"
    sed -n 's|.* = \([0-9.]*\)/.*|\1|p' "$TMP/ping"
}
rtt=$(rtt_min "$NS_CLI")
awk -v r="$rtt" 'BEGIN { exit !(r >= 50 && r < 150) }' ||
    fail "RTT client -> relay is $rtt ms, not 50 ms of delay plus a little"
rtt=$(rtt_min "$NS_GW1")
awk -v r="$rtt" 'BEGIN { exit !(r >= 50 && r < 150) }' ||
    fail "RTT gateway -> relay is $rtt ms, not 50 ms of delay plus a little"

# The delay lines bridged out (topo_delay off) and back: the same links at line rate, then
# the delay again.
gbits() {
    in_ns "$1" iperf3 -c 198.51.100.1 -t 1 -J >"$TMP/iperf.json" || fail "iperf3 from $1"
    jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' "$TMP/iperf.json"
}
topo_bg iperf-inet "$NS_INET" iperf3 -s -B 198.51.100.1
inet_listening() {
    [ -n "$(in_ns "$NS_INET" ss -Hltn 'sport = :5201')" ]
}
topo_wait "no iperf3 server in the internet" 50 inet_listening
dl_pid=$(topo_pid "$NS_SDL")
topo_delay off
! kill -0 "$dl_pid" 2>/dev/null || fail "topo_delay off left the site's delay line running"
for ns in "$NS_CLI" "$NS_GW1"; do
    rtt=$(rtt_min "$ns")
    awk -v r="$rtt" 'BEGIN { exit !(r < 10) }' || fail "RTT $ns -> relay is $rtt ms without delay"
    rate=$(gbits "$ns")
    # The delay line alone carries about 0.25 Gbit/s: more is the kernel bridge.
    awk -v g="$rate" 'BEGIN { exit !(g > 0.3) }' ||
        fail "$ns -> internet moved $rate Gbit/s without the delay line (it caps at 0.25)"
    echo "no delay: $ns -> relay RTT $rtt ms, -> internet $rate Gbit/s"
done
topo_delay on
for ns in "$NS_CLI" "$NS_GW1"; do
    rtt=$(rtt_min "$ns")
    awk -v r="$rtt" 'BEGIN { exit !(r >= 50 && r < 150) }' ||
        fail "RTT $ns -> relay is $rtt ms once the delay lines are back, not 50 ms and a little"
done
topo_stop iperf-inet

topo_http 8
in_ns "$NS_GW1" curl -fsS --max-time 20 -o "$TMP/got" "http://$RES_IP:$HTTP_PORT/file" ||
    fail "the gateway cannot download from the resource"
[ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
    fail "the resource's file arrived with another sha256"
[ "$(stat -c %s "$TMP/got")" = $((8 * 1024 * 1024)) ] || fail "the file is not 8 MiB"
if in_ns "$NS_CLI" curl -fsS --max-time 2 -o /dev/null "http://$RES_IP:$HTTP_PORT/file" \
    2>/dev/null; then
    fail "the client reaches the resource outside the tunnel"
fi
in_ns "$NS_GW1" iperf3 -c "$RES_IP" -t 1 -J >"$TMP/iperf.json" || fail "iperf3 to the resource"

topo_roam
[ -n "$TOPO_T_USABLE" ] || fail "topo_roam set no time"
ip -n "$NS_CLI" route show default >"$TMP/route"
grep -q 'via 172.16.1.1 dev cell0' "$TMP/route" || fail "default route not moved: $(cat "$TMP/route")"
ip -n "$NS_CLI" -br link show wifi0 >"$TMP/wifi"
grep -q DOWN "$TMP/wifi" || fail "wifi0 still up after the roam"
ip -n "$NS_CLI" -4 -br addr show cell0 >"$TMP/cell"
grep -q '172.16.1.3/24' "$TMP/cell" || fail "cell0 has not its new address: $(cat "$TMP/cell")"
addr=$(reflexive)
[ "${addr%:*}" = "$CELL_PUBLIC" ] || fail "on cellular the client is seen as $addr"
topo_roam
addr=$(reflexive)
[ "${addr%:*}" = "$WIFI_PUBLIC" ] || fail "back on wifi the client is seen as $addr"
ip -n "$NS_CLI" -4 -br addr show wifi0 >"$TMP/wifi"
grep -q '192.168.1.4/24' "$TMP/wifi" || fail "wifi0 came back without a new address"
topo_down

# A symmetric topology whose test fails half-way: its trap removes everything.
cat >"$TMP/child.sh" <<EOS
set -euo pipefail
. "\$FLOE_SOURCE_DIR/tests/interop/lib.sh"
TMP=\$(mktemp -d -p "$TMP")
TOPO_SYMMETRIC=1
. "\$FLOE_SOURCE_DIR/tests/e2e/topo.sh"
trap 'topo_down' EXIT
topo_up
topo_relay
printf '%s\n' "\${TOPO_NS[@]}" >"$TMP/child.ns"
topo_pid relay >"$TMP/child.relay"
topo_pid "\$NS_WDL" >>"$TMP/child.relay"
in_ns "\$NS_WNAT" nft list ruleset >"$TMP/child.nft"
fail "deliberate failure"
EOS
rc=0
bash "$TMP/child.sh" 2>"$TMP/child.err" || rc=$?
[ "$rc" = 1 ] || fail "the child test exited $rc: $(cat "$TMP/child.err")"
grep -q fully-random "$TMP/child.nft" ||
    fail "TOPO_SYMMETRIC=1 made no fully-random NAT: $(cat "$TMP/child.err")"
[ "$(wc -l <"$TMP/child.ns")" = 13 ] || fail "the child did not list its 13 namespaces"
ip netns list >"$TMP/netns"
while read -r ns; do
    ! grep -qw "$ns" "$TMP/netns" || fail "namespace $ns left behind"
    [ ! -e "/etc/netns/$ns" ] || fail "/etc/netns/$ns left behind"
done <"$TMP/child.ns"
[ "$(wc -l <"$TMP/child.relay")" = 2 ] || fail "the child recorded no relay or delay line pid"
while read -r pid; do
    ! kill -0 "$pid" 2>/dev/null || fail "the child's process $pid (relay, delay line) left running"
done <"$TMP/child.relay"
echo "ok: e2e topology (TLS portal, relay, NATs, delay lines on and off, roam, cleanup on failure)"
