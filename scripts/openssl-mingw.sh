#!/bin/sh
# Cross-build OpenSSL's libcrypto and libssl for Windows (x86_64-w64-mingw32) from Debian's own
# source package, once per build tree: DIR/include, DIR/lib/libcrypto.a and DIR/lib/libssl.a,
# reused while DIR/.stamp names the same requested version. A tree built before libssl was
# wanted (libcrypto.a only) keeps its configured source and only builds libssl.a.
# Usage: openssl-mingw.sh DIR [VERSION]
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

stamp=$(cat "$DIR/.stamp" 2>/dev/null || true)
if [ -f "$DIR/lib/libcrypto.a" ] && [ -f "$DIR/lib/libssl.a" ] && [ "$stamp" = "$VERSION" ]; then
    exit 0
fi
command -v "${PREFIX}gcc" >/dev/null || { echo "openssl-mingw: ${PREFIX}gcc missing; run 'make deps'" >&2; exit 1; }

# The configured source of the same version, when this tree has one.
src=""
if [ "$stamp" = "$VERSION" ]; then
    src=$(find "$DIR/src" -maxdepth 2 -name configdata.pm 2>/dev/null | head -n 1)
    src=${src%/configdata.pm}
fi
if [ -z "$src" ]; then
    command -v dpkg-source >/dev/null || { echo "openssl-mingw: dpkg-source missing; run 'make deps'" >&2; exit 1; }
    rm -rf "$DIR/src" "$DIR/.stamp"
    mkdir -p "$DIR/src"
    cd "$DIR/src"
    if ! apt-get source -q "openssl=$VERSION" >fetch.log 2>&1; then
        echo "openssl-mingw: warning: openssl source $VERSION not available, using the candidate" >&2
        apt-get source -q openssl >fetch.log 2>&1 || { cat fetch.log >&2; exit 1; }
    fi
    src=$(find . -maxdepth 1 -type d -name 'openssl-*' | head -n 1)
    [ -n "$src" ] || { echo "openssl-mingw: no source tree after apt-get source" >&2; exit 1; }
    cd "$src"
    echo "openssl-mingw: building libcrypto and libssl from $(basename "$src") in $DIR (once per build tree)"
    ./Configure mingw64 --cross-compile-prefix=$PREFIX no-shared no-tests no-module no-legacy \
        no-engine no-dso no-async no-comp no-ui-console >configure.log 2>&1 ||
        { tail -n 20 configure.log >&2; exit 1; }
else
    cd "$src"
    echo "openssl-mingw: adding libssl to the libcrypto build in $DIR"
fi
make -j"$JOBS" build_generated >build.log 2>&1 &&
    make -j"$JOBS" libcrypto.a libssl.a >>build.log 2>&1 ||
    { tail -n 30 build.log >&2; exit 1; }
mkdir -p "$DIR/lib"
rm -rf "$DIR/include"
cp -R include "$DIR/include"
cp libcrypto.a libssl.a "$DIR/lib/"
echo "$VERSION" >"$DIR/.stamp"
