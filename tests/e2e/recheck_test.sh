#!/usr/bin/env bash
# Issue 13, case 4, the late case: UDP between the site's and the client's NATs is dropped in
# the internet for RECHECK_BLOCK s after the connection is up on the relay, so every direct
# check fails and the NATs forget those contacts (conntrack drops unanswered UDP after 30 s);
# a download runs meanwhile. Once the drop is lifted, ICE's re-checks of the failed direct
# pairs (include/floe/ice.h: 5 s after the relayed selection, the wait doubling to 60 s, each
# randomised 0.8..1.2: the round after the lift comes at most 48 s later; a round's checks
# also keep the client's NAT open for the gateway's own late checks) must move the connection
# to a direct path within RECHECK_BUDGET s, without a new WireGuard handshake, and the download
# finishes with the right sha256. Before the re-checks it stayed relayed: the client's last
# direct check went out about 15 s after the start, its NAT forgot the contact 30 s later, and
# the gateway's retransmissions (every 15 s for 10 minutes) were dropped there.
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
RECHECK_BLOCK=50
RECHECK_BUDGET=55
e2e_begin
e2e_system 24
topo_direct_udp off
e2e_first_ping
e2e_wait_path '*relay*' 5
up=$(date +%s)
echo "path at first: $(e2e_conn path)"
hs=$(e2e_conn handshakes)

# The resource sends at a rate that makes the download last past the block and the budget
# (htb on its link); once the path is direct the rate goes up so that it ends soon.
total=$(stat -c %s "$TMP/www/file")
rate=$((total / (RECHECK_BLOCK + RECHECK_BUDGET + 10)))
in_ns "$NS_RES" tc qdisc replace dev eth0 root handle 1: htb default 10
in_ns "$NS_RES" tc class replace dev eth0 parent 1: classid 1:10 htb rate "$((rate * 8))bit"
in_ns "$NS_CLI" curl -fsS --max-time 170 -o "$TMP/got" "http://$RES_IP:$HTTP_PORT/file" \
    2>"$TMP/curl.err" &
curl_pid=$!
while [ $(($(date +%s) - up)) -lt "$RECHECK_BLOCK" ]; do
    path=$(e2e_conn path)
    [[ $path == *relay* ]] || fail "the path left the relay while direct UDP was blocked: $path"
    sleep 1
done
topo_direct_udp on
lifted=$(date +%s.%N)
e2e_wait_path direct "$RECHECK_BUDGET"
took=$(awk -v a="$lifted" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "path $(e2e_conn path) ${took} s after the drop was lifted (budget $RECHECK_BUDGET s)"
grep -c "re-checking failed direct pairs" "$TMP/client.log" >"$TMP/rechecks" || true
echo "client re-check rounds: $(cat "$TMP/rechecks")"
# Checked now, before WireGuard's rekey (REKEY_AFTER_TIME, 120 s) makes a handshake anyway.
[ "$(e2e_conn handshakes)" = "$hs" ] || fail "the upgrade made a new WireGuard handshake"
kill -0 "$curl_pid" 2>/dev/null ||
    fail "the download ended before the upgrade: $(cat "$TMP/curl.err")"
in_ns "$NS_RES" tc class change dev eth0 parent 1: classid 1:10 htb rate 1gbit
wait "$curl_pid" || fail "the download failed across the upgrade: $(cat "$TMP/curl.err")"
[ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
    fail "the file's sha256 does not match after the upgrade"
[ "$(e2e_conn path)" = direct ] || fail "the path left the direct one: $(e2e_conn path)"
echo "ok: e2e relayed for ${RECHECK_BLOCK} s, then direct by a re-check mid-download"
