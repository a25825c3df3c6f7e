#!/bin/bash
# floe-portal on SQLite with --authz-ttl 4: the life of an authorization after its creation
# (issue 13), played by tests/portal/portal_driver.c. The portal renews a live authorization
# by itself (access_authorization_expiry_updated to the gateway, no new create_authorization)
# past several lifetimes while the client is online and the policy allows it; the renewals
# stop when the policy goes. A policy removed while the gateway is connected nowhere reaches it
# as reject_access on its next join; one removed while the client is connected nowhere
# reaches the gateway at once.
set -euo pipefail
TMP=$(mktemp -d)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
portal_sqlite_begin relay-secret-1
need_bin portal_driver
PORT=$(free_port tcp)
start_portal a "$PORT" --insecure --authz-ttl 4
write_wait_metric
POLICY2=$(admin policies add --group "$GROUP" --resource "$OTHER_RESOURCE")

# 1. Renewal past 3 lifetimes (12 s) with no new authorization; the policy's removal ends it.
# 2. The policy removed while the gateway is away: reject_access after its rejoin.
# 3. The policy removed while the client is away: reject_access to the gateway at once.
"$DRIVER" --portal "127.0.0.1:$PORT" --client-token "$CLIENT_TOKEN" --gateway-token "$GW_TOKEN" \
    join gateway join client \
    authorize "$RESOURCE" \
    renewed 4 renewed 3 renewed 3 renewed 3 renewed 3 renewed 3 \
    expect-none gateway create_authorization 1 \
    drop gateway run "$TMP/wait-metric.sh $PORT gateways_online 0" \
    run "$PORTAL admin --database $DB policies remove $POLICY >/dev/null" \
    expect client resource_deleted 5 \
    rejoin gateway 10 \
    expect gateway reject_access 5 \
    expect-none gateway access_authorization_expiry_updated 5 \
    authorize "$OTHER_RESOURCE" renewed 4 \
    drop client run "$TMP/wait-metric.sh $PORT clients_online 0" \
    run "$PORTAL admin --database $DB policies remove $POLICY2 >/dev/null" \
    expect gateway reject_access 3 | tee "$TMP/driver.out"

curl -fsS "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^floe_portal_authorizations_renewed_total [1-9]' "$TMP/metrics" ||
    fail "renewals not counted"
grep -qx 'floe_portal_authorizations_revoked_total 2' "$TMP/metrics" ||
    fail "revocations not counted: $(grep revoked "$TMP/metrics")"
# Nothing is left to renew or to tell: both authorizations are revoked.
"$PORTAL" admin --database "$DB" authorizations list >"$TMP/authz"
[ "$(grep -c . "$TMP/authz" || true)" -le 1 ] || fail "authorizations left: $(cat "$TMP/authz")"
echo "ok: floe-portal renews authorizations and tells revocations a gateway missed"
