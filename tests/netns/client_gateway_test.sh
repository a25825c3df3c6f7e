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

need_tool ip ping socat sha256sum openssl jq curl
need_bin floe-client floe-portal floe-relay floe-gateway
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, TUN)"

TMP=$(mktemp -d)
NS_H="floe-cg-hub-$$"
NS_C="floe-cg-cl-$$"
NS_S="floe-cg-site-$$"
PIDS=()
PORTAL=$FLOE_BIN_DIR/floe-portal
DB=sqlite:$TMP/portal.db

cleanup() {
    local rc=$? p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    for ns in "$NS_C" "$NS_S" "$NS_H"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ "$rc" -ne 0 ]; then
        for f in client gateway portal; do
            echo "--- $f log" >&2
            tail -n 40 "$TMP/$f.log" >&2 || true
        done
    fi
    [ -z "${FLOE_KEEP_LOGS:-}" ] || cp "$TMP"/*.log "$FLOE_KEEP_LOGS"/ 2>/dev/null || true
    rm -rf "$TMP"
}
trap 'exit 130' INT TERM
trap cleanup EXIT

H() { ip netns exec "$NS_H" "$@"; }
C() { ip netns exec "$NS_C" "$@"; }
S() { ip netns exec "$NS_S" "$@"; }
admin() { "$PORTAL" admin --database "$DB" "$@"; }

# ----------------------------------------------------------------- topology
for ns in "$NS_H" "$NS_C" "$NS_S"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add hc netns "$NS_H" type veth peer name eth0 netns "$NS_C"
ip link add hs netns "$NS_H" type veth peer name eth0 netns "$NS_S"
ip -n "$NS_H" addr add 198.51.100.1/24 dev hc
ip -n "$NS_H" addr add 203.0.113.1/24 dev hs
ip -n "$NS_C" addr add 198.51.100.2/24 dev eth0
ip -n "$NS_S" addr add 203.0.113.2/24 dev eth0
for l in hc hs; do ip -n "$NS_H" link set "$l" up; done
for ns in "$NS_C" "$NS_S"; do ip -n "$ns" link set eth0 up; done
ip -n "$NS_C" route add default via 198.51.100.1
ip -n "$NS_S" route add default via 203.0.113.1
H sysctl -qw net.ipv4.ip_forward=1
# The resources: db is allowed, secret is not.
ip -n "$NS_S" addr add 10.20.0.5/32 dev lo
ip -n "$NS_S" addr add 10.99.0.5/32 dev lo

# ------------------------------------------------------------------ the portal
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=floe test ca" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=portal.test" \
    -keyout "$TMP/server.key" -out "$TMP/server.csr" 2>/dev/null
printf 'subjectAltName=IP:198.51.100.1\nextendedKeyUsage=serverAuth\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
    -CAcreateserial -days 2 -extfile "$TMP/ext" -out "$TMP/server.pem" 2>/dev/null

SITE=$(admin sites add hq)
admin gateway-tokens add --site "$SITE" | sed -n 2p >"$TMP/gw.token"
USER_ID=$(admin users add alice)
admin client-tokens add --user "$USER_ID" | sed -n 2p >"$TMP/client.token"
DB_RES=$(admin resources add --site "$SITE" --name db --address 10.20.0.0/24)
SECRET_RES=$(admin resources add --site "$SITE" --name secret --address 10.99.0.0/24)
GROUP=$(admin groups add eng)
admin groups add-member --group "$GROUP" --user "$USER_ID" >/dev/null
admin policies add --group "$GROUP" --resource "$DB_RES" >/dev/null
admin relays add --address 198.51.100.1:3478 --secret relay-secret >/dev/null
printf 'relay-secret\n' >"$TMP/relay-secret"

ip netns exec "$NS_H" "$FLOE_BIN_DIR/floe-relay" --listen 198.51.100.1:3478 \
    --relay-ip 198.51.100.1 --auth-secret-file "$TMP/relay-secret" --threads 1 --io epoll \
    --log-level warn 2>"$TMP/relay.log" &
PIDS+=($!)
ip netns exec "$NS_H" "$PORTAL" --listen 198.51.100.1:8443 --database "$DB" \
    --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" --log-file "$TMP/portal.log" \
    --log-level debug 2>"$TMP/portal.err" &
PORTAL_PID=$!
PIDS+=("$PORTAL_PID")
for i in $(seq 100); do
    H curl -fsS --cacert "$TMP/ca.pem" https://198.51.100.1:8443/healthz >/dev/null 2>&1 && break
    [ "$i" -lt 100 ] || fail "floe-portal did not answer: $(cat "$TMP/portal.err")"
    sleep 0.1
done
URL=wss://198.51.100.1:8443

# ---------------------------------------------------------- gateway and client
ip netns exec "$NS_S" "$FLOE_BIN_DIR/floe-gateway" --portal "$URL" --foreground \
    --token-file "$TMP/gw.token" --ca-file "$TMP/ca.pem" --interface floegw0 \
    --log-file "$TMP/gateway.log" --log-level debug --control-socket "$TMP/gateway.sock" &
PIDS+=($!)
ip netns exec "$NS_C" ${FLOE_CLIENT_WRAP:-} "$FLOE_BIN_DIR/floe-client" --portal "$URL" --foreground \
    ${FLOE_CLIENT_ARGS:-} --token-file "$TMP/client.token" --ca-file "$TMP/ca.pem" --interface floe0 \
    --control-socket "$TMP/client.sock" --log-file "$TMP/client.log" --log-level debug &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")

# The client joined and routed db (and only db) through its table.
for i in $(seq 100); do
    C ip route show table 0x464c >"$TMP/routes" 2>/dev/null || true
    grep -q '10.20.0.0/24' "$TMP/routes" && break
    [ "$i" -lt 100 ] || fail "no route to db in floe's table: $(cat "$TMP/routes")"
    sleep 0.1
done
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
for i in $(seq 100); do
    C ip route show table 0x464c >"$TMP/routes" 2>/dev/null || true
    grep -q '10.99.0.0/24' "$TMP/routes" && break
    [ "$i" -lt 100 ] || fail "the pushed resource got no route: $(cat "$TMP/routes")"
    sleep 0.1
done
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
