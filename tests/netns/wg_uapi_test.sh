#!/usr/bin/env bash
# floe-wg's command line, its configuration socket and its lifecycle, in a network
# namespace of its own: exit 2 on bad flags; raw UAPI lines with bad keys and values answer
# errno=EINVAL (EPROTO for a line without '=') and never stop the daemon; wg setconf and
# wg showconf round-trip a configuration; detaching, and exiting when the interface is
# deleted; SIGTERM removes the socket and the interface.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip wg socat ss
need_bin floe-wg

TMP=$(mktemp -d)
NS="floe-wgu-$$"
IF="fwu$$"
IF_D="fwd$$"
SOCK="/var/run/wireguard/$IF.sock"
SOCK_D="/var/run/wireguard/$IF_D.sock"
PID=""
PID_D=""
PID_UDP=""
FLOE="$FLOE_BIN_DIR/floe-wg"

# The pid of the detached daemon: the process serving its socket in the namespace.
detached_pid() {
    ip netns exec "$NS" ss -Hxlp 2>/dev/null | grep -F "$SOCK_D" |
        sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}

cleanup() {
    local rc=$?
    stop_pid "$PID"
    [ -n "$PID_D" ] || PID_D=$(detached_pid || true)
    stop_pid "$PID_D"
    stop_pid "$PID_UDP"
    ip netns del "$NS" 2>/dev/null || true
    [ "$rc" -eq 0 ] || tail -n 20 "$TMP/floe.log" >&2 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# ------------------------------------------------------------ command line
expect_exit 0 "$FLOE" --help
for word in WG_PROCESS_FOREGROUND --foreground --log-file --log-level --no-offload \
    /var/run/wireguard "Exit status"; do
    grep -qF -- "$word" "$TMP/out" || fail "--help does not mention $word"
done
expect_exit 2 "$FLOE"
expect_stderr "missing IFNAME"
expect_exit 2 "$FLOE" --bogus wg0
expect_stderr "--bogus"
expect_exit 2 "$FLOE" --log-level loud wg0
expect_stderr "bad --log-level 'loud'"
for t in 0 65 -1 two 2x ""; do
    expect_exit 2 "$FLOE" --threads "$t" wg0
    expect_stderr "bad --threads '$t' (1 to 64)"
done
expect_exit 2 "$FLOE" wg0 extra
expect_stderr "unexpected argument 'extra'"
expect_exit 2 "$FLOE" "a/b"
expect_stderr "bad interface name"
expect_exit 2 "$FLOE" "name-longer-than-15"
expect_stderr "bad interface name"
echo "ok: command line"

ip netns add "$NS"
ip -n "$NS" link set lo up

# --------------------------------------------------------------- raw UAPI
ip netns exec "$NS" "$FLOE" --foreground --log-file "$TMP/floe.log" "$IF" &
PID=$!
for i in $(seq 50); do
    [ -S "$SOCK" ] && break
    kill -0 "$PID" 2>/dev/null || fail "floe-wg exited at start"
    sleep 0.1
done
[ -S "$SOCK" ] || fail "no socket $SOCK"
[ "$(stat -c %a "$SOCK")" = 700 ] || fail "socket mode $(stat -c %a "$SOCK"), not 700"

# uapi TEXT: send TEXT (printf format) to the socket; the answer in $TMP/answer.
uapi() {
    # shellcheck disable=SC2059
    printf "$1" | socat -t 2 - "UNIX-CONNECT:$SOCK" >"$TMP/answer"
}
# expect_errno N TEXT: the answer to TEXT is errno=N and the daemon still runs.
expect_errno() {
    uapi "$2"
    grep -qx "errno=$1" "$TMP/answer" || fail "answer to '$2' is '$(cat "$TMP/answer")', not errno=$1"
    kill -0 "$PID" 2>/dev/null || fail "floe-wg died on '$2'"
}

KEY_HEX=$(wg genkey | base64 -d | od -An -tx1 | tr -d ' \n')
PUB_HEX=$(wg genkey | wg pubkey | base64 -d | od -An -tx1 | tr -d ' \n')
expect_errno 0 "set=1\nprivate_key=$KEY_HEX\nlisten_port=51900\n\n"
expect_errno 22 "set=1\nprivate_key=zz\n\n"
expect_errno 22 "set=1\nprivate_key=${KEY_HEX}00\n\n"
expect_errno 22 "set=1\nlisten_port=70000\n\n"
expect_errno 22 "set=1\nlisten_port=-1\n\n"
expect_errno 22 "set=1\nfwmark=4294967296\n\n"
expect_errno 22 "set=1\nreplace_peers=yes\n\n"
expect_errno 22 "set=1\nbogus_key=1\n\n"
expect_errno 71 "set=1\nno equals sign here\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\nallowed_ip=10.0.0.0/33\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\nallowed_ip=10.0.0.300/32\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\nendpoint=nonsense\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\nendpoint=10.0.0.1:0\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\npersistent_keepalive_interval=65536\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\nprotocol_version=2\n\n"
expect_errno 22 "set=1\npublic_key=$PUB_HEX\nlisten_port=1\n\n"
expect_errno 22 "set=1\npublic_key=$(printf '0%.0s' $(seq 64))\n\n"
expect_errno 22 "get=1\nextra\n\n"
expect_errno 22 "frobnicate=1\n\n"
# A line longer than the line buffer and binary garbage: the connection is dropped.
head -c 10000 /dev/zero | tr '\0' 'x' | socat -t 1 - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1 || true
head -c 4096 /dev/urandom | socat -t 1 - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1 || true
kill -0 "$PID" 2>/dev/null || fail "floe-wg died on garbage"
# The good lines before an error were applied; the peer of the failed lines exists.
uapi "get=1\n\n"
grep -qx "listen_port=51900" "$TMP/answer" || fail "listen_port not applied: $(cat "$TMP/answer")"
grep -qx "private_key=$KEY_HEX" "$TMP/answer" || fail "private key not reported"
grep -qx "errno=0" "$TMP/answer" || fail "get did not end with errno=0"
# update_only does not create; remove removes.
expect_errno 0 "set=1\nreplace_peers=true\npublic_key=$PUB_HEX\nupdate_only=true\n\n"
uapi "get=1\n\n"
grep -q "public_key" "$TMP/answer" && fail "update_only created a peer"
echo "ok: bad UAPI input answered with errno and survived"

# A port in use: EADDRINUSE, the old port is kept.
ip netns exec "$NS" socat -u UDP6-RECV:51901 /dev/null &
PID_UDP=$!
wait_udp_ns() {
    for i in $(seq 50); do
        [ -n "$(ip netns exec "$NS" ss -Hlnu "sport = :$1")" ] && return 0
        sleep 0.1
    done
    fail "nothing bound UDP port $1"
}
wait_udp_ns 51901
expect_errno 98 "set=1\nlisten_port=51901\n\n"
[ "$(ip netns exec "$NS" wg show "$IF" listen-port)" = 51900 ] || fail "port changed on failure"
stop_pid "$PID_UDP"
PID_UDP=""
echo "ok: port in use refused with EADDRINUSE"

# -------------------------------------------------------- wg setconf/showconf
cat >"$TMP/conf" <<EOF
[Interface]
ListenPort = 51902
FwMark = 0x2a
PrivateKey = $(wg genkey)

[Peer]
PublicKey = $(wg genkey | wg pubkey)
PresharedKey = $(wg genpsk)
AllowedIPs = 10.79.0.0/16, 10.79.1.0/24, fd00::/64
Endpoint = 10.77.9.9:51820
PersistentKeepalive = 25

[Peer]
PublicKey = $(wg genkey | wg pubkey)
AllowedIPs = 10.80.0.1/32, ::/0
Endpoint = [fd00::1]:51820
EOF
ip netns exec "$NS" wg setconf "$IF" "$TMP/conf"
ip netns exec "$NS" wg showconf "$IF" >"$TMP/shown"
diff <(grep -v '^$' "$TMP/conf") <(grep -v '^$' "$TMP/shown") ||
    fail "wg showconf differs from what wg setconf set"
# wg syncconf of the same file changes nothing.
ip netns exec "$NS" wg syncconf "$IF" "$TMP/conf"
diff "$TMP/shown" <(ip netns exec "$NS" wg showconf "$IF") || fail "wg syncconf changed it"
# Moving a prefix: 10.80.0.1/32 goes to the first peer.
P1=$(sed -n 's/^PublicKey = //p' "$TMP/conf" | head -1)
ip netns exec "$NS" wg set "$IF" peer "$P1" allowed-ips 10.79.0.0/16,10.80.0.1/32
ip netns exec "$NS" wg show "$IF" allowed-ips | grep "^$P1" | grep -q "10.80.0.1/32" ||
    fail "allowed IP did not move"
[ "$(ip netns exec "$NS" wg show "$IF" allowed-ips | grep -c "10.80.0.1/32")" = 1 ] ||
    fail "an allowed IP is on two peers"
echo "ok: wg setconf / syncconf / showconf round trip, allowed IPs move between peers"

# SIGTERM: the socket and the interface go.
stop_pid "$PID"
PID=""
[ ! -e "$SOCK" ] || fail "socket left after SIGTERM"
ip -n "$NS" link show "$IF" >/dev/null 2>&1 && fail "interface left after SIGTERM"
echo "ok: SIGTERM removes socket and interface"

# ------------------------------------------------ detaching, interface deleted
expect_exit 0 ip netns exec "$NS" "$FLOE" --log-file "$TMP/floe_d.log" "$IF_D"
[ -S "$SOCK_D" ] || fail "detached floe-wg made no socket"
PID_D=$(detached_pid)
[ -n "$PID_D" ] || fail "no process serves $SOCK_D"
[ "$PID_D" != "$$" ] || fail "socket held by the test itself"
ip netns exec "$NS" wg show "$IF_D" >/dev/null || fail "wg cannot talk to the detached daemon"
ip -n "$NS" link del "$IF_D"
wait_exit "$PID_D" "floe-wg did not exit when its interface was deleted"
PID_D=""
[ ! -e "$SOCK_D" ] || fail "socket left after the interface was deleted"
grep -q "interface $IF_D deleted" "$TMP/floe_d.log" || fail "deletion not logged"
echo "ok: detaches; exits when its interface is deleted"
echo "PASS"
