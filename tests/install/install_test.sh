#!/usr/bin/env bash
# make install, checked from the outside: install the build tree into a DESTDIR in a temporary
# directory with prefix /usr/local, compare the installed files with what the source tree says
# must be there (every program of apps/, its units, every public header, the libraries,
# floe.pc, the CMake package), check the shared library's SONAME and the units' ExecStart,
# compile each installed header alone, then build tests/install/consumer/consumer.c against
# the installed library with `pkg-config --cflags --libs floe` and with CMake's
# find_package(floe) (floe::floe, floe::floe_static; sim_consumer.c with floe::sim) and run
# each. A second prefix (/opt/floe) must be honoured too.
set -euo pipefail

: "${FLOE_BUILD_DIR:?FLOE_BUILD_DIR must point at the build tree}"
: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_tool cmake pkg-config readelf "${CC:-cc}"
CC=${CC:-cc}
read -r -a CFLAGS_EXTRA <<<"${FLOE_TEST_CFLAGS:-}"

TMP=$(mktemp -d /tmp/floe-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
ROOT=$TMP/root
P=$ROOT/usr/local
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$FLOE_BUILD_DIR/CMakeCache.txt")
[ -n "$VERSION" ] || fail "no CMAKE_PROJECT_VERSION in $FLOE_BUILD_DIR/CMakeCache.txt"
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$FLOE_BUILD_DIR/CMakeCache.txt")
LIBDIR=${LIBDIR:-lib}

DESTDIR=$ROOT cmake --install "$FLOE_BUILD_DIR" --prefix /usr/local >"$TMP/install.log" 2>&1 ||
    fail "cmake --install failed: $(tail -5 "$TMP/install.log")"
[ -d "$P" ] || fail "cmake --install put nothing under \$DESTDIR/usr/local"

# The files that must be installed, from the source tree; nothing else may be.
expected() {
    local dir name unit h
    for dir in "$FLOE_SOURCE_DIR"/apps/*/; do
        name=$(basename "$dir")
        [ -f "$dir/CMakeLists.txt" ] || continue
        echo "bin/$name"
        for unit in "$dir"*.service "$dir"*.socket "$dir"*.timer; do
            [ -f "$unit" ] && echo "lib/systemd/system/$(basename "$unit")"
        done
    done
    for h in "$FLOE_SOURCE_DIR"/include/floe/*.h; do
        echo "include/floe/$(basename "$h")"
    done
    for f in libfloe.a libfloe_sim.a libfloe_portal.a libfloe.so libfloe.so.0 "libfloe.so.$VERSION" \
        pkgconfig/floe.pc cmake/floe/floeConfig.cmake cmake/floe/floeConfigVersion.cmake \
        cmake/floe/floeTargets.cmake; do
        echo "$LIBDIR/$f"
    done
    echo "share/doc/floe/README.md"
}
expected | sort >"$TMP/expected"
# floeTargets-<config>.cmake: one per build type, whichever this tree has.
(cd "$P" && find . \( -type f -o -type l \) | sed 's|^\./||' |
    grep -v "^$LIBDIR/cmake/floe/floeTargets-[a-z]*\.cmake$" | sort) >"$TMP/installed"
ls "$P/$LIBDIR"/cmake/floe/floeTargets-*.cmake >/dev/null 2>&1 ||
    fail "no floeTargets-<config>.cmake installed"
diff -u "$TMP/expected" "$TMP/installed" >"$TMP/list.diff" ||
    fail "installed files differ from the expected list (- missing, + unexpected):
$(cat "$TMP/list.diff")"
for prog in "$P"/bin/*; do
    [ -x "$prog" ] || fail "$prog is not executable"
done
"$P/bin/floe-relay" --version >"$TMP/version" 2>&1 || fail "installed floe-relay --version failed"

# The shared library: libfloe.so -> libfloe.so.0 -> libfloe.so.VERSION, SONAME libfloe.so.0.
[ "$(readlink "$P/$LIBDIR/libfloe.so")" = libfloe.so.0 ] || fail "libfloe.so does not link to .0"
[ "$(readlink "$P/$LIBDIR/libfloe.so.0")" = "libfloe.so.$VERSION" ] ||
    fail "libfloe.so.0 does not link to libfloe.so.$VERSION"
readelf -d "$P/$LIBDIR/libfloe.so.$VERSION" >"$TMP/dyn"
grep -q 'Library soname: \[libfloe.so.0\]' "$TMP/dyn" || fail "SONAME is not libfloe.so.0"

# Units start the installed programs.
for unit in "$P"/lib/systemd/system/*.service; do
    [ -f "$unit" ] || continue
    grep '^ExecStart=' "$unit" >"$TMP/exec" || fail "$unit has no ExecStart="
    grep -q '^ExecStart=[-@:+!]*/usr/local/bin/floe' "$TMP/exec" ||
        fail "$unit does not start a program of /usr/local/bin: $(cat "$TMP/exec")"
done

# Every installed header compiles on its own from the installed tree (no private includes).
for h in "$P"/include/floe/*.h; do
    echo "#include <floe/$(basename "$h")>" >"$TMP/one.c"
    "$CC" -std=c17 -Wall -Wextra -Werror -fsyntax-only -I"$P/include" "$TMP/one.c" \
        >"$TMP/one.log" 2>&1 || fail "installed floe/$(basename "$h") alone: $(cat "$TMP/one.log")"
done

# pkg-config, as a consumer of the staged tree sees it.
export PKG_CONFIG_PATH=$P/$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
[ "$(pkg-config --modversion floe)" = "$VERSION" ] || fail "pkg-config --modversion floe"
read -r -a PC <<<"$(pkg-config --cflags --libs floe)"
"$CC" -std=c17 -Wall -Wextra -Wpedantic -Werror "${CFLAGS_EXTRA[@]}" \
    "$FLOE_SOURCE_DIR/tests/install/consumer/consumer.c" "${PC[@]}" -o "$TMP/consumer_pc" \
    >"$TMP/cc.log" 2>&1 || fail "build with pkg-config failed: $(cat "$TMP/cc.log")"
readelf -d "$TMP/consumer_pc" >"$TMP/dyn"
grep -q 'Shared library: \[libfloe.so.0\]' "$TMP/dyn" || fail "consumer_pc does not need libfloe.so.0"
LD_LIBRARY_PATH=$P/$LIBDIR "$TMP/consumer_pc" >"$TMP/out" || fail "consumer_pc failed"
[ "$(cat "$TMP/out")" = "floe $VERSION: stun ok" ] || fail "consumer_pc printed: $(cat "$TMP/out")"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# CMake: find_package(floe VERSION) with the staged prefix.
cmake -S "$FLOE_SOURCE_DIR/tests/install/consumer" -B "$TMP/cmake" -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_PREFIX_PATH="$P" -DFLOE_WANT_VERSION="$VERSION" \
    -DCMAKE_C_FLAGS="${FLOE_TEST_CFLAGS:-}" >"$TMP/cmake.log" 2>&1 ||
    fail "find_package(floe) failed: $(tail -20 "$TMP/cmake.log")"
cmake --build "$TMP/cmake" >"$TMP/build.log" 2>&1 ||
    fail "consumer build with CMake failed: $(tail -20 "$TMP/build.log")"
for kind in shared static; do
    "$TMP/cmake/consumer_$kind" >"$TMP/out" || fail "consumer_$kind failed"
    [ "$(cat "$TMP/out")" = "floe $VERSION: stun ok" ] ||
        fail "consumer_$kind printed: $(cat "$TMP/out")"
done
"$TMP/cmake/sim_consumer" >"$TMP/out" || fail "sim_consumer (floe::sim) failed"
[ "$(cat "$TMP/out")" = "floe sim ok" ] || fail "sim_consumer printed: $(cat "$TMP/out")"
readelf -d "$TMP/cmake/consumer_static" >"$TMP/dyn"
if grep -q 'libfloe' "$TMP/dyn"; then
    fail "consumer_static (floe::floe_static) needs a shared libfloe"
fi
# An incompatible version is refused (0.x: the same major.minor only).
if cmake -S "$FLOE_SOURCE_DIR/tests/install/consumer" -B "$TMP/cmake-old" \
    -DCMAKE_PREFIX_PATH="$P" -DFLOE_WANT_VERSION=99.0 >"$TMP/cmake-old.log" 2>&1; then
    fail "find_package(floe 99.0) accepted floe $VERSION"
fi

# The prefix is the one given at install time: /opt/floe everywhere, none of /usr/local.
DESTDIR=$TMP/opt cmake --install "$FLOE_BUILD_DIR" --prefix /opt/floe >"$TMP/install2.log" 2>&1 ||
    fail "cmake --install --prefix /opt/floe failed"
grep -q '^prefix=/opt/floe$' "$TMP/opt/opt/floe/$LIBDIR/pkgconfig/floe.pc" ||
    fail "floe.pc of prefix /opt/floe: $(head -1 "$TMP/opt/opt/floe/$LIBDIR/pkgconfig/floe.pc")"
grep -q '^ExecStart=/opt/floe/bin/floe-relay ' "$TMP/opt/opt/floe/lib/systemd/system/floe-relay.service" ||
    fail "floe-relay.service of prefix /opt/floe does not start /opt/floe/bin/floe-relay"
O=$TMP/opt/opt/floe
if grep -rl /usr/local "$O/$LIBDIR/pkgconfig" "$O/$LIBDIR/cmake" "$O/lib/systemd" >"$TMP/stale"; then
    fail "files of prefix /opt/floe name /usr/local: $(cat "$TMP/stale")"
fi

echo "install: $(wc -l <"$TMP/installed") files, pkg-config and find_package consumers ran"
