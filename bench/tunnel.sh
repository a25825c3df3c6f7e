#!/usr/bin/env bash
# Tunnel throughput, floe-wg <-> floe-wg against wireguard-go <-> wireguard-go, on this
# machine in one run: two network namespaces joined by a veth (10.77.0.1/24, 10.77.0.2/24),
# tunnel 10.78.0.1/24 <-> 10.78.0.2/24, iperf3 TCP through the tunnel in each direction.
# Run by hand as root, never as a timed test:
#   bench/tunnel.sh [BUILD_BIN_DIR] [SECONDS]
# FLOE_WG_FLAGS adds flags to floe-wg (e.g. --no-offload to measure the plain datapath).
# Prints one line per implementation and direction, then floe-wg / wireguard-go ratios.
set -euo pipefail

BIN=${1:-build/bin}
SECS=${2:-10}
for t in ip wg wireguard-go iperf3 jq bc; do
    command -v "$t" >/dev/null || { echo "tunnel.sh: $t not installed" >&2; exit 1; }
done
[ -x "$BIN/floe-wg" ] || { echo "tunnel.sh: $BIN/floe-wg not built" >&2; exit 1; }

TMP=$(mktemp -d)
NS_A="floe-bench-a-$$"
NS_B="floe-bench-b-$$"
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
ip -n "$NS_B" link set vB up
umask 077
wg genkey >"$TMP/ka"
wg genkey >"$TMP/kb"

# start NS IFNAME IMPL: run IMPL (floe-wg or wireguard-go) in the foreground in NS.
start() {
    if [ "$3" = floe-wg ]; then
        # shellcheck disable=SC2086
        ip netns exec "$1" "$BIN/floe-wg" --foreground --log-level warn ${FLOE_WG_FLAGS:-} "$2" &
    else
        ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >/dev/null 2>&1 &
    fi
    PIDS+=($!)
    for _ in $(seq 50); do
        [ -S "/var/run/wireguard/$2.sock" ] && return 0
        sleep 0.1
    done
    echo "tunnel.sh: $3 did not start" >&2
    exit 1
}

# setup NS IFNAME KEY PEERKEY TUNIP PEERIP PORT PEERPORT PEERUNDERLAY
setup() {
    ip netns exec "$1" wg set "$2" private-key "$3" listen-port "$7" \
        peer "$(wg pubkey <"$4")" allowed-ips "$6/32" endpoint "$9:$8"
    ip -n "$1" addr add "$5/24" dev "$2"
    ip -n "$1" link set "$2" up
}

# iperf NS_CLIENT SERVER_IP: Gbit/s received over SECS seconds.
iperf() {
    ip netns exec "$1" iperf3 -c "$2" -t "$SECS" -J | jq '.end.sum_received.bits_per_second / 1e9'
}

# run IMPL: both ends IMPL, iperf3 both directions; sets RESULT_AB, RESULT_BA.
run() {
    local ia="b${1:0:1}a$$" ib="b${1:0:1}b$$" srv_a srv_b
    start "$NS_A" "$ia" "$1"
    start "$NS_B" "$ib" "$1"
    setup "$NS_A" "$ia" "$TMP/ka" "$TMP/kb" 10.78.0.1 10.78.0.2 51820 51821 10.77.0.2
    setup "$NS_B" "$ib" "$TMP/kb" "$TMP/ka" 10.78.0.2 10.78.0.1 51821 51820 10.77.0.1
    ip netns exec "$NS_B" iperf3 -s -B 10.78.0.2 >/dev/null 2>&1 &
    srv_b=$!
    PIDS+=("$srv_b")
    ip netns exec "$NS_A" iperf3 -s -B 10.78.0.1 >/dev/null 2>&1 &
    srv_a=$!
    PIDS+=("$srv_a")
    sleep 1
    ip netns exec "$NS_A" ping -c 1 -W 5 10.78.0.2 >/dev/null
    RESULT_AB=$(iperf "$NS_A" 10.78.0.2)
    RESULT_BA=$(iperf "$NS_B" 10.78.0.1)
    printf '%-14s A->B %6.2f Gbit/s   B->A %6.2f Gbit/s\n' "$1" "$RESULT_AB" "$RESULT_BA"
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PIDS=()
    ip -n "$NS_A" link del "$ia" 2>/dev/null || true
    ip -n "$NS_B" link del "$ib" 2>/dev/null || true
}

echo "iperf3 TCP, ${SECS} s per direction, $(nproc) CPUs, kernel $(uname -r)"
run floe-wg
F_AB=$RESULT_AB
F_BA=$RESULT_BA
run wireguard-go
printf 'ratio floe-wg / wireguard-go: A->B %.2f, B->A %.2f\n' \
    "$(echo "$F_AB / $RESULT_AB" | bc -l)" "$(echo "$F_BA / $RESULT_BA" | bc -l)"
