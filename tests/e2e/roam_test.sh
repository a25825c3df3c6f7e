#!/usr/bin/env bash
# Issue 13, cases 2 and 3: roam mid-download. The client moves between wifi and cellular
# (old link down, new one up with a new address, default route moved) E2E_ROAMS times
# (default 2; bench/e2e.sh does 10) while one TCP connection downloads the resource's file;
# it finishes with the right sha256, the WireGuard session is kept (the connection's
# handshake count does not move, the client saw the roams as resets) and each data outage
# (new network usable -> the client's TUN receives again) is printed and at most E2E_MAX_OUTAGE_MS
# (default 5000 on a loaded CI machine; the target is 500). TOPO_SYMMETRIC=1 (case 3): every
# NAT symmetric, the path must be relayed.
set -euo pipefail
TMP=$(mktemp -d)
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || tail -n 20 "$TMP"/client.log "$TMP"/gw*.log >&2 || true; e2e_keep_logs; topo_down; rm -rf "$TMP"' EXIT
ROAMS=${E2E_ROAMS:-2}
MAX_MS=${E2E_MAX_OUTAGE_MS:-5000}
e2e_need
e2e_system "${E2E_FILE_MB:-24}"

e2e_first_ping
path=$(e2e_conn path)
if [ "${TOPO_SYMMETRIC:-0}" = 1 ]; then
    [[ $path == *relay* ]] || fail "symmetric NATs but the path is '$path'"
fi
hs=$(e2e_conn handshakes)
resets=$(jq -r .resets "$TMP/status.json")
e2e_download_roam "$ROAMS" 2
[ "$(e2e_conn handshakes)" = "$hs" ] ||
    fail "the WireGuard session was not kept: handshakes $hs -> $(e2e_conn handshakes)"
[ "$(jq -r .resets "$TMP/status.json")" -ge $((resets + ROAMS)) ] ||
    fail "the client did not reset on each roam: $(cat "$TMP/status.json")"
echo "path before: $path, after: $(e2e_conn path)"
echo "outage over $ROAMS roams: $(e2e_outage_summary || true) (each: $(tr '\n' ' ' <"$TMP/outages"))"
# -1: the sampler saw no growth of the TUN's rx_bytes after that roam (seen in some runs
# although the download went on and finished whole: the measurement is not reliable yet):
# not measured, not counted; the bound holds for the outages measured.
[ "$(sort -n "$TMP/outages" | tail -n 1)" -le "$MAX_MS" ] ||
    fail "an outage exceeded $MAX_MS ms: $(tr '\n' ' ' <"$TMP/outages")"
echo "ok: e2e roam mid-download${TOPO_SYMMETRIC:+ (symmetric NATs)}"
