#!/bin/bash
# floe-portal on SQLite relays candidates only between devices that share a live
# authorization (docs/protocol.md section 5), played by tests/portal/portal_driver.c:
# - before any authorization, the client's candidates for the gateway and the gateway's
#   broadcast to the client are dropped and counted (floe_portal_candidates_refused_total);
# - an authorization the gateway has not acknowledged yet is pending, not refused: its
#   candidates sent right after create_authorization arrive; then candidates and invalidations
#   both ways, and held candidates across the gateway's reconnect, arrive as before;
# - after the authorization expired (in the store) nothing arrives; a new one is revoked (its
#   policy removed) while the client is away: what the gateway sent under it and was held is
#   not delivered at the client's join, and nothing more arrives or is held.
# The portal runs with --candidate-cache 0 (the database for every message: the expiry is made
# in the store behind its back); portal_candcache_test.sh tests the cache.
set -euo pipefail
TMP=$(mktemp -d)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
portal_sqlite_begin relay-secret-1
need_bin portal_driver
need_tool sqlite3
PORT=$(free_port tcp)
start_portal a "$PORT" --insecure --candidate-cache 0
write_wait_metric
WAIT="$TMP/wait-metric.sh $PORT"

write_ids_sqlite
cat >"$TMP/expire.sh" <<EOS
#!/bin/bash
sqlite3 "$TMP/portal.db" "UPDATE authorizations SET expires_at = 1"
EOS
chmod +x "$TMP/expire.sh"

"$DRIVER" --portal "127.0.0.1:$PORT" --client-token "$CLIENT_TOKEN" --gateway-token "$GW_TOKEN" \
    join gateway join client \
    ids "$TMP/ids.sh" \
    no-cands run "$WAIT candidates_refused_total 4" \
    authorize-gwfirst "$RESOURCE" \
    candidates invalidate \
    drop gateway run "$WAIT gateways_online 0" \
    hold-send client rejoin gateway 10 hold-expect gateway \
    run "$WAIT candidates_refused_total 4" \
    run "$TMP/expire.sh" \
    no-cands run "$WAIT candidates_refused_total 8" \
    authorize "$RESOURCE" candidates \
    drop client run "$WAIT clients_online 0" \
    hold-send gateway \
    run "$PORTAL admin --database $DB policies remove $POLICY" \
    rejoin client 10 quiet \
    no-cands \
    drop client run "$WAIT clients_online 0" \
    hold-send gateway rejoin client 10 quiet | tee "$TMP/driver.out"

curl -fsS "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
# Held: the 6 candidate messages to the absent gateway and the 6 to the absent client, both
# under a live authorization; none of the refused ones. Delivered late: the gateway's 5 rows
# only (the client's authorization was revoked while it was away: its 3 runs refused).
grep -qx 'floe_portal_candidates_held_total 12' "$TMP/metrics" ||
    fail "refused candidates were held: $(grep candidates_held "$TMP/metrics")"
grep -qx 'floe_portal_candidates_delivered_late_total 5' "$TMP/metrics" ||
    fail "held candidates delivered after the revocation: $(grep late "$TMP/metrics")"
# Refused after the revocation: the 3 held runs at the client's join, 4 of no-cands, the 6
# hold-send messages (and what the client's protocol client sends again after each rejoin).
REFUSED=$(awk '$1 == "floe_portal_candidates_refused_total" { print $2 }' "$TMP/metrics")
[ "${REFUSED:-0}" -ge 21 ] || fail "refusals miscounted: ${REFUSED:-none}, expected >= 21"
echo "ok: floe-portal relays candidates only under a live authorization"
