#!/usr/bin/env bash
# make deb, checked from the outside: scripts/deb.sh packages this build tree into a temporary
# directory; then, without installing anything on this machine:
# - one package per row of packaging/packages whose programs exist (the rows of programs not
#   written yet are skipped, the others must be there), control fields right;
# - Depends name the package of every shared library an ELF file of the package needs;
# - floe-relay: files, conffile, the credential directory, a unit that starts /usr/bin/floe-relay
#   with the secret from a file, and maintainer scripts that start nothing without the secret
#   (run against a scratch DPKG_ROOT with a systemctl that only records its arguments), and
#   installed then purged with `dpkg --root` in a scratch root;
# - libfloe0 + libfloe-dev extracted into a scratch root build and run the consumer with
#   pkg-config (PKG_CONFIG_SYSROOT_DIR).
set -euo pipefail

: "${FLOE_BUILD_DIR:?FLOE_BUILD_DIR must point at the build tree}"
: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_tool dpkg-deb dpkg-shlibdeps pkg-config readelf "${CC:-cc}"
CC=${CC:-cc}
read -r -a CFLAGS_EXTRA <<<"${FLOE_TEST_CFLAGS:-}"

TMP=$(mktemp -d /tmp/floe-deb-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
UPSTREAM=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$FLOE_BUILD_DIR/CMakeCache.txt")
VERSION=$UPSTREAM-1
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# gzip: the sanitizer build's programs are large and xz is slow on them; the contents are
# what is checked here.
FLOE_DEB_COMPRESS=gzip sh "$FLOE_SOURCE_DIR/scripts/deb.sh" "$FLOE_BUILD_DIR" "$TMP/deb" \
    >"$TMP/deb.log" 2>&1 ||
    fail "scripts/deb.sh failed: $(tail -20 "$TMP/deb.log")"
if sh "$FLOE_SOURCE_DIR/scripts/deb.sh" >"$TMP/usage.log" 2>&1; then
    fail "scripts/deb.sh without a build directory succeeded"
fi

# deb PACKAGE: the path of its .deb
deb() { echo "$TMP/deb/${1}_${VERSION}_$ARCH.deb"; }
# field PACKAGE FIELD
field() { dpkg-deb -f "$(deb "$1")" "$2"; }

# Which packages must exist: every row whose components are a program directory that has a
# CMakeLists.txt, or lib/dev/doc.
grep -v '^[[:space:]]*\(#\|$\)' "$FLOE_SOURCE_DIR/packaging/packages" >"$TMP/rows"
: >"$TMP/want"
while IFS='|' read -r name _section comps _rest; do
    name=$(echo "$name" | tr -d ' ')
    built=0
    for c in $comps; do
        case "$c" in
        lib | dev | doc) built=1 ;;
        *) [ ! -f "$FLOE_SOURCE_DIR/apps/$c/CMakeLists.txt" ] || built=1 ;;
        esac
    done
    [ "$built" -eq 0 ] || echo "$name" >>"$TMP/want"
done <"$TMP/rows"
for p in floe-relay floe-tools libfloe0 libfloe-dev; do
    grep -qx "$p" "$TMP/want" || fail "packaging/packages has no row for $p"
done
(cd "$TMP/deb" && ls) | sed 's/_.*//' | sort >"$TMP/got"
sort "$TMP/want" >"$TMP/want.sorted"
diff -u "$TMP/want.sorted" "$TMP/got" >"$TMP/pkgs.diff" ||
    fail "packages built differ from packaging/packages (- missing, + unexpected):
$(cat "$TMP/pkgs.diff")"

while read -r p; do
    f=$(deb "$p")
    [ "$(field "$p" Package)" = "$p" ] || fail "$f: Package is $(field "$p" Package)"
    [ "$(field "$p" Version)" = "$VERSION" ] || fail "$f: Version is $(field "$p" Version)"
    [ "$(field "$p" Architecture)" = "$ARCH" ] || fail "$f: Architecture"
    [ -n "$(field "$p" Description)" ] || fail "$f: no Description"
    [ -n "$(field "$p" Maintainer)" ] || fail "$f: no Maintainer"
    dpkg-deb -c "$f" >"$TMP/$p.list"
    if grep -v ' root/root ' "$TMP/$p.list" >"$TMP/owners"; then
        fail "$f: files not owned by root: $(head -3 "$TMP/owners")"
    fi
    # Shared libraries needed by its ELF files come from packages named in Depends.
    mkdir -p "$TMP/x/$p"
    dpkg-deb -x "$f" "$TMP/x/$p"
    field "$p" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' >"$TMP/$p.depends"
    find "$TMP/x/$p" -type f | while read -r elf; do
        readelf -d "$elf" >"$TMP/dyn" 2>/dev/null || continue
        sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' "$TMP/dyn" | while read -r so; do
            owner=$(dpkg -S "*/$MULTIARCH/$so" 2>/dev/null | sed -n '1s/:.*//p') ||
                fail "no installed package has $so"
            [ -n "$owner" ] || fail "no installed package has $so ($elf)"
            grep -qx "$owner" "$TMP/$p.depends" ||
                fail "$p: ${elf#"$TMP/x/$p"} needs $so of $owner, Depends: $(field "$p" Depends)"
        done
    done
done <"$TMP/want"

# floe-relay: contents, conffile, unit.
R=$TMP/x/floe-relay
for path in ./usr/bin/floe-relay ./usr/lib/systemd/system/floe-relay.service \
    ./etc/default/floe-relay ./etc/floe-relay/; do
    grep -q " $path\$" "$TMP/floe-relay.list" || fail "floe-relay has no $path"
done
[ "$(stat -c %a "$R/etc/floe-relay")" = 750 ] || fail "/etc/floe-relay is not mode 0750"
dpkg-deb -e "$(deb floe-relay)" "$TMP/ctl"
[ "$(cat "$TMP/ctl/conffiles")" = /etc/default/floe-relay ] ||
    fail "floe-relay conffiles: $(cat "$TMP/ctl/conffiles")"
UNIT=$R/usr/lib/systemd/system/floe-relay.service
grep -q '^ExecStart=/usr/bin/floe-relay --auth-secret-file %d/auth-secret ' "$UNIT" ||
    fail "floe-relay.service does not start /usr/bin/floe-relay with the secret from a file"
grep -q '^LoadCredential=auth-secret:/etc/floe-relay/auth-secret$' "$UNIT" ||
    fail "floe-relay.service does not load /etc/floe-relay/auth-secret as a credential"
"$R/usr/bin/floe-relay" --version >"$TMP/version" 2>&1 || fail "packaged floe-relay --version"
(cd "$R" && md5sum --quiet -c "$TMP/ctl/md5sums") >"$TMP/md5.log" 2>&1 ||
    fail "floe-relay md5sums: $(cat "$TMP/md5.log")"

# Maintainer scripts against a scratch root, with a systemctl that records its arguments.
mkdir -p "$TMP/stub" "$TMP/root/run/systemd/system" "$TMP/root/etc/floe-relay"
printf '#!/bin/sh\necho "$*" >>"%s"\n' "$TMP/systemctl.log" >"$TMP/stub/systemctl"
chmod +x "$TMP/stub/systemctl"
maint() { # SCRIPT ARGS...
    : >"$TMP/systemctl.log"
    DPKG_ROOT=$TMP/root PATH="$TMP/stub:$PATH" sh "$TMP/ctl/$1" "${@:2}" >"$TMP/maint.out" 2>&1 ||
        fail "$1 $*: exit status $?: $(cat "$TMP/maint.out")"
}
for s in postinst prerm postrm; do
    sh -n "$TMP/ctl/$s" || fail "$s: syntax error"
done
maint postinst configure
if grep -E 'start|enable|restart' "$TMP/systemctl.log" >"$TMP/bad"; then
    fail "postinst without the secret ran: systemctl $(cat "$TMP/bad")"
fi
grep -q 'not started.*/etc/floe-relay/auth-secret' "$TMP/maint.out" ||
    fail "postinst without the secret did not say what is missing: $(cat "$TMP/maint.out")"
echo "not-so-secret" >"$TMP/root/etc/floe-relay/auth-secret"
maint postinst configure
grep -qx -- '--no-block enable --now floe-relay.service' "$TMP/systemctl.log" ||
    fail "postinst with the secret did not start floe-relay: $(cat "$TMP/systemctl.log")"
maint postinst configure 0.0.9-1
grep -qx -- '--no-block try-restart floe-relay.service' "$TMP/systemctl.log" ||
    fail "postinst on upgrade did not try-restart: $(cat "$TMP/systemctl.log")"
if grep -q enable "$TMP/systemctl.log"; then
    fail "postinst on upgrade enabled the unit (the admin's choice): $(cat "$TMP/systemctl.log")"
fi
maint prerm upgrade "$VERSION"
[ ! -s "$TMP/systemctl.log" ] || fail "prerm upgrade ran: systemctl $(cat "$TMP/systemctl.log")"
maint prerm remove
grep -qx 'stop floe-relay.service' "$TMP/systemctl.log" ||
    fail "prerm remove did not stop floe-relay: $(cat "$TMP/systemctl.log")"
mkdir -p "$TMP/root/etc/systemd/system/multi-user.target.wants"
touch "$TMP/root/etc/systemd/system/multi-user.target.wants/floe-relay.service"
maint postrm purge
[ ! -e "$TMP/root/etc/systemd/system/multi-user.target.wants/floe-relay.service" ] ||
    fail "postrm purge left the enable link"

# Installed and purged for real in a scratch root: dpkg --root with its own database, the
# maintainer scripts run outside a chroot with DPKG_ROOT set (they touch nothing else; the
# systemctl they find is the recording stub). Dependencies are those of this machine, not
# the scratch root's, hence --force-depends.
D=$TMP/dpkgroot
mkdir -p "$D/var/lib/dpkg/info" "$D/var/lib/dpkg/updates" "$D/var/lib/dpkg/triggers" \
    "$D/run/systemd/system"
touch "$D/var/lib/dpkg/status" "$D/var/lib/dpkg/available"
dpkg_root() {
    PATH="$TMP/stub:$PATH" dpkg --root="$D" --admindir="$D/var/lib/dpkg" \
        --force-script-chrootless --force-depends --log=/dev/null "$@" >"$TMP/dpkg.log" 2>&1 ||
        fail "dpkg $*: $(cat "$TMP/dpkg.log")"
}
: >"$TMP/systemctl.log"
dpkg_root -i "$(deb floe-relay)"
[ "$(dpkg-query --admindir="$D/var/lib/dpkg" -W -f '${Status}' floe-relay)" = \
    "install ok installed" ] || fail "floe-relay not installed in the scratch root"
[ -x "$D/usr/bin/floe-relay" ] || fail "dpkg -i put no /usr/bin/floe-relay"
dpkg-query --admindir="$D/var/lib/dpkg" -W -f '${Conffiles}' floe-relay >"$TMP/conf"
grep -q '/etc/default/floe-relay [0-9a-f]' "$TMP/conf" || fail "conffile not registered"
grep -q 'floe-relay.service not started' "$TMP/dpkg.log" ||
    fail "dpkg -i without the secret did not say why it started nothing: $(cat "$TMP/dpkg.log")"
if grep -E 'start|enable' "$TMP/systemctl.log" >"$TMP/bad"; then
    fail "dpkg -i without the secret ran: systemctl $(cat "$TMP/bad")"
fi
dpkg_root --purge floe-relay
for f in usr/bin/floe-relay etc/default/floe-relay usr/lib/systemd/system/floe-relay.service; do
    [ ! -e "$D/$f" ] || fail "dpkg --purge left /$f"
done

# libfloe0 + libfloe-dev: the library as a user of the packages gets it.
[ "$(field libfloe-dev Depends | tr ',' '\n' | sed 's/^ *//' | grep '^libfloe0 ')" = \
    "libfloe0 (= $VERSION)" ] || fail "libfloe-dev Depends: $(field libfloe-dev Depends)"
dpkg-deb -e "$(deb libfloe0)" "$TMP/lib0"
grep -qx "libfloe 0 libfloe0 (>= $UPSTREAM)" "$TMP/lib0/shlibs" || fail "libfloe0 shlibs"
grep -qx 'activate-noawait ldconfig' "$TMP/lib0/triggers" || fail "libfloe0 has no ldconfig trigger"
S=$TMP/sys
dpkg-deb -x "$(deb libfloe0)" "$S"
dpkg-deb -x "$(deb libfloe-dev)" "$S"
PC=$(find "$S" -name floe.pc)
[ -n "$PC" ] || fail "libfloe-dev has no floe.pc"
read -r -a FLAGS <<<"$(PKG_CONFIG_PATH=$(dirname "$PC") PKG_CONFIG_SYSROOT_DIR=$S \
    pkg-config --cflags --libs floe)"
"$CC" -std=c17 -Wall -Wextra -Werror "${CFLAGS_EXTRA[@]}" \
    "$FLOE_SOURCE_DIR/tests/install/consumer/consumer.c" "${FLAGS[@]}" -o "$TMP/consumer" \
    >"$TMP/cc.log" 2>&1 || fail "consumer against the packages: $(cat "$TMP/cc.log")"
LD_LIBRARY_PATH=$(dirname "$(dirname "$PC")") "$TMP/consumer" >"$TMP/out" ||
    fail "consumer against the packages failed"
[ "$(cat "$TMP/out")" = "floe $UPSTREAM: stun ok" ] || fail "consumer printed $(cat "$TMP/out")"

echo "deb: $(wc -l <"$TMP/want") packages checked: $(tr '\n' ' ' <"$TMP/want")"
