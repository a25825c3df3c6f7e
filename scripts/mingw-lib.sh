#!/bin/sh
# Cross-build a small C library for Windows (x86_64-w64-mingw32) from Debian's own source
# package, once per build tree: DIR/include and DIR/lib/libNAME.a, reused while DIR/.stamp
# names the same version. The sources are compiled directly (no configure run: the few
# settings those configure scripts would find for mingw-w64 are written below), which keeps
# each library to a few seconds. Usage: mingw-lib.sh NAME DIR [VERSION]
#   NAME     jansson (2.14, JSON)
#   VERSION  the Debian source version; default the pinned one (FLOE_<NAME>_SRC_VERSION)
# Exit status: 0 built or already there; 2 the source package could not be fetched (the
# caller decides whether the library is optional); 1 anything else.
set -eu

NAME=${1:?usage: mingw-lib.sh NAME DIR [VERSION]}
DIR=${2:?usage: mingw-lib.sh NAME DIR [VERSION]}
PREFIX=x86_64-w64-mingw32-
CFLAGS="-O2 -g0"
unset CC CPPFLAGS LDFLAGS 2>/dev/null || true

case "$NAME" in
jansson) VERSION=${3:-${FLOE_JANSSON_SRC_VERSION:-2.14-2}} ;;
*)
    echo "mingw-lib: unknown library '$NAME' (jansson)" >&2
    exit 1
    ;;
esac
UPSTREAM=${VERSION%-*}

if [ -f "$DIR/lib/lib$NAME.a" ] && [ "$(cat "$DIR/.stamp" 2>/dev/null)" = "$VERSION" ]; then
    exit 0
fi
command -v "${PREFIX}gcc" >/dev/null || { echo "mingw-lib: ${PREFIX}gcc missing; run 'make deps'" >&2; exit 1; }
command -v dpkg-source >/dev/null || { echo "mingw-lib: dpkg-source missing; run 'make deps'" >&2; exit 1; }

rm -rf "$DIR/src" "$DIR/include" "$DIR/lib" "$DIR/.stamp"
mkdir -p "$DIR/src" "$DIR/include" "$DIR/lib"
DIR=$(cd "$DIR" && pwd)
cd "$DIR/src"
if ! apt-get source -q "$NAME=$VERSION" >fetch.log 2>&1; then
    echo "mingw-lib: cannot fetch Debian source package $NAME=$VERSION:" >&2
    grep -E '^E:' fetch.log >&2 || tail -n 5 fetch.log >&2
    exit 2
fi
src=$DIR/src/$NAME-$UPSTREAM
[ -d "$src" ] || { echo "mingw-lib: no $src after apt-get source" >&2; exit 1; }
echo "mingw-lib: building $NAME from $NAME-$UPSTREAM in $DIR (once per build tree)"
gen=$DIR/src/gen
mkdir -p "$gen/$NAME"

# jansson: the two headers its CMake build would write for mingw-w64 (cmake/*.cmake).
jansson_prepare() {
    sed -e 's/@json_inline@/inline/' -e 's/@json_have_long_long@/1/' \
        -e 's/@json_have_localeconv@/1/' -e 's/@json_have_atomic_builtins@/1/' \
        -e 's/@json_have_sync_builtins@/1/' "$src/src/jansson_config.h.in" >"$gen/jansson_config.h"
    cat >"$gen/jansson_private_config.h" <<'H'
/* jansson for mingw-w64 (scripts/mingw-lib.sh): what jansson's CMake checks find there. */
#define HAVE_FCNTL_H 1
#define HAVE_UNISTD_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_STDINT_H 1
#define HAVE_CLOSE 1
#define HAVE_GETPID 1
#define HAVE_GETTIMEOFDAY 1
#define HAVE_OPEN 1
#define HAVE_READ 1
#define HAVE_SYNC_BUILTINS 1
#define HAVE_ATOMIC_BUILTINS 1
#define HAVE_LOCALE_H 1
#define HAVE_SETLOCALE 1
#define HAVE_INT32_T 1
#define HAVE_UINT32_T 1
#define HAVE_UINT16_T 1
#define HAVE_UINT8_T 1
#define HAVE_SSIZE_T 1
#define USE_WINDOWS_CRYPTOAPI 1
#define INITIAL_HASHTABLE_ORDER 3
H
    SOURCES=$(ls "$src"/src/*.c)
    INCLUDES="-I$gen -I$src/src"
    HEADERS="$src/src/jansson.h $gen/jansson_config.h"
    HEADER_DIR=""
}

"${NAME}_prepare"
mkdir -p "$DIR/src/obj" "$DIR/include/$HEADER_DIR"
: >build.log
for c in $SOURCES; do
    o=$DIR/src/obj/$(basename "$c" .c).o
    # shellcheck disable=SC2086
    "${PREFIX}gcc" $CFLAGS -DHAVE_CONFIG_H $INCLUDES -c "$c" -o "$o" >>build.log 2>&1 ||
        { tail -n 30 build.log >&2; exit 1; }
done
"${PREFIX}ar" rcs "$DIR/lib/lib$NAME.a" "$DIR"/src/obj/*.o
# shellcheck disable=SC2086
cp $HEADERS "$DIR/include/$HEADER_DIR"
echo "$VERSION" >"$DIR/.stamp"
