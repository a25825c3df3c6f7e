#!/usr/bin/env bash
# The simulator is deterministic across operating systems: for every scenario of
# `floe sim --list`, floe.exe under Wine and the Linux floe write the same transcript bytes
# and the same standard output for the same seed. Never skipped: a missing native floe fails.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
: "${FLOE_NATIVE_BIN_DIR:?FLOE_NATIVE_BIN_DIR must point at the Linux build bin directory}"
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe
[ -x "$FLOE_NATIVE_BIN_DIR/floe" ] || fail "$FLOE_NATIVE_BIN_DIR/floe not built (make build)"
WIN=$FLOE_BIN_DIR/floe
NATIVE=$FLOE_NATIVE_BIN_DIR/floe

TMP=$(mktemp -d /tmp/floe-win-sim.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

"$NATIVE" sim --list >"$TMP/native.list"
"$WIN" sim --list >"$TMP/win.list"
cmp "$TMP/native.list" "$TMP/win.list" || fail "scenario lists differ"
n=0
while read -r scenario _; do
    # The property tests make 1000 runs by default (35 s each natively, longer under Wine):
    # 50 runs of each seed compare the same code paths.
    case "$scenario" in node-prop*) runs=50 ;; *) runs= ;; esac
    for seed in 1 7; do
        rc_n=0 rc_w=0
        "$NATIVE" sim "$scenario" --seed "$seed" ${runs:+--seeds "$runs"} \
            --transcript "$TMP/n.jsonl" >"$TMP/n.out" || rc_n=$?
        "$WIN" sim "$scenario" --seed "$seed" ${runs:+--seeds "$runs"} \
            --transcript "$TMP/w.jsonl" >"$TMP/w.out" || rc_w=$?
        [ "$rc_n" -eq "$rc_w" ] || fail "$scenario seed $seed: exit $rc_w, Linux $rc_n"
        [ -s "$TMP/n.jsonl" ] || fail "$scenario seed $seed: empty Linux transcript"
        cmp "$TMP/n.jsonl" "$TMP/w.jsonl" ||
            fail "$scenario seed $seed: transcripts differ ($(wc -c <"$TMP/w.jsonl") bytes on Windows)"
        cmp "$TMP/n.out" "$TMP/w.out" || fail "$scenario seed $seed: output differs"
        echo "$scenario seed $seed: $(wc -c <"$TMP/n.jsonl") transcript bytes identical"
        n=$((n + 1))
    done
done <"$TMP/native.list"
[ "$n" -ge 16 ] || fail "only $n runs compared"
echo "PASS: $n runs identical"
