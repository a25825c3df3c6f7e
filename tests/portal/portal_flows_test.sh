#!/bin/bash
# floe-portal on SQLite, every message flow of issue 12 between a Client and a Gateway played
# by tests/portal/portal_driver.c over real WebSockets on loopback: join and init (tunnel
# addresses, resources, relays with REST credentials), heartbeat, authorization, candidates
# and invalidations both ways, a resource change pushed, a removed policy revoked at the
# gateway, a refused resource, a wrong token refused with 401, a relay that stops answering
# pushed as down while an IPv6 relay stays offered, SIGTERM closing with 1001, and a restart with the state kept.
# Candidates for a device connected nowhere are held and delivered in order after its next join
# (the gateway's candidates for the absent client too, after the restart).
set -euo pipefail
TMP=$(mktemp -d)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
trap 'exit 130' INT TERM # so that the EXIT trap's cleanup runs
trap portal_cleanup EXIT
need_bin floe-portal floe-relay portal_driver
need_tool curl python3

DB=sqlite:$TMP/portal.db
RELAY_PORT=$(free_port udp)
PORT=$(free_port tcp)
setup_model "$RELAY_PORT" relay-secret-1
start_relay "$RELAY_PORT" relay-secret-1
# A second relay on IPv6 loopback: checked through the portal's IPv6 socket, it stays up.
RELAY6_PORT=$(free_port udp)
RELAY6=$(admin relays add --address "[::1]:$RELAY6_PORT" --secret relay-secret-6)
start_relay "$RELAY6_PORT" relay-secret-6 ::1 relay6
start_portal a "$PORT" --insecure --relay-check-ms 300
write_wait_metric

# The portal's restart, as a command the driver runs between steps.
cat >"$TMP/restart.sh" <<EOS
#!/bin/bash
set -euo pipefail
TMP=$TMP FLOE_BIN_DIR=$FLOE_BIN_DIR FLOE_SOURCE_DIR=$FLOE_SOURCE_DIR DB=$DB
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
start_portal b $PORT --insecure --relay-check-ms 300
EOS
chmod +x "$TMP/restart.sh"

"$DRIVER" --portal "127.0.0.1:$PORT" --client-token "$CLIENT_TOKEN" --gateway-token "$GW_TOKEN" \
    join gateway join client \
    init client resources=1 init client relays=2 init gateway relays=2 \
    heartbeat client heartbeat gateway \
    authorize "$RESOURCE" \
    candidates invalidate \
    drop gateway run "$TMP/wait-metric.sh $PORT gateways_online 0" \
    hold-send client rejoin gateway 10 hold-expect gateway \
    authorize-fails "$OTHER_RESOURCE" forbidden \
    authorize-fails 999999 not_found \
    run "$PORTAL admin --database $DB policies add --group $GROUP --resource $OTHER_RESOURCE >/dev/null" \
    expect client resource_created_or_updated 5 \
    authorize "$OTHER_RESOURCE" \
    run "$PORTAL admin --database $DB policies remove $POLICY" \
    expect client resource_deleted 5 \
    expect gateway reject_access 5 \
    run "kill $(cat "$TMP/relay.pid")" \
    relay-down client "$RELAY" 10 relay-up client "$RELAY6" \
    relay-down gateway "$RELAY" 10 relay-up gateway "$RELAY6" \
    run "kill $(portal_pid a)" \
    wait-closed client 1001 5 \
    wait-closed gateway 1001 5 \
    run "$TMP/restart.sh" \
    rejoin gateway 10 rejoin client 10 \
    same-addresses client same-addresses gateway \
    init client resources=1 \
    authorize "$OTHER_RESOURCE" candidates \
    authorize-fails "$OTHER_RESOURCE" timeout \
    expect gateway create_authorization 1 expect gateway reject_access 5 \
    authorize-early "$OTHER_RESOURCE" \
    drop client run "$TMP/wait-metric.sh $PORT clients_online 0" \
    hold-send gateway rejoin client 10 hold-expect client \
    refused "1.not-a-valid-token" | tee "$TMP/driver.out"

wait_exit "$(portal_pid a)" "floe-portal a did not stop on SIGTERM"
# The first instance logged JSON lines and stopped cleanly.
jq -e 'select(.message == "floe-portal stopped")' "$TMP/a.log" >/dev/null ||
    fail "no 'floe-portal stopped' line in the log"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^floe_portal_auth_failures_total 1$' "$TMP/metrics" || fail "401 not counted"
grep -q '^floe_portal_candidates_relayed_total [1-9]' "$TMP/metrics" || fail "candidates not counted"
# The restarted instance held the gateway's 6 candidate messages (the invalidation of H2 in
# place of H2) and delivered the 5 rows after the client's join.
grep -qx 'floe_portal_candidates_held_total 6' "$TMP/metrics" || fail "held candidates not counted"
grep -qx 'floe_portal_candidates_cancelled_total 1' "$TMP/metrics" || fail "cancellation not counted"
grep -qx 'floe_portal_candidates_delivered_late_total 5' "$TMP/metrics" ||
    fail "late deliveries not counted"
echo "ok: floe-portal flows on SQLite"
