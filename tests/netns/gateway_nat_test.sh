#!/usr/bin/env bash
# floe-gateway's NAT and forwarding (issue 13), in network namespaces of its own:
# 1. floe-gateway in namespace "gw" (its portal unreachable: a port nothing listens on in that
#    new namespace, so it keeps retrying): while it runs, its table inet floe_gw_<ifname> holds
#    the masquerade rule, IPv4/IPv6 forwarding are on, the client pools are routed through the
#    TUN, and the log has the rules; a stale table of the same name from a crashed run was
#    replaced. After SIGTERM it exits 0 and the table is gone.
# 2. The rules it logged do masquerade: loaded into a namespace where a veth with the tunnel's
#    name carries a "client" network, a resource host in a third namespace (no route back to
#    the client network) answers pings from the client, and stops answering once the table
#    is deleted.
# 3. Argument errors: exit 2 with one clear line.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip nft ping jq
need_bin floe-gateway
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, TUN, nftables)"

TMP=$(mktemp -d)
NS_G="floe-gwn-gw-$$"
NS_C="floe-gwn-cl-$$"
NS_R="floe-gwn-res-$$"
IFN="fgw$$"
IFN=${IFN:0:15}
TABLE="floe_gw_$IFN"
GW=$FLOE_BIN_DIR/floe-gateway
GW_PID=

cleanup() {
    local rc=$?
    stop_pid "$GW_PID"
    for ns in "$NS_G" "$NS_C" "$NS_R"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ "$rc" -ne 0 ]; then
        echo "--- gateway log" >&2
        tail -n 30 "$TMP/gw.log" >&2 || true
    fi
    rm -rf "$TMP"
}
trap 'exit 130' INT TERM
trap cleanup EXIT

G() { ip netns exec "$NS_G" "$@"; }
C() { ip netns exec "$NS_C" "$@"; }
R() { ip netns exec "$NS_R" "$@"; }

# stderr_has TEXT: the last expect_exit's stderr says TEXT on its first line.
stderr_has() {
    head -n 1 "$TMP/err" >"$TMP/err1"
    grep -qF -- "$1" "$TMP/err1" || fail "stderr lacks '$1': $(cat "$TMP/err")"
}

echo "gw-token-for-the-test" >"$TMP/token"

# ------------------------------------------------------------ 3. argument errors
expect_exit 2 "$GW"
stderr_has "--portal and --token-file are required"
expect_exit 2 "$GW" --portal ftp://x --token-file "$TMP/token"
stderr_has "bad portal URL"
expect_exit 2 "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/token" --interface 'a b'
expect_exit 2 "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/token" --interface \
    abcdefghijklmnop
stderr_has "bad interface name"
expect_exit 2 "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/token" --log-level loud
stderr_has "bad log level"
expect_exit 2 "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/token" extra
stderr_has "unexpected argument"
expect_exit 2 "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/missing"
stderr_has "token file"
expect_exit 2 "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/token" --fwmark 0
stderr_has "bad --fwmark"
expect_exit 2 "$GW" --bogus
expect_exit 0 "$GW" --help
grep -q -- "--no-nat" "$TMP/out" || fail "--help lacks --no-nat"
grep -q "Exit status" "$TMP/out" || fail "--help lacks the exit codes"

# ------------------------------------------------------------ 1. the table's life
for ns in "$NS_G" "$NS_C" "$NS_R"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
G sysctl -qw net.ipv4.ip_forward=0
G nft -f - <<EOF
table inet $TABLE {
    chain stale { type filter hook forward priority 0; policy drop; }
}
EOF
# not through G: a function in the background is a subshell, and $! would be its pid
ip netns exec "$NS_G" "$GW" --portal ws://127.0.0.1:9 --token-file "$TMP/token" \
    --interface "$IFN" --control-socket "$TMP/gw.sock" --foreground --log-file "$TMP/gw.log" \
    --log-level debug &
GW_PID=$!
for _ in $(seq 100); do
    grep -q "nftables table created" "$TMP/gw.log" 2>/dev/null && break
    kill -0 "$GW_PID" 2>/dev/null || fail "floe-gateway exited at start"
    sleep 0.1
done
grep -q "nftables table created" "$TMP/gw.log" || fail "no 'nftables table created' in the log"
[ "$(readlink "/proc/$GW_PID/exe")" = "$(readlink -f "$GW")" ] ||
    fail "pid $GW_PID is not floe-gateway"
G nft list table inet "$TABLE" >"$TMP/table"
grep -q "iifname \"$IFN\" oifname != \"$IFN\" masquerade" "$TMP/table" ||
    fail "no masquerade rule: $(cat "$TMP/table")"
! grep -q "stale" "$TMP/table" || fail "the stale table was not replaced"
[ "$(G sysctl -n net.ipv4.ip_forward)" = 1 ] || fail "IPv4 forwarding not on"
[ "$(G sysctl -n net.ipv6.conf.all.forwarding)" = 1 ] || fail "IPv6 forwarding not on"
G ip route show 100.64.0.0/11 >"$TMP/route"
grep -q "dev $IFN" "$TMP/route" || fail "100.64.0.0/11 not routed through $IFN"
jq -r 'select(.message == "forwarding on") | .sysctl' "$TMP/gw.log" >"$TMP/sysctls"
grep -q ip_forward "$TMP/sysctls" || fail "the log does not say forwarding was turned on"
jq -r 'select(.rules != null) | .rules' "$TMP/gw.log" >"$TMP/rules.nft"
grep -q masquerade "$TMP/rules.nft" || fail "the log lacks the rules"
kill -TERM "$GW_PID"
rc=0
wait "$GW_PID" || rc=$?
GW_PID=
[ "$rc" -eq 0 ] || fail "floe-gateway exited $rc after SIGTERM, expected 0"
if G nft list table inet "$TABLE" >/dev/null 2>&1; then
    fail "table $TABLE still there after exit"
fi
grep -q "nftables table deleted" "$TMP/gw.log" || fail "no 'nftables table deleted' in the log"
G ip link show "$IFN" >/dev/null 2>&1 && fail "the TUN is still there after exit"

# ------------------------------------------------------------ 2. the rules masquerade
ip link add "$IFN" netns "$NS_G" type veth peer name eth0 netns "$NS_C"
ip link add up0 netns "$NS_G" type veth peer name eth0 netns "$NS_R"
G ip addr add 100.64.0.1/24 dev "$IFN"
G ip addr add 192.0.2.1/24 dev up0
C ip addr add 100.64.0.5/24 dev eth0
R ip addr add 192.0.2.10/24 dev eth0
for l in "$IFN" up0; do G ip link set "$l" up; done
C ip link set eth0 up
R ip link set eth0 up
C ip route add default via 100.64.0.1
# the resource has no route back to 100.64.0.0/24: only masquerade lets it answer
G nft -f "$TMP/rules.nft"
C ping -c 2 -W 2 192.0.2.10 >"$TMP/ping" || fail "no answer through the masquerade"
G nft delete table inet "$TABLE"
if C ping -c 1 -W 1 192.0.2.10 >"$TMP/ping"; then
    fail "the resource answered without the table: the test proves nothing"
fi
echo "ok: table while running, gone after SIGTERM; masquerade toward the resource works"
