#!/bin/bash
# floe-portal over TLS (issue 12): a certificate authority and a server certificate for
# portal.test (and 127.0.0.1) made here with openssl; the devices verify the chain and the
# name: join, authorization and candidates over wss://, a wrong token refused with 401, and
# a device refusing the portal when it trusts another CA or expects another name. /healthz and
# /metrics answer over https. Plain ws:// is refused on a TLS portal.
set -euo pipefail
TMP=$(mktemp -d)
. "$FLOE_SOURCE_DIR/tests/portal/portal_lib.sh"
trap 'exit 130' INT TERM # so that the EXIT trap's cleanup runs
trap portal_cleanup EXIT
need_bin floe-portal portal_driver
need_tool curl openssl python3

# make_ca NAME: a self-signed CA in $TMP/NAME.pem with its key $TMP/NAME.key.
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=floe test $1" -keyout "$TMP/$1.key" -out "$TMP/$1.pem" 2>/dev/null
}
make_ca ca
make_ca other-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=portal.test" \
    -keyout "$TMP/server.key" -out "$TMP/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:portal.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
    -CAcreateserial -days 2 -extfile "$TMP/ext" -out "$TMP/server.pem" 2>/dev/null

DB=sqlite:$TMP/portal.db
setup_model "$(free_port udp)" relay-secret-3
PORT=$(free_port tcp)
PORTAL_SCHEME=https PORTAL_CURL_OPTS="--cacert $TMP/ca.pem" \
    start_portal tls "$PORT" --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key"

common=(--portal "127.0.0.1:$PORT" --client-token "$CLIENT_TOKEN" --gateway-token "$GW_TOKEN")
"$DRIVER" "${common[@]}" --ca-file "$TMP/ca.pem" --server-name portal.test \
    join gateway join client init client resources=1 \
    authorize "$RESOURCE" candidates invalidate refused "1.0123456789abcdef"
"$DRIVER" "${common[@]}" --ca-file "$TMP/other-ca.pem" --server-name portal.test \
    tls-refused client
"$DRIVER" "${common[@]}" --ca-file "$TMP/ca.pem" --server-name wrong.test tls-refused gateway

# Plain HTTP to the TLS port is a failed handshake (counted), not an answer.
if curl -fsS --max-time 5 "http://127.0.0.1:$PORT/healthz" >"$TMP/plain" 2>/dev/null; then
    fail "plain http answered on the TLS port"
fi
curl -fsS --cacert "$TMP/ca.pem" "https://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
grep -q '^floe_portal_websocket_upgrades_total 2$' "$TMP/metrics" || fail "upgrades not counted"
grep -q '^floe_portal_tls_failures_total [1-9]' "$TMP/metrics" || fail "TLS failures not counted"
echo "ok: floe-portal over TLS"
