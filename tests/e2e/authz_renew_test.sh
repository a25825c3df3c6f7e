#!/usr/bin/env bash
# Issue 13: an authorization outlives its TTL while the policy allows it. The portal runs with
# --authz-ttl 4; the client pings the resource every 100 ms for 14 s (3.5 lifetimes): every
# second has its replies, the gateway had one create_authorization, one connection established
# and at least three renewals (access_authorization_expiry_updated). Then the policy is
# removed: no reply comes more than 1 s after.
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
TOPO_PORTAL_ARGS="--authz-ttl 4" e2e_system 1
e2e_first_ping

# 1. Past 3.5 lifetimes: a reply in every second.
ip netns exec "$NS_CLI" ping -D -i 0.1 -w 14 "$RES_IP" >"$TMP/pings" 2>&1 || true
sed -n 's/^\[\([0-9]*\)\.[0-9]*\].*time=.*/\1/p' "$TMP/pings" | sort -u >"$TMP/seconds"
first=$(head -n 1 "$TMP/seconds")
last=$(tail -n 1 "$TMP/seconds")
[ -n "$first" ] || fail "no ping answered"
n=$(grep -c . "$TMP/seconds")
echo "replies in $n distinct seconds from $first to $last"
[ $((last - first)) -ge 13 ] || fail "replies stopped after $((last - first)) s (TTL 4 s)"
[ "$n" -eq $((last - first + 1)) ] || fail "a second without a reply: $(tr '\n' ' ' <"$TMP/seconds")"
gap=$(sed -n 's/^\[\([0-9.]*\)\].*time=.*/\1/p' "$TMP/pings" |
    awk 'NR > 1 && ($1 - p) * 1000 > g { g = ($1 - p) * 1000 } { p = $1 } END { printf "%.0f", g }')
echo "longest time between two replies: $gap ms"
[ "$gap" -le 1000 ] || fail "no reply for $gap ms"
GWLOG=$(ls "$TMP"/gw*.log | head -n 1)
jq -r .message "$GWLOG" >"$TMP/gw.messages"
created=$(grep -c '^authorized for' "$TMP/gw.messages" || true)
renewed=$(grep -c '^expiry now' "$TMP/gw.messages" || true)
established=$(grep -c 'established$' "$TMP/gw.messages" || true)
echo "gateway: $created authorization(s), $renewed renewal(s), $established connection(s) established"
[ "$created" -eq 1 ] || fail "the renewal made $created authorizations (a new one each time?)"
[ "$established" -eq 1 ] || fail "$established connections established (a new connection?)"
[ "$renewed" -ge 3 ] || fail "only $renewed renewals in 14 s with a 4 s lifetime"
grep -q 'expired$' "$TMP/gw.messages" && fail "an authorization expired at the gateway"

# 2. The policy removed: the renewals stop, access ends within 1 s.
ip netns exec "$NS_CLI" ping -D -i 0.05 -w 6 "$RES_IP" >"$TMP/pings2" 2>&1 &
ping_pid=$!
sleep 1
t_removed=$(date +%s.%N)
topo_admin policies remove "$POLICY" >/dev/null
wait "$ping_pid" || true
last=$(sed -n 's/^\[\([0-9.]*\)\].*time=.*/\1/p' "$TMP/pings2" | tail -n 1)
[ -n "$last" ] || fail "no ping answered before the removal"
late=$(awk -v a="$last" -v b="$t_removed" 'BEGIN { printf "%.0f", (a - b) * 1000 }')
echo "last reply $late ms after the policy was removed"
[ "$late" -le 1000 ] || fail "access went on $late ms after the policy was removed"
[ "$late" -ge -200 ] || fail "the pings stopped answering before the removal"
echo "ok: e2e authorization renewed past its TTL, ended by the policy's removal"
