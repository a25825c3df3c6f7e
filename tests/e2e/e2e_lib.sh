# Helpers of the end-to-end cases (bash; source after `set -euo pipefail`, then e2e_begin): the
# topology of tests/e2e/topo.sh with the whole system started in it, a download through the
# tunnel with its progress sampled, roams during it and the data outage of each.
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
# shellcheck source=topo.sh
. "$FLOE_SOURCE_DIR/tests/e2e/topo.sh"

# e2e_need: every tool and program the cases use; a missing one fails the test loudly.
e2e_need() {
    need_tool ip nft tc openssl curl python3 iperf3 sha256sum ping jq
    need_bin floe floe-relay floe-portal floe-client floe-gateway delayline
}

# e2e_begin: the start of a case (after sourcing this file): TMP, a new directory; on exit, a
# failed case shows the agents' log tails, the logs are kept (e2e_keep_logs), the topology is
# removed and $TMP too; then every tool is checked (e2e_need).
e2e_begin() {
    TMP=$(mktemp -d)
    trap 'exit 130' INT TERM
    trap 'rc=$?; [ $rc = 0 ] || tail -n 20 "$TMP"/client.log "$TMP"/gw*.log >&2 || true; e2e_keep_logs; topo_down; rm -rf "$TMP"' EXIT
    e2e_need
}

# e2e_status_json: floe-client status --json (into $TMP/status.json, also printed).
e2e_status_json() {
    topo_status --json >"$TMP/status.json"
    cat "$TMP/status.json"
}

# e2e_conn FIELD: FIELD of the client's first connection (empty when there is none).
e2e_conn() {
    topo_status --json >"$TMP/status.json" 2>/dev/null || return 0
    jq -r ".connections[0].$1 // empty" "$TMP/status.json"
}

# e2e_portal_joined: the client's portal state is "joined".
e2e_portal_joined() {
    topo_status --json >"$TMP/status.json" 2>/dev/null &&
        [ "$(jq -r .portal "$TMP/status.json")" = joined ]
}

# e2e_system MB: the topology, enrolment, relay, portal, a MB MiB file on the resource, one
# gateway and the client, which has joined the portal.
e2e_system() {
    topo_up
    topo_enroll
    topo_relay
    topo_portal
    topo_http "$1"
    topo_gateway 1
    topo_client
    topo_wait "floe-client did not join the portal within 15 s: $(tail -n 5 "$TMP/client.log" 2>/dev/null)" \
        150 e2e_portal_joined
}

# e2e_first_ping: ping the resource until it answers (the first packet starts the intent).
e2e_first_ping() {
    in_ns "$NS_CLI" ping -c 1 -w 15 "$RES_IP" >"$TMP/ping.out" ||
        fail "no ping through the tunnel within 15 s: $(tail -n 5 "$TMP/client.log")"
}

# e2e_download_roam ROAMS INTERVAL: download the resource's file over one TCP connection
# (the resource's link shaped so that it lasts about INTERVAL x (ROAMS + 2) s), roam every INTERVAL s
# during it; the file's sha256 must match. Appends one outage (ms: new network usable ->
# first new data) per roam to $TMP/outages. ${E2E_SHOW:-} set: a progress line on stderr.
e2e_download_roam() {
    local roams=$1 interval=$2 total rate curl_pid prog_pid i
    total=$(stat -c %s "$TMP/www/file")
    rate=$((total / (interval * (roams + 2))))
    rm -f "$TMP/got" "$TMP/progress" "$TMP/roams"
    # The resource sends at the rate (htb on its link), so that the receive buffer does not
    # hold the rest of the file ahead of a roam (curl --limit-rate would let it fill).
    in_ns "$NS_RES" tc qdisc replace dev eth0 root handle 1: htb default 10
    in_ns "$NS_RES" tc class replace dev eth0 parent 1: classid 1:10 htb rate "$((rate * 8))bit"
    ip netns exec "$NS_CLI" curl -fsS --speed-limit 1 --speed-time 15 \
        --max-time $((interval * (roams + 2) * 3 + 30)) -o "$TMP/got" \
        "http://$RES_IP:$HTTP_PORT/file" 2>"$TMP/curl.err" &
    curl_pid=$!
    ip netns exec "$NS_CLI" python3 "$FLOE_SOURCE_DIR/tests/e2e/progress.py" "$TMP/got" \
        "$TMP/progress" "$total" "$curl_pid" --rx floe0 \
        ${E2E_SHOW:+--show} &
    prog_pid=$!
    for i in $(seq "$roams"); do
        sleep "$interval"
        kill -0 "$curl_pid" 2>/dev/null || break
        topo_roam
        echo "$TOPO_T_USABLE" >>"$TMP/roams"
        [ -z "${E2E_SHOW:-}" ] || printf '\n  roam %d: now on %s\n' "$i" "$TOPO_ACCESS" >&2
    done
    wait "$curl_pid" || fail "the download failed during the roams: $(cat "$TMP/curl.err")"
    wait "$prog_pid"
    in_ns "$NS_RES" tc qdisc del dev eth0 root
    [ "$(sha256sum <"$TMP/got" | cut -d' ' -f1)" = "$(cat "$TMP/file.sha256")" ] ||
        fail "the downloaded file's sha256 does not match"
    [ "$(wc -l <"$TMP/roams")" = "$roams" ] || fail "the download ended before $roams roams"
    e2e_outages >>"$TMP/outages"
    e2e_outage_gaps >>"$TMP/outage-gaps"
    cp "$TMP/progress" "$TMP/progress.log" # for E2E_KEEP_LOGS, with the roams' times
    cp "$TMP/roams" "$TMP/roams.log"
}

# e2e_outages: for each roam time in $TMP/roams, the ms from it to the first sample of
# $TMP/progress in which more came out of the tunnel (the TUN's rx_bytes grew: packets
# already buffered in the socket do not count). A roam after which nothing came: -1.
e2e_outages() {
    local t
    while read -r t; do
        awk -v t="$t" '$1 <= t { rx = $3 } $1 > t && $3 > rx { ms = ($1 - t) * 1000; exit }
            END { printf "%.0f\n", ms == "" ? -1 : ms }' "$TMP/progress"
    done <"$TMP/roams"
}

# e2e_outage_gaps: for each roam time in $TMP/roams, the poll gap (ms) of the sample that
# ended its outage (progress.py's GAP_MS): the outage is measured at most that much too long
# (a sampler starved of CPU under load shows as a large gap). -1 when no sample ended it.
e2e_outage_gaps() {
    local t
    while read -r t; do
        awk -v t="$t" '$1 <= t { rx = $3 } $1 > t && $3 > rx { g = $4; exit }
            END { printf "%.1f\n", g == "" ? -1 : g }' "$TMP/progress"
    done <"$TMP/roams"
}

# e2e_outage_summary: "n=N min=.. p50=.. max=.. ms" of $TMP/outages (-1, not measured, left
# out).
e2e_outage_summary() {
    grep -vx -- -1 "$TMP/outages" | sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "no outage measured"; exit 1 }
        printf "n=%d min=%d p50=%d max=%d ms\n", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}

# e2e_keep_logs: with E2E_KEEP_LOGS=DIR, copy the programs' logs there (from the EXIT trap).
e2e_keep_logs() {
    [ -z "${E2E_KEEP_LOGS:-}" ] || cp "$TMP"/*.log "$E2E_KEEP_LOGS"/ 2>/dev/null || true
}

# e2e_wait_path PATTERN SECONDS: wait until the client's first connection is established on
# a path whose kind matches the glob PATTERN (direct, *relay*).
e2e_wait_path() {
    local i=0
    # shellcheck disable=SC2053 # PATTERN is a glob
    until [ "$(e2e_conn established)" = true ] && [[ $(e2e_conn path) == $1 ]]; do
        i=$((i + 1))
        [ "$i" -lt $(($2 * 10)) ] || fail "no $1 path within $2 s: $(cat "$TMP/status.json")"
        sleep 0.1
    done
}
