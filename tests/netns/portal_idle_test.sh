#!/usr/bin/env bash
# floe-client and floe-gateway stay joined to floe-portal past its idle timeout (issue 13): the
# agents' protocol client sends a heartbeat every 10 s and the portal counts it as activity, so
# the portal, run here with --idle-timeout 15000, never closes them with 1008 "idle" while they
# are up. Before the fix the agents never drove the protocol client's timers: no heartbeat was
# sent, and the portal dropped both agents after each idle timeout (60 s by default). Topology
# as client_gateway_test.sh: "hub" (portal over TLS, relay), "client", "site" (gateway, db).
# Checks, after 2.5 idle timeouts: no idle close in the portal's log, no portal disconnect and
# no lost TURN allocation in the agents' logs, and the connection and a policy
# pushed through the same WebSocket still work; then the portal restarts: the agents rejoin,
# keep their relay allocation (no 441 Wrong Credentials, no "turn allocation lost") and a
# resource allowed after that is reached.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
# shellcheck source=hub_lib.sh
. "$FLOE_SOURCE_DIR/tests/netns/hub_lib.sh"

hub_begin pi

IDLE_MS=15000

hub_topology 10.20.0.5 10.30.0.5 10.40.0.5
hub_tls
hub_enroll
DB_RES=$(admin resources add --site "$SITE" --name db --address 10.20.0.0/24)
LATE_RES=$(admin resources add --site "$SITE" --name late --address 10.30.0.0/24)
THIRD_RES=$(admin resources add --site "$SITE" --name third --address 10.40.0.0/24)
admin policies add --group "$GROUP" --resource "$DB_RES" >/dev/null
hub_relay
hub_portal portal --idle-timeout "$IDLE_MS"
hub_agents
hub_wait_route '10.20.0.0/24' "the client did not join: no route to db"
C ping -c 3 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping" || fail "no ping through the tunnel"

# relay_kept NAME: NAME's log has no lost allocation and no refused credentials.
relay_kept() {
    grep -n 'turn allocation lost\|no_relays\|"code":441' "$TMP/$1.log" >"$TMP/lost" &&
        fail "$1 lost its relay: $(cat "$TMP/lost")"
    return 0
}

# 2.5 idle timeouts with the agents up; a ping now and then keeps the connection busy.
end=$((SECONDS + IDLE_MS * 5 / 2000))
while [ "$SECONDS" -lt "$end" ]; do
    C ping -c 1 -W 2 10.20.0.5 >/dev/null 2>&1 || true
    sleep 2
done

grep -n 'idle for' "$TMP/portal.log" >"$TMP/idle" &&
    fail "the portal closed idle connections: $(cat "$TMP/idle")"
for f in client gateway; do
    grep -n 'portal: disconnected' "$TMP/$f.log" >"$TMP/disc" &&
        fail "$f lost the portal: $(cat "$TMP/disc")"
    relay_kept "$f"
done
C ping -c 2 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping2" || fail "no ping after $((IDLE_MS * 5 / 2000)) s"

# The same WebSocket still carries pushes: a policy added now routes the new resource.
admin policies add --group "$GROUP" --resource "$LATE_RES" >/dev/null
hub_wait_route '10.30.0.0/24' "the pushed resource got no route"
C ping -c 2 -i 0.3 -W 5 10.30.0.5 >"$TMP/ping3" || fail "pushed resource: no ping"

# A reconnect (the portal restarted) re-adds the relay with its credentials while its
# allocation runs: the allocation is kept (no 441, no loss), and a resource allowed after
# the reconnect is authorized and reached.
stop_pid "$PORTAL_PID"
hub_portal portal2 --idle-timeout "$IDLE_MS"
for i in $(seq 150); do
    [ "$(grep -c 'joined' "$TMP/portal2.log" 2>/dev/null)" -ge 2 ] && break
    [ "$i" -lt 150 ] || fail "the agents did not join the restarted portal"
    sleep 0.1
done
admin policies add --group "$GROUP" --resource "$THIRD_RES" >/dev/null
hub_wait_route '10.40.0.0/24' "after the reconnect: no route"
C ping -c 2 -i 0.3 -W 5 10.40.0.5 >"$TMP/ping4" || fail "after the reconnect: no ping"
C ping -c 2 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping5" || fail "after the reconnect: db lost"
sleep 2
for f in client gateway; do relay_kept "$f"; done
echo "portal_idle: joined past $((IDLE_MS * 5 / 2000)) s with --idle-timeout $IDLE_MS ms," \
    "relay kept across a portal restart: ok"
