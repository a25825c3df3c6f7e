#!/usr/bin/env bash
# Issue 13, case 5: the system rides out its parts failing, during one download (relayed, so
# that the relay matters: direct UDP between the NATs dropped):
#   - the portal is down during a roam: the download goes on, the client rejoins later;
#   - the relay is restarted (its allocations lost): the download goes on;
#   - the gateway roams (its site address changes): the download goes on;
# then the first gateway stops and a second one of the same site takes over: the next intent
# reaches the resource through it.
set -euo pipefail
TMP=$(mktemp -d)
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || tail -n 20 "$TMP"/client.log "$TMP"/gw*.log >&2 || true; e2e_keep_logs; topo_down; rm -rf "$TMP"' EXIT
e2e_need
e2e_system 32
topo_direct_udp off
e2e_first_ping
e2e_wait_path '*relay*' 5

total=$(stat -c %s "$TMP/www/file")
ip netns exec "$NS_CLI" curl -fsS --speed-limit 1 --speed-time 20 --max-time 90 --limit-rate $((total / 16)) \
    -o "$TMP/got" "http://$RES_IP:$HTTP_PORT/file" 2>"$TMP/curl.err" &
curl_pid=$!
sleep 2
topo_stop portal
topo_roam
sleep 3
kill -0 "$curl_pid" 2>/dev/null || fail "the download stopped with the portal down"
topo_portal
topo_wait "the client did not rejoin the portal within 20 s" 200 e2e_portal_joined
topo_stop relay
topo_relay
sleep 3
kill -0 "$curl_pid" 2>/dev/null || fail "the download stopped after the relay's restart"
ip -n "$NS_GW1" addr del 10.10.0.2/24 dev eth0
ip -n "$NS_GW1" addr add 10.10.0.5/24 dev eth0
ip -n "$NS_GW1" route replace default via 10.10.0.1
wait "$curl_pid" || fail "the download failed: $(cat "$TMP/curl.err")"
[ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
    fail "the file's sha256 does not match"
echo "download whole across portal down + roam, relay restart, gateway roam"

topo_gateway 2
topo_wait "the second gateway did not join" 150 grep -q 'portal: joined' "$TMP/gw2.log"
topo_stop gw1
in_ns "$NS_CLI" ping -c 1 -w 30 "$RES_IP" >/dev/null ||
    fail "the second gateway did not take over within 30 s"
grep -q 'authorized for web' "$TMP/gw2.log" || fail "the second gateway authorized nothing"
echo "ok: e2e resilience (portal down, relay restart, gateway roam, second gateway)"
