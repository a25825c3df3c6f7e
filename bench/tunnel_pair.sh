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

TMP=$(mktemp -d)
NS_A="floe-pair-a-$$"
NS_B="floe-pair-b-$$"
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
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
if [ -n "${QDISC_A:-}" ]; then
    # shellcheck disable=SC2086
    ip netns exec "$NS_A" tc qdisc add dev vA root $QDISC_A
fi
ip -n "$NS_B" link set vB up
umask 077
wg genkey >"$TMP/ka"
wg genkey >"$TMP/kb"

FLOE_PIDS=()
# start NS IFNAME IMPL: run IMPL in the foreground in NS.
start() {
    if [ "$3" = floe-wg ]; then
        # shellcheck disable=SC2086
        ip netns exec "$1" "$BIN/floe-wg" --foreground --log-level info ${FLOE_WG_FLAGS:-} \
            "$2" 2>"$TMP/$2.log" &
        FLOE_PIDS+=($!)
    else
        ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >/dev/null 2>&1 &
    fi
    PIDS+=($!)
    for _ in $(seq 50); do
        [ -S "/var/run/wireguard/$2.sock" ] && return 0
        sleep 0.1
    done
    echo "tunnel_pair.sh: $3 did not start" >&2
    exit 1
}

# setup NS IFNAME KEY PEERKEY TUNIP PEERIP PORT PEERPORT PEERUNDERLAY
setup() {
    ip netns exec "$1" wg set "$2" private-key "$3" listen-port "$7" \
        peer "$(wg pubkey <"$4")" allowed-ips "$6/32" endpoint "$9:$8"
    ip -n "$1" addr add "$5/24" dev "$2"
    ip -n "$1" link set "$2" up
}

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

start "$NS_A" pa$$ "$IMPL_A"
start "$NS_B" pb$$ "$IMPL_B"
setup "$NS_A" pa$$ "$TMP/ka" "$TMP/kb" 10.78.0.1 10.78.0.2 51820 51821 10.77.0.2
setup "$NS_B" pb$$ "$TMP/kb" "$TMP/ka" 10.78.0.2 10.78.0.1 51821 51820 10.77.0.1
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
for p in "${FLOE_PIDS[@]}"; do
    kill -USR1 "$p" 2>/dev/null || true
done
sleep 0.3
for f in "$TMP"/*.log; do
    [ -e "$f" ] || continue
    echo "$(basename "$f" .log): $(grep -h stats "$f" | tail -n 1)"
done
