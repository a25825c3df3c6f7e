# The end-to-end topology of issue 13 (bash library; source after `set -euo pipefail` and
# tests/interop/lib.sh, with TMP set to the caller's temporary directory):
#
#   portal 203.0.113.2 (TLS, test CA)   relay 203.0.113.18:3478 (floe-relay)
#          |                                   |
#   +------+------------- inet (router) -------+------------------------+
#   | 198.51.100.1/28             198.51.100.17/28           198.51.100.33/28
#   |                                  |                                |
#   |  (delay 25 ms)                   |                                |
#   site NAT 198.51.100.2      wifi NAT 198.51.100.18        cell NAT 198.51.100.34
#   lan 10.10.0.1/24           lan 192.168.1.1/24            lan 172.16.1.1/24
#   |  gw1 10.10.0.2  gw2 10.10.0.3     |  (delay 25 ms)              |  (delay 25 ms)
#   |  res 10.10.0.10 (web, iperf3)     +----- wifi0  client  cell0 --+
#   |      10.10.0.11 (a resource no policy allows)
#
# Every namespace name ends in -$$ (the test's pid); topo_down (call it from the EXIT trap)
# stops every process started here by its pid and deletes every namespace and the
# /etc/netns/NAME folders (portal.test in their hosts file). Addresses are documentation
# ranges (RFC 5737) and private ranges, all inside these namespaces (none in 100.64.0.0/10:
# the portal hands tunnel addresses from it). TOPO_SYMMETRIC=1 makes every NAT symmetric
# (nft masquerade fully-random, iptables' random-fully).
#
# Delay: the client's two access links and the site's uplink each cross a namespace of their
# own in which the delay line (delayline, tests/e2e/delayline.c) bridges the two veths and
# holds every frame TOPO_NETEM_MS (default 25) one way, TOPO_SITE_MS (default the same) on the
# site's uplink: no kernel netem needed (this kernel has none), the same on every machine.
#
# Functions: topo_up, topo_enroll, topo_portal, topo_relay, topo_http MB (and iperf3),
# topo_roam, topo_direct_udp on|off, topo_delay on|off, topo_gateway N, topo_client,
# topo_status, topo_down,
# in_ns NS CMD..., topo_bg NAME NS CMD..., topo_stop NAME.

TOPO_ID=$$
NS_INET=fe-inet-$TOPO_ID
NS_PORTAL=fe-portal-$TOPO_ID
NS_RELAY=fe-relay-$TOPO_ID
NS_SNAT=fe-snat-$TOPO_ID
NS_GW1=fe-gw1-$TOPO_ID
NS_GW2=fe-gw2-$TOPO_ID
NS_RES=fe-res-$TOPO_ID
NS_WNAT=fe-wnat-$TOPO_ID
NS_CNAT=fe-cnat-$TOPO_ID
NS_CLI=fe-cli-$TOPO_ID
NS_WDL=fe-wdl-$TOPO_ID
NS_CDL=fe-cdl-$TOPO_ID
NS_SDL=fe-sdl-$TOPO_ID
TOPO_NS=("$NS_INET" "$NS_PORTAL" "$NS_RELAY" "$NS_SNAT" "$NS_GW1" "$NS_GW2" "$NS_RES"
    "$NS_WNAT" "$NS_CNAT" "$NS_CLI" "$NS_WDL" "$NS_CDL" "$NS_SDL")

PORTAL_IP=203.0.113.2
PORTAL_NAME=portal.test
PORTAL_URL=wss://$PORTAL_NAME
RELAY_IP=203.0.113.18
RELAY_PORT=3478
SITE_PUBLIC=198.51.100.2
WIFI_PUBLIC=198.51.100.18
CELL_PUBLIC=198.51.100.34
RES_IP=10.10.0.10
RES_DENIED_IP=10.10.0.11
HTTP_PORT=8080
TOPO_RELAY_SECRET=e2e-relay-secret-$TOPO_ID
TOPO_NETEM_MS=${TOPO_NETEM_MS:-25}
TOPO_SITE_MS=${TOPO_SITE_MS:-$TOPO_NETEM_MS}
TOPO_ACCESS=wifi # the client's current access network
TOPO_ROAMS=0     # roams so far: each one gives the new link a new address
TOPO_DL_NS=()    # the namespaces of the delay lines (topo_delayed_link)
TOPO_DELAY=on    # the delay lines in the path (on) or bridged out (off): topo_delay

# in_ns NS CMD...: run CMD in NS.
in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# topo_bg NAME NS CMD...: start CMD in NS in the background (stdout and stderr in
# $TMP/NAME.out); its pid (ip netns exec execs CMD: the program's own pid) in $TMP/NAME.pid
# and in $TMP/topo-pids, which topo_down stops.
topo_bg() {
    local name=$1 ns=$2
    shift 2
    ip netns exec "$ns" "$@" >"$TMP/$name.out" 2>&1 &
    echo $! >"$TMP/$name.pid"
    echo $! >>"$TMP/topo-pids"
}

# topo_pid NAME: the pid topo_bg recorded.
topo_pid() {
    cat "$TMP/$1.pid"
}

# topo_stop NAME: stop what topo_bg started as NAME (by its pid).
topo_stop() {
    [ -f "$TMP/$1.pid" ] && stop_pid "$(cat "$TMP/$1.pid")"
    rm -f "$TMP/$1.pid"
}

# topo_nat NS WAN: masquerade what leaves NS through WAN (fully-random with TOPO_SYMMETRIC=1);
# NS forwards. As a home router's firewall does, NS drops unsolicited packets that come in on
# WAN for itself: accepted (answered with port unreachable), such a packet leaves a conntrack
# entry (peer -> NS:port) that takes the port, and the masquerade then maps the inside host's
# own packets to that peer to another port, so two of these NATs never let a hole punch
# through unless both first packets cross on the way (a fresh connection stayed relayed).
topo_nat() {
    local how=masquerade
    [ "${TOPO_SYMMETRIC:-0}" = 1 ] && how="masquerade fully-random"
    in_ns "$1" sysctl -qw net.ipv4.ip_forward=1
    in_ns "$1" nft -f - <<EOF
table ip floe_e2e_nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$2" $how
    }
    chain in {
        type filter hook input priority filter; policy accept;
        iifname "$2" ct state new drop
    }
}
EOF
}

# topo_delayed_link NS_A IF_A ADDR_A NS_B IF_B ADDR_B DL_NS MS: as veth_link, but the link
# crosses DL_NS (veths "a" to NS_A and "b" to NS_B, no addresses, no IPv6) where the delay line
# (started as DL_NS's name, stopped by topo_down) holds every frame MS ms each way.
topo_delayed_link() {
    local dl=$7
    ip netns add "$dl"
    in_ns "$dl" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip link add "$2" netns "$1" type veth peer name a netns "$dl"
    ip link add "$5" netns "$4" type veth peer name b netns "$dl"
    ip -n "$dl" link set dev a up
    ip -n "$dl" link set dev b up
    [ -z "$3" ] || ip -n "$1" addr add "$3" dev "$2"
    [ -z "$6" ] || ip -n "$4" addr add "$6" dev "$5"
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
    echo "$8" >"$TMP/$dl.ms"
    TOPO_DL_NS+=("$dl")
    topo_delayline_start "$dl"
}

# topo_delayline_start DL_NS: the delay line between DL_NS's veths "a" and "b", holding every
# frame the ms recorded for DL_NS (in $TMP/DL_NS.ms); waits until it is ready.
topo_delayline_start() {
    rm -f "$TMP/$1.out" # an earlier run's "ready" must not pass for this one's
    topo_bg "$1" "$1" "$FLOE_BIN_DIR/delayline" --a a --b b --delay "$(cat "$TMP/$1.ms")"
    topo_wait "the delay line in $1 did not start: $(cat "$TMP/$1.out" 2>/dev/null)" 50 \
        grep -q ready "$TMP/$1.out"
}

# topo_delay on|off: off takes every delay line out of the path: it is stopped and a kernel
# bridge in its namespace joins "a" and "b" (line rate; the links stay up, addresses, routes,
# NAT mappings and the agents' connections are kept); on removes the bridges and starts the
# delay lines again. For throughput runs in which the tunnel, not the userspace delay line
# (about 0.25 Gbit/s), is the bottleneck. TOPO_DELAY is the current state.
topo_delay() {
    local dl
    [ "$1" = on ] || [ "$1" = off ] || fail "topo_delay: on or off, not '$1'"
    [ "$1" != "$TOPO_DELAY" ] || return 0
    for dl in "${TOPO_DL_NS[@]}"; do
        if [ "$1" = off ]; then
            topo_stop "$dl"
            ip -n "$dl" link add name dlbr type bridge
            ip -n "$dl" link set dev a master dlbr
            ip -n "$dl" link set dev b master dlbr
            ip -n "$dl" link set dev dlbr up
        else
            ip -n "$dl" link del dev dlbr
            topo_delayline_start "$dl"
        fi
    done
    TOPO_DELAY=$1
}

# topo_hosts NS: portal.test resolves to the portal inside NS (ip netns exec bind-mounts
# /etc/netns/NS/hosts over /etc/hosts).
topo_hosts() {
    mkdir -p "/etc/netns/$1"
    printf '127.0.0.1 localhost\n%s %s\n' "$PORTAL_IP" "$PORTAL_NAME" >"/etc/netns/$1/hosts"
}

# topo_internet: the router, the portal's and the relay's hosts, the three NAT boxes' WANs.
topo_internet() {
    in_ns "$NS_INET" sysctl -qw net.ipv4.ip_forward=1
    veth_link "$NS_INET" portal 203.0.113.1/28 "$NS_PORTAL" wan "$PORTAL_IP/28"
    veth_link "$NS_INET" relay 203.0.113.17/28 "$NS_RELAY" wan "$RELAY_IP/28"
    topo_delayed_link "$NS_INET" site 198.51.100.1/28 "$NS_SNAT" wan "$SITE_PUBLIC/28" \
        "$NS_SDL" "$TOPO_SITE_MS"
    veth_link "$NS_INET" wifi 198.51.100.17/28 "$NS_WNAT" wan "$WIFI_PUBLIC/28"
    veth_link "$NS_INET" cell 198.51.100.33/28 "$NS_CNAT" wan "$CELL_PUBLIC/28"
    ip -n "$NS_PORTAL" route add default via 203.0.113.1
    ip -n "$NS_RELAY" route add default via 203.0.113.17
    ip -n "$NS_SNAT" route add default via 198.51.100.1
    ip -n "$NS_WNAT" route add default via 198.51.100.17
    ip -n "$NS_CNAT" route add default via 198.51.100.33
}

# topo_site: the site's LAN (a bridge in the site NAT), two gateways and the resource host.
topo_site() {
    local ns n=0
    ip -n "$NS_SNAT" link add lan type bridge
    ip -n "$NS_SNAT" addr add 10.10.0.1/24 dev lan
    ip -n "$NS_SNAT" link set lan up
    for ns in "$NS_GW1" "$NS_GW2" "$NS_RES"; do
        n=$((n + 1))
        veth_link "$NS_SNAT" "port$n" "" "$ns" eth0 ""
        ip -n "$NS_SNAT" link set "port$n" master lan
    done
    ip -n "$NS_GW1" addr add 10.10.0.2/24 dev eth0
    ip -n "$NS_GW2" addr add 10.10.0.3/24 dev eth0
    ip -n "$NS_RES" addr add "$RES_IP/24" dev eth0
    ip -n "$NS_RES" addr add "$RES_DENIED_IP/24" dev eth0
    for ns in "$NS_GW1" "$NS_GW2" "$NS_RES"; do
        ip -n "$ns" route add default via 10.10.0.1
    done
    topo_nat "$NS_SNAT" wan
}

# topo_access: the client's two access networks; wifi up (192.168.1.2), cellular down with no
# address; TOPO_NETEM_MS each way on both access links (the delay line).
topo_access() {
    topo_delayed_link "$NS_WNAT" lan 192.168.1.1/24 "$NS_CLI" wifi0 192.168.1.2/24 "$NS_WDL" \
        "$TOPO_NETEM_MS"
    topo_delayed_link "$NS_CNAT" lan 172.16.1.1/24 "$NS_CLI" cell0 "" "$NS_CDL" "$TOPO_NETEM_MS"
    ip -n "$NS_CLI" link set cell0 down
    ip -n "$NS_CLI" route add default via 192.168.1.1 dev wifi0
    topo_nat "$NS_WNAT" wan
    topo_nat "$NS_CNAT" wan
}

# topo_up: every namespace, link, route and NAT; the TLS material for the portal.
topo_up() {
    local ns
    : >>"$TMP/topo-pids"
    for ns in "${TOPO_NS[@]:0:10}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    topo_internet
    topo_site
    topo_access
    for ns in "$NS_GW1" "$NS_GW2" "$NS_CLI" "$NS_PORTAL"; do topo_hosts "$ns"; done
    topo_pki
}

# topo_pki: a test CA ($TMP/ca.pem) and the portal's certificate for portal.test and its IP.
topo_pki() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=floe e2e test CA" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$PORTAL_NAME" \
        -keyout "$TMP/portal.key" -out "$TMP/portal.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\n' "$PORTAL_NAME" \
        "$PORTAL_IP" >"$TMP/portal.ext"
    openssl x509 -req -in "$TMP/portal.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
        -CAcreateserial -days 2 -extfile "$TMP/portal.ext" -out "$TMP/portal.pem" 2>/dev/null
}

# topo_admin ARGS...: floe-portal admin on the topology's database.
topo_admin() {
    "$FLOE_BIN_DIR/floe-portal" admin --database "sqlite:$TMP/portal.db" "$@"
}

# topo_enroll: site "hq" with a gateway token ($TMP/gw.token), resources "web" ($RES_IP/32,
# every protocol) and "denied" ($RES_DENIED_IP/32, no policy), user alice with a client token
# ($TMP/client.token), group eng allowed web, the relay with its REST secret. Sets SITE,
# RESOURCE, DENIED_RESOURCE, USER_ID, GROUP, POLICY, RELAY (ids).
topo_enroll() {
    SITE=$(topo_admin sites add hq)
    topo_admin gateway-tokens add --site "$SITE" >"$TMP/gwtok.out"
    sed -n 2p "$TMP/gwtok.out" >"$TMP/gw.token"
    RESOURCE=$(topo_admin resources add --site "$SITE" --name web --address "$RES_IP/32")
    DENIED_RESOURCE=$(topo_admin resources add --site "$SITE" --name denied \
        --address "$RES_DENIED_IP/32")
    USER_ID=$(topo_admin users add alice)
    topo_admin client-tokens add --user "$USER_ID" >"$TMP/cltok.out"
    sed -n 2p "$TMP/cltok.out" >"$TMP/client.token"
    GROUP=$(topo_admin groups add eng)
    topo_admin groups add-member --group "$GROUP" --user "$USER_ID" >/dev/null
    POLICY=$(topo_admin policies add --group "$GROUP" --resource "$RESOURCE")
    RELAY=$(topo_admin relays add --address "$RELAY_IP:$RELAY_PORT" --secret "$TOPO_RELAY_SECRET")
    [ -s "$TMP/gw.token" ] && [ -s "$TMP/client.token" ] && [ -n "$POLICY" ] && [ -n "$RELAY" ] ||
        fail "enrolment in the portal failed"
    chmod 600 "$TMP/gw.token" "$TMP/client.token"
}

# topo_wait WHAT TRIES CMD...: run CMD every 0.1 s until it succeeds; fail after TRIES.
topo_wait() {
    local what=$1 tries=$2 i=0
    shift 2
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt "$tries" ] || fail "$what"
        sleep 0.1
    done
}

# topo_portal [NAME]: floe-portal on $PORTAL_IP:443 with TLS; waits for /healthz over https
# from the client's network (through its NAT, the name checked against the test CA).
# $TOPO_PORTAL_ARGS (words) are added to its command line.
topo_portal() {
    local name=${1:-portal}
    # shellcheck disable=SC2086 # TOPO_PORTAL_ARGS is a list of words
    topo_bg "$name" "$NS_PORTAL" "$FLOE_BIN_DIR/floe-portal" --listen "$PORTAL_IP:443" \
        --database "sqlite:$TMP/portal.db" --tls-cert "$TMP/portal.pem" \
        --tls-key "$TMP/portal.key" --relay-check-ms 500 --log-level debug \
        --log-file "$TMP/$name.log" ${TOPO_PORTAL_ARGS:-}
    topo_wait "floe-portal did not answer https://$PORTAL_NAME/healthz within 10 s: \
$(cat "$TMP/$name.out" 2>/dev/null)" 100 in_ns "$NS_CLI" curl -fsS --max-time 2 --cacert "$TMP/ca.pem" \
        "https://$PORTAL_NAME/healthz"
}

# topo_relay [NAME]: floe-relay on $RELAY_IP:3478, REST credentials with the portal's secret.
topo_relay() {
    local name=${1:-relay}
    printf '%s\n' "$TOPO_RELAY_SECRET" >"$TMP/relay.secret"
    topo_bg "$name" "$NS_RELAY" "$FLOE_BIN_DIR/floe-relay" --listen "$RELAY_IP:$RELAY_PORT" \
        --relay-ip "$RELAY_IP" --auth-secret-file "$TMP/relay.secret" --threads 1 \
        --io epoll --allow-peer 198.51.100.0/24 --allow-peer 203.0.113.0/24 \
        --log-level info --log-file "$TMP/$name.log"
    topo_wait "floe-relay did not answer STUN within 10 s: $(cat "$TMP/$name.out" 2>/dev/null)" 100 \
        in_ns "$NS_CLI" "$FLOE_BIN_DIR/floe" stun --timeout 1 "$RELAY_IP:$RELAY_PORT"
}

# topo_http MB: a file of MB MiB ($TMP/www/file, sha256 in $TMP/file.sha256, made fast from
# a seeded AES-CTR stream) served by python3's http.server on $RES_IP:$HTTP_PORT; also an
# iperf3 server on the resource.
topo_http() {
    mkdir -p "$TMP/www"
    # A process substitution, not a pipe: openssl ends on SIGPIPE, which pipefail would see.
    head -c "$(($1 * 1024 * 1024))" \
        < <(openssl enc -aes-128-ctr -nosalt -pass "pass:floe-e2e-$1" -pbkdf2 </dev/zero \
            2>/dev/null) >"$TMP/www/file"
    [ "$(stat -c %s "$TMP/www/file")" = $(($1 * 1024 * 1024)) ] || fail "cannot make the file"
    sha256sum "$TMP/www/file" | cut -d' ' -f1 >"$TMP/file.sha256"
    topo_bg http "$NS_RES" python3 -m http.server --bind "$RES_IP" --directory "$TMP/www" \
        "$HTTP_PORT"
    topo_bg iperf3 "$NS_RES" iperf3 -s -B "$RES_IP"
    topo_wait "the resource's HTTP server did not start: $(cat "$TMP/http.out" 2>/dev/null)" 100 \
        in_ns "$NS_RES" curl -fsS -o /dev/null --max-time 1 "http://$RES_IP:$HTTP_PORT/"
}

# topo_roam: the client moves to its other access network: the old link down, the new one up
# with a new address (192.168.1.N or 172.16.1.N, N = 2 + roams so far), the default route
# moved. Sets TOPO_T_USABLE: the time (seconds since the epoch, us) at which the new network
# was usable. Call it in the test's shell, not in $(...): it keeps state.
topo_roam() {
    local old new gw prefix
    TOPO_ROAMS=$((TOPO_ROAMS + 1))
    if [ "$TOPO_ACCESS" = wifi ]; then
        old=wifi0 new=cell0 gw=172.16.1.1 prefix=172.16.1 TOPO_ACCESS=cell
    else
        old=cell0 new=wifi0 gw=192.168.1.1 prefix=192.168.1 TOPO_ACCESS=wifi
    fi
    ip -n "$NS_CLI" link set "$old" down
    ip -n "$NS_CLI" addr flush dev "$old"
    ip -n "$NS_CLI" addr add "$prefix.$((2 + TOPO_ROAMS))/24" dev "$new"
    ip -n "$NS_CLI" link set "$new" up
    ip -n "$NS_CLI" route replace default via "$gw" dev "$new"
    # bash's clock, not $(date ...): a fork that a loaded machine delays would make the time
    # late and the outage look shorter (the client already resets ~5 ms before date ran).
    TOPO_T_USABLE=${EPOCHREALTIME:-}
    TOPO_T_USABLE=${TOPO_T_USABLE/,/.}
    [ -n "$TOPO_T_USABLE" ] || TOPO_T_USABLE=$(date +%s.%N)
}

# topo_direct_udp on|off: UDP between the site's and the client's NATs allowed, or dropped in
# the internet (the path can then only be relayed).
topo_direct_udp() {
    in_ns "$NS_INET" nft delete table ip floe_e2e_block 2>/dev/null || true
    [ "$1" = off ] || return 0
    in_ns "$NS_INET" nft -f - <<BLOCK
table ip floe_e2e_block {
    chain drop_direct {
        type filter hook forward priority 0; policy accept;
        ip saddr $SITE_PUBLIC ip daddr { $WIFI_PUBLIC, $CELL_PUBLIC } meta l4proto udp drop
        ip daddr $SITE_PUBLIC ip saddr { $WIFI_PUBLIC, $CELL_PUBLIC } meta l4proto udp drop
    }
}
BLOCK
}

# topo_gateway N [ARGS...]: floe-gateway in gateway N's namespace (log $TMP/gwN.log).
topo_gateway() {
    local n=$1 ns=$NS_GW1
    shift
    [ "$n" = 2 ] && ns=$NS_GW2
    topo_bg "gw$n" "$ns" "$FLOE_BIN_DIR/floe-gateway" --portal "$PORTAL_URL" \
        --token-file "$TMP/gw.token" --ca-file "$TMP/ca.pem" --foreground --name "gw$n" \
        --control-socket "$TMP/gw$n.sock" \
        --log-level debug --log-file "$TMP/gw$n.log" "$@"
}

# topo_client [ARGS...]: floe-client in the client's namespace, interface floe0, control
# socket $TMP/client.sock (log $TMP/client.log).
topo_client() {
    topo_bg client "$NS_CLI" "$FLOE_BIN_DIR/floe-client" --portal "$PORTAL_URL" \
        --token-file "$TMP/client.token" --ca-file "$TMP/ca.pem" --foreground \
        --interface floe0 --control-socket "$TMP/client.sock" --log-level debug \
        --log-file "$TMP/client.log" "$@"
}

# topo_status [--json]: floe-client status of the topology's client.
topo_status() {
    in_ns "$NS_CLI" "$FLOE_BIN_DIR/floe-client" status --control-socket "$TMP/client.sock" "$@"
}

# topo_down: stop every process started here (by pid), delete the namespaces and their
# /etc/netns folders. Safe to call twice and on a half-built topology.
topo_down() {
    local pid ns
    if [ -f "$TMP/topo-pids" ]; then
        while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$TMP/topo-pids"
        while read -r pid; do stop_pid "$pid"; done <"$TMP/topo-pids"
        rm -f "$TMP/topo-pids"
    fi
    for ns in "${TOPO_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
}
