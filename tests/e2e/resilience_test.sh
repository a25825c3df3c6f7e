#!/usr/bin/env bash
# Issue 13, case 5: the system rides out its parts failing, during one download (relayed, so
# that the relay matters: direct UDP between the NATs dropped):
#   - the portal is down during a roam: the download goes on, the client rejoins later (and
#     gets fresh relay credentials: the allocations in place keep theirs);
#   - the relay is restarted (its allocations and nonces lost) and unreachable for 2 s: the
#     client and the gateway allocate again and the download goes on;
#   - the gateway roams: its uplink moves to a new address in the site (new source address,
#     new NAT mapping, new allocation): the download goes on. Its LAN address toward the
#     resource stays: the resource's side of the download is masqueraded with it, and no data
#     plane can keep a TCP connection whose address the resource sees is deleted (the kernel
#     drops the masqueraded conntrack entries with it). The address itself moves after the
#     download: new connections reach the resource through the same session;
# then a second gateway of the same site joins, the first one stops (its goodbye closes the
# client's connection) and the next packet's intent reaches the resource through the second.
set -euo pipefail
TMP=$(mktemp -d)
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || tail -n 20 "$TMP"/client.log "$TMP"/gw*.log >&2 || true; e2e_keep_logs; topo_down; rm -rf "$TMP"' EXIT

# relay_allocations: the allocations the relay made since it last started.
relay_allocations() {
    awk '/"floe-relay started"/ { n = 0 } /"allocation created"/ { n++ } END { print n + 0 }' \
        "$TMP/relay.log"
}

# relay_reallocated: the client and the gateway (at least two allocations) since the start.
relay_reallocated() {
    [ "$(relay_allocations)" -ge 2 ]
}

# gw1_rejoined: the first gateway joined the portal more often than $joins times.
gw1_rejoined() {
    [ "$(grep -c 'portal: joined' "$TMP/gw1.log")" -gt "$joins" ]
}

# alive WHAT: the download is still running.
alive() {
    kill -0 "$curl_pid" 2>/dev/null || fail "the download stopped $1: $(cat "$TMP/curl.err")"
}

e2e_need
e2e_system 32
topo_direct_udp off
e2e_first_ping
e2e_wait_path '*relay*' 5
hs=$(e2e_conn handshakes)

# The resource sends at a rate that makes the download last about 40 s (htb on its link, as
# e2e_download_roam does: the receive buffers do not hold the file ahead of the failures).
total=$(stat -c %s "$TMP/www/file")
in_ns "$NS_RES" tc qdisc replace dev eth0 root handle 1: htb default 10
in_ns "$NS_RES" tc class replace dev eth0 parent 1: classid 1:10 htb rate "$((total * 8 / 40))bit"
ip netns exec "$NS_CLI" curl -fsS --speed-limit 1 --speed-time 20 --max-time 100 \
    -o "$TMP/got" "http://$RES_IP:$HTTP_PORT/file" 2>"$TMP/curl.err" &
curl_pid=$!
sleep 2

topo_stop portal
topo_roam
sleep 3
alive "with the portal down"
topo_portal
topo_wait "the client did not rejoin the portal within 20 s" 200 e2e_portal_joined
sleep 1
alive "after the client rejoined the portal"
echo "portal down during a roam: the download goes on, the client rejoined"

topo_stop relay
sleep 2
topo_relay
topo_wait "the client and the gateway did not allocate again within 20 s of the relay's restart" \
    200 relay_reallocated
sleep 2
alive "after the relay's restart"
echo "relay restarted: $(relay_allocations) allocations made again, the download goes on"

ip -n "$NS_GW1" addr add 10.10.0.5/24 dev eth0
ip -n "$NS_GW1" route replace default via 10.10.0.1 src 10.10.0.5
sleep 3
alive "after the gateway's roam"
wait "$curl_pid" || fail "the download failed: $(cat "$TMP/curl.err")"
[ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
    fail "the file's sha256 does not match"
in_ns "$NS_RES" tc qdisc del dev eth0 root
[ "$(e2e_conn established)" = true ] || fail "the connection is not established after the download"
echo "download whole across portal down + roam, relay restart, gateway roam" \
    "(handshakes $hs -> $(e2e_conn handshakes))"

# 10.10.0.5 is a secondary address of the same prefix: it stays when the primary goes. The
# gateway's portal connection was bound to 10.10.0.2: it joins again from its new address at
# once (not when heartbeats time out), so that the portal knows where it is, and that it
# left when it stops.
joins=$(grep -c 'portal: joined' "$TMP/gw1.log")
in_ns "$NS_GW1" sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
ip -n "$NS_GW1" addr del 10.10.0.2/24 dev eth0
ip -n "$NS_GW1" route replace default via 10.10.0.1
topo_wait "the gateway did not join the portal again within 10 s of its address change" 100 \
    gw1_rejoined
in_ns "$NS_CLI" ping -c 1 -w 15 "$RES_IP" >/dev/null ||
    fail "no ping through the gateway within 15 s of its address change"
in_ns "$NS_CLI" curl -fsS --max-time 15 -r 0-1023 -o /dev/null "http://$RES_IP:$HTTP_PORT/file" ||
    fail "no HTTP through the gateway after its address change"
echo "gateway address changed: new connections reach the resource"

topo_gateway 2
topo_wait "the second gateway did not join" 150 grep -q 'portal: joined' "$TMP/gw2.log"
topo_stop gw1
in_ns "$NS_CLI" ping -c 1 -w 30 "$RES_IP" >/dev/null ||
    fail "the second gateway did not take over within 30 s"
grep -q 'authorized for web' "$TMP/gw2.log" || fail "the second gateway authorized nothing"
echo "ok: e2e resilience (portal down, relay restart, gateway roam, second gateway)"
