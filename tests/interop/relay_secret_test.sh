#!/usr/bin/env bash
# floe-relay's secrets stay off the command line: with --auth-secret-file, --users-file,
# FLOE_RELAY_AUTH_SECRET or even --auth-secret, neither ps nor /proc/PID/cmdline or
# /proc/PID/environ show a secret. SIGHUP re-reads the secret file: coturn's
# turnutils_uclient with REST credentials from the new secret works, and with the old one
# too during the grace window. Bad files exit 2 with the file named. Never skipped.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe-relay
need_tool turnutils_uclient turnutils_peer ss ps
RELAY=$FLOE_BIN_DIR/floe-relay
RELAY_PORTS=63000-63199

TMP=$(mktemp -d /tmp/floe-relay-secret.XXXXXX)
RELAY_PID=""
PEER_PID=""
cleanup() {
    stop_pid "$RELAY_PID"
    stop_pid "$PEER_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_relay ARGS...: floe-relay on a free loopback port ($PORT), logs in $TMP/relay.log.
start_relay() {
    PORT=$(floe_free_udp_port)
    "$RELAY" --listen "127.0.0.1:$PORT" --relay-ports "$RELAY_PORTS" --allow-loopback-peers \
        --log-file "$TMP/relay.log" "$@" &
    RELAY_PID=$!
    wait_udp "$PORT" "$RELAY_PID"
}

# no_secret_shown WORD: the running relay's ps line, cmdline and environ lack WORD.
no_secret_shown() {
    ps -o args= -p "$RELAY_PID" | grep -qF -- "$1" && fail "ps shows the secret: $(ps -o args= -p "$RELAY_PID")"
    tr '\0' ' ' <"/proc/$RELAY_PID/cmdline" | grep -qF -- "$1" && fail "cmdline shows the secret"
    tr '\0' '\n' <"/proc/$RELAY_PID/environ" | grep -qF -- "$1" && fail "environ shows the secret"
    return 0
}

# uclient NAME SECRET: one REST client through the relay; every message must come back.
uclient() {
    local out="$TMP/uclient-$1.out"
    timeout 60 turnutils_uclient -p "$PORT" -e 127.0.0.1 -r "$PEER_PORT" -n 10 -l 120 \
        -W "$2" -u floe-test -c -m 1 127.0.0.1 >"$out" 2>&1 || { cat "$out" >&2; fail "uclient $1 exited non-zero"; }
    local sent recv
    sent=$(sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
    recv=$(sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
    [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ] ||
        { cat "$out" >&2; fail "uclient $1: sent '$sent', got '$recv' back"; }
    echo "uclient $1: $sent messages echoed"
}

# uclient_refused NAME SECRET: a REST client with a wrong secret gets nothing through.
uclient_refused() {
    local out="$TMP/uclient-$1.out" recv
    timeout 30 turnutils_uclient -p "$PORT" -e 127.0.0.1 -r "$PEER_PORT" -n 3 -l 120 \
        -W "$2" -u floe-test -c -m 1 127.0.0.1 >"$out" 2>&1 || true
    recv=$(sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
    [ -z "$recv" ] || [ "$recv" -eq 0 ] || { cat "$out" >&2; fail "uclient $1 got through"; }
    echo "uclient $1: refused"
}

wait_log() {
    local i=0
    until grep -q "$1" "$TMP/relay.log"; do
        [ "$i" -lt 50 ] || fail "log lacks '$1'"
        sleep 0.1
        i=$((i + 1))
    done
}

PEER_PORT=$(floe_free_udp_port)
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
wait_udp "$PEER_PORT" "$PEER_PID"

echo "--- --auth-secret-file and --users-file; SIGHUP rotates the secret"
umask 077
printf 'first-secret-%s\n' "$$" >"$TMP/secret"
printf '# users\nbob:bob-password-%s\n' "$$" >"$TMP/users"
start_relay --auth-secret-file "$TMP/secret" --users-file "$TMP/users" --secret-grace 60
no_secret_shown "first-secret-$$"
no_secret_shown "bob-password-$$"
uclient before "first-secret-$$"
printf 'second-secret-%s\n' "$$" >"$TMP/secret"
kill -HUP "$RELAY_PID"
wait_log '"message":"credentials reloaded'
uclient new "second-secret-$$"
uclient old-in-grace "first-secret-$$"
uclient_refused wrong "not-the-secret"
printf '' >"$TMP/secret"
kill -HUP "$RELAY_PID"
wait_log '"message":"credentials not reloaded'
uclient still-new "second-secret-$$"
stop_pid "$RELAY_PID"
RELAY_PID=""

echo "--- FLOE_RELAY_AUTH_SECRET and --auth-secret are wiped from the process"
FLOE_RELAY_AUTH_SECRET="env-secret-$$" start_relay
no_secret_shown "env-secret-$$"
uclient env "env-secret-$$"
stop_pid "$RELAY_PID"
RELAY_PID=""
start_relay --auth-secret "argv-secret-$$" --user "carol:carol-pw-$$"
no_secret_shown "argv-secret-$$"
no_secret_shown "carol-pw-$$"
uclient argv "argv-secret-$$"
stop_pid "$RELAY_PID"
RELAY_PID=""

echo "--- bad files exit 2 and name the file"
rc=0
"$RELAY" --listen 127.0.0.1:1 --auth-secret-file "$TMP/missing" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] || fail "missing secret file exited $rc"
grep -qF "$TMP/missing" "$TMP/err" || fail "missing file not named: $(cat "$TMP/err")"
printf 'nocolon\n' >"$TMP/users"
rc=0
"$RELAY" --listen 127.0.0.1:1 --users-file "$TMP/users" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] || fail "bad users file exited $rc"
grep -q "line 1" "$TMP/err" || fail "bad line not named: $(cat "$TMP/err")"
grep -q '^LoadCredential=' "$FLOE_SOURCE_DIR/apps/floe-relay/floe-relay.service" ||
    fail "the systemd unit does not load the secret as a credential"
grep -q -- '--auth-secret-file %d/' "$FLOE_SOURCE_DIR/apps/floe-relay/floe-relay.service" ||
    fail "the systemd unit does not read the credential file"
echo PASS
