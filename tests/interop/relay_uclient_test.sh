#!/usr/bin/env bash
# floe-relay against coturn's TURN client tools: turnutils_uclient sends through
# floe-relay to a turnutils_peer echo peer with channels, with Send indications,
# with EVEN-PORT reservations claimed across worker threads, with static users and with
# REST credentials; every message must come back. Then garbage is thrown at the running relay, which must
# still serve; metrics are read over HTTP; SIGHUP reopens the log; SIGTERM stops it.
# Never skipped: missing coturn tools fail the test.
set -euo pipefail

: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_bin floe-relay
need_tool turnutils_uclient turnutils_peer ss jq
RELAY=$FLOE_BIN_DIR/floe-relay
# The I/O loop under test: uring here; relay_uclient_epoll_test.sh runs it all with epoll.
IO=${FLOE_RELAY_IO:-uring}

# free_port_window SIZE LO HI: "A-B", SIZE ports inside LO-HI of which none is bound now, so
# that this test, its epoll variant and other runs on the machine relay on separate ports.
free_port_window() {
    local size=$1 lo=$2 hi=$3 a b _
    for _ in $(seq 50); do
        a=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo - size + 2)))
        b=$((a + size - 1))
        if ! ss -Hlnu | awk -v a="$a" -v b="$b" \
            '{ n = split($4, p, ":"); if (p[n] >= a && p[n] <= b) hit = 1 } END { exit !hit }'; then
            echo "$a-$b"
            return 0
        fi
    done
    fail "no window of $size free UDP ports in $lo-$hi"
}
RELAY_PORTS=${FLOE_RELAY_PORTS:-$(free_port_window 400 61000 64999)}

TMP=$(mktemp -d /tmp/floe-relay-uclient.XXXXXX)
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
        --log-file "$TMP/relay.log" --log-level debug --io "$IO" "$@" &
    RELAY_PID=$!
    wait_udp "$PORT" "$RELAY_PID"
    local i=0
    until grep -q "\"message\":\"floe-relay started\".*\"io\":\"$IO\"" "$TMP/relay.log"; do
        [ "$i" -lt 50 ] || fail "floe-relay did not log a start with io $IO"
        sleep 0.1
        i=$((i + 1))
    done
}

# uclient_failed OUT MESSAGE: show uclient's output and the relay's warnings (a relayed port
# another process holds is "cannot bind relayed port"), then fail.
uclient_failed() {
    cat "$1" >&2
    grep '"severity":"WARN"' "$TMP/relay.log" >&2 || true
    fail "$2"
}

# uclient NAME ARGS...: run turnutils_uclient; every message must be echoed back.
uclient() {
    local name=$1 out="$TMP/uclient-$1.out"
    shift
    timeout 60 turnutils_uclient -p "$PORT" -e 127.0.0.1 -r "$PEER_PORT" -n 30 -l 120 "$@" \
        127.0.0.1 >"$out" 2>&1 || uclient_failed "$out" "uclient $name exited non-zero"
    # A 437 is the relay's right answer when the kernel gave uclient a local port that an
    # earlier uclient of this test allocated from (uclient leaves its allocations to expire):
    # uclient says "trying allocate again 437" and allocates from a new socket. Any other
    # error fails.
    grep -v -e "error 437 (Allocation Mismatch)" "$out" >"$out.other" || true
    if grep -q "error 437" "$out" && ! grep -q "trying allocate again 437" "$out"; then
        uclient_failed "$out" "uclient $name: a 437 and no new allocation"
    fi
    grep -q "error" "$out.other" && uclient_failed "$out" "uclient $name reported an error"
    local sent recv
    sent=$(sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
    recv=$(sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' "$out" | tail -1)
    [ -n "$sent" ] && [ "$sent" -gt 0 ] || { cat "$out" >&2; fail "uclient $name sent nothing"; }
    [ "$sent" = "$recv" ] || { cat "$out" >&2; fail "uclient $name: sent $sent, got $recv back"; }
    echo "uclient $name: $sent messages sent, $recv echoed"
}

PEER_PORT=$(floe_free_udp_port)
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
wait_udp "$PEER_PORT" "$PEER_PID"

echo "--- static user, two worker threads"
METRICS=$(floe_free_udp_port)
start_relay --user alice:secret --user bob:hunter2 --threads 2 --metrics "127.0.0.1:$METRICS"
uclient channels -u alice -w secret -c -m 4
uclient send-indications -u bob -w hunter2 -c -s -m 4
uclient dont-fragment -u alice -w secret -c -g -m 2
# Back-to-back datagrams: the relay batches them (sendmmsg, UDP GSO runs) and loses none.
uclient burst -u alice -w secret -c -m 8 -z 0 -n 400

echo "--- wrong password is refused"
if timeout 30 turnutils_uclient -p "$PORT" -e 127.0.0.1 -r "$PEER_PORT" -n 3 -u alice -w nope \
    -c 127.0.0.1 >"$TMP/wrong.out" 2>&1; then
    grep -q "tot_recv_msgs=[1-9]" "$TMP/wrong.out" && fail "a wrong password relayed data"
fi

echo "--- garbage to the listening port, then it still serves"
for i in $(seq 1 200); do
    head -c $((i * 7 % 700 + 1)) /dev/urandom >"/dev/udp/127.0.0.1/$PORT"
    printf '\x40\x01\x00\x10abc' >"/dev/udp/127.0.0.1/$PORT"
done
uclient after-garbage -u alice -w secret -c -m 2
kill -0 "$RELAY_PID" || fail "floe-relay died on garbage"

echo "--- metrics over HTTP"
sleep 1.2 # counters are published once a second
exec 3<>"/dev/tcp/127.0.0.1/$METRICS"
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
cat <&3 >"$TMP/metrics.txt"
exec 3<&-
grep -q '^HTTP/1.0 200 OK' "$TMP/metrics.txt" || fail "metrics: no 200 answer"
total=$(sed -n 's/^floe_relay_allocations_total \([0-9]*\).*/\1/p' "$TMP/metrics.txt")
[ -n "$total" ] && [ "$total" -ge 10 ] || fail "metrics: allocations_total '$total' < 10"
malformed=$(sed -n 's/^floe_relay_drops_total{reason="malformed"} \([0-9]*\).*/\1/p' \
    "$TMP/metrics.txt")
[ -n "$malformed" ] && [ "$malformed" -gt 0 ] || fail "metrics: no malformed drops counted"
grep -q '^floe_relay_packets_to_peers_total [1-9]' "$TMP/metrics.txt" ||
    fail "metrics: no packets relayed"
grep -q '^floe_relay_datagrams_sent_total [1-9]' "$TMP/metrics.txt" ||
    fail "metrics: no datagrams sent"
echo "metrics: allocations_total=$total drops{malformed}=$malformed"

echo "--- SIGHUP reopens the log file"
mv "$TMP/relay.log" "$TMP/relay.log.1"
kill -HUP "$RELAY_PID"
i=0
while [ ! -s "$TMP/relay.log" ]; do
    [ "$i" -lt 50 ] || fail "no new log file after SIGHUP"
    sleep 0.1
    i=$((i + 1))
done
grep -q '"message":"log file reopened"' "$TMP/relay.log" || fail "reopen not logged"

echo "--- SIGTERM stops it cleanly"
kill -TERM "$RELAY_PID"
rc=0
wait "$RELAY_PID" || rc=$?
RELAY_PID=""
[ "$rc" -eq 0 ] || fail "floe-relay exited $rc on SIGTERM"
grep -q '"message":"floe-relay stopped"' "$TMP/relay.log" || fail "stop not logged"
jq -e . "$TMP/relay.log" "$TMP/relay.log.1" >/dev/null || fail "log is not JSON Lines"

echo "--- REST credentials (use-auth-secret) and EVEN-PORT reservations, four threads"
# Without -c every uclient client allocates an RTP/RTCP pair: an Allocate with EVEN-PORT R=1,
# then one carrying its RESERVATION-TOKEN from another 5-tuple, which SO_REUSEPORT steers to
# any of the four workers. 16 pairs: the chance that none crosses workers is 4^-16.
start_relay --auth-secret north --threads 4
uclient rest -W north -u floe-test -c -m 2
uclient reservations -W north -u floe-test -m 16 -n 10
crossed=$(grep -c '"message":"reservation claimed from another worker"' "$TMP/relay.log" || true)
[ "$crossed" -gt 0 ] || fail "no RESERVATION-TOKEN reached another worker than its reservation's"
echo "reservations: $crossed of 16 tokens claimed across workers"
stop_pid "$RELAY_PID"
RELAY_PID=""

echo "--- bad flags exit 2 with a message"
rc=0
"$RELAY" --listen nowhere --user a:b 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] || fail "bad --listen exited $rc"
grep -q "invalid --listen" "$TMP/err" || fail "bad --listen message: $(cat "$TMP/err")"
rc=0
"$RELAY" --listen 127.0.0.1:1 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] || fail "no credentials exited $rc"
grep -q "no credentials" "$TMP/err" || fail "no credentials message: $(cat "$TMP/err")"
"$RELAY" --help >"$TMP/help.txt"
grep -q -- "--auth-secret" "$TMP/help.txt" || fail "--help lacks --auth-secret"
echo PASS
