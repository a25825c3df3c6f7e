#!/usr/bin/env bash
# Issue 13, case 6: the policy is removed in the portal while the client pings the resource
# every 50 ms: no reply comes more than 1 s after the removal, and none in the 3 s after.
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
e2e_system 1
e2e_first_ping

ip netns exec "$NS_CLI" ping -D -i 0.05 -w 6 "$RES_IP" >"$TMP/pings" 2>&1 &
ping_pid=$!
sleep 1
t_removed=$(date +%s.%N)
topo_admin policies remove "$POLICY" >/dev/null
wait "$ping_pid" || true
last=$(sed -n 's/^\[\([0-9.]*\)\].*time=.*/\1/p' "$TMP/pings" | tail -n 1)
[ -n "$last" ] || fail "no ping answered before the removal"
late=$(awk -v a="$last" -v b="$t_removed" 'BEGIN { printf "%.0f", (a - b) * 1000 }')
echo "last reply $late ms after the policy was removed"
[ "$late" -le 1000 ] || fail "access went on $late ms after the policy was removed"
[ "$late" -ge -200 ] || fail "the pings stopped answering before the removal"
echo "ok: e2e access ends within 1 s of the policy's removal"
