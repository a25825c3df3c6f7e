#!/usr/bin/env bash
# Issue 13: a fresh connection goes direct when the networks allow it. UDP between the site's
# and the client's NATs is allowed from the start (both NATs endpoint-independent
# masquerades): the first connection must reach a direct path within 10 s, not stay relayed.
# And with no network change neither side resets its node (a reset withdraws every candidate
# and allocation): the tunnel's own addresses and routes, floe's rule and route table and the
# gateway's nftables table are not a new network (both once reset about 0.4 s after the first
# connection, "network changed: node reset").
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
e2e_system 1

e2e_first_ping
start=$SECONDS
e2e_wait_path direct 10
echo "path: $(e2e_conn path) after $((SECONDS - start)) s, rtt_us=$(e2e_conn rtt_us)"
in_ns "$NS_CLI" ping -c 3 -i 0.2 -W 2 "$RES_IP" >/dev/null || fail "ping on the direct path"
sleep 1
for who in client gw1; do
    in_ns "$NS_CLI" "$FLOE_BIN_DIR/floe-client" status --json --control-socket "$TMP/$who.sock" \
        >"$TMP/$who.status"
    [ "$(jq -r .resets "$TMP/$who.status")" = 0 ] ||
        fail "$who reset its node: $(cat "$TMP/$who.status")"
    grep -n 'node reset' "$TMP/$who.log" >"$TMP/resets" &&
        fail "$who reset its node with no network change: $(cat "$TMP/resets")"
done
echo "ok: e2e fresh connection goes direct, no node reset without a network change"
