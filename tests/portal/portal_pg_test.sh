#!/bin/bash
# floe-portal on PostgreSQL with two instances sharing one database (issue 12): the Client on
# instance A, the Gateway on instance B. Authorization (create_authorization from A to B's
# gateway and the acknowledgement back, through the store's NOTIFY), candidates and
# invalidations both ways across (and refused by the sender's instance before the
# authorization); the gateway leaves, the client's candidates are held in the
# database by A and delivered in order when the gateway joins B again, then when it joins A,
# then held by B when a notification finds the gateway gone from B;
# a resource change pushed to the client (changes table +
# NOTIFY); then A is killed (SIGKILL: no close frame), the client reconnects to B with the same
# tunnel addresses and goes on. PostgreSQL runs from a temporary directory (pg.sh), stopped
# by pid.
set -euo pipefail
TMP=$(mktemp -d /tmp/floe-portal-pg.XXXXXX)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
# shellcheck source=pg.sh
. "$FLOE_SOURCE_DIR/tests/portal/pg.sh"
portal_pg_begin floe_portal_two relay-secret-2
PORT_A=$(free_port tcp)
start_portal a "$PORT_A" --insecure --instance inst_a
PORT_B=$(free_port tcp)
start_portal b "$PORT_B" --insecure --instance inst_b
write_wait_metric
# A presence row naming instance B for the gateway that is connected nowhere (as when B died
# or the gateway left B a moment ago): A's candidates for it go to B by NOTIFY, and B holds them.
cat >"$TMP/stale-presence.sh" <<EOS
#!/bin/bash
set -euo pipefail
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 '$DB' -c "INSERT INTO presence(device_id, instance,
    heartbeat_at) SELECT id, 'inst_b', CAST(extract(epoch FROM now()) AS BIGINT) FROM devices
    WHERE kind = 2" >/dev/null
EOS
# The devices' ids, for candidates sent before any authorization (refused: A drops the
# client's, B the gateway's).
cat >"$TMP/ids.sh" <<EOS
#!/bin/bash
set -euo pipefail
"$PG_BIN/psql" -qAt -F ' ' -v ON_ERROR_STOP=1 '$DB' -c "SELECT (SELECT id FROM devices
    WHERE kind = 1), (SELECT id FROM devices WHERE kind = 2)"
EOS
chmod +x "$TMP/stale-presence.sh" "$TMP/ids.sh"

"$DRIVER" --portal "127.0.0.1:$PORT_A" --client-token "$CLIENT_TOKEN" \
    --gateway-token "$GW_TOKEN" \
    set-portal gateway "127.0.0.1:$PORT_B" \
    join gateway join client init client resources=1 \
    ids "$TMP/ids.sh" no-cands \
    run "$TMP/wait-metric.sh $PORT_A candidates_refused_total 2" \
    run "$TMP/wait-metric.sh $PORT_B candidates_refused_total 2" \
    authorize "$RESOURCE" candidates invalidate \
    drop gateway run "$TMP/wait-metric.sh $PORT_B gateways_online 0" \
    hold-send client rejoin gateway 10 hold-expect gateway \
    drop gateway run "$TMP/wait-metric.sh $PORT_B gateways_online 0" \
    hold-send client set-portal gateway "127.0.0.1:$PORT_A" rejoin gateway 10 \
    hold-expect gateway \
    drop gateway run "$TMP/wait-metric.sh $PORT_A gateways_online 0" \
    run "$TMP/stale-presence.sh" hold-send client \
    set-portal gateway "127.0.0.1:$PORT_B" rejoin gateway 10 hold-expect gateway \
    run "$PORTAL admin --database '$DB' policies add --group $GROUP --resource $OTHER_RESOURCE >/dev/null" \
    expect client resource_created_or_updated 5 \
    authorize "$OTHER_RESOURCE" \
    run "kill -9 $(portal_pid a)" \
    wait-closed client 1006 5 \
    set-portal client "127.0.0.1:$PORT_B" \
    rejoin client 10 same-addresses client init client resources=2 \
    authorize "$RESOURCE" candidates invalidate

curl -fsS "http://127.0.0.1:$PORT_B/metrics" >"$TMP/metrics"
grep -q '^floe_portal_notifies_in_total [1-9]' "$TMP/metrics" ||
    fail "instance B received no notification from A"
# A held the client's candidates twice; B delivered the first 5 rows from the store when the
# gateway came back to it. The third time the notifications for the absent gateway reached B,
# which held the 6 candidates and invalidations itself and delivered 5 rows after the rejoin.
grep -qx 'floe_portal_candidates_held_total 6' "$TMP/metrics" ||
    fail "instance B did not hold what was notified for an absent device"
grep -qx 'floe_portal_candidates_delivered_late_total 10' "$TMP/metrics" ||
    fail "instance B did not deliver the held candidates"
echo "ok: floe-portal on PostgreSQL with two instances"
