#!/usr/bin/env bash
# Issue 13, the data path's quality: iperf3 TCP (5 s each) from the laptop to the resource
# through floe-client -> floe-gateway, relayed (UDP between the NATs dropped) and then direct.
# Every link of the topology is lossless (the delay lines drop nothing below their 16 MiB
# queue), so TCP must retransmit almost nothing: at most 1% of the segments sent (a floe-wg pair
# over the same links retransmits 0-2 segments). The agents' UDP sockets with the kernel's
# default buffers (about 200 KiB) overflowed at the gateway (nstat UdpRcvbufErrors) and TCP
# retransmitted 3-25% of its segments. Prints each run's rate, retransmits and the socket
# drops of the client's and the gateway's namespaces and status (udp.socket_drops).
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
SECS=5
MSS=1240 # the tunnel's MTU (1280) less the IPv4 and TCP headers

# rcvbuf_errors NS: UdpRcvbufErrors of NS so far (/proc/net/snmp, absolute: nstat's history
# file is shared by every namespace).
rcvbuf_errors() {
    in_ns "$1" cat /proc/net/snmp >"$TMP/snmp.out"
    awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 }
        else print $c }' "$TMP/snmp.out"
}

# socket_drops NS SOCK: the UDP socket_drops and send_dropped of the agent answering on SOCK
# in NS.
socket_drops() {
    in_ns "$1" "$FLOE_BIN_DIR/floe-client" status --json --control-socket "$2" >"$TMP/st.json" &&
        jq -r '"\(.udp.socket_drops) (send_dropped \(.udp.send_dropped))"' "$TMP/st.json"
}

# iperf_check LABEL: SECS s of iperf3 to the resource; fails when TCP retransmitted more than
# 1% of the segments it sent.
iperf_check() {
    local sent retr segs cli0 gw0 drops_cli drops_gw
    cli0=$(rcvbuf_errors "$NS_CLI")
    gw0=$(rcvbuf_errors "$NS_GW1")
    in_ns "$NS_CLI" iperf3 -c "$RES_IP" -t "$SECS" -J >"$TMP/iperf.json" ||
        fail "iperf3 $1: $(jq -r .error "$TMP/iperf.json" 2>/dev/null)"
    sent=$(jq -r '.end.sum_sent.bytes' "$TMP/iperf.json")
    retr=$(jq -r '.end.sum_sent.retransmits' "$TMP/iperf.json")
    drops_cli=$(($(rcvbuf_errors "$NS_CLI") - cli0))
    drops_gw=$(($(rcvbuf_errors "$NS_GW1") - gw0))
    segs=$((sent / MSS))
    echo "$1: $(jq -r '.end.sum_received.bits_per_second / 1e6 | round' "$TMP/iperf.json") Mbit/s," \
        "$retr retransmits of $segs segments; UdpRcvbufErrors client $drops_cli gateway $drops_gw;" \
        "status socket_drops client $(socket_drops "$NS_CLI" "$TMP/client.sock")" \
        "gateway $(socket_drops "$NS_GW1" "$TMP/gw1.sock")"
    [ "$segs" -gt 0 ] || fail "$1: iperf3 sent nothing"
    [ $((retr * 100)) -le "$segs" ] ||
        fail "$1: $retr retransmits of $segs segments (more than 1%) on lossless links"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
e2e_system 1
topo_direct_udp off
e2e_first_ping
e2e_wait_path '*relay*' 30
iperf_check "relayed ($(e2e_conn path))"

topo_direct_udp on
deadline=$((SECONDS + 40))
until [ "$(e2e_conn path)" = direct ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no direct path within 40 s: $(e2e_status_json)"
    in_ns "$NS_CLI" ping -c 1 -W 1 "$RES_IP" >/dev/null 2>&1 || true
    sleep 0.2
done
iperf_check "direct"
echo "ok: e2e throughput (TCP retransmits under 1% relayed and direct)"
