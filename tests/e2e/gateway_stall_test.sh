#!/usr/bin/env bash
# A gateway that stops answering without closing its portal connection (SIGSTOP: no FIN, its
# presence still fresh) when a client's first packet comes, while floe-portal answers clients
# early (docs/protocol.md, "The early answer"): the portal fails the authorization with
# "timeout" after 5 s and tells the gateway reject_access; floe-client drops the connection it
# had made for the early answer; once the gateway runs again, the client's next packet asks
# again and gets through. (A client that kept the early connection waited for WireGuard's 90 s
# liveness: the gateway, resumed, handled create_authorization and then its reject_access.)
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
e2e_system 1
# The gateway announced its candidates with its relayed one (the early answer needs them).
topo_wait "the gateway did not announce its relayed candidate" 100 \
    grep -q '"portal: announced [3-9] candidates"' "$TMP/gw1.log"
gw=$(topo_pid gw1)
kill -STOP "$gw"
in_ns "$NS_CLI" ping -c 1 -W 1 "$RES_IP" >/dev/null 2>&1 && fail "a reply from a stopped gateway"
topo_wait "no 'authorization refused: timeout' at the client within 10 s" 100 \
    grep -q '"authorization refused: timeout"' "$TMP/client.log"
jq -r 'select(.message | test("^authorization refused|dropped$|^authorized")) | "\(.time) \(.message)"' \
    "$TMP/client.log"
kill -CONT "$gw"
in_ns "$NS_CLI" ping -c 1 -w 15 "$RES_IP" >"$TMP/ping.out" ||
    fail "no reply within 15 s of the gateway's resumption: $(tail -n 5 "$TMP/client.log")"
echo "ok: a stalled gateway's early answer times out, and the client gets through once it runs"
