#!/bin/sh
# Install the Debian packages floe's build, tests and demos need, only those missing.
# Run as root on Debian 12. Safe to run again: it does nothing when all are present.
set -eu

PACKAGES="build-essential cmake pkg-config clang clang-format libclang-rt-14-dev libssl-dev zlib1g-dev \
jq coturn iproute2 nftables wireguard-tools wireguard-go iperf3 socat iputils-ping bc \
libnice-dev liburing-dev libjansson-dev libmnl-dev libsqlite3-dev sqlite3 libpq-dev postgresql \
python3-websockets \
gcc-mingw-w64-x86-64-posix libz-mingw-w64-dev wine wine64 dpkg-dev"

# The Windows build compiles OpenSSL from Debian's source package: apt-get source needs a
# deb-src entry (Debian 12's default sources have none).
SRC_LIST=/etc/apt/sources.list.d/floe-deb-src.sources
need_src=0
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    need_src=1
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ] && [ "$need_src" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing (deb-src entry missing: $need_src); run 'make deps' as root" >&2
    exit 1
fi
if [ "$need_src" -eq 1 ]; then
    echo "deps: adding deb-src entries in $SRC_LIST"
    # The Debian archives of the binary entries (deb822 .sources or one-line sources.list).
    uris=$({
        grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
        grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'
    } | grep -E '/debian(-security)?/?$' | sort -u)
    [ -n "$uris" ] || uris="http://deb.debian.org/debian http://deb.debian.org/debian-security"
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    : >"$SRC_LIST"
    for u in $uris; do
        case "$u" in
        *security*) suites="$codename-security" ;;
        *) suites="$codename $codename-updates" ;;
        esac
        printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' \
            "$u" "$suites" /usr/share/keyrings/debian-archive-keyring.gpg >>"$SRC_LIST"
    done
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
# Debian starts coturn as a service on install; floe's tests start their own.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now coturn >/dev/null 2>&1 || true
fi
