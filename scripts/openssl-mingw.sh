#!/bin/sh
# Cross-build OpenSSL's libcrypto for Windows (x86_64-w64-mingw32) from Debian's own source
# package, once per build tree: DIR/include and DIR/lib/libcrypto.a, reused while
# DIR/.stamp names the same requested version. Usage: openssl-mingw.sh DIR [VERSION]
# VERSION defaults to the pinned FLOE_OPENSSL_SRC_VERSION (bookworm's point release); when
# the archive no longer serves it, the candidate version is used and a warning printed.
set -eu

PINNED="3.0.17-1~deb12u2"
DIR=${1:?usage: openssl-mingw.sh DIR [VERSION]}
VERSION=${2:-${FLOE_OPENSSL_SRC_VERSION:-$PINNED}}
PREFIX=x86_64-w64-mingw32-
# Configure adds the cross prefix to CC: the host's (or CMake's) compiler settings must go.
unset CC CFLAGS CPPFLAGS LDFLAGS AR RANLIB RC CROSS_COMPILE 2>/dev/null || true
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if [ -f "$DIR/lib/libcrypto.a" ] && [ "$(cat "$DIR/.stamp" 2>/dev/null)" = "$VERSION" ]; then
    exit 0
fi
command -v "${PREFIX}gcc" >/dev/null || { echo "openssl-mingw: ${PREFIX}gcc missing; run 'make deps'" >&2; exit 1; }
command -v dpkg-source >/dev/null || { echo "openssl-mingw: dpkg-source missing; run 'make deps'" >&2; exit 1; }

rm -rf "$DIR/src"
mkdir -p "$DIR/src" "$DIR/lib"
cd "$DIR/src"
if ! apt-get source -q "openssl=$VERSION" >fetch.log 2>&1; then
    echo "openssl-mingw: warning: openssl source $VERSION not available, using the candidate" >&2
    apt-get source -q openssl >fetch.log 2>&1 || { cat fetch.log >&2; exit 1; }
fi
src=$(find . -maxdepth 1 -type d -name 'openssl-*' | head -n 1)
[ -n "$src" ] || { echo "openssl-mingw: no source tree after apt-get source" >&2; exit 1; }
cd "$src"
echo "openssl-mingw: building libcrypto from $(basename "$src") in $DIR (once per build tree)"
./Configure mingw64 --cross-compile-prefix=$PREFIX no-shared no-tests no-module no-legacy \
    no-engine no-dso no-async no-comp no-ui-console >configure.log 2>&1 ||
    { tail -n 20 configure.log >&2; exit 1; }
make -j"$JOBS" build_generated >build.log 2>&1 && make -j"$JOBS" libcrypto.a >>build.log 2>&1 ||
    { tail -n 30 build.log >&2; exit 1; }
rm -rf "$DIR/include"
cp -R include "$DIR/include"
cp libcrypto.a "$DIR/lib/libcrypto.a"
echo "$VERSION" >"$DIR/.stamp"
