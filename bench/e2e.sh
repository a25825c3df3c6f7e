#!/usr/bin/env bash
# The end-to-end benchmark of issue 13, on the topology of tests/e2e/topo.sh (portal, relay,
# a site behind a NAT, a laptop behind its wifi NAT; 25 ms each way on the access links where
# the kernel has netem), all rows in one run:
#   - iperf3 TCP laptop -> resource through floe-client -> floe-gateway, direct and relayed
#     (relayed: UDP between the two NATs' public addresses dropped in the internet, the client
#     restarted), Gbit/s and TCP retransmissions (the loss);
#   - the same laptop -> gateway host through a floe-wg pair and a wireguard-go pair (Debian's,
#     and bookworm-backports' 0.0.20231211 unless WG_GO_BACKPORTS=none) over the same NATs
#     (the site NAT forwards UDP 51821 to the gateway host);
#   - connection setup: the first ping's round trip after a fresh client joined (the first
#     packet is held until the connection is up, so it is first packet -> first reply),
#     p50/p99 over INTENTS (default 20) intents;
#   - the data outage over ROAMS (default 10) roams mid-download of a FILE_MB (default 1024)
#     MiB file.
# Run by hand as root, never as a timed test:
#   bench/e2e.sh [BUILD_BIN_DIR] [SECONDS]     (env: INTENTS, ROAMS, FILE_MB, WG_GO_BACKPORTS)
set -euo pipefail
BIN=$(cd "${1:-build/bin}" && pwd)
SECS=${2:-10}
INTENTS=${INTENTS:-20}
ROAMS=${ROAMS:-10}
FILE_MB=${FILE_MB:-1024}
FLOE_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
FLOE_BIN_DIR=$BIN
export FLOE_SOURCE_DIR FLOE_BIN_DIR
TMP=$(mktemp -d)
# shellcheck source=../tests/e2e/e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
# shellcheck source=../scripts/wg_netns.sh
. "$FLOE_SOURCE_DIR/scripts/wg_netns.sh"
# shellcheck source=../scripts/wg_go_backports.sh
. "$FLOE_SOURCE_DIR/scripts/wg_go_backports.sh"
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || tail -n 10 "$TMP"/client.log "$TMP"/gw1.log >&2 2>/dev/null; wgns_stop; topo_down; rm -rf "$TMP"' EXIT
e2e_need
need_tool wg wireguard-go bc

# iperf_row LABEL SERVER: iperf3 TCP from the laptop to SERVER for SECS s, one line.
iperf_row() {
    in_ns "$NS_CLI" iperf3 -c "$2" -t "$SECS" -J >"$TMP/iperf.json" ||
        fail "iperf3 $1: $(jq -r .error "$TMP/iperf.json" 2>/dev/null)"
    jq -r --arg l "$1" '"\($l | .[0:48] | . + " " * (48 - length)) \(.end.sum_received.bits_per_second / 1e9 * 100 | round / 100) Gbit/s  retransmits \(.end.sum_sent.retransmits)"' \
        "$TMP/iperf.json"
}

# wg_row LABEL IMPL: a WireGuard pair IMPL laptop <-> gateway host over the NATs.
wg_row() {
    local ia="ec$$" ib="eg$$"
    wgns_start "$NS_CLI" "$ia" "$2" --log-level warn
    wgns_start "$NS_GW1" "$ib" "$2" --log-level warn
    wgns_setup "$NS_CLI" "$ia" "$TMP/ka" "$TMP/kb" 10.78.0.1 10.78.0.2 51820 51821 "$SITE_PUBLIC"
    in_ns "$NS_GW1" wg set "$ib" private-key "$TMP/kb" listen-port 51821 \
        peer "$(wg pubkey <"$TMP/ka")" allowed-ips 10.78.0.1/32
    ip -n "$NS_GW1" addr add 10.78.0.2/24 dev "$ib"
    ip -n "$NS_GW1" link set "$ib" up
    in_ns "$NS_CLI" ping -c 1 -W 5 10.78.0.2 >/dev/null || fail "no ping through the $1 pair"
    iperf_row "$1" 10.78.0.2
    wgns_stop
}

# fresh_client: a new floe-client (no connection yet), joined to the portal.
fresh_client() {
    topo_stop client
    topo_client
    topo_wait "floe-client did not join the portal" 150 e2e_portal_joined
}

echo "e2e bench: $(nproc) CPUs, netem ${TOPO_NETEM_MS} ms each way (kernel has netem: see below)"
e2e_system "$FILE_MB"
[ "$TOPO_NETEM" = 1 ] || echo "NOTE: no netem on this kernel: no added delay on the access links"
in_ns "$NS_SNAT" nft -f - <<FWD
table ip floe_e2e_fwd {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "wan" udp dport 51821 dnat to 10.10.0.2
    }
}
FWD
topo_bg iperf-gw "$NS_GW1" iperf3 -s
(umask 077 && wg genkey >"$TMP/ka" && wg genkey >"$TMP/kb")

echo
echo "== throughput, laptop -> site (iperf3 TCP, ${SECS} s each)"
e2e_first_ping
iperf_row "floe-client -> floe-gateway ($(e2e_conn path))" "$RES_IP"
wg_row "floe-wg pair" floe-wg
wg_row "wireguard-go pair (Debian)" wireguard-go
if [ "${WG_GO_BACKPORTS:-}" != none ]; then
    bpo=${WG_GO_BACKPORTS:-$(backports_wg_go)}
    wg_row "wireguard-go pair ($("$bpo" --version 2>&1 | head -n 1 | awk '{print $NF}'))" "$bpo"
fi
topo_direct_udp off
fresh_client
e2e_first_ping
iperf_row "floe-client -> floe-gateway ($(e2e_conn path))" "$RES_IP"
topo_direct_udp on

echo
echo "== connection setup: first packet -> first reply over $INTENTS intents (ping)"
: >"$TMP/setup"
for _ in $(seq "$INTENTS"); do
    fresh_client
    in_ns "$NS_CLI" ping -c 1 -W 10 "$RES_IP" >"$TMP/ping.out" || fail "no reply within 10 s"
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$TMP/ping.out" >>"$TMP/setup"
done
sort -n "$TMP/setup" | awk '{ v[NR] = $1 } END {
    i99 = int(NR * 0.99 + 0.999); if (i99 < 1) i99 = 1
    printf "setup ms: n=%d p50=%.1f p99=%.1f max=%.1f (target <= 300)\n", NR, v[int((NR + 1) / 2)], v[i99], v[NR] }'

echo
echo "== data outage over $ROAMS roams mid-download of $FILE_MB MiB (new network usable -> data)"
fresh_client
e2e_first_ping
: >"$TMP/outages"
e2e_download_roam "$ROAMS" 2
echo "outage: $(e2e_outage_summary) (target <= 500); each: $(tr '\n' ' ' <"$TMP/outages")"
