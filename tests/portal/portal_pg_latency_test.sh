#!/bin/bash
# floe-portal on PostgreSQL, two instances: a candidate message crosses between them at once,
# not at the next tick of the changes poll (issue 12, item 2). The Client on instance A and
# the Gateway on instance B send bursts of candidates to each other at the same time, so that
# notifications reach an instance while its own statements run (libpq then reads them off the
# socket: epoll no longer sees them). Every message of 8 bursts must arrive within 400 ms of
# its sending (a generous bound: an idle machine takes a few milliseconds, a loaded one under
# ASan about 150 ms; the old code left such messages waiting for the next second's poll, a
# wait spread over 0-1000 ms, so 8 bursts all under 400 ms had odds of 0.4^8). PostgreSQL runs
# from a temporary directory (pg.sh), stopped by pid.
set -euo pipefail
TMP=$(mktemp -d /tmp/floe-portal-pglat.XXXXXX)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
# shellcheck source=pg.sh
. "$FLOE_SOURCE_DIR/tests/portal/pg.sh"
portal_pg_begin floe_portal_lat relay-secret-lat
PORT_A=$(free_port tcp)
start_portal a "$PORT_A" --insecure --instance lat_a --token-rate 0
PORT_B=$(free_port tcp)
start_portal b "$PORT_B" --insecure --instance lat_b --token-rate 0

"$DRIVER" --portal "127.0.0.1:$PORT_A" --client-token "$CLIENT_TOKEN" \
    --gateway-token "$GW_TOKEN" \
    set-portal gateway "127.0.0.1:$PORT_B" \
    join gateway join client authorize "$RESOURCE" candidates \
    burst 40 400 burst 40 400 burst 40 400 burst 40 400 \
    burst 40 400 burst 40 400 burst 40 400 burst 40 400

curl -fsS "http://127.0.0.1:$PORT_B/metrics" >"$TMP/metrics"
grep -q '^floe_portal_notifies_in_total [1-9]' "$TMP/metrics" ||
    fail "instance B received no notification from A"
echo "ok: candidates cross between two floe-portal instances at once"
