#!/bin/sh
# Install the Debian packages floe's build, tests and demos need, only those missing.
# Run as root on Debian 12. Safe to run again: it does nothing when all are present.
set -eu

PACKAGES="build-essential cmake pkg-config clang clang-format libclang-rt-14-dev libssl-dev zlib1g-dev \
jq coturn iproute2 nftables wireguard-tools wireguard-go iperf3 socat iputils-ping bc \
libnice-dev liburing-dev"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing; run 'make deps' as root" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# Debian starts coturn as a service on install; floe's tests start their own.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now coturn >/dev/null 2>&1 || true
fi
