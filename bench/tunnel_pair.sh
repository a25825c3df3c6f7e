#!/usr/bin/env bash
# Throughput and TCP retransmits through one tunnel whose two ends may differ: IMPL_A in
# namespace A, IMPL_B in namespace B (floe-wg or wireguard-go), veth 10.77.0.1 <-> 10.77.0.2,
# tunnel 10.78.0.1 <-> 10.78.0.2, iperf3 TCP A->B then B->A. Run by hand as root:
#   bench/tunnel_pair.sh [BUILD_BIN_DIR] [SECONDS] [IMPL_A] [IMPL_B]
# Prints per direction Gbit/s received, the sender's TCP retransmits, UDP socket drops
# and tunnel interface drops (the kernel's count, whatever the daemon). floe-wg logs its drop
# counters (on SIGUSR1, sent before it is stopped): the "stats" lines printed at the end.
# QDISC_A="tbf rate 300mbit burst 64kb limit 32mb" shapes A's veth (a slow link that fills
# the sender's socket buffer, so that its send path has to wait for room).
set -euo pipefail

BIN=${1:-build/bin}
SECS=${2:-5}
IMPL_A=${3:-floe-wg}
IMPL_B=${4:-wireguard-go}
for t in ip wg wireguard-go iperf3 jq; do
    command -v "$t" >/dev/null || { echo "tunnel_pair.sh: $t not installed" >&2; exit 1; }
done
[ -x "$BIN/floe-wg" ] || { echo "tunnel_pair.sh: $BIN/floe-wg not built" >&2; exit 1; }

# shellcheck source=../scripts/wg_netns.sh
. "$(dirname "$0")/../scripts/wg_netns.sh"
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    wgns_cleanup
    rm -rf "$TMP"
}
trap cleanup EXIT
wgns_create floe-pair
if [ -n "${QDISC_A:-}" ]; then
    # shellcheck disable=SC2086
    ip netns exec "$NS_A" tc qdisc add dev vA root $QDISC_A
fi

# udp_drops NS KIND: NS's UDP (IPv4 and IPv6) KIND errors (Rcvbuf or Sndbuf) so far.
udp_drops() {
    ip netns exec "$1" nstat -az "Udp$2Errors" "Udp6$2Errors" | awk '{ n += $2 } END { print n + 0 }'
}

# tun_drops NS IFNAME: packets the kernel dropped on their way to the daemon (its TUN queue
# was full) plus those the daemon wrote that were dropped, so far.
tun_drops() {
    ip -n "$1" -s -j link show dev "$2" | jq '.[0].stats64 | .tx.dropped + .rx.dropped'
}

# iperf NS_CLIENT SERVER_IP: "Gbit/s retransmits".
iperf() {
    ip netns exec "$1" iperf3 -c "$2" -t "$SECS" -J |
        jq -r '"\(.end.sum_received.bits_per_second / 1e9) \(.end.sum_sent.retransmits)"'
}

# shellcheck disable=SC2086 # FLOE_WG_FLAGS is a list of flags
wgns_start "$NS_A" pa$$ "$IMPL_A" --log-level info ${FLOE_WG_FLAGS:-}
# shellcheck disable=SC2086
wgns_start "$NS_B" pb$$ "$IMPL_B" --log-level info ${FLOE_WG_FLAGS:-}
wgns_pair pa$$ pb$$
ip netns exec "$NS_B" iperf3 -s -B 10.78.0.2 >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$NS_A" iperf3 -s -B 10.78.0.1 >/dev/null 2>&1 &
PIDS+=($!)
sleep 1
ip netns exec "$NS_A" ping -c 1 -W 5 10.78.0.2 >/dev/null
# measure CLIENT_NS CLIENT_IF SERVER_NS SERVER_IF SERVER_IP: one direction's line.
measure() {
    local snd rcv tc ts g r
    snd=$(udp_drops "$1" Sndbuf)
    rcv=$(udp_drops "$3" Rcvbuf)
    tc=$(tun_drops "$1" "$2")
    ts=$(tun_drops "$3" "$4")
    read -r g r < <(iperf "$1" "$5")
    printf '%6.2f Gbit/s %7d retransmits  UDP drops: sndbuf %d, rcvbuf %d  TUN drops: %d, %d\n' \
        "$g" "$r" $(($(udp_drops "$1" Sndbuf) - snd)) $(($(udp_drops "$3" Rcvbuf) - rcv)) \
        $(($(tun_drops "$1" "$2") - tc)) $(($(tun_drops "$3" "$4") - ts))
}

AB=$(measure "$NS_A" pa$$ "$NS_B" pb$$ 10.78.0.2)
BA=$(measure "$NS_B" pb$$ "$NS_A" pa$$ 10.78.0.1)
echo "A=$IMPL_A B=$IMPL_B, iperf3 TCP ${SECS} s, $(nproc) CPUs, kernel $(uname -r)"
echo "(UDP drops: sndbuf at the sender's socket, rcvbuf at the receiver's socket;"
echo " TUN drops: on the sender's tunnel interface, then on the receiver's)"
echo "A->B $AB"
echo "B->A $BA"
for p in "${WGNS_FLOE_PIDS[@]}"; do
    kill -USR1 "$p" 2>/dev/null || true
done
sleep 0.3
for f in "$TMP"/*.log; do
    [ -e "$f" ] || continue
    echo "$(basename "$f" .log): $(grep -h stats "$f" | tail -n 1)"
done
