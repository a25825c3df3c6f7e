#!/bin/sh
# floe demo, as it stands: ask a local coturn for our server-reflexive address, then
# replay DESIGN section 1's roam race in the simulator, with and without the grace period.
# Usage: sh scripts/demo.sh BUILD_DIR   (run by `make demo` after `make deps`)
set -eu

BUILD=${1:?usage: sh scripts/demo.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLOE=$BUILD/bin/floe
[ -x "$FLOE" ] || { echo "demo: $FLOE not built (run 'make build')" >&2; exit 1; }
for tool in turnserver jq ss; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "demo: $tool not installed (run 'make deps' as root)" >&2
        exit 1
    }
done

. "$ROOT/scripts/coturn.sh"

heading() {
    printf '\n=== %s ===\n' "$1"
}

TMP=$(mktemp -d /tmp/floe-demo.XXXXXX)
COTURN_PID=""
cleanup() {
    floe_coturn_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

heading "starting coturn (Debian's turnserver) on loopback"
PORT=$(floe_free_udp_port)
floe_coturn_start "$TMP" "$PORT"
floe_coturn_wait "$PORT" "$TMP"
echo "turnserver pid $COTURN_PID listening on udp 127.0.0.1:$PORT"

heading "floe stun 127.0.0.1:$PORT"
"$FLOE" stun "127.0.0.1:$PORT"

heading "floe stun --json 127.0.0.1:$PORT | jq ."
"$FLOE" stun --json "127.0.0.1:$PORT" | jq .

heading "debug logs (JSON Lines) of the same probe, read with jq"
"$FLOE" stun --log-level debug --log-file "$TMP/floe.jsonl" "127.0.0.1:$PORT" >/dev/null
jq -r '"\(.time) \(.severity) \(.message) server=\(.server)"' "$TMP/floe.jsonl"

heading "stopping coturn (pid $COTURN_PID)"
floe_coturn_stop

heading "floe sim roam-race: local candidates 50 ms..1.9 s after the remote ones"
echo "left: the grace period and candidate timeout; right: both 0 (the naive behaviour)"
"$FLOE" sim roam-race

heading "the same runs side by side, summarised (floe sim roam-race --json | jq)"
"$FLOE" sim roam-race --json | jq -r '
    .lanes as $lanes
    | [.timeline[] | select(.event | startswith("client'"'"'s local") or startswith("=>"))]
    | group_by(.run)[]
    | "run \(.[0].run): \(.[0].event)\n" +
      ([.[] | select(.event | startswith("=>")) | "    \($lanes[.lane]): \(.event)"] | join("\n"))'
echo "done"
