#!/usr/bin/env bash
# turn_load --pin 1 (a short run, not a measurement): the relay runs on the last CPU and
# every thread of the generator (the echo peer too) on the others, set before they start;
# both relays' lines show the loss. Needs 2 CPUs and coturn's turnserver; never skipped.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe-relay
need_tool turnserver ps
LOAD=$FLOE_BIN_DIR/../bench/turn_load
[ -x "$LOAD" ] || fail "$LOAD not built"
CPUS=$(nproc)
[ "$CPUS" -ge 2 ] || fail "--pin needs 2 CPUs, this machine has $CPUS"
RELAY_CPU=$((CPUS - 1))
if [ "$CPUS" -eq 2 ]; then GEN_CPUS=0; else GEN_CPUS="0-$((CPUS - 2))"; fi

TMP=$(mktemp -d /tmp/floe-turn-load-pin.XXXXXX)
LOAD_PID=""
relay=""
cleanup() {
    stop_pid "$LOAD_PID" # turn_load stops its relay on SIGTERM
    [ -z "$relay" ] || wait_exit "$relay" "turn_load left its relay $relay running"
    rm -rf "$TMP"
}
trap cleanup EXIT

# cpus_of PID: the Cpus_allowed_list of every thread of PID, one a line.
cpus_of() {
    local t
    for t in /proc/"$1"/task/*; do
        sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status" 2>/dev/null || true
    done
}

"$LOAD" --seconds 2 --allocations 4 --window 2 --gso 0 --pin 1 >"$TMP/out" 2>&1 &
LOAD_PID=$!
for _ in $(seq 100); do
    relay=$(ps -o pid=,comm= --ppid "$LOAD_PID" | awk '$2 == "floe-relay" {print $1}' || true)
    [ -n "$relay" ] && break
    sleep 0.05
done
[ -n "$relay" ] || { cat "$TMP/out" >&2; fail "turn_load started no floe-relay"; }
sleep 1 # the load runs: the relay's workers and the generator's threads exist
cpus_of "$relay" >"$TMP/relay.cpus"
cpus_of "$LOAD_PID" >"$TMP/load.cpus"
[ -s "$TMP/relay.cpus" ] && [ -s "$TMP/load.cpus" ] || fail "no threads to look at"
bad=$(grep -vx "$RELAY_CPU" "$TMP/relay.cpus" || true)
[ -z "$bad" ] || fail "relay threads allowed on '$bad', not only CPU $RELAY_CPU"
bad=$(grep -vx "$GEN_CPUS" "$TMP/load.cpus" || true)
[ -z "$bad" ] || fail "generator threads allowed on '$bad', not only $GEN_CPUS"
echo "relay: $(wc -l <"$TMP/relay.cpus") threads on CPU $RELAY_CPU; generator: $(wc -l <"$TMP/load.cpus") threads on $GEN_CPUS"
rc=0
wait "$LOAD_PID" || rc=$?
LOAD_PID=""
[ "$rc" -eq 0 ] || { cat "$TMP/out" >&2; fail "turn_load exited $rc"; }
grep -q '^floe-relay .* loss ' "$TMP/out" || { cat "$TMP/out" >&2; fail "no floe-relay line with loss"; }
grep -q '^coturn .* loss ' "$TMP/out" || { cat "$TMP/out" >&2; fail "no coturn line with loss"; }
cat "$TMP/out"
echo PASS
