#!/usr/bin/env bash
# WireGuard keys of `floe` against Debian's wireguard-tools: `wg genkey | tee k | wg pubkey`
# must equal `floe pubkey < k`, keys from `floe genkey` must be accepted by `wg pubkey` with
# the same result and be clamped, `floe genpsk` must be 44 characters of 32 bytes, and bad
# input must fail with a one-line reason. Never skipped: a missing `wg` fails the test.
set -euo pipefail


: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe
need_tool wg base64 od
FLOE=$FLOE_BIN_DIR/floe

TMP=$(mktemp -d /tmp/floe-wg-keys.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# A command that fails without a word (floe.exe under Wine with WINEDEBUG=-all did, once, on
# a loaded machine) says which one it was.
trap 'echo "wg_keys_test: line $LINENO failed (exit $?): $BASH_COMMAND" >&2' ERR
umask 077

for i in $(seq 1 20); do
    wg genkey | tee "$TMP/k" | wg pubkey >"$TMP/wg.pub"
    "$FLOE" pubkey <"$TMP/k" >"$TMP/floe.pub" || fail "floe pubkey refused a wg key"
    cmp -s "$TMP/wg.pub" "$TMP/floe.pub" ||
        fail "round $i: wg pubkey $(cat "$TMP/wg.pub") != floe pubkey $(cat "$TMP/floe.pub")"

    "$FLOE" genkey >"$TMP/fk"
    [ "$(tr -d '\n' <"$TMP/fk" | wc -c)" -eq 44 ] || fail "floe genkey is not 44 characters"
    wg pubkey <"$TMP/fk" >"$TMP/wg.pub" || fail "wg pubkey refused a floe key"
    "$FLOE" pubkey <"$TMP/fk" >"$TMP/floe.pub"
    cmp -s "$TMP/wg.pub" "$TMP/floe.pub" || fail "round $i: public keys of a floe key differ"
    # Clamped for X25519: the low 3 bits of the first byte clear, the last byte 01xxxxxx.
    # shellcheck disable=SC2207 # od prints numbers: word splitting is what is wanted
    bytes=($(base64 -d <"$TMP/fk" | od -An -v -tu1))
    [ "${#bytes[@]}" -eq 32 ] || fail "floe genkey is not 32 bytes"
    [ $((bytes[0] & 7)) -eq 0 ] && [ $((bytes[31] & 0xC0)) -eq 64 ] ||
        fail "floe genkey is not clamped: first ${bytes[0]}, last ${bytes[31]}"
done

psk=$("$FLOE" genpsk)
[ "${#psk}" -eq 44 ] || fail "floe genpsk is not 44 characters"
[ "$(printf '%s' "$psk" | base64 -d | wc -c)" -eq 32 ] || fail "floe genpsk is not 32 bytes"
[ "$("$FLOE" genpsk)" != "$psk" ] || fail "floe genpsk repeats itself"

# wg's own sample key from wg(8) style input with a trailing newline and spaces.
key=$(wg genkey)
[ "$(printf '  %s  \n' "$key" | "$FLOE" pubkey)" = "$(printf '%s' "$key" | wg pubkey)" ] ||
    fail "white space around the key changes the result"

if echo "not a key" | "$FLOE" pubkey 2>"$TMP/err"; then
    fail "floe pubkey accepted garbage"
fi
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "error is not one line"
if "$FLOE" genkey extra 2>/dev/null; then
    fail "floe genkey accepted an argument"
fi
echo "ok: floe keys match wg on 20 keys each way"
