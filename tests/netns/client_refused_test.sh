#!/usr/bin/env bash
# floe-client's refusals and its life without a portal (issue 13), in a network namespace of
# its own (TUN, rules): command-line errors and token-file errors exit 2 with a message;
# `status` without a daemon exits 1; with the portal unreachable the client keeps running
# (status: portal not joined, reconnecting) and SIGTERM stops it with 0 and removes its
# interface; a token the portal refuses (HTTP 401) makes it exit 2 with a clear log line.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip jq curl
need_bin floe-client floe-portal
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, TUN)"

TMP=$(mktemp -d)
NS="floe-cr-$$"
PIDS=()
CLIENT=$FLOE_BIN_DIR/floe-client
PORTAL=$FLOE_BIN_DIR/floe-portal
DB=sqlite:$TMP/portal.db

cleanup() {
    local rc=$? p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    ip netns del "$NS" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        tail -n 20 "$TMP/client.log" >&2 || true
    fi
    rm -rf "$TMP"
}
trap 'exit 130' INT TERM
trap cleanup EXIT

# expect_exit CODE WHAT CMD...: CMD exits CODE, with something on stderr.
expect_exit() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, not $want ($(cat "$TMP/err"))"
    [ "$want" -eq 0 ] || [ -s "$TMP/err" ] || fail "$what: no message"
}

ip netns add "$NS"
ip -n "$NS" link set lo up
printf 'token\n' >"$TMP/token"
: >"$TMP/empty"

# --------------------------------------------------------- refusals before starting
expect_exit 2 "no flags" "$CLIENT"
expect_exit 2 "no token file" "$CLIENT" --portal wss://h
expect_exit 2 "bad URL" "$CLIENT" --portal https://h --token-file "$TMP/token"
expect_exit 2 "bad level" "$CLIENT" --portal wss://h --token-file "$TMP/token" --log-level x
expect_exit 2 "bad interface" "$CLIENT" --portal wss://h --token-file "$TMP/token" \
    --interface much-too-long-name
expect_exit 2 "missing token file" "$CLIENT" --portal wss://h --token-file "$TMP/none"
expect_exit 2 "empty token file" "$CLIENT" --portal wss://h --token-file "$TMP/empty"
expect_exit 0 "help" "$CLIENT" --help
grep -q -- '--token-file' "$TMP/out" || fail "--help does not list --token-file"
expect_exit 1 "status without a daemon" "$CLIENT" status --control-socket "$TMP/none.sock"

# --------------------------------------------------- portal unreachable: keeps running
ip netns exec "$NS" "$CLIENT" --portal ws://127.0.0.1:9 --token-file "$TMP/token" \
    --foreground --interface floet0 --control-socket "$TMP/c.sock" \
    --log-file "$TMP/client.log" &
PID=$!
PIDS+=("$PID")
sleep 2
kill -0 "$PID" 2>/dev/null || fail "floe-client exited without a portal"
"$CLIENT" status --json --control-socket "$TMP/c.sock" >"$TMP/status"
jq -e '.portal != "joined" and .interface == "floet0"' "$TMP/status" >/dev/null ||
    fail "status: $(cat "$TMP/status")"
ip -n "$NS" link show floet0 >/dev/null || fail "no interface floet0"
kill "$PID"
wait "$PID" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc"
ip -n "$NS" link show floet0 >/dev/null 2>&1 && fail "floet0 left behind"
[ -e "$TMP/c.sock" ] && fail "status socket left behind"

# ------------------------------------------------------------- 401: exit 2, said why
SITE=$("$PORTAL" admin --database "$DB" sites add hq)
[ -n "$SITE" ] || fail "admin failed"
ip netns exec "$NS" "$PORTAL" --listen 127.0.0.1:8080 --database "$DB" --insecure \
    --log-file "$TMP/portal.log" 2>"$TMP/portal.err" &
PIDS+=($!)
for i in $(seq 100); do
    ip netns exec "$NS" curl -fsS http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
    [ "$i" -lt 100 ] || fail "floe-portal did not start: $(cat "$TMP/portal.err")"
    sleep 0.1
done
rc=0
ip netns exec "$NS" timeout 20 "$CLIENT" --portal ws://127.0.0.1:8080 \
    --token-file "$TMP/token" --foreground --interface floet0 --control-socket "$TMP/c.sock" \
    --log-file "$TMP/client.log" || rc=$?
[ "$rc" -eq 2 ] || fail "refused token: exit $rc, not 2"
grep -q 'refused the token' "$TMP/client.log" || fail "no clear message for the refused token"
echo "client_refused: flags, token files, status, no portal, 401: ok"
