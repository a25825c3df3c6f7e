#!/usr/bin/env bash
# Issue 13, case 4: direct path upgrade. UDP between the site's and the client's NATs is
# dropped in the internet, so the connection starts relayed; a download starts; the drop is
# lifted: the connection moves to a direct path while the download goes on, and it finishes
# with the right sha256 (no download error).
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
e2e_system 24
topo_direct_udp off
e2e_first_ping
e2e_wait_path '*relay*' 5
echo "path at first: $(e2e_conn path)"
hs=$(e2e_conn handshakes)

total=$(stat -c %s "$TMP/www/file")
# About 20 s at this rate: the upgrade (a check retransmitted across 100 ms of round trip, the
# status polled every 0.1 s, slower under ASan) comes well before the end.
ip netns exec "$NS_CLI" curl -fsS --limit-rate $((total / 20)) --max-time 90 -o "$TMP/got" \
    "http://$RES_IP:$HTTP_PORT/file" 2>"$TMP/curl.err" &
curl_pid=$!
sleep 2
topo_direct_udp on
e2e_wait_path direct 6
echo "path after the drop was lifted: $(e2e_conn path)"
if ! kill -0 "$curl_pid" 2>/dev/null; then
    rc=0
    wait "$curl_pid" || rc=$?
    fail "the download ended before the upgrade (curl exit $rc, $(stat -c %s "$TMP/got" \
2>/dev/null || echo 0) of $total bytes): $(cat "$TMP/curl.err")"
fi
wait "$curl_pid" || fail "the download failed across the upgrade: $(cat "$TMP/curl.err")"
[ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
    fail "the file's sha256 does not match after the upgrade"
[ "$(e2e_conn handshakes)" = "$hs" ] || fail "the upgrade made a new WireGuard handshake"
echo "ok: e2e relayed -> direct upgrade mid-download"
