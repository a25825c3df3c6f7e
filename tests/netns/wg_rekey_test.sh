#!/usr/bin/env bash
# Rekey after REKEY_AFTER_TIME against wireguard-go (issue 9, item 16). floe-wg runs with
# FLOE_WG_TEST_CLOCK_RATE=20 (its protocol clock 20 times as fast: REKEY_AFTER_TIME, 120 s,
# comes after 6 s), wireguard-go on the real clock, in two namespaces joined by a veth.
# floe-wg initiates; during 24 s of pings (480 s of floe-wg's time) it must start at least
# three new handshakes as its keys age, wireguard-go must answer each, and the pings must
# go on through every key change (at most 2 of 120 lost).
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip wg wireguard-go ping
need_bin floe-wg

TMP=$(mktemp -d)
BIN=$FLOE_BIN_DIR
IF_A="fra$$"
IF_B="frb$$"
# shellcheck source=../../scripts/wg_netns.sh
. "$FLOE_SOURCE_DIR/scripts/wg_netns.sh"

cleanup() {
    local rc=$?
    wgns_cleanup
    if [ "$rc" -ne 0 ]; then
        echo "--- floe-wg log" >&2
        tail -n 20 "$TMP/$IF_A.log" >&2 || true
        echo "--- wireguard-go log" >&2
        grep -i handshake "$TMP/$IF_B.log" | tail -n 20 >&2 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

A() { ip netns exec "$NS_A" "$@"; }

wgns_create floe-wgr
# floe-wg's clock 20 times as fast; wireguard-go logs every handshake message.
FLOE_WG_TEST_CLOCK_RATE=20 wgns_start "$NS_A" "$IF_A" floe-wg
LOG_LEVEL=verbose wgns_start "$NS_B" "$IF_B" wireguard-go
wgns_pair "$IF_A" "$IF_B"
FLOE_LOG="$TMP/$IF_A.log"
WGGO_LOG="$TMP/$IF_B.log"

A ping -c 2 -i 0.2 -W 3 10.78.0.2 >/dev/null || fail "no first ping floe-wg -> wireguard-go"
FIRST=$(grep -c "Received handshake initiation" "$WGGO_LOG" || true)
[ "$FIRST" -ge 1 ] || fail "wireguard-go saw no initiation from floe-wg"

# 120 pings over 24 s: 480 s of floe-wg's clock, REKEY_AFTER_TIME four times over.
LOSS=$(A ping -c 120 -i 0.2 -W 1 10.78.0.2 | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$LOSS" ] || fail "ping printed no summary"
LOST=$((120 - LOSS))
REKEYS=$(($(grep -c "Received handshake initiation" "$WGGO_LOG") - FIRST))
RESPONSES=$(grep -c "Sending handshake response" "$WGGO_LOG" || true)
echo "ok: $REKEYS rekeys by floe-wg answered by wireguard-go ($RESPONSES responses), $LOST of 120 pings lost"
[ "$REKEYS" -ge 3 ] || fail "floe-wg started $REKEYS new handshakes in 480 s of its time, not >= 3"
[ "$REKEYS" -le 12 ] || fail "floe-wg started $REKEYS handshakes: more than its keys' age asks"
[ "$RESPONSES" -ge $((FIRST + 3)) ] || fail "wireguard-go answered $RESPONSES handshakes"
[ "$LOST" -le 2 ] || fail "$LOST of 120 pings lost across the key changes"
[ "$(grep -c '"message":"handshake complete"' "$FLOE_LOG")" -ge 4 ] ||
    fail "floe-wg logged fewer than 4 completed handshakes"
kill -0 "${WGNS_FLOE_PIDS[0]}" || fail "floe-wg died"
echo "PASS"
