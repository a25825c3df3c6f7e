#!/usr/bin/env bash
# Tunnel throughput on this machine in one run: floe-wg <-> floe-wg against the wireguard-go
# users install today (Debian bookworm-backports' 0.0.20231211: TUN TCP offloads, UDP
# GSO/GRO) and bookworm's own 0.0.20220316 (the system's package). Two network namespaces
# joined by a veth (10.77.0.1/24, 10.77.0.2/24), tunnel 10.78.0.1/24 <-> 10.78.0.2/24, iperf3
# TCP through the tunnel in each direction. Run by hand as root, never as a timed test:
#   bench/tunnel.sh [BUILD_BIN_DIR] [SECONDS]
# The backports package is fetched once with apt-get download (a private apt configuration
# holding only bookworm-backports; the system's sources and packages are left alone) and
# unpacked with dpkg -x into BUILD_BIN_DIR/../wireguard-go-backports. WG_GO_BACKPORTS=PATH
# uses that wireguard-go binary instead; WG_GO_BACKPORTS=none leaves the row out.
# FLOE_WG_FLAGS adds flags to floe-wg (e.g. --no-offload to measure the plain datapath).
# Prints one line per implementation and direction, then the floe-wg / wireguard-go ratios.
set -euo pipefail

BIN=${1:-build/bin}
SECS=${2:-10}
for t in ip wg wireguard-go iperf3 jq bc; do
    command -v "$t" >/dev/null || { echo "tunnel.sh: $t not installed" >&2; exit 1; }
done
[ -x "$BIN/floe-wg" ] || { echo "tunnel.sh: $BIN/floe-wg not built" >&2; exit 1; }

# shellcheck source=../scripts/wg_netns.sh
. "$(dirname "$0")/../scripts/wg_netns.sh"
TMP=$(mktemp -d)
trap 'wgns_cleanup; rm -rf "$TMP"' EXIT
wgns_create floe-bench

# shellcheck source=../scripts/wg_go_backports.sh
. "$(dirname "$0")/../scripts/wg_go_backports.sh"

# iperf NS_CLIENT SERVER_IP: Gbit/s received over SECS seconds.
iperf() {
    ip netns exec "$1" iperf3 -c "$2" -t "$SECS" -J | jq '.end.sum_received.bits_per_second / 1e9'
}

# run LABEL IMPL: both ends IMPL, iperf3 both directions; sets RESULT_AB, RESULT_BA.
run() {
    local ia="b${1:0:1}${#1}a$$" ib="b${1:0:1}${#1}b$$" srv_a srv_b
    # shellcheck disable=SC2086 # FLOE_WG_FLAGS is a list of flags
    wgns_start "$NS_A" "$ia" "$2" --log-level warn ${FLOE_WG_FLAGS:-}
    # shellcheck disable=SC2086
    wgns_start "$NS_B" "$ib" "$2" --log-level warn ${FLOE_WG_FLAGS:-}
    wgns_pair "$ia" "$ib"
    ip netns exec "$NS_B" iperf3 -s -B 10.78.0.2 >/dev/null 2>&1 &
    srv_b=$!
    ip netns exec "$NS_A" iperf3 -s -B 10.78.0.1 >/dev/null 2>&1 &
    srv_a=$!
    sleep 1
    ip netns exec "$NS_A" ping -c 1 -W 5 10.78.0.2 >/dev/null
    RESULT_AB=$(iperf "$NS_A" 10.78.0.2)
    RESULT_BA=$(iperf "$NS_B" 10.78.0.1)
    printf '%-34s A->B %6.2f Gbit/s   B->A %6.2f Gbit/s\n' "$1" "$RESULT_AB" "$RESULT_BA"
    for p in "$srv_a" "$srv_b"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    wgns_stop
    ip -n "$NS_A" link del "$ia" 2>/dev/null || true
    ip -n "$NS_B" link del "$ib" 2>/dev/null || true
}

BPO=${WG_GO_BACKPORTS:-}
if [ -z "$BPO" ]; then
    BPO=$(backports_wg_go)
fi
echo "iperf3 TCP, ${SECS} s per direction, $(nproc) CPUs, kernel $(uname -r)"
run floe-wg floe-wg
F_AB=$RESULT_AB
F_BA=$RESULT_BA
# ratio LABEL: floe-wg over the last run.
ratio() {
    printf 'ratio floe-wg / %s: A->B %.2f, B->A %.2f\n' "$1" \
        "$(echo "$F_AB / $RESULT_AB" | bc -l)" "$(echo "$F_BA / $RESULT_BA" | bc -l)"
}
# deb_version FILE: the upstream version in a .deb's name or a dpkg version string.
deb_version() { sed -e 's/^wireguard-go_//' -e 's/-[^-]*$//' -e 's/_.*//'; }
if [ "$BPO" != none ]; then
    V=$(deb_version <"$(dirname "$(dirname "$(dirname "$BPO")")")/VERSION" 2>/dev/null || true)
    run "wireguard-go ${V:-(WG_GO_BACKPORTS)} bpo" "$BPO"
    ratio "wireguard-go bookworm-backports"
fi
V=$(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null | deb_version || true)
run "wireguard-go ${V:-?} bookworm" wireguard-go
ratio "wireguard-go bookworm"
