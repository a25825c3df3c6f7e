#!/bin/sh
# floe demo: first the whole system end to end in network namespaces (scripts/demo_e2e.sh:
# portal, relay, gateway, client, a download and a roam), then the pieces: ask a local coturn for our server-reflexive address, relay a
# message through floe-relay with `floe turn` (and through it with coturn's own client),
# ping through a WireGuard tunnel between floe-wg and wireguard-go, then replay DESIGN section
# 1's roam race (connected, roam, reset) in the simulator, with and without the grace period,
# then roam the node (client and gateway) in the simulator with its timeline.
# Usage: sh scripts/demo.sh BUILD_DIR   (run by `make demo` after `make deps`)
set -eu

BUILD=${1:?usage: sh scripts/demo.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLOE=$BUILD/bin/floe
[ -x "$FLOE" ] || { echo "demo: $FLOE not built (run 'make build')" >&2; exit 1; }
RELAY=$BUILD/bin/floe-relay
[ -x "$RELAY" ] || { echo "demo: $RELAY not built (run 'make build')" >&2; exit 1; }
for tool in turnserver turnutils_peer turnutils_uclient jq ss; do
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
RELAY_PID=""
PEER_PID=""
stop() {
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    floe_coturn_stop
    stop "$RELAY_PID"
    stop "$PEER_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

heading "floe end to end: a laptop reaches a web server behind a gateway and roams (scripts/demo_e2e.sh)"
bash "$ROOT/scripts/demo_e2e.sh" "$BUILD"

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

heading "starting floe-relay and an echo peer (coturn's turnutils_peer) on loopback"
RPORT=$(floe_free_udp_port)
PEER_PORT=$(floe_free_udp_port)
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
"$RELAY" --listen "127.0.0.1:$RPORT" --relay-ports 61000-61999 --allow-loopback-peers \
    --user alice:secret --auth-secret demo-secret --threads 2 \
    --log-file "$TMP/relay.jsonl" &
RELAY_PID=$!
i=0
while [ -z "$(ss -Hlnu "sport = :$RPORT")" ] || [ -z "$(ss -Hlnu "sport = :$PEER_PORT")" ]; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "demo: floe-relay did not start" >&2; exit 1; }
    sleep 0.1
done
echo "floe-relay pid $RELAY_PID on udp 127.0.0.1:$RPORT, echo peer on udp 127.0.0.1:$PEER_PORT"

heading "floe turn: allocate on floe-relay, bind a channel, echo through the relay"
"$FLOE" turn --server "127.0.0.1:$RPORT" --user alice --password secret \
    --peer "127.0.0.1:$PEER_PORT"

heading "the same with coturn-style REST credentials (--auth-secret), as JSON"
"$FLOE" turn --json --server "127.0.0.1:$RPORT" --auth-secret demo-secret --user demo \
    --peer "127.0.0.1:$PEER_PORT" | jq .

heading "coturn's own client (turnutils_uclient) through floe-relay: 4 allocations x 20 messages"
turnutils_uclient -p "$RPORT" -e 127.0.0.1 -r "$PEER_PORT" -n 20 -m 4 -c -u alice -w secret \
    127.0.0.1 2>&1 | grep -E "start_mclient: tot_send_msgs|lost packets"

heading "floe-relay's log (JSON Lines, read with jq)"
stop "$RELAY_PID"
RELAY_PID=""
jq -r '"\(.time) \(.severity) \(.message) \(.addr // "")"' "$TMP/relay.jsonl" | head -n 8
stop "$PEER_PID"
PEER_PID=""

heading "WireGuard: floe-wg and wireguard-go in two network namespaces, configured by wg"
bash "$ROOT/scripts/demo_wg.sh" "$BUILD"

heading "floe sim roam-race: connected, the client roams and resets, the gateway's candidates first"
echo "its own candidates come back 50 ms..1.9 s later (run 4: first, the control run)"
echo "left: grace period 2 s; right: grace 0 (the naive manager); both without a candidate wait"
"$FLOE" sim roam-race

heading "the same runs summarised (floe sim roam-race --json | jq)"
"$FLOE" sim roam-race --json | jq -r '
    .lanes as $lanes
    | [.timeline[] | select(.t_ms == 0 and .lane == 0 or (.event | startswith("=>")))]
    | group_by(.run)[]
    | "run \(.[0].run): \(.[0].event)\n" +
      ([.[] | select(.event | startswith("=>")) | "    \($lanes[.lane]): \(.event)"] | join("\n"))'

heading "every seed 1..1000 (floe sim roam-race --seeds 1000): the naive lane fails on each"
echo "(a seed passes only when grace 2 s recovers and grace 0 fails falsely in all three races)"
"$FLOE" sim roam-race --seeds 1000

heading "floe sim node-gateway-roam: the node on both sides, a relay core, the gateway roams"
echo "the WireGuard session survives; the timeline shows paths, reset() and data again"
"$FLOE" sim node-gateway-roam

heading "floe sim node-roam: the client roams mid-transfer in each NAT cell (one line per cell)"
"$FLOE" sim node-roam --json | jq -r '.timeline[] | select(.event | startswith("client ")) | .event'
echo "done"
