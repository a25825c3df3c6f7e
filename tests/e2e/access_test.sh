#!/usr/bin/env bash
# Issue 13, case 1: floe-client reaches the resource through floe-gateway (ping, then HTTP
# with the file's sha256); a resource of the same site that no policy allows gets nothing.
set -euo pipefail
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
e2e_begin
e2e_system 8

e2e_first_ping
in_ns "$NS_CLI" ping -c 3 -i 0.2 -W 2 "$RES_IP" >/dev/null || fail "ping through the tunnel"
in_ns "$NS_CLI" curl -fsS --max-time 30 -o "$TMP/got" "http://$RES_IP:$HTTP_PORT/file" ||
    fail "HTTP through the tunnel"
[ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
    fail "the file arrived with another sha256"
[ "$(e2e_conn established)" = true ] || fail "no established connection: $(e2e_status_json)"
echo "path: $(e2e_conn path) rtt_us=$(e2e_conn rtt_us)"

if in_ns "$NS_CLI" ping -c 2 -W 1 "$RES_DENIED_IP" >/dev/null 2>&1; then
    fail "a resource no policy allows answered ping"
fi
if in_ns "$NS_CLI" curl -fsS --max-time 3 -o /dev/null "http://$RES_DENIED_IP:$HTTP_PORT/file" \
    2>/dev/null; then
    fail "a resource no policy allows answered HTTP"
fi
echo "ok: e2e access (ping, HTTP, a disallowed resource gets nothing)"
