#!/bin/bash
# tests/portal/portal_authz_test.sh on PostgreSQL with two instances sharing the database
# (--authz-ttl 4 on both): the Client on instance A, the Gateway on B. Renewals of the
# authorization reach the gateway across instances (whichever instance renews it, once);
# a policy removed while the gateway is away reaches it as reject_access when it joins A; one
# removed while the client is away reaches the gateway, back on B, at once. PostgreSQL runs
# from a temporary directory (pg.sh), stopped by pid.
set -euo pipefail
TMP=$(mktemp -d /tmp/floe-portal-authz.XXXXXX)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
# shellcheck source=pg.sh
. "$FLOE_SOURCE_DIR/tests/portal/pg.sh"
portal_pg_begin floe_portal_authz relay-secret-3
PORT_A=$(free_port tcp)
start_portal a "$PORT_A" --insecure --instance authz_a --authz-ttl 4
PORT_B=$(free_port tcp)
start_portal b "$PORT_B" --insecure --instance authz_b --authz-ttl 4
write_wait_metric
POLICY2=$(admin policies add --group "$GROUP" --resource "$OTHER_RESOURCE")

"$DRIVER" --portal "127.0.0.1:$PORT_A" --client-token "$CLIENT_TOKEN" \
    --gateway-token "$GW_TOKEN" \
    set-portal gateway "127.0.0.1:$PORT_B" \
    join gateway join client \
    authorize "$RESOURCE" \
    renewed 4 renewed 3 renewed 3 renewed 3 \
    drop gateway run "$TMP/wait-metric.sh $PORT_B gateways_online 0" \
    run "$PORTAL admin --database '$DB' policies remove $POLICY >/dev/null" \
    expect client resource_deleted 5 \
    set-portal gateway "127.0.0.1:$PORT_A" rejoin gateway 10 \
    expect gateway reject_access 5 \
    expect-none gateway access_authorization_expiry_updated 4 \
    drop gateway run "$TMP/wait-metric.sh $PORT_A gateways_online 0" \
    set-portal gateway "127.0.0.1:$PORT_B" rejoin gateway 10 \
    authorize "$OTHER_RESOURCE" renewed 4 \
    drop client run "$TMP/wait-metric.sh $PORT_A clients_online 0" \
    run "$PORTAL admin --database '$DB' policies remove $POLICY2 >/dev/null" \
    expect gateway reject_access 3 | tee "$TMP/driver.out"

total() { # total METRIC: its sum over both instances
    local sum=0 v port
    for port in "$PORT_A" "$PORT_B"; do
        v=$(curl -fsS "http://127.0.0.1:$port/metrics" | sed -n "s/^floe_portal_$1 //p")
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
[ "$(total authorizations_renewed_total)" -ge 5 ] || fail "renewals: $(total authorizations_renewed_total)"
[ "$(total authorizations_revoked_total)" -eq 2 ] ||
    fail "revocations told $(total authorizations_revoked_total) times, expected 2 (once each)"
echo "ok: two floe-portal instances renew and revoke authorizations once, across instances"
