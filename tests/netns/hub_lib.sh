# Helpers of the namespace tests of floe-client and floe-gateway in the "hub" topology (bash;
# source after tests/interop/lib.sh, then call hub_begin): three namespaces of the test's own,
# "hub" (floe-portal over TLS with a test CA, floe-relay, routing between the two others,
# 198.51.100.1 and 203.0.113.1), "client" (198.51.100.2) and "site" (203.0.113.2, the
# resources on its loopback). Every process started here is added to PIDS and stopped by its
# pid (hub_cleanup, from the EXIT trap): started with `ip netns exec` itself, not through H, C
# or S (a function in the background is a subshell: $! would not be the program's pid).
PORTAL=$FLOE_BIN_DIR/floe-portal
HUB_URL=wss://198.51.100.1:8443

H() { ip netns exec "$NS_H" "$@"; }
C() { ip netns exec "$NS_C" "$@"; }
S() { ip netns exec "$NS_S" "$@"; }
admin() { "$PORTAL" admin --database "$DB" "$@"; }

# netns_add NS...: new network namespaces, each with its loopback up.
netns_add() {
    local ns
    for ns in "$@"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
}

# hub_begin TAG: the tools and programs the hub tests use (a missing one fails the test), root;
# sets TMP (a new directory), NS_H, NS_C, NS_S (floe-TAG-hub-$$, -cl-, -site-), PIDS, DB (SQLite
# in $TMP) and the traps (hub_cleanup on exit).
hub_begin() {
    need_tool ip ping openssl jq curl
    need_bin floe-client floe-portal floe-relay floe-gateway
    [ "$(id -u)" = 0 ] || fail "needs root (network namespaces, TUN)"
    TMP=$(mktemp -d)
    NS_H="floe-$1-hub-$$"
    NS_C="floe-$1-cl-$$"
    NS_S="floe-$1-site-$$"
    PIDS=()
    DB=sqlite:$TMP/portal.db
    trap 'exit 130' INT TERM
    trap hub_cleanup EXIT
}

# hub_cleanup: stop the PIDS, remove the namespaces; after a failure the agents' and the
# portal's log tails on stderr; with FLOE_KEEP_LOGS=DIR the logs are copied there; $TMP removed.
hub_cleanup() {
    local rc=$? p ns f
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

# hub_topology ADDR...: the three namespaces, their links and routes (hub forwards); each ADDR
# (a resource's host address) on the site's loopback.
hub_topology() {
    local a
    netns_add "$NS_H" "$NS_C" "$NS_S"
    veth_link "$NS_H" hc 198.51.100.1/24 "$NS_C" eth0 198.51.100.2/24
    veth_link "$NS_H" hs 203.0.113.1/24 "$NS_S" eth0 203.0.113.2/24
    ip -n "$NS_C" route add default via 198.51.100.1
    ip -n "$NS_S" route add default via 203.0.113.1
    H sysctl -qw net.ipv4.ip_forward=1
    for a in "$@"; do ip -n "$NS_S" addr add "$a/32" dev lo; done
}

# hub_tls: a test CA ($TMP/ca.pem) and the portal's certificate for 198.51.100.1 signed by it
# ($TMP/server.pem, key $TMP/server.key).
hub_tls() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=floe test ca" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=portal.test" \
        -keyout "$TMP/server.key" -out "$TMP/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:198.51.100.1\nextendedKeyUsage=serverAuth\n' >"$TMP/ext"
    openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
        -CAcreateserial -days 2 -extfile "$TMP/ext" -out "$TMP/server.pem" 2>/dev/null
}

# hub_enroll: in the portal's database, the site hq (SITE) with a gateway token
# ($TMP/gw.token), the user alice (USER_ID) with a client token ($TMP/client.token), the
# group eng (GROUP) with alice in it.
hub_enroll() {
    SITE=$(admin sites add hq)
    admin gateway-tokens add --site "$SITE" | sed -n 2p >"$TMP/gw.token"
    USER_ID=$(admin users add alice)
    admin client-tokens add --user "$USER_ID" | sed -n 2p >"$TMP/client.token"
    GROUP=$(admin groups add eng)
    admin groups add-member --group "$GROUP" --user "$USER_ID" >/dev/null
}

# hub_relay: floe-relay in the hub on 198.51.100.1:3478, known to the portal's database.
hub_relay() {
    admin relays add --address 198.51.100.1:3478 --secret relay-secret >/dev/null
    printf 'relay-secret\n' >"$TMP/relay-secret"
    ip netns exec "$NS_H" "$FLOE_BIN_DIR/floe-relay" --listen 198.51.100.1:3478 \
        --relay-ip 198.51.100.1 --auth-secret-file "$TMP/relay-secret" --threads 1 --io epoll \
        --log-level warn 2>"$TMP/relay.log" &
    PIDS+=($!)
}

# hub_portal LOG ARGS...: floe-portal in the hub on 198.51.100.1:8443 (TLS, log $TMP/LOG.log,
# PORTAL_PID), with ARGS; waits until /healthz answers.
hub_portal() {
    local log=$1 i
    shift
    ip netns exec "$NS_H" "$PORTAL" --listen 198.51.100.1:8443 --database "$DB" "$@" \
        --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" --log-file "$TMP/$log.log" \
        --log-level debug 2>"$TMP/portal.err" &
    PORTAL_PID=$!
    PIDS+=("$PORTAL_PID")
    for i in $(seq 100); do
        H curl -fsS --cacert "$TMP/ca.pem" https://198.51.100.1:8443/healthz >/dev/null 2>&1 &&
            return 0
        [ "$i" -lt 100 ] || fail "floe-portal did not answer: $(cat "$TMP/portal.err")"
        sleep 0.1
    done
}

# hub_agents: floe-gateway in the site and floe-client (CLIENT_PID; run through
# $FLOE_CLIENT_WRAP, with $FLOE_CLIENT_ARGS, when set) in the client, both joining the portal
# (logs $TMP/gateway.log and $TMP/client.log, control sockets $TMP/gateway.sock, client.sock).
hub_agents() {
    ip netns exec "$NS_S" "$FLOE_BIN_DIR/floe-gateway" --portal "$HUB_URL" --foreground \
        --token-file "$TMP/gw.token" --ca-file "$TMP/ca.pem" --interface floegw0 \
        --log-file "$TMP/gateway.log" --log-level debug --control-socket "$TMP/gateway.sock" &
    PIDS+=($!)
    # shellcheck disable=SC2086 # FLOE_CLIENT_WRAP and FLOE_CLIENT_ARGS are words
    ip netns exec "$NS_C" ${FLOE_CLIENT_WRAP:-} "$FLOE_BIN_DIR/floe-client" --portal "$HUB_URL" \
        --foreground ${FLOE_CLIENT_ARGS:-} --token-file "$TMP/client.token" \
        --ca-file "$TMP/ca.pem" --interface floe0 --control-socket "$TMP/client.sock" \
        --log-file "$TMP/client.log" --log-level debug &
    CLIENT_PID=$!
    PIDS+=("$CLIENT_PID")
}

# hub_wait_route PREFIX WHAT: wait up to 10 s for PREFIX in the client's floe table (its routes
# left in $TMP/routes); fails with WHAT and the routes if it does not come.
hub_wait_route() {
    local i
    for i in $(seq 100); do
        C ip route show table 0x464c >"$TMP/routes" 2>/dev/null || true
        grep -q "$1" "$TMP/routes" && return 0
        [ "$i" -lt 100 ] || fail "$2: $(cat "$TMP/routes")"
        sleep 0.1
    done
}
