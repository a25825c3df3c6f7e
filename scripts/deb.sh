#!/bin/sh
# Debian packages from a build tree (make deb): scripts/deb.sh BUILD_DIR [OUT_DIR]
# One package per row of packaging/packages, each staged with `cmake --install --component`
# under the prefix /usr, then:
#   - programs and shared libraries stripped (static libraries: debug sections only);
#   - Depends: what dpkg-shlibdeps finds for the ELF files, plus the row's own;
#   - every file under etc/ a conffile (packaging/<package>/root/ holds them);
#   - systemd units: the directories of their LoadCredential= files created (mode 0750),
#     and postinst/prerm/postrm from packaging/maintscripts/ that start a unit only when its
#     credential files exist (see there);
#   - a package with lib*.so.N: shlibs and an ldconfig trigger.
# Packages land in OUT_DIR (default BUILD_DIR/deb) as NAME_VERSION-REVISION_ARCH.deb.
# Environment: FLOE_DEB_REVISION (1), FLOE_DEB_MAINTAINER, FLOE_DEB_COMPRESS (xz).
set -eu

usage() {
    echo "usage: scripts/deb.sh BUILD_DIR [OUT_DIR]" >&2
    exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    usage
fi
BUILD=$(cd "$1" && pwd) || usage
OUT=${2:-$BUILD/deb}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PKGDIR=$SRC/packaging
[ -f "$BUILD/CMakeCache.txt" ] || {
    echo "deb: $BUILD is not a configured build tree" >&2
    exit 1
}
for tool in cmake dpkg-deb dpkg-shlibdeps strip; do
    command -v "$tool" >/dev/null || {
        echo "deb: $tool not installed (make deps)" >&2
        exit 1
    }
done

UPSTREAM=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
VERSION=$UPSTREAM-${FLOE_DEB_REVISION:-1}
ARCH=$(dpkg --print-architecture)
MAINTAINER=${FLOE_DEB_MAINTAINER:-floe developers <floe@localhost>}
COMPRESS=${FLOE_DEB_COMPRESS:-xz}
WORK=$(mktemp -d /tmp/floe-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
umask 022
mkdir -p "$OUT" "$WORK/shlibdeps/debian"
: >"$WORK/shlibdeps/debian/control"

trim() {
    printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'
}

is_elf() {
    [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# stage PACKAGE COMPONENTS: install the components into WORK/PACKAGE; fails if empty.
stage() {
    root=$WORK/$1
    mkdir -p "$root"
    for comp in $2; do
        DESTDIR=$root cmake --install "$BUILD" --prefix /usr --component "$comp" \
            </dev/null >>"$WORK/$1.log" 2>&1 || {
            cat "$WORK/$1.log" >&2
            exit 1
        }
    done
    [ -n "$(find "$root" ! -type d | head -1)" ]
}

# strip_tree ROOT: no debug information in the packages (ELF programs and libraries).
strip_tree() {
    find "$1" -type f | while read -r f; do
        case "$f" in
        *.a) strip --strip-debug "$f" ;;
        *) if is_elf "$f"; then strip --strip-unneeded --remove-section=.comment "$f"; fi ;;
        esac
    done
}

# depends ROOT EXTRA: dpkg-shlibdeps' Depends for the ELF files of ROOT, then EXTRA.
depends() {
    elfs=$(find "$1" -type f | while read -r f; do if is_elf "$f"; then echo "$f"; fi; done)
    found=""
    if [ -n "$elfs" ]; then
        # shellcheck disable=SC2086
        found=$(cd "$WORK/shlibdeps" &&
            dpkg-shlibdeps -O -e$elfs 2>"$WORK/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') || {
            cat "$WORK/shlibdeps.err" >&2
            exit 1
        }
    fi
    extra=$(echo "$2" | sed "s/\${version}/$VERSION/g")
    if [ -n "$found" ] && [ -n "$extra" ]; then
        echo "$found, $extra"
    else
        echo "$found$extra"
    fi
}

# units ROOT: one line per systemd unit: NAME CREDENTIAL_FILE...
units() {
    for unit in "$1"/usr/lib/systemd/system/*; do
        [ -f "$unit" ] || continue
        creds=$(sed -n 's/^LoadCredential=[^:]*://p' "$unit" | tr '\n' ' ')
        echo "$(basename "$unit") $creds" | sed 's/ *$//'
    done
}

# maintscripts PACKAGE ROOT: the maintainer scripts for its units, their credential dirs.
maintscripts() {
    units "$2" >"$WORK/$1.units"
    [ -s "$WORK/$1.units" ] || return 0
    sed 's/^/    floe_unit /' "$WORK/$1.units" >"$WORK/$1.calls"
    for script in postinst prerm postrm; do
        sed -e "s/@PACKAGE@/$1/g" -e "/^@UNITS@$/{r $WORK/$1.calls" -e 'd;}' \
            "$PKGDIR/maintscripts/$script" >"$2/DEBIAN/$script"
        chmod 0755 "$2/DEBIAN/$script"
    done
    while read -r _unit creds; do
        for f in $creds; do
            install -d -m 0750 "$2$(dirname "$f")"
        done
    done <"$WORK/$1.units"
}

# control PACKAGE SECTION DEPENDS RECOMMENDS SUMMARY ROOT
control() {
    size=$(du -sk --exclude=DEBIAN "$6" | cut -f1)
    {
        echo "Package: $1"
        echo "Version: $VERSION"
        echo "Architecture: $ARCH"
        echo "Maintainer: $MAINTAINER"
        echo "Installed-Size: $size"
        [ -z "$3" ] || echo "Depends: $3"
        [ -z "$4" ] || echo "Recommends: $4"
        echo "Section: $2"
        echo "Priority: optional"
        echo "Description: $5"
        if [ -f "$PKGDIR/$1/about" ]; then
            sed 's/^\.$/ ./; t; s/^/ /' "$PKGDIR/$1/about"
        fi
    } >"$6/DEBIAN/control"
}

# extras PACKAGE ROOT: conffiles, shlibs, ldconfig trigger, md5sums.
extras() {
    if [ -d "$2/etc" ]; then
        (cd "$2" && find etc -type f | sort | sed 's|^|/|') >"$2/DEBIAN/conffiles"
    fi
    sonames=$(find "$2" -name 'lib*.so.*' -type f | while read -r f; do
        objdump -p "$f" | sed -n 's/^ *SONAME *//p'
    done)
    if [ -n "$sonames" ]; then
        for so in $sonames; do
            lib=${so%%.so.*}
            echo "$lib ${so##*.so.} $1 (>= $UPSTREAM)"
        done >"$2/DEBIAN/shlibs"
        echo "activate-noawait ldconfig" >"$2/DEBIAN/triggers"
    fi
    (cd "$2" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
        xargs -r md5sum) >"$2/DEBIAN/md5sums"
}

# package ROW: build the .deb of one row of packaging/packages (or say why not).
package() {
    IFS='|' read -r name section comps deps recs summary <<EOF
$1
EOF
    name=$(trim "$name")
    comps=$(trim "$comps")
    if ! stage "$name" "$comps"; then
        echo "deb: $name skipped: nothing installed for component(s) $comps"
        return 0
    fi
    root=$WORK/$name
    [ ! -d "$PKGDIR/$name/root" ] || cp -R "$PKGDIR/$name/root/." "$root/"
    strip_tree "$root"
    mkdir -p "$root/DEBIAN"
    dep=$(depends "$root" "$(trim "$deps")")
    control "$name" "$(trim "$section")" "$dep" "$(trim "$recs")" "$(trim "$summary")" "$root"
    maintscripts "$name" "$root"
    extras "$name" "$root"
    deb=$OUT/${name}_${VERSION}_$ARCH.deb
    dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$root" "$deb" >/dev/null
    echo "deb: $deb"
}

grep -v '^[[:space:]]*\(#\|$\)' "$PKGDIR/packages" >"$WORK/rows"
while read -r row; do
    package "$row"
done <"$WORK/rows"
