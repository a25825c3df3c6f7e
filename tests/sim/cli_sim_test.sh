#!/usr/bin/env bash
# `floe sim`: --list names every scenario, a scenario prints its timeline and
# verdict and exits 0 when the verdict holds, --json is one JSON object, the
# transcript is written and reproducible, and usage errors exit 2 with a
# one-line reason. Needs jq; never skipped.
set -euo pipefail


: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe
need_tool jq
FLOE=$FLOE_BIN_DIR/floe

TMP=$(mktemp -d /tmp/floe-cli-sim.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# expect_exit CODE CMD...: run CMD, its stdout in $TMP/out and stderr in $TMP/err.
expect_exit() {
    local want=$1 rc=0
    shift
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        cat "$TMP/out" "$TMP/err" >&2
        fail "exit $rc, expected $want: $*"
    fi
}

echo "--- --list"
expect_exit 0 "$FLOE" sim --list
SCENARIOS="nat-matrix nat-matrix-relay relay-only roam-race consent-loss roam-mid-session
    role-conflict-lossy property node-roam-race node-roam node-gateway-roam node-both-roam
    node-relayed-symmetric node-loss node-idle-roam node-signal-outage node-relay-restart node-scale
    node-prop"
for s in $SCENARIOS; do
    grep -q "^$s " "$TMP/out" || fail "--list lacks $s"
done
[ "$(wc -l <"$TMP/out")" -eq "$(echo $SCENARIOS | wc -w)" ] ||
    fail "--list is not one line per scenario"

echo "--- nat-matrix-relay: one line per cell, symmetric to symmetric relayed, verdict PASS"
expect_exit 0 "$FLOE" sim nat-matrix-relay
[ "$(grep -c ' ms  client .* gateway .*: \(direct \|relayed\) in ' "$TMP/out")" -eq 49 ] ||
    fail "not 49 cell lines: $(cat "$TMP/out")"
[ "$(grep -c ': relayed in ' "$TMP/out")" -eq 14 ] || fail "not 14 relayed cells"
grep -q "client apdm-apdf gateway apdm-apdf: relayed in " "$TMP/out" ||
    fail "symmetric to symmetric not relayed"
grep -q "WRONG\|NOT CONNECTED" "$TMP/out" && fail "a cell is wrong"
tail -n 1 "$TMP/out" | grep -q "^verdict: PASS: 35 cells direct, 14 relayed, 0 wrong" ||
    fail "no PASS verdict line"

echo "--- roam-race: both lanes side by side, verdict PASS"
expect_exit 0 "$FLOE" sim roam-race --seed 3
grep -q "naive client: grace 0, candidate timeout 0" "$TMP/out" || fail "no naive lane header"
grep -q "FALSE FAILURE" "$TMP/out" || fail "no false failure shown"
grep -q "connected, data both ways, never failed" "$TMP/out" || fail "no recovery shown"
tail -n 1 "$TMP/out" | grep -q "^verdict: PASS: " || fail "no PASS verdict line"

echo "--- --json and --transcript, twice with the same seed"
expect_exit 0 "$FLOE" sim consent-loss --json --seed 5 --transcript "$TMP/t1.jsonl"
jq -e '.scenario == "consent-loss" and .seed == 5 and .pass == true and
       (.timeline | length) > 10 and (.lanes | length) == 2' "$TMP/out" >/dev/null ||
    fail "bad JSON: $(cat "$TMP/out")"
cp "$TMP/out" "$TMP/json1"
expect_exit 0 "$FLOE" sim consent-loss --json --seed=5 --transcript="$TMP/t2.jsonl"
cmp -s "$TMP/json1" "$TMP/out" || fail "same seed, different output"
cmp -s "$TMP/t1.jsonl" "$TMP/t2.jsonl" || fail "same seed, different transcript"
[ "$(wc -l <"$TMP/t1.jsonl")" -gt 100 ] || fail "transcript too short"
jq -e -s 'all(.[]; has("t_ns") and has("ev"))' "$TMP/t1.jsonl" >/dev/null ||
    fail "transcript lines are not JSON with t_ns and ev"

echo "--- node-prop --seeds N runs N seeded runs and prints the recovery percentiles"
expect_exit 0 "$FLOE" sim node-prop --seeds 20 --seed 3
grep -q "^verdict: PASS: 20 runs, .*recovery p50 [0-9]* ms, p99 [0-9]* ms, max" "$TMP/out" ||
    fail "node-prop output: $(tail -1 "$TMP/out")"

echo "--- usage errors exit 2 with one line"
expect_exit 2 "$FLOE" sim no-such-scenario
grep -qF "unknown scenario 'no-such-scenario' (see 'floe sim --list')" "$TMP/err" ||
    fail "stderr: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "stderr is not one line"
expect_exit 2 "$FLOE" sim
expect_exit 2 "$FLOE" sim roam-race --seed
expect_exit 2 "$FLOE" sim roam-race --seed -1
expect_exit 2 "$FLOE" sim roam-race --bogus
expect_exit 2 "$FLOE" sim node-prop --seeds 0
expect_exit 2 "$FLOE" sim node-prop --seeds x
expect_exit 2 "$FLOE" sim roam-race property
expect_exit 0 "$FLOE" sim --help
grep -q "usage: floe sim SCENARIO" "$TMP/out" || fail "no help text"
expect_exit 0 "$FLOE" help sim
expect_exit 1 "$FLOE" sim roam-race --transcript /nonexistent-dir/t.jsonl
echo "ok"
