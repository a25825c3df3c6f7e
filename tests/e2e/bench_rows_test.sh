#!/usr/bin/env bash
# bench/e2e.sh's rows (issue 13): bench/iperf_json.sh turns real iperf3 reports (a TCP and a
# UDP run on loopback in a namespace of this test's own) into one row each, and refuses the
# reports that measured nothing with the reason and exit 1, never a 0.00 figure: the report
# iperf3 3.12 writes, with exit status 0, when its server is still busy with an earlier test
# (what the wireguard-go rows printed as "0.00 Gbit/s" with no retransmissions), an empty file,
# a non-JSON file, iperf3's own error, a run that received no byte. bench/e2e.sh's command
# line: a bad option, UDP_RATE or SECONDS exits 2 before building anything.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_tool ip iperf3 jq
ROWS="$FLOE_SOURCE_DIR/bench/iperf_json.sh"
TMP=$(mktemp -d)
NS=fe-rows-$$
SRV_PID=
trap 'exit 130' INT TERM
trap 'stop_pid "$SRV_PID"; ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"' EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

# server: a one-test iperf3 server on 127.0.0.1:5201 in NS (pid in SRV_PID).
server() {
    ip netns exec "$NS" iperf3 -s -1 -B 127.0.0.1 >"$TMP/server.out" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 50); do
        [ -z "$(ip netns exec "$NS" ss -Hltn 'sport = :5201')" ] || return 0
        sleep 0.1
    done
    fail "iperf3 -s did not listen: $(cat "$TMP/server.out")"
}

# row LABEL FILE: bench/iperf_json.sh's stdout in $TMP/out, stderr in $TMP/err, status in RC.
row() {
    RC=0
    "$ROWS" "$1" "$2" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# refused LABEL FILE REASON: the report is refused: exit 1, REASON on stderr, no row.
refused() {
    row "$1" "$2"
    [ "$RC" = 1 ] || fail "$1: exit $RC, not 1 (stdout: $(cat "$TMP/out"))"
    [ ! -s "$TMP/out" ] || fail "$1: a row for a report that measured nothing: $(cat "$TMP/out")"
    grep -q -- "$3" "$TMP/err" || fail "$1: the reason is not '$3': $(cat "$TMP/err")"
}

server
ip netns exec "$NS" iperf3 -c 127.0.0.1 -t 1 -J >"$TMP/tcp.json" || fail "iperf3 TCP on loopback"
wait "$SRV_PID" || true
row "tcp row" "$TMP/tcp.json"
[ "$RC" = 0 ] || fail "a real TCP report was refused: $(cat "$TMP/err")"
awk '$1 == "tcp" && $2 == "row" && $3 > 0 && $4 == "Gbit/s" && $5 == "retransmits" &&
    $6 ~ /^[0-9]+$/ { ok = 1 } END { exit !ok }' "$TMP/out" ||
    fail "the TCP row is not 'LABEL RATE Gbit/s retransmits N': $(cat "$TMP/out")"

server
ip netns exec "$NS" iperf3 -c 127.0.0.1 -t 1 -u -b 50M -l 1200 -J >"$TMP/udp.json" ||
    fail "iperf3 UDP on loopback"
wait "$SRV_PID" || true
row "udp row" "$TMP/udp.json"
[ "$RC" = 0 ] || fail "a real UDP report was refused: $(cat "$TMP/err")"
awk '$1 == "udp" && $3 > 0.03 && $3 < 0.07 && $4 == "Gbit/s" && $5 == "lost" && $7 == "%" {
    ok = 1 } END { exit !ok }' "$TMP/out" ||
    fail "the UDP row is not 'LABEL ~0.05 Gbit/s lost P % (N of M)': $(cat "$TMP/out")"

# A server busy with a test: the next client's report (iperf3 exits 0 with it).
server
ip netns exec "$NS" iperf3 -c 127.0.0.1 -t 3 >/dev/null 2>&1 &
first=$!
sleep 1
rc=0
ip netns exec "$NS" iperf3 -c 127.0.0.1 -t 1 -J >"$TMP/busy.json" || rc=$?
wait "$first" || true
wait "$SRV_PID" || true
jq -e '.error | test("busy")' "$TMP/busy.json" >/dev/null ||
    fail "the second client was not told the server is busy: $(head -c 300 "$TMP/busy.json")"
echo "iperf3 exit status with a busy server: $rc"
refused "busy" "$TMP/busy.json" "the server is busy"

: >"$TMP/empty.json"
refused "empty" "$TMP/empty.json" "no report"
echo "iperf3: error - unable to connect to server" >"$TMP/text.json"
refused "text" "$TMP/text.json" "not JSON"
jq '.end = {}' "$TMP/tcp.json" >"$TMP/noend.json"
refused "no end" "$TMP/noend.json" "no receiver summary"
jq '.end.sum_received.bytes = 0 | .end.sum_received.bits_per_second = 0' "$TMP/tcp.json" \
    >"$TMP/zero.json"
refused "zero" "$TMP/zero.json" "no data received"
expect_exit 2 "$ROWS" onlyone

# bench/e2e.sh's command line, checked before anything is built.
expect_exit 2 bash "$FLOE_SOURCE_DIR/bench/e2e.sh" --bogus
expect_exit 2 env UDP_RATE=fast bash "$FLOE_SOURCE_DIR/bench/e2e.sh" "$FLOE_BIN_DIR" 2
expect_exit 2 bash "$FLOE_SOURCE_DIR/bench/e2e.sh" "$FLOE_BIN_DIR" 0
bash "$FLOE_SOURCE_DIR/bench/e2e.sh" --help >"$TMP/help"
grep -q "no delay" "$TMP/help" || fail "--help does not describe the [no delay] rows"
echo "ok: bench rows (TCP and UDP rows; busy, empty, non-JSON, unfinished, empty runs refused)"
