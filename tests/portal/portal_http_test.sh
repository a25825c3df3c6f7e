#!/bin/bash
# floe-portal's HTTP side and limits (issue 12): /healthz and /metrics over plain HTTP, unknown
# paths and malformed requests answered and counted, upgrades without a token (401) or
# without a public key (400), malformed JSON and unknown events dropped and counted with the
# connection kept, --max-connections, --addr-rate and --max-frame (an oversized
# WebSocket message closed with 1009), --token-rate, SIGHUP reopening the log, SIGTERM
# stopping with exit 0.
set -euo pipefail
TMP=$(mktemp -d)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
portal_sqlite_begin relay-secret-4
PORT=$(free_port tcp)
start_portal a "$PORT" --insecure --max-connections 3 --addr-rate 0 --max-frame 1024
URL=http://127.0.0.1:$PORT

[ "$(curl -fsS "$URL/healthz")" = ok ] || fail "/healthz is not ok"
curl -fsS "$URL/metrics" >"$TMP/metrics"
grep -q '^# TYPE floe_portal_connections_open gauge$' "$TMP/metrics" || fail "no metrics text"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")
[ "$code" = 404 ] || fail "unknown path answered $code"

# raw.py PORT MODE: talk to the portal with a bare socket; prints what it saw.
cat >"$TMP/raw.py" <<'EOS'
import base64, os, socket, struct, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
def head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
def upgrade(token, query):
    s = conn()
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET /client/websocket%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           % (query, key))
    if token:
        req += "Authorization: Bearer %s\r\n" % token
    s.sendall((req + "\r\n").encode())
    return s, head(s)
if mode == "garbage":
    s = conn(); s.sendall(b"\x16\x03\x01garbage\r\n\r\n"); print(head(s).split(b"\r\n")[0].decode())
elif mode == "notoken":
    print(upgrade(None, "?public_key=x")[1].split(b"\r\n")[0].decode())
elif mode == "nokey":
    print(upgrade(sys.argv[3], "")[1].split(b"\r\n")[0].decode())
elif mode == "bigframe":
    key = base64.b64encode(os.urandom(32)).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    s, h = upgrade(sys.argv[3], "?public_key=" + key)
    assert h.startswith(b"HTTP/1.1 101"), h
    payload = b"x" * 2000
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(struct.pack("!BBH", 0x81, 0x80 | 126, len(payload)) + mask + body)
    f = s.recv(2)
    n = f[1] & 0x7f
    rest = s.recv(n)
    print("opcode %d code %d" % (f[0] & 0x0f, struct.unpack("!H", rest[:2])[0]))
elif mode == "badjson":
    key = base64.b64encode(os.urandom(32)).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    s, h = upgrade(sys.argv[3], "?public_key=" + key)
    assert h.startswith(b"HTTP/1.1 101"), h
    def send(text):
        data = text.encode()
        mask = os.urandom(4)
        s.sendall(struct.pack("!BB", 0x81, 0x80 | len(data)) + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    send("{not json")
    send('{"topic":"client","event":"no_such_event","payload":{},"ref":"1"}')
    send('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"2"}')
    f = s.recv(2)
    reply = s.recv(f[1] & 0x7f).decode()
    print("still open" if '"ref":"2"' in reply and "phx_reply" in reply else "bad: " + reply)
elif mode == "tokenrate":
    key = base64.b64encode(os.urandom(32)).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    s, h = upgrade(sys.argv[3], "?public_key=" + key)
    assert h.startswith(b"HTTP/1.1 101"), h
    for ref in range(1, 4):
        data = ('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"%d"}' % ref).encode()
        mask = os.urandom(4)
        s.sendall(struct.pack("!BB", 0x81, 0x80 | len(data)) + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    s.settimeout(1.0)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    print("replies %d" % got.count(b"phx_reply"))
elif mode == "limit":
    held = [conn() for _ in range(3)]
    time.sleep(0.3)
    extra = conn()
    try:
        got = extra.recv(100)
        print("closed" if got == b"" else "open")
    except ConnectionResetError:
        print("closed")
EOS
raw() { python3 "$TMP/raw.py" "$PORT" "$@"; }
[ "$(raw garbage)" = "HTTP/1.1 400 Bad Request" ] || fail "malformed HTTP not answered 400"
case "$(raw notoken)" in "HTTP/1.1 401"*) ;; *) fail "an upgrade without a token was not 401" ;; esac
case "$(raw nokey "$CLIENT_TOKEN")" in "HTTP/1.1 400"*) ;; *) fail "no public_key: not 400" ;; esac
[ "$(raw bigframe "$CLIENT_TOKEN")" = "opcode 8 code 1009" ] || fail "an oversized message was not closed with 1009"
[ "$(raw badjson "$CLIENT_TOKEN")" = "still open" ] || fail "bad messages ended the connection"
[ "$(raw limit)" = closed ] || fail "--max-connections 3 let a fourth connection stay"

curl -fsS "$URL/metrics" >"$TMP/metrics"
for m in http_bad_requests_total auth_failures_total connections_refused_limit_total \
    websocket_errors_total messages_bad_total; do
    grep -q "^floe_portal_$m [1-9]" "$TMP/metrics" || fail "$m not counted: $(grep "$m" "$TMP/metrics")"
done

# SIGHUP reopens the log (after a rotation), SIGTERM stops with 0.
mv "$TMP/a.log" "$TMP/a.log.1"
kill -HUP "$(portal_pid a)"
for _ in $(seq 50); do [ -s "$TMP/a.log" ] && break; sleep 0.1; done
grep -q '"log file reopened"' "$TMP/a.log" || fail "SIGHUP did not reopen the log"
kill -TERM "$(portal_pid a)"
rc=0
wait "$(portal_pid a)" || rc=$?
[ "$rc" = 0 ] || fail "floe-portal exited $rc after SIGTERM"

# The per-address limit: --addr-rate 1/1 takes one connection and closes the next at once.
PORT=$(free_port tcp)
start_portal r "$PORT" --insecure --addr-rate 1/1 --token-rate 1/1
sleep 1.1
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "the first connection was refused"
if curl -fsS --max-time 3 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
    fail "--addr-rate 1/1 let a second connection through"
fi
# The per-token limit: --token-rate 1/1 answers the first of three heartbeats sent at once.
sleep 1.1
[ "$(raw tokenrate "$CLIENT_TOKEN")" = "replies 1" ] || fail "--token-rate 1/1 answered more than one"
curl -fsS --retry 3 --retry-all-errors --retry-delay 1 "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^floe_portal_messages_rate_limited_total 2$' "$TMP/metrics" ||
    fail "rate-limited messages not counted: $(grep rate_limited "$TMP/metrics")"
echo "ok: floe-portal HTTP, limits and signals"
