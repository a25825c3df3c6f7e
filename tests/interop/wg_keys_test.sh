#!/usr/bin/env bash
# WireGuard keys of `floe` against Debian's wireguard-tools: `wg genkey | tee k | wg pubkey`
# must equal `floe pubkey < k`, keys from `floe genkey` must be accepted by `wg pubkey` with
# the same result and be clamped, `floe genpsk` must be 44 characters of 32 bytes, and bad
# input must fail with a one-line reason. Never skipped: a missing `wg` fails the test.
set -euo pipefail

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

: "${FLOE_BIN_DIR:?FLOE_BIN_DIR must point at the build bin directory}"
FLOE=$FLOE_BIN_DIR/floe
[ -x "$FLOE" ] || fail "$FLOE not built"
command -v wg >/dev/null || fail "wg not installed (Debian wireguard-tools; run 'make deps')"
command -v python3 >/dev/null || fail "python3 not installed"

TMP=$(mktemp -d /tmp/floe-wg-keys.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
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
    python3 - "$TMP/fk" <<'PY' || fail "floe genkey is not clamped"
import base64, sys
k = base64.b64decode(open(sys.argv[1]).read().strip())
sys.exit(0 if len(k) == 32 and k[0] & 7 == 0 and k[31] & 0x80 == 0 and k[31] & 0x40 else 1)
PY
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
