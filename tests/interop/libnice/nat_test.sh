#!/usr/bin/env bash
# floe's ICE agent against libnice behind two NATs (issue #10 item 10): ice_libnice_test's
# `nat` case with libnice and floe each in a network namespace of its own behind an nftables
# masquerade, and coturn (Debian's) in the "public" namespace as both agents' STUN and TURN
# server. floe gathers its server-reflexive and relayed candidates with its own TURN client.
#
#   floe 10.0.2.2 -- 10.0.2.1 [nat F] 198.18.1.2 -- 198.18.1.1 [pub: coturn] 198.18.2.1
#                                                   -- 198.18.2.2 [nat L] 10.0.1.1 -- 10.0.1.2 libnice
#   [pub] 198.19.0.1 -- 198.19.0.2 [sink]: the public side's default route, where packets die
#
# "direct": the NATs reach each other, the server-reflexive path must be selected; "relay":
# the public namespace drops what one NAT sends to the other, a relayed path must be
# selected; "floe_relay": the same with libnice on STUN only, so floe's own relay (its TURN
# client framing checks and data) must carry the path. Data and consent both ways in each. Namespaces are named with $$ and
# removed on exit, coturn is stopped by its pid. Never skipped: a missing tool fails.
set -euo pipefail
# shellcheck source=../lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

PROG=${1:?usage: nat_test.sh PATH_TO_ice_libnice_test}
[ -x "$PROG" ] || fail "$PROG not built"
need_tool ip nft turnserver ss ping
[ "$(id -u)" -eq 0 ] || fail "network namespaces need root"

TMP=$(mktemp -d /tmp/floe-nice-nat.XXXXXX)
NS_PUB="floe-nice-pub-$$"
NS_NF="floe-nice-natf-$$"
NS_F="floe-nice-floe-$$"
NS_NL="floe-nice-natl-$$"
NS_L="floe-nice-nice-$$"
NS_SINK="floe-nice-sink-$$"
ALL_NS=("$NS_PUB" "$NS_NF" "$NS_F" "$NS_NL" "$NS_L" "$NS_SINK")
COTURN_PID=""
TURN_PORT=3478

cleanup() {
    local rc=$? ns
    stop_pid "$COTURN_PID"
    for ns in "${ALL_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ "$rc" -ne 0 ]; then
        echo "--- coturn log" >&2
        grep -vE ': (IO method|SQLite|Relay|relay|turn server|Total|pid file|WARNING: I cannot)' \
            "$TMP"/coturn*.log | tail -n 40 >&2 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# masquerade NS IF: NS forwards and hides what leaves through IF behind IF's address. What
# comes in through IF unsolicited is dropped before conntrack keeps it: a kept entry would
# make the NAT pick another port for the local side's own packets to that peer.
masquerade() {
    ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$1" nft -f - <<NFT
table ip nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$2" masquerade
    }
}
table ip filter {
    chain input {
        type filter hook input priority filter; policy accept;
        iifname "$2" ct state new drop
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        iifname "$2" ct state new drop
    }
}
NFT
}

for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
veth_link "$NS_PUB" "pf$$" 198.18.1.1/24 "$NS_NF" "fp$$" 198.18.1.2/24
veth_link "$NS_PUB" "pl$$" 198.18.2.1/24 "$NS_NL" "lp$$" 198.18.2.2/24
veth_link "$NS_NF" "nf$$" 10.0.2.1/24 "$NS_F" "fn$$" 10.0.2.2/24
veth_link "$NS_NL" "nl$$" 10.0.1.1/24 "$NS_L" "ln$$" 10.0.1.2/24
ip -n "$NS_F" route add default via 10.0.2.1
ip -n "$NS_L" route add default via 10.0.1.1
ip -n "$NS_NF" route add default via 198.18.1.1
ip -n "$NS_NL" route add default via 198.18.2.1
ip netns exec "$NS_PUB" sysctl -qw net.ipv4.ip_forward=1
# The public network's default route leads to a namespace that drops everything, as a
# private address does on the Internet: what coturn relays to a peer's private host
# candidate is lost silently instead of failing the send (after a failed send coturn stops
# relaying for that allocation).
veth_link "$NS_PUB" "ps$$" 198.19.0.1/24 "$NS_SINK" "sp$$" 198.19.0.2/24
ip -n "$NS_PUB" route add default via 198.19.0.2
masquerade "$NS_NF" "fp$$"
masquerade "$NS_NL" "lp$$"

# coturn in the public namespace, long-term user floe/nat-secret. `ip netns exec` execs the
# server, so $! is turnserver's own pid.
ip netns exec "$NS_PUB" turnserver -n --listening-ip=198.18.1.1 --listening-port=$TURN_PORT \
    --relay-ip=198.18.1.1 --min-port=50000 --max-port=50999 --no-tls --no-dtls --no-tcp \
    --no-tcp-relay --no-cli --simple-log --lt-cred-mech --user=floe:nat-secret --realm=floe \
    --fingerprint --log-file="$TMP/coturn.log" --no-stdout-log --pidfile="$TMP/coturn.pid" \
    --userdb="$TMP/coturn.db" >"$TMP/coturn.out" 2>&1 &
COTURN_PID=$!
for _ in $(seq 100); do
    [ -n "$(ip netns exec "$NS_PUB" ss -Hlnu "sport = :$TURN_PORT")" ] && break
    kill -0 "$COTURN_PID" 2>/dev/null || fail "turnserver exited: $(cat "$TMP/coturn.out")"
    sleep 0.1
done
[ -n "$(ip netns exec "$NS_PUB" ss -Hlnu "sport = :$TURN_PORT")" ] ||
    fail "turnserver did not bind 198.18.1.1:$TURN_PORT"

# Both NATs can reach coturn; floe's NAT cannot reach libnice's host address.
ip netns exec "$NS_F" ping -c1 -W2 198.18.1.1 >/dev/null || fail "floe's side cannot reach coturn"
ip netns exec "$NS_L" ping -c1 -W2 198.18.1.1 >/dev/null || fail "libnice's side cannot reach coturn"
if ip netns exec "$NS_F" ping -c1 -W1 10.0.1.2 >/dev/null 2>&1; then
    fail "libnice's private address is reachable from floe's side: no NAT in between"
fi

run_case() {
    "$PROG" nat "$NS_F" 10.0.2.2 "$NS_L" 10.0.1.2 "198.18.1.1:$TURN_PORT" floe nat-secret "$1"
}

echo "== direct: the NATs reach each other"
run_case direct

echo "== relay: the public network drops NAT-to-NAT traffic"
ip netns exec "$NS_PUB" nft -f - <<'NFT'
table ip filter {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.0/24 drop
        ip saddr 198.18.2.0/24 ip daddr 198.18.1.0/24 drop
    }
}
NFT
run_case relay

echo "== floe_relay: the same, libnice with STUN only: floe's relay carries the path"
run_case floe_relay
echo "3 passed, 0 failed"
