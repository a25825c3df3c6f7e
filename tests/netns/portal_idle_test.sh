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

need_tool ip ping openssl jq curl
need_bin floe-client floe-portal floe-relay floe-gateway
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, TUN)"

IDLE_MS=15000
TMP=$(mktemp -d)
NS_H="floe-pi-hub-$$"
NS_C="floe-pi-cl-$$"
NS_S="floe-pi-site-$$"
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
            tail -n 30 "$TMP/$f.log" >&2 || true
        done
    fi
    rm -rf "$TMP"
}
trap 'exit 130' INT TERM
trap cleanup EXIT

H() { ip netns exec "$NS_H" "$@"; }
C() { ip netns exec "$NS_C" "$@"; }
admin() { "$PORTAL" admin --database "$DB" "$@"; }

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
ip -n "$NS_S" addr add 10.20.0.5/32 dev lo
ip -n "$NS_S" addr add 10.30.0.5/32 dev lo
ip -n "$NS_S" addr add 10.40.0.5/32 dev lo

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
LATE_RES=$(admin resources add --site "$SITE" --name late --address 10.30.0.0/24)
THIRD_RES=$(admin resources add --site "$SITE" --name third --address 10.40.0.0/24)
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
    --idle-timeout "$IDLE_MS" --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" \
    --log-file "$TMP/portal.log" --log-level debug 2>"$TMP/portal.err" &
PORTAL_PID=$!
PIDS+=("$PORTAL_PID")
portal_wait() {
    for i in $(seq 100); do
        H curl -fsS --cacert "$TMP/ca.pem" https://198.51.100.1:8443/healthz >/dev/null 2>&1 &&
            return 0
        [ "$i" -lt 100 ] || fail "floe-portal did not answer: $(cat "$TMP/portal.err")"
        sleep 0.1
    done
}
portal_wait
URL=wss://198.51.100.1:8443

ip netns exec "$NS_S" "$FLOE_BIN_DIR/floe-gateway" --portal "$URL" --foreground \
    --token-file "$TMP/gw.token" --ca-file "$TMP/ca.pem" --interface floegw0 \
    --log-file "$TMP/gateway.log" --log-level debug --control-socket "$TMP/gateway.sock" &
PIDS+=($!)
ip netns exec "$NS_C" "$FLOE_BIN_DIR/floe-client" --portal "$URL" --foreground \
    --token-file "$TMP/client.token" --ca-file "$TMP/ca.pem" --interface floe0 \
    --control-socket "$TMP/client.sock" --log-file "$TMP/client.log" --log-level debug &
PIDS+=($!)

for i in $(seq 100); do
    C ip route show table 0x464c >"$TMP/routes" 2>/dev/null || true
    grep -q '10.20.0.0/24' "$TMP/routes" && break
    [ "$i" -lt 100 ] || fail "the client did not join: no route to db"
    sleep 0.1
done
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
for i in $(seq 100); do
    C ip route show table 0x464c >"$TMP/routes" 2>/dev/null || true
    grep -q '10.30.0.0/24' "$TMP/routes" && break
    [ "$i" -lt 100 ] || fail "the pushed resource got no route: $(cat "$TMP/routes")"
    sleep 0.1
done
C ping -c 2 -i 0.3 -W 5 10.30.0.5 >"$TMP/ping3" || fail "pushed resource: no ping"

# A reconnect (the portal restarted) re-adds the relay with its credentials while its
# allocation runs: the allocation is kept (no 441, no loss), and a resource allowed after
# the reconnect is authorized and reached.
stop_pid "$PORTAL_PID"
ip netns exec "$NS_H" "$PORTAL" --listen 198.51.100.1:8443 --database "$DB" \
    --idle-timeout "$IDLE_MS" --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" \
    --log-file "$TMP/portal2.log" --log-level debug 2>"$TMP/portal.err" &
PIDS+=($!)
portal_wait
for i in $(seq 150); do
    [ "$(grep -c 'joined' "$TMP/portal2.log" 2>/dev/null)" -ge 2 ] && break
    [ "$i" -lt 150 ] || fail "the agents did not join the restarted portal"
    sleep 0.1
done
admin policies add --group "$GROUP" --resource "$THIRD_RES" >/dev/null
for i in $(seq 100); do
    C ip route show table 0x464c >"$TMP/routes" 2>/dev/null || true
    grep -q '10.40.0.0/24' "$TMP/routes" && break
    [ "$i" -lt 100 ] || fail "after the reconnect: no route: $(cat "$TMP/routes")"
    sleep 0.1
done
C ping -c 2 -i 0.3 -W 5 10.40.0.5 >"$TMP/ping4" || fail "after the reconnect: no ping"
C ping -c 2 -i 0.3 -W 5 10.20.0.5 >"$TMP/ping5" || fail "after the reconnect: db lost"
sleep 2
for f in client gateway; do relay_kept "$f"; done
echo "portal_idle: joined past $((IDLE_MS * 5 / 2000)) s with --idle-timeout $IDLE_MS ms," \
    "relay kept across a portal restart: ok"
