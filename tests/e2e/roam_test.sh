#!/usr/bin/env bash
# Issue 13, cases 2 and 3: roam mid-download. The client moves between wifi and cellular
# (old link down, new one up with a new address, default route moved) E2E_ROAMS times
# (default 10, as the issue's target) while one TCP connection downloads the resource's file,
# 25 ms one way on the access links and the site's uplink (tests/e2e/topo.sh, the delay line);
# it finishes with the right sha256, the WireGuard session is kept (the connection's
# handshake count does not move, the client saw each roam as exactly one reset) and each data
# outage (new network usable -> the client's TUN receives again) is printed with their p50
# and max, and with the poll gap of the sample that ended it (the sampler, progress.py, polls
# every ms; a large gap would mean a sampler starved of CPU made that outage look longer). Bounds: p50 at most E2E_MAX_P50_MS (default 500, the issue's target) and every
# outage at most E2E_MAX_OUTAGE_MS (default 2000); measured on a loaded 2-core machine since
# the client resets on the new network's default route (not 0.5 s later) and reconnects the
# portal at once: p50 150 ms, max 250 ms; symmetric p50 270 ms, max 520 ms (before: p50
# 1180 ms, max 2890 ms, and a second reset per roam). TOPO_SYMMETRIC=1 (case 3): every NAT
# symmetric, the path must be relayed.
set -euo pipefail
TMP=$(mktemp -d)
# shellcheck source=e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || tail -n 20 "$TMP"/client.log "$TMP"/gw*.log >&2 || true; e2e_keep_logs; topo_down; rm -rf "$TMP"' EXIT
ROAMS=${E2E_ROAMS:-10}
MAX_MS=${E2E_MAX_OUTAGE_MS:-2000}
MAX_P50_MS=${E2E_MAX_P50_MS:-500}
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
# One reset per roam: a roam resets once its new default route is usable, and what follows
# it (IPv6 duplicate address detection ending) resets nothing (each reset withdraws every
# candidate and relay allocation).
[ "$(jq -r .resets "$TMP/status.json")" = $((resets + ROAMS)) ] ||
    fail "the client did not reset exactly once per roam: $(cat "$TMP/status.json")"
echo "path before: $path, after: $(e2e_conn path)"
i=0
while read -r ms gap; do
    i=$((i + 1))
    echo "roam $i: outage $ms ms (its end sampled within $gap ms)"
done < <(paste -d ' ' "$TMP/outages" "$TMP/outage-gaps")
# -1: the sampler saw no growth of the TUN's rx_bytes after that roam (seen in some runs
# although the download went on and finished whole): not measured, not counted; the bounds
# hold for the outages measured, which must be most of them.
summary=$(e2e_outage_summary) || fail "no outage measured: $(tr '\n' ' ' <"$TMP/outages")"
echo "outage over $ROAMS roams: $summary (delay ${TOPO_NETEM_MS} ms one way)"
n=$(grep -cvx -- -1 "$TMP/outages" || true)
[ $((n * 2)) -ge "$ROAMS" ] || fail "only $n of $ROAMS outages measured"
p50=$(sed -n 's/.* p50=\([0-9]*\) .*/\1/p' <<<"$summary")
[ "$p50" -le "$MAX_P50_MS" ] || fail "the outage's p50 $p50 ms exceeds $MAX_P50_MS ms: $summary"
[ "$(sort -n "$TMP/outages" | tail -n 1)" -le "$MAX_MS" ] ||
    fail "an outage exceeded $MAX_MS ms: $(tr '\n' ' ' <"$TMP/outages")"
echo "ok: e2e roam mid-download${TOPO_SYMMETRIC:+ (symmetric NATs)}"
