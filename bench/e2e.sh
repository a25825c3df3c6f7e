#!/usr/bin/env bash
# The end-to-end benchmark of issue 13, on the topology of tests/e2e/topo.sh (portal, relay,
# a site behind a NAT, a laptop behind its wifi NAT; 25 ms each way on the access links and the
# site's uplink, by the topology's userspace delay line), all rows in one run:
#   - iperf3 laptop -> resource through floe-client -> floe-gateway, relayed (UDP between
#     the two NATs' public addresses dropped in the internet) and then direct (the drop lifted
#     and a new floe-client, whose connection starts direct: a connection whose direct checks
#     all failed re-checks them only when ICE restarts; tests/e2e/upgrade_test.sh covers a
#     connection moving from relayed to direct within its checks' lifetime); the path kind as
#     `floe-client status` reports it;
#   - the same laptop -> gateway host through a floe-wg pair and a wireguard-go pair (Debian's,
#     and bookworm-backports' 0.0.20231211 unless WG_GO_BACKPORTS=none) over the same NATs
#     (the site NAT forwards UDP 51821 to the gateway host);
#     each of these five paths gets three rows: TCP [25 ms] through the delay lines (RTT
#     100 ms; the iperf3 ends' TCP buffers may grow to 64 MiB for it: with the default 4 MiB
#     send buffer any path was capped at about 0.25 Gbit/s there), then TCP and UDP
#     [no delay] with the delay lines bridged out by the kernel (topo_delay off: line rate,
#     the same addresses, NATs and connections; the tunnel is the bottleneck). TCP rows:
#     Gbit/s received and the sender's retransmissions (the loss); UDP rows: UDP_RATE
#     (default 1G) bit/s offered in 1200-byte datagrams, Gbit/s received and the datagrams
#     lost (%);
#   - connection setup: the first ping's round trip after a fresh client joined (the first
#     packet is held until the connection is up, so it is first packet -> first reply),
#     p50/p99 over INTENTS (default 20) intents, each a fresh floe-client start (a new
#     connection to the gateway; the same resource), and the path each one started on;
#   - the data outage over ROAMS (default 10) roams mid-download of a FILE_MB (default 1024)
#     MiB file, and the poll gap of the sample that ended each (it is measured at most that
#     much too long).
# Run by hand as root, never as a timed test:
#   bench/e2e.sh [--quick] [BUILD_BIN_DIR] [SECONDS]
#                            (env: INTENTS, ROAMS, FILE_MB, UDP_RATE, WG_GO_BACKPORTS, PARTS)
# PARTS (default "throughput setup roam") picks the parts to run, e.g. PARTS=setup.
# --quick checks that every row works: 2 s iperf3, 5 intents, 2 roams of a 32 MiB download.
# E2E_KEEP_LOGS=DIR keeps the programs' logs. Exit 0: every row measured; 1: a row failed (a
# path not reached, a row that moved no data: printed as FAILED with the reason, never as a
# figure; a tool or program missing); 2: a bad command line.
set -euo pipefail
e2e_bench_usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
QUICK=0
case "${1:-}" in
--quick) QUICK=1 && shift ;;
-h | --help) e2e_bench_usage && exit 0 ;;
-*) echo "e2e.sh: unknown option '$1' (try --help)" >&2 && exit 2 ;;
esac
[ $# -le 2 ] || { echo "e2e.sh: too many arguments (try --help)" >&2 && exit 2; }
if [ "$QUICK" = 1 ]; then
    SECS=${2:-2} INTENTS=${INTENTS:-5} ROAMS=${ROAMS:-2} FILE_MB=${FILE_MB:-32}
fi
BIN=$(cd "${1:-build/bin}" && pwd)
SECS=${SECS:-${2:-10}}
case "$SECS" in '' | *[!0-9]* | 0) echo "e2e.sh: bad SECONDS '$SECS'" >&2 && exit 2 ;; esac
INTENTS=${INTENTS:-20}
UDP_RATE=${UDP_RATE:-1G}
case "$UDP_RATE" in
'' | *[!0-9KMG]* | [KMG]*) echo "e2e.sh: bad UDP_RATE '$UDP_RATE'" >&2 && exit 2 ;;
esac
ROAMS=${ROAMS:-10}
FILE_MB=${FILE_MB:-1024}
PARTS=${PARTS:-throughput setup roam}
for part in $PARTS; do
    case "$part" in
    throughput | setup | roam) ;;
    *) echo "e2e.sh: bad PARTS '$PARTS' (throughput, setup, roam)" >&2 && exit 2 ;;
    esac
done
# part NAME: is NAME among the parts to run?
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac && return 1; }
FLOE_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
FLOE_BIN_DIR=$BIN
export FLOE_SOURCE_DIR FLOE_BIN_DIR
TMP=$(mktemp -d)
# shellcheck source=../tests/e2e/e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
# shellcheck source=../scripts/wg_netns.sh
. "$FLOE_SOURCE_DIR/scripts/wg_netns.sh"
# shellcheck source=../scripts/wg_go_backports.sh
. "$FLOE_SOURCE_DIR/scripts/wg_go_backports.sh"
BENCH_MISSED=
BENCH_FAILED=
BENCH_ROWS=0
BENCH_PORT=5301 # the rows' iperf3 servers (topo_http's own is on 5201)
TOPO_DELAY_LABEL=
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || tail -n 10 "$TMP"/client.log "$TMP"/gw1.log >&2 2>/dev/null; e2e_keep_logs; wgns_stop; topo_down; rm -rf "$TMP"' EXIT
e2e_need
need_tool wg wireguard-go bc

# iperf_listening NS: something listens on TCP BENCH_PORT in NS.
iperf_listening() {
    [ -n "$(in_ns "$1" ss -Hltn "sport = :$BENCH_PORT")" ]
}

# iperf_row LABEL NS SERVER [udp]: iperf3 from the laptop to SERVER (in NS) for SECS s, TCP,
# or UDP at UDP_RATE in datagrams of 1200 bytes (they fit every tunnel's MTU), one line
# (bench/iperf_json.sh). Each row has its own one-test server (iperf3 -s -1 on SERVER:
# BENCH_PORT), and the row ends when that server has seen the test's end: a shared server
# whose tunnel was torn down (or whose delay line was bridged out) while the client's last
# control message was still on the way stays busy, and iperf3 3.12 answers the next client
# "the server is busy" with exit status 0 and an empty .end (the wireguard-go rows after the
# floe-wg pair printed that as 0.00 Gbit/s). A row that moves no data is not printed as a
# figure: it prints FAILED with the reason (and the tail of $WG_LOG, the pair's log, if
# set), and the run exits 1 at the end.
iperf_row() {
    local args=(-c "$3" -p "$BENCH_PORT" -t "$SECS" -J) label="$1 [$TOPO_DELAY_LABEL]" i pid
    if [ "${4:-}" = udp ]; then
        args+=(-u -b "$UDP_RATE" -l 1200)
        label="$1 UDP ${UDP_RATE} [$TOPO_DELAY_LABEL]"
    fi
    topo_bg iperf-row "$2" iperf3 -s -1 -B "$3" -p "$BENCH_PORT"
    topo_wait "no iperf3 server on $3: $(cat "$TMP/iperf-row.out")" 50 iperf_listening "$2"
    rm -f "$TMP/iperf.json"
    in_ns "$NS_CLI" timeout -k 5 $((SECS + 30)) iperf3 "${args[@]}" >"$TMP/iperf.json" || true
    pid=$(topo_pid iperf-row)
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$i" -lt 100 ] || echo "$label: the iperf3 server did not see the test end in 10 s" >&2
    topo_stop iperf-row
    if ! "$FLOE_SOURCE_DIR/bench/iperf_json.sh" "$label" "$TMP/iperf.json" 2>"$TMP/row.err"; then
        printf '%-70s FAILED: %s\n' "${label:0:70}" "$(sed "s/^.*\]: //" "$TMP/row.err")"
        [ -z "${WG_LOG:-}" ] || tail -n 5 "$WG_LOG" >&2 2>/dev/null || true
        cp "$TMP/iperf.json" "$TMP/failed-row-$BENCH_ROWS.iperf.log" 2>/dev/null || true
        BENCH_FAILED="$BENCH_FAILED; $label: $(sed "s/^.*\]: //" "$TMP/row.err")"
    fi
    BENCH_ROWS=$((BENCH_ROWS + 1))
}

# delay_off / delay_on: the topology's delay lines bridged out (line rate) or back in.
delay_off() {
    topo_delay off
    TOPO_DELAY_LABEL="no delay"
}
delay_on() {
    topo_delay on
    TOPO_DELAY_LABEL="${TOPO_NETEM_MS} ms"
}

# wg_row LABEL IMPL: a WireGuard pair IMPL laptop <-> gateway host over the NATs: TCP through
# the delay lines, then TCP and UDP with the delay lines bridged out.
wg_row() {
    local ia="ec$$" ib="eg$$"
    wgns_start "$NS_CLI" "$ia" "$2" --log-level warn
    wgns_start "$NS_GW1" "$ib" "$2" --log-level warn
    wgns_setup "$NS_CLI" "$ia" "$TMP/ka" "$TMP/kb" 10.78.0.1 10.78.0.2 51820 51821 "$SITE_PUBLIC"
    in_ns "$NS_GW1" wg set "$ib" private-key "$TMP/kb" listen-port 51821 \
        peer "$(wg pubkey <"$TMP/ka")" allowed-ips 10.78.0.1/32
    ip -n "$NS_GW1" addr add 10.78.0.2/24 dev "$ib"
    ip -n "$NS_GW1" link set "$ib" up
    in_ns "$NS_CLI" ping -c 1 -W 5 10.78.0.2 >/dev/null || fail "no ping through the $1 pair"
    WG_LOG="$TMP/$ia.log"
    iperf_row "$1" "$NS_GW1" 10.78.0.2
    delay_off
    iperf_row "$1" "$NS_GW1" 10.78.0.2
    iperf_row "$1" "$NS_GW1" 10.78.0.2 udp
    delay_on
    WG_LOG=
    wgns_stop
}

# wg_go_label PATH: the version of the bookworm-backports wireguard-go at PATH (its binary says
# v0.0.20230223; the package's file name has the release), else what the binary says.
wg_go_label() {
    local v
    v=$(sed -n 's/^wireguard-go_\([^-]*\)-.*/\1/p' "$(dirname "$1")/../../VERSION" 2>/dev/null || true)
    [ -n "$v" ] && echo "bookworm-backports $v" && return 0
    "$1" --version 2>&1 | head -n 1 | awk '{print $NF}'
}

# floe_row KIND: iperf_row through floe-client -> floe-gateway once the client's connection
# is established on a KIND path (a glob: direct, *relay*), with one ping every 0.2 s while
# waiting (a connection moves to a better path while packets flow), up to 30 s: TCP through
# the delay lines, then TCP and UDP with them bridged out (the same connection; each row
# names the path `floe-client status` reports when it starts). A path not reached is a line
# saying so, and the run exits 1 at the end.
floe_row() {
    local until=$((SECONDS + 30))
    e2e_first_ping
    # shellcheck disable=SC2053 # KIND is a glob
    until [ "$(e2e_conn established)" = true ] && [[ $(e2e_conn path) == $1 ]]; do
        if [ "$SECONDS" -ge "$until" ]; then
            echo "floe-client -> floe-gateway: NO $1 PATH within 30 s (path: $(e2e_conn path))"
            BENCH_MISSED="$BENCH_MISSED $1"
            return 0
        fi
        in_ns "$NS_CLI" ping -c 1 -W 1 "$RES_IP" >/dev/null 2>&1 || true
        sleep 0.2
    done
    iperf_row "floe-client -> floe-gateway ($(e2e_conn path))" "$NS_RES" "$RES_IP"
    delay_off
    iperf_row "floe-client -> floe-gateway ($(e2e_conn path))" "$NS_RES" "$RES_IP"
    iperf_row "floe-client -> floe-gateway ($(e2e_conn path))" "$NS_RES" "$RES_IP" udp
    delay_on
}

# tcp_buffers WMEM RMEM: net.ipv4.tcp_wmem and tcp_rmem (three numbers each) in the iperf3
# ends' namespaces (laptop, gateway host, resource). Through the delay lines the RTT is
# 100 ms; with the default 4 MiB send buffer one TCP flow cannot have more than about
# 0.25 Gbit/s in flight there, whatever carries it (that, not the delay line, capped every
# [25 ms] row), so the throughput rows run with buffers of up to 64 MiB.
tcp_buffers() {
    local ns
    for ns in "$NS_CLI" "$NS_GW1" "$NS_RES"; do
        in_ns "$ns" sysctl -qw "net.ipv4.tcp_wmem=$1" "net.ipv4.tcp_rmem=$2"
    done
}

# fresh_client: a new floe-client (no connection yet), joined to the portal.
fresh_client() {
    topo_stop client
    topo_client
    topo_wait "floe-client did not join the portal" 150 e2e_portal_joined
}

echo "e2e bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
e2e_system "$FILE_MB"
echo "delay: ${TOPO_NETEM_MS} ms each way on the access links, ${TOPO_SITE_MS:-$TOPO_NETEM_MS} ms on the site's uplink (delay line)"
TOPO_DELAY_LABEL="${TOPO_NETEM_MS} ms"
in_ns "$NS_SNAT" nft -f - <<FWD
table ip floe_e2e_fwd {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "wan" udp dport 51821 dnat to 10.10.0.2
    }
}
FWD
(umask 077 && wg genkey >"$TMP/ka" && wg genkey >"$TMP/kb")

if part throughput; then
echo
echo "== throughput, laptop -> site (iperf3, ${SECS} s each; UDP at ${UDP_RATE}bit/s)"
echo "[${TOPO_NETEM_MS} ms]: through the delay lines (RTT 100 ms; TCP buffers up to 64 MiB for it)"
echo "[no delay]: the delay lines bridged out by the kernel (line rate: the tunnel is the limit)"
# The connection is relayed (UDP between the NATs dropped); then the drop is lifted and a new
# floe-client's connection is direct.
tcp_wmem=$(in_ns "$NS_CLI" sysctl -n net.ipv4.tcp_wmem)
tcp_rmem=$(in_ns "$NS_CLI" sysctl -n net.ipv4.tcp_rmem)
tcp_buffers "4096 16384 $((64 << 20))" "4096 131072 $((64 << 20))"
topo_direct_udp off
floe_row '*relay*'
topo_direct_udp on
fresh_client
floe_row direct
wg_row "floe-wg pair" floe-wg
wg_row "wireguard-go pair (Debian $(wireguard-go --version 2>&1 | head -n 1 | awk '{print $NF}'))" \
    wireguard-go
if [ "${WG_GO_BACKPORTS:-}" != none ]; then
    bpo=${WG_GO_BACKPORTS:-$(backports_wg_go)}
    wg_row "wireguard-go pair ($(wg_go_label "$bpo"))" "$bpo"
fi
tcp_buffers "$tcp_wmem" "$tcp_rmem" # the setup and roams below as in the e2e tests
fi

if part setup; then
echo
echo "== connection setup: first packet -> first reply over $INTENTS intents (ping)"
: >"$TMP/setup"
: >"$TMP/setup-paths"
for _ in $(seq "$INTENTS"); do
    fresh_client
    in_ns "$NS_CLI" ping -c 1 -W 10 "$RES_IP" >"$TMP/ping.out" || fail "no reply within 10 s"
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$TMP/ping.out" >>"$TMP/setup"
    echo "$(e2e_conn path)" >>"$TMP/setup-paths"
done
echo "first path of each intent: $(sort "$TMP/setup-paths" | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }')"
sort -n "$TMP/setup" | awk '{ v[NR] = $1 } END {
    i99 = int(NR * 0.99 + 0.999); if (i99 < 1) i99 = 1
    printf "setup ms: n=%d p50=%.1f p99=%.1f max=%.1f (target <= 300)\n", NR, v[int((NR + 1) / 2)], v[i99], v[NR] }'
fi

if part roam; then
echo
echo "== data outage over $ROAMS roams mid-download of $FILE_MB MiB (new network usable -> data)"
fresh_client
e2e_first_ping
: >"$TMP/outages"
: >"$TMP/outage-gaps"
e2e_download_roam "$ROAMS" 2
echo "outage: $(e2e_outage_summary) (target <= 500); each: $(tr '\n' ' ' <"$TMP/outages")"
echo "each outage's end sampled within (ms): $(tr '\n' ' ' <"$TMP/outage-gaps")"
fi
[ -z "$BENCH_MISSED$BENCH_FAILED" ] ||
    fail "${BENCH_MISSED:+paths not reached:$BENCH_MISSED}${BENCH_FAILED:+; rows without data$BENCH_FAILED}"
