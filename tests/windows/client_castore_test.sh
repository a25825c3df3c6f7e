#!/usr/bin/env bash
# floe-client.exe without --ca-file trusts the Windows certificate store (issue 14 with issue 12's
# "the protocol client verifies the server's certificate and name"). A Linux floe-portal with TLS
# on loopback, its certificate for 127.0.0.1 signed by a CA made here; under wine64, in a Wine
# prefix of this test's own (a copy of the run's, so the CA added here reaches no other test):
#   1. the CA is in no store: the portal client's context (cert_store_tool trust) lacks it and
#      floe-client.exe fails with "certificate verify failed", never joining;
#   2. cert_store_tool add puts the CA into the current user's ROOT store (crypt32, the
#      registry-backed store Wine keeps in the prefix): the context has it, and floe-client.exe,
#      still without --ca-file, joins the portal (its status says so).
# floe-client.exe is the build with the netcfg double (windows.client_wine's): it needs no
# driver. Nothing is skipped: a missing tool, program or Wine failure fails the test.
# Usage: client_castore_test.sh CLIENT_EXE CERT_STORE_TOOL WINE WINESERVER WINEPREFIX
set -euo pipefail
CLIENT_EXE=$1 TOOL=$2 WINE=$3 WINESERVER=$4 PREFIX_SRC=$5
: "${FLOE_NATIVE_BIN_DIR:?FLOE_NATIVE_BIN_DIR must name the bin directory of the Linux build}"
export FLOE_BIN_DIR=$FLOE_NATIVE_BIN_DIR # floe-portal: the Linux daemon
TMP=$(mktemp -d)
WP=$TMP/wineprefix
TUN_PY=$FLOE_SOURCE_DIR/tests/windows/client_wine/tun.py
# shellcheck source=../portal/portal_lib.sh
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
# shellcheck source=wine_lib.sh
. "$FLOE_SOURCE_DIR/tests/windows/wine_lib.sh"

on_exit() {
    local rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 20 "$TMP"/client-*.log "$TMP"/client-*.out "$TMP/portal.log" >&2 2>/dev/null || true
    fi
    wine_down
    portal_cleanup
}
trap 'exit 130' INT TERM
trap on_exit EXIT

need_tool openssl curl python3 jq
need_bin floe-portal
wine_need_client
[ -f "$TOOL" ] || fail "$TOOL not built"
wine_own_prefix
WENV=(env WINEPREFIX="$WP" WINEDEBUG=-all "WINEDLLOVERRIDES=mscoree,mshtml=")
# One wineserver for this prefix through the test (it exits by itself 30 s after the last program).
WINEPREFIX=$WP "$WINESERVER" -p30 </dev/null >/dev/null 2>&1 || true

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=floe test store CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$TMP/ca.key" -out "$TMP/ca.pem" \
    2>"$TMP/openssl.err" || fail "openssl: $(cat "$TMP/openssl.err")"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$TMP/server.key" -out "$TMP/server.csr" 2>"$TMP/openssl.err" ||
    fail "openssl: $(cat "$TMP/openssl.err")"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
    -CAcreateserial -days 2 -extfile "$TMP/ext" -out "$TMP/server.pem" 2>"$TMP/openssl.err" ||
    fail "openssl: $(cat "$TMP/openssl.err")"

# shellcheck disable=SC2034 # portal_lib.sh reads DB
DB=sqlite:$TMP/portal.db
setup_model "$(free_port udp)" relay-secret-castore
printf '%s\n' "$CLIENT_TOKEN" >"$TMP/client.token"
chmod 600 "$TMP/client.token"
PORT=$(free_port tcp)
PORTAL_SCHEME=https PORTAL_CURL_OPTS="--cacert $TMP/ca.pem" \
    start_portal portal "$PORT" --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key"

# store_tool VERB: cert_store_tool VERB ca.pem under Wine; its output in $TMP/tool.out.
store_tool() {
    local rc=0
    "${WENV[@]}" "$WINE" "$TOOL" "$1" "Z:$TMP/ca.pem" >"$TMP/tool.out" 2>&1 || rc=$?
    tr -d '\r' <"$TMP/tool.out"
    return "$rc"
}

# client_run NAME: floe-client.exe without --ca-file in the background (log $TMP/client-NAME.log,
# status on $CTL_PORT, pid in CLIENT_PID).
client_run() {
    CTL_PORT=$(free_port tcp)
    "${WENV[@]}" "$WINE" "$CLIENT_EXE" --portal "wss://127.0.0.1:$PORT" \
        --token-file "Z:$TMP/client.token" --interface floe0 \
        --control-socket "127.0.0.1:$CTL_PORT" --log-level debug \
        --log-file "Z:$TMP/client-$1.log" >"$TMP/client-$1.out" 2>&1 &
    CLIENT_PID=$!
    echo "$CLIENT_PID" >>"$TMP/pids"
}
# wait_log NAME PATTERN WHAT: up to 60 s for PATTERN in the client's log (Wine starts slowly on
# a busy machine); fails with WHAT.
wait_log() {
    local i=0
    until grep -q "$2" "$TMP/client-$1.log" 2>/dev/null; do
        [ "$i" -lt 600 ] || fail "$3: $(tail -n 5 "$TMP/client-$1.log" "$TMP/client-$1.out" 2>&1)"
        kill -0 "$CLIENT_PID" 2>/dev/null ||
            fail "floe-client.exe exited: $(tail -n 5 "$TMP/client-$1.log" "$TMP/client-$1.out" 2>&1)"
        sleep 0.1
        i=$((i + 1))
    done
}

echo "--- 1. the CA in no Windows store"
rc=0
store_tool trust || rc=$?
[ "$rc" = 3 ] || fail "cert_store_tool trust: exit $rc, expected 3 (the CA not trusted)"
client_run absent
wait_log absent 'certificate verify failed' \
    "floe-client.exe did not report 'certificate verify failed' within 60 s"
grep -q 'portal: joined' "$TMP/client-absent.log" && fail "joined a portal it cannot trust"
grep -m 1 -o '"message":"[^"]*certificate verify failed[^"]*"' "$TMP/client-absent.log" || true
stop_pid "$CLIENT_PID"

echo "--- 2. the CA in the current user's ROOT store"
store_tool add || fail "cannot add the CA to Wine's ROOT store (crypt32 CertAddEncodedCertificateToStore)"
store_tool trust || fail "the CA added to the ROOT store is not among the client's trust anchors"
client_run present
wait_log present 'portal: joined' "floe-client.exe did not join the portal within 60 s"
grep -q 'certificate verify failed' "$TMP/client-present.log" &&
    fail "a certificate verify failure with the CA in the ROOT store"
grep -q 'trusting the Windows ROOT store' "$TMP/client-present.log" ||
    fail "no 'trusting the Windows ROOT store' in the client's debug log"
python3 "$TUN_PY" status "$CTL_PORT" >"$TMP/status.json" || fail "no status from floe-client.exe"
[ "$(jq -r .portal "$TMP/status.json")" = joined ] || fail "status: $(cat "$TMP/status.json")"
stop_pid "$CLIENT_PID"
echo "ok: floe-client.exe without --ca-file trusts the Windows ROOT store, and only it"
