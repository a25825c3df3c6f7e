#!/usr/bin/env bash
# floe-client end to end (issue 13), in three network namespaces of its own: "hub" (floe-portal
# over TLS with a test CA, and floe-relay, routing between the two others), "client"
# (floe-client) and "site" (floe-gateway; the resources are addresses in its namespace, so
# its NAT is on the path too). The client's user may reach "db" (10.20.0.0/24) and not
# "secret" (10.99.0.0/24). Checks: the first ping to db
# brings the connection up and is answered (buffered until then), TCP through the tunnel with
# a matching sha256, the secret resource gets nothing (no route, no intent), the routes sit in
# floe's table behind the fwmark rule, a policy added while running pushes a resource whose
# route follows, SIGHUP resets the paths without losing the session, the portal stopped does
# not stop the traffic, `floe-client status` shows the resources with their gateway and the
# established connection, and SIGTERM removes the interface and the rule.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
# shellcheck source=hub_lib.sh
. "$FLOE_SOURCE_DIR/tests/netns/hub_lib.sh"

need_tool socat sha256sum
hub_begin cg

# ----------------------------------------------------------------- topology
# The resources: db is allowed, secret is not.
hub_topology 10.20.0.5 10.99.0.5

# ------------------------------------------------------------------ the portal
hub_tls
hub_enroll
DB_RES=$(admin resources add --site "$SITE" --name db --address 10.20.0.0/24)
SECRET_RES=$(admin resources add --site "$SITE" --name secret --address 10.99.0.0/24)
admin policies add --group "$GROUP" --resource "$DB_RES" >/dev/null
hub_relay
hub_portal portal

# ---------------------------------------------------------- gateway and client
hub_agents

# The client joined and routed db (and only db) through its table.
hub_wait_route '10.20.0.0/24' "no route to db in floe's table"
grep -q '10.99.0.0' "$TMP/routes" && fail "a route to the resource not allowed"
# The gateway joined too (else the first intent is refused "offline", and the next one may
# only go 2 s later).
for i in $(seq 100); do
    "$FLOE_BIN_DIR/floe-client" status --json --control-socket "$TMP/gateway.sock" \
        >"$TMP/gw.status" 2>/dev/null || true
    jq -e '.portal == "joined"' "$TMP/gw.status" >/dev/null 2>&1 && break
    [ "$i" -lt 100 ] || fail "the gateway did not join the portal: $(cat "$TMP/gw.status")"
    sleep 0.1
done
C ip rule show >"$TMP/rules"
grep -q 'not from all fwmark 0x464c lookup 0x464c\|not from all fwmark 0x464c lookup 17996' \
    "$TMP/rules" || fail "no fwmark rule: $(cat "$TMP/rules")"

# ------------------------------------------------------------------ the checks
# dump_status: both ends' status on stderr (for a failure's report).
dump_status() {
    "$FLOE_BIN_DIR/floe-client" status --json --control-socket "$TMP/client.sock" >&2 || true
    "$FLOE_BIN_DIR/floe-client" status --json --control-socket "$TMP/gateway.sock" >&2 || true
}
if ! C ping -c 3 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping"; then
    dump_status
    fail "no ping through the tunnel: $(cat "$TMP/ping")"
fi
head -c 3000000 /dev/urandom >"$TMP/blob"
ip netns exec "$NS_S" socat -u OPEN:"$TMP/blob",rdonly TCP-LISTEN:8080,bind=10.20.0.5,reuseaddr &
PIDS+=($!)
sleep 0.3
if ! C timeout 30 socat -u TCP:10.20.0.5:8080 CREATE:"$TMP/got" 2>"$TMP/socat.err"; then
    dump_status
    fail "TCP through the tunnel failed ($(stat -c %s "$TMP/got" 2>/dev/null) bytes): $(cat "$TMP/socat.err")"
fi
[ "$(sha256sum <"$TMP/blob" | cut -d' ' -f1)" = "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" ] ||
    fail "TCP data differs ($(stat -c %s "$TMP/got") bytes)"
if C ping -c 2 -W 1 10.99.0.5 >"$TMP/ping2" 2>&1; then
    fail "the resource not allowed answered"
fi

# A policy added while connected: the portal pushes the resource, its route follows, and the
# same gateway connection carries it.
admin policies add --group "$GROUP" --resource "$SECRET_RES" >/dev/null
hub_wait_route '10.99.0.0/24' "the pushed resource got no route"
C ping -c 2 -i 0.3 -W 5 10.99.0.5 >"$TMP/ping3" || { dump_status; fail "pushed resource: no ping"; }

# SIGHUP resets the paths (as a network change does); the session and the data go on.
kill -HUP "$CLIENT_PID"
sleep 0.5
C ping -c 2 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping4" || { dump_status; fail "no ping after SIGHUP"; }

# The portal down: the connection keeps working.
stop_pid "$PORTAL_PID"
C ping -c 2 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping5" || { dump_status; fail "no ping without the portal"; }

"$FLOE_BIN_DIR/floe-client" status --json --control-socket "$TMP/client.sock" >"$TMP/status"
jq -e '.portal != "joined" and (.resources | length == 2) and .resources[0].name == "db"
       and .resources[0].gateway != null and (.connections | length == 1) and .resets >= 1
       and .connections[0].established and .connections[0].path != "none"
       and .connections[0].rx_bytes > 0' "$TMP/status" >/dev/null ||
    fail "status: $(cat "$TMP/status")"
"$FLOE_BIN_DIR/floe-client" status --control-socket "$TMP/client.sock" >"$TMP/status.txt"
grep -q '^connection .* up path ' "$TMP/status.txt" || fail "status text: $(cat "$TMP/status.txt")"

# SIGTERM: exit 0, interface and rule gone.
kill "$CLIENT_PID"
wait "$CLIENT_PID" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "floe-client exited $rc on SIGTERM"
C ip link show floe0 >/dev/null 2>&1 && fail "floe0 left behind"
C ip rule show >"$TMP/rules"
grep -q 'fwmark 0x464c' "$TMP/rules" && fail "fwmark rule left behind"
echo "client_gateway: ping, TCP ($(stat -c %s "$TMP/got") bytes), denial, pushed resource, SIGHUP, portal down, status, clean exit: ok"
