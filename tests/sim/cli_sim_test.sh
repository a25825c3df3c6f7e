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
    node-relayed-symmetric node-loss node-setup node-idle-roam node-signal-outage
    node-portal-outage node-relay-restart node-recheck node-scale
    node-prop node-prop-links"
for s in $SCENARIOS; do
    grep -q "^$s " "$TMP/out" || fail "--list lacks $s"
done
[ "$(wc -l <"$TMP/out")" -eq "$(echo $SCENARIOS | wc -w)" ] ||
    fail "--list is not one line per scenario"

echo "--- nat-matrix-relay: one line per cell, symmetric to symmetric relayed, verdict PASS"
expect_exit 0 "$FLOE" sim nat-matrix-relay
[ "$(grep -c ' ms  client .* gateway .*: \(direct \|relayed\) in ' "$TMP/out")" -eq 49 ] ||
    fail "not 49 cell lines: $(cat "$TMP/out")"
[ "$(grep -c ': relayed in ' "$TMP/out")" -eq 15 ] || fail "not 15 relayed cells"
grep -q "client apdm-apdf gateway apdm-apdf: relayed in " "$TMP/out" ||
    fail "symmetric to symmetric not relayed"
grep -q "WRONG\|NOT CONNECTED" "$TMP/out" && fail "a cell is wrong"
grep -q "client adm-adf   gateway adm-adf  : relayed in " "$TMP/out" ||
    fail "address-dependent mapping and filtering to its twin not relayed (RFC 4787 section 5)"
tail -n 1 "$TMP/out" |
    grep -q "^verdict: PASS: 34 cells direct, 15 relayed (0 of them could be direct), 0 wrong" ||
    fail "no PASS verdict line"

echo "--- roam-race: both lanes side by side, the disconnected period, verdict PASS"
expect_exit 0 "$FLOE" sim roam-race --seed 3
grep -q "naive client: grace 0 (candidate timeout 0)" "$TMP/out" || fail "no naive lane header"
[ "$(grep -c "=> FALSE FAILURE .* after the reset, before any local candidate" "$TMP/out")" -eq 3 ] ||
    fail "not three false failures shown"
[ "$(grep -c " => disconnected for [0-9]* ms, recovered; data outage " "$TMP/out")" -eq 3 ] ||
    fail "not three recoveries from disconnected shown"
grep -q "client: roamed .*: reset, new offer" "$TMP/out" || fail "no roam and reset shown"
grep -q "client: new -> disconnected (candidates changed) *|" "$TMP/out" ||
    fail "the grace lane shows no disconnected period"
grep -q "^--- run 4" "$TMP/out" || fail "no control run"
[ "$(grep -c "=> recovered, never disconnected" "$TMP/out")" -eq 1 ] || fail "control run not shown"
grep -q "^data outage: " "$TMP/out" || fail "no data outage line"
tail -n 1 "$TMP/out" | grep -q "^verdict: PASS: " || fail "no PASS verdict line"
expect_exit 0 "$FLOE" sim roam-race --seed 3 --transcript "$TMP/race.jsonl"
jq -e -s '[.[] | select(.ev == "note" and .what == "client")] |
          any(.detail == "new -> disconnected (candidates changed)") and
          any(.detail == "disconnected -> checking (candidates changed)") and
          any(.detail | startswith("roamed "))' "$TMP/race.jsonl" >/dev/null ||
    fail "the roam-race transcript does not show the roam and the disconnected period"
expect_exit 0 "$FLOE" sim roam-race --seeds 10
grep -q "^roam-race: seeds 1..10: 10 runs, 0 verdict failures; data outage .* (40 roams)$" \
    "$TMP/out" || fail "bad roam-race sweep: $(cat "$TMP/out")"

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

echo "--- --seeds N: one summary line over seeds 1..N, --json one object"
expect_exit 0 "$FLOE" sim roam-mid-session --seeds 5
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "--seeds summary is not one line: $(cat "$TMP/out")"
grep -q "^roam-mid-session: seeds 1..5: 5 runs, 0 verdict failures; data outage p50 [0-9.]* ms, p99 [0-9.]* ms, max [0-9.]* ms (5 roams)$" "$TMP/out" ||
    fail "bad --seeds summary: $(cat "$TMP/out")"
expect_exit 0 "$FLOE" sim roam-mid-session --sweep=5 --json
jq -e '.scenario == "roam-mid-session" and .seeds == 5 and .runs == 5 and .failures == 0 and
       .failed_seeds == [] and .outage_ms.roams == 5 and .outage_ms.p50 > 0 and
       .outage_ms.p50 <= .outage_ms.p99 and .outage_ms.p99 <= .outage_ms.max' "$TMP/out" \
    >/dev/null || fail "bad --seeds JSON: $(cat "$TMP/out")"
expect_exit 0 "$FLOE" sim nat-matrix --seeds 2 --json
jq -e '.runs == 2 and .outage_ms == null' "$TMP/out" >/dev/null ||
    fail "a scenario without roams reports outages: $(cat "$TMP/out")"
for bad in "--seeds 0" "--seeds x" "--seeds" "--seeds 1000001" "--seeds 3 --seed 2" \
    "--sweep 3 --transcript $TMP/t.jsonl"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$FLOE" sim roam-mid-session $bad
done

echo "--- node-prop --seeds N runs N seeded runs and prints the recovery percentiles"
expect_exit 0 "$FLOE" sim node-prop --seeds 20
grep -q "^verdict: PASS: 20 runs, .*recovery p50 [0-9]* ms, p99 [0-9]* ms, max" "$TMP/out" ||
    fail "node-prop output: $(tail -1 "$TMP/out")"

echo "--- node-prop: --seed S --seeds N --transcript FILE, the same bytes twice; another S differs"
expect_exit 0 "$FLOE" sim node-prop-links --seed 7 --seeds 3 --transcript "$TMP/p1.jsonl"
grep -q "^verdict: PASS: 3 runs, " "$TMP/out" || fail "node-prop-links --seeds 3: $(tail -1 "$TMP/out")"
expect_exit 0 "$FLOE" sim node-prop-links --seeds 3 --seed 7 --transcript "$TMP/p2.jsonl"
[ -s "$TMP/p1.jsonl" ] && cmp -s "$TMP/p1.jsonl" "$TMP/p2.jsonl" ||
    fail "node-prop-links --seed 7 --seeds 3: no transcript, or not the same twice"
expect_exit 0 "$FLOE" sim node-prop-links --seed 8 --seeds 3 --transcript "$TMP/p3.jsonl"
! cmp -s "$TMP/p1.jsonl" "$TMP/p3.jsonl" || fail "node-prop-links: --seed 8 ran the runs of --seed 7"

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
