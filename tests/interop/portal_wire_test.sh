#!/usr/bin/env bash
# The portal wire transport (floe_wsconn, driven over real loopback sockets by
# portal_wire_peer) against peers no one here wrote: Python's websockets (Debian's
# python3-websockets) as server and as client, plain and TLS with a CA and a server
# certificate made here with openssl, and curl for the plain HTTP answers (/healthz).
# Checks: messages of every length encoding echoed intact both ways, a 401 told apart
# (exit 3), a wrong certificate name refused with a clear error, a message over 1 MiB
# closed with 1009. Never skipped: a missing python3-websockets, openssl or curl fails.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin portal_wire_peer
need_tool openssl curl
PY=/usr/bin/python3 # Debian's python, where python3-websockets installs
[ -x "$PY" ] && "$PY" -c 'import websockets' 2>/dev/null ||
    fail "python3-websockets not installed (run 'make deps')"
PEER=$FLOE_BIN_DIR/portal_wire_peer

TMP=$(mktemp -d /tmp/floe-portal-wire.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "--- a CA and a certificate for portal.test and 127.0.0.1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -subj "/CN=floe interop CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>"$TMP/openssl.err" || fail "openssl: $(cat "$TMP/openssl.err")"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
    -out "$TMP/srv.csr" -subj "/CN=portal.test" 2>"$TMP/openssl.err" ||
    fail "openssl: $(cat "$TMP/openssl.err")"
printf 'subjectAltName=DNS:portal.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
    -days 1 -extfile "$TMP/ext" -out "$TMP/cert.pem" 2>"$TMP/openssl.err" ||
    fail "openssl: $(cat "$TMP/openssl.err")"

cat >"$TMP/echo_server.py" <<'PYEOF'
import asyncio, http, ssl, sys
import websockets

token, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]

async def process_request(path, headers):
    if headers.get("Authorization") != "Bearer " + token:
        return http.HTTPStatus.UNAUTHORIZED, [], b"bad token\n"
    return None

async def echo(ws, path):
    async for m in ws:
        await ws.send(m)

async def main():
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=2**21,
                                process_request=process_request) as srv:
        print("port", srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
PYEOF

cat >"$TMP/client.py" <<'PYEOF'
import asyncio, ssl, sys
import websockets

uri, token, ca, name, mode = sys.argv[1:6]

async def main():
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    try:
        async with websockets.connect(uri, ssl=ctx, server_hostname=name or None,
                                      extra_headers={"Authorization": "Bearer " + token},
                                      max_size=2**21) as ws:
            if mode == "too-big":
                # The server may refuse on the frame header alone and close while the
                # payload is still being written: the close is then seen by send.
                try:
                    await ws.send("x" * (2**20 + 1))
                    await ws.recv()
                except websockets.exceptions.ConnectionClosed as e:
                    print("closed", e.rcvd.code if e.rcvd else None)
                    return 0
                return 1
            for i, size in enumerate([0, 5, 125, 126, 65535, 65536, 70000, 2**20 - 8]):
                msg = "m%d:" % i + "é" * (size // 2)
                await ws.send(msg)
                if await ws.recv() != msg:
                    print("echo differs", i)
                    return 1
            pong = await ws.ping(b"p")
            await asyncio.wait_for(pong, 5)
            await ws.close(code=1000, reason="done")
            print("ok")
            return 0
    except websockets.exceptions.InvalidStatusCode as e:
        print("status", e.status_code)
        return 3

sys.exit(asyncio.run(main()))
PYEOF

# start_bg NAME CMD...: run CMD in the background, wait for its "port N" line; sets PORT.
start_bg() {
    local name=$1 i
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS+=($!)
    for i in $(seq 100); do
        PORT=$(awk '$1 == "port" {print $2; exit}' "$TMP/$name.out")
        [ -n "$PORT" ] && return 0
        kill -0 "${PIDS[-1]}" 2>/dev/null || fail "$name exited: $(cat "$TMP/$name.err")"
        sleep 0.1
    done
    fail "$name printed no port"
}

echo "--- floe client -> websockets server, plain"
start_bg pyplain "$PY" "$TMP/echo_server.py" tok "" ""
expect_exit 0 "$PEER" client --connect "127.0.0.1:$PORT" --token tok --count 27
grep -q "^closed 1000 done echoed 27" "$TMP/out" || fail "no clean close: $(cat "$TMP/out")"
expect_exit 3 "$PEER" client --connect "127.0.0.1:$PORT" --token wrong
grep -q "error: HTTP 401 Unauthorized" "$TMP/err" || fail "401 not reported: $(cat "$TMP/err")"

echo "--- floe client -> websockets server, TLS"
start_bg pytls "$PY" "$TMP/echo_server.py" tok "$TMP/cert.pem" "$TMP/key.pem"
expect_exit 0 "$PEER" client --connect "127.0.0.1:$PORT" --host "portal.test:$PORT" --tls \
    --ca "$TMP/ca.pem" --token tok --count 18
expect_exit 0 "$PEER" client --connect "127.0.0.1:$PORT" --tls --ca "$TMP/ca.pem" \
    --token tok --count 3
expect_exit 1 "$PEER" client --connect "127.0.0.1:$PORT" --tls --ca "$TMP/ca.pem" \
    --name wrong.test --token tok
grep -q "error: TLS: certificate verify failed: hostname mismatch" "$TMP/err" ||
    fail "wrong name not reported: $(cat "$TMP/err")"
expect_exit 1 "$PEER" client --connect "127.0.0.1:$PORT" --tls --name portal.test --token tok
grep -q "error: TLS: certificate verify failed: " "$TMP/err" ||
    fail "unknown CA not reported: $(cat "$TMP/err")"

echo "--- websockets client and curl -> floe server, plain"
start_bg floeplain "$PEER" server --token tok
expect_exit 0 "$PY" "$TMP/client.py" "ws://127.0.0.1:$PORT/client" tok "" "" echo
expect_exit 3 "$PY" "$TMP/client.py" "ws://127.0.0.1:$PORT/client" wrong "" "" echo
grep -qx "status 401" "$TMP/out" || fail "websockets did not see 401: $(cat "$TMP/out")"
expect_exit 0 "$PY" "$TMP/client.py" "ws://127.0.0.1:$PORT/client" tok "" "" too-big
grep -qx "closed 1009" "$TMP/out" || fail "no 1009 for a message over 1 MiB: $(cat "$TMP/out")"
expect_exit 0 curl -sS --max-time 10 "http://127.0.0.1:$PORT/healthz"
[ "$(cat "$TMP/out")" = "ok" ] || fail "healthz answered: $(cat "$TMP/out")"
expect_exit 0 curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope"
[ "$(cat "$TMP/out")" = "404" ] || fail "a plain GET elsewhere answered $(cat "$TMP/out")"

echo "--- websockets client and curl -> floe server, TLS"
start_bg floetls "$PEER" server --token tok --tls --cert "$TMP/cert.pem" --key "$TMP/key.pem"
expect_exit 0 "$PY" "$TMP/client.py" "wss://127.0.0.1:$PORT/client" tok "$TMP/ca.pem" \
    portal.test echo
expect_exit 0 curl -sS --max-time 10 --cacert "$TMP/ca.pem" \
    --resolve "portal.test:$PORT:127.0.0.1" "https://portal.test:$PORT/healthz"
[ "$(cat "$TMP/out")" = "ok" ] || fail "healthz over TLS answered: $(cat "$TMP/out")"
cat "$TMP/floetls.out"
grep -q "^request /client token-ok 1" "$TMP/floetls.out" || fail "the TLS server saw no upgrade"
echo "PASS"
