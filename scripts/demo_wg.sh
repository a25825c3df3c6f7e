#!/usr/bin/env bash
# The WireGuard part of the demo: floe-wg (floe's userspace WireGuard interface) and Debian's
# wireguard-go, each in its own network namespace joined by a veth, configured with wg(8);
# a ping through the tunnel each way, then `wg show` on the floe-wg side. Needs root.
# Usage: bash scripts/demo_wg.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: bash scripts/demo_wg.sh BUILD_DIR}
BIN=$BUILD/bin
[ -x "$BIN/floe-wg" ] || { echo "demo: $BIN/floe-wg not built" >&2; exit 1; }
for t in ip wg wireguard-go ping; do
    command -v "$t" >/dev/null || { echo "demo: $t not installed (make deps)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "demo: the WireGuard demo needs root (namespaces)" >&2; exit 1; }

# shellcheck source=wg_netns.sh
. "$(dirname "$0")/wg_netns.sh"
TMP=$(mktemp -d)
trap 'wgns_cleanup; rm -rf "$TMP"' EXIT
IF_A="floe$$"
IF_B="wggo$$"

wgns_create floe-demo
wgns_start "$NS_A" "$IF_A" floe-wg
wgns_start "$NS_B" "$IF_B" wireguard-go
wgns_pair "$IF_A" "$IF_B"

echo "floe-wg ($IF_A, 10.78.0.1) in $NS_A <-> wireguard-go ($IF_B, 10.78.0.2) in $NS_B"
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 3 10.78.0.2
ip netns exec "$NS_B" ping -c 3 -i 0.2 -W 3 10.78.0.1
echo
ip netns exec "$NS_A" wg show "$IF_A"
