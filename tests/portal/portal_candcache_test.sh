#!/bin/bash
# floe-portal's cache of live authorizations for candidates (apps/floe-portal/peers.c), on
# SQLite, played by tests/portal/portal_driver.c:
# - before any authorization, the candidates both ways are refused: each looked up in the
#   database (floe_portal_candidates_looked_up_total);
# - after an authorization made on this instance, candidates and invalidations both ways are
#   relayed without a single lookup more (the authorization put each side in the other's cache);
# - a policy removed while the client is away (no revocation reaches its connection) still
#   ends it at once: the change empties the caches, the held candidates are not delivered at
#   the client's join, and new ones are refused again.
set -euo pipefail
TMP=$(mktemp -d)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
portal_sqlite_begin relay-secret-1
need_bin portal_driver
need_tool sqlite3
PORT=$(free_port tcp)
start_portal a "$PORT" --insecure
write_wait_metric
WAIT="$TMP/wait-metric.sh $PORT"
write_ids_sqlite

"$DRIVER" --portal "127.0.0.1:$PORT" --client-token "$CLIENT_TOKEN" --gateway-token "$GW_TOKEN" \
    join gateway join client \
    ids "$TMP/ids.sh" \
    no-cands run "$WAIT candidates_refused_total 4" \
    run "$WAIT candidates_looked_up_total 4" \
    authorize "$RESOURCE" \
    candidates invalidate candidates \
    run "$WAIT candidates_looked_up_total 4" \
    drop client run "$WAIT clients_online 0" \
    hold-send gateway \
    run "$PORTAL admin --database $DB policies remove $POLICY" \
    rejoin client 10 quiet \
    no-cands | tee "$TMP/driver.out"

curl -fsS "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -qx 'floe_portal_candidates_delivered_late_total 0' "$TMP/metrics" ||
    fail "held candidates delivered after the revocation: $(grep late "$TMP/metrics")"
LOOKED=$(awk '$1 == "floe_portal_candidates_looked_up_total" { print $2 }' "$TMP/metrics")
[ "${LOOKED:-0}" -gt 4 ] || fail "no lookup after the policy change: the cache was not emptied"
echo "ok: floe-portal caches live authorizations for candidates and drops them on a change"
