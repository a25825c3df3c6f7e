#!/usr/bin/env bash
# The delay line (tests/e2e/delayline.c) that gives the e2e topology its 25 ms one way where
# the kernel has no netem: host A -- [delayline in namespace DL] -- host B. Ping RTT is
# 50 ms plus a little (25 ms each way, +-2 ms jitter); a 32 MiB HTTP download crosses whole
# (sha256) with GSO/TSO left on; SIGTERM prints the counters and exits 0; --loss drops and
# counts; bad flags exit 2 with a message.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
need_tool ip ping curl python3 sha256sum
need_bin delayline
TMP=$(mktemp -d)
NS_A=fe-dla-$$
NS_DL=fe-dld-$$
NS_B=fe-dlb-$$
PIDS=()
cleanup() {
    local pid ns
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    for ns in "$NS_A" "$NS_DL" "$NS_B"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap 'exit 130' INT TERM
trap cleanup EXIT

expect_exit 2 "$FLOE_BIN_DIR/delayline" --a x --b y
expect_stderr "--delay"
expect_exit 2 "$FLOE_BIN_DIR/delayline" --a x --b y --delay 5 --loss 101
expect_stderr "--loss"
expect_exit 2 "$FLOE_BIN_DIR/delayline" --a x --b y --delay 5 --bogus 1
expect_stderr "unknown option"
expect_exit 0 "$FLOE_BIN_DIR/delayline" --help
grep -q -- --jitter "$TMP/out" || fail "--help does not list --jitter"

for ns in "$NS_A" "$NS_DL" "$NS_B"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip netns exec "$NS_DL" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$NS_DL" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip link add eth0 netns "$NS_A" type veth peer name a netns "$NS_DL"
ip link add eth0 netns "$NS_B" type veth peer name b netns "$NS_DL"
ip -n "$NS_A" addr add 10.99.0.1/24 dev eth0
ip -n "$NS_B" addr add 10.99.0.2/24 dev eth0
ip -n "$NS_A" link set dev eth0 up
ip -n "$NS_B" link set dev eth0 up
ip -n "$NS_DL" link set dev a up
ip -n "$NS_DL" link set dev b up

# dl_start ARGS...: the delay line between a and b in NS_DL (output in $TMP/dl.out), ready.
dl_start() {
    ip netns exec "$NS_DL" "$FLOE_BIN_DIR/delayline" --a a --b b "$@" >"$TMP/dl.out" 2>&1 &
    DL_PID=$!
    PIDS+=("$DL_PID")
    for _ in $(seq 50); do
        grep -q ready "$TMP/dl.out" && return 0
        kill -0 "$DL_PID" 2>/dev/null || fail "delayline exited: $(cat "$TMP/dl.out")"
        sleep 0.1
    done
    fail "delayline not ready within 5 s"
}

# dl_stop: SIGTERM; it must exit 0 with its two counter lines (in $TMP/dl.out).
dl_stop() {
    local rc=0
    kill "$DL_PID"
    wait "$DL_PID" || rc=$?
    [ "$rc" = 0 ] || fail "delayline exited $rc on SIGTERM: $(cat "$TMP/dl.out")"
    grep -q '^a->b frames=[0-9]* bytes=[0-9]* dropped=[0-9]*$' "$TMP/dl.out" &&
        grep -q '^b->a frames=' "$TMP/dl.out" || fail "no counters: $(cat "$TMP/dl.out")"
}

# counter DIR NAME: a counter of the last run (DIR a->b or b->a).
counter() {
    sed -n "s/^$1 .*$2=\([0-9]*\).*/\1/p" "$TMP/dl.out"
}

dl_start --delay 25 --jitter 2
ip netns exec "$NS_A" ping -c 10 -i 0.2 -q 10.99.0.2 >"$TMP/ping" ||
    fail "no ping across the delay line: $(cat "$TMP/ping")"
read -r min avg < <(sed -n 's|.* = \([0-9.]*\)/\([0-9.]*\)/.*|\1 \2|p' "$TMP/ping")
echo "ping RTT min $min avg $avg ms (25 ms each way, jitter 2 ms)"
awk -v m="$min" -v a="$avg" 'BEGIN { exit !(m >= 45 && a >= 48 && a < 75) }' ||
    fail "RTT min $min avg $avg ms, not 50 ms plus a little"

head -c $((32 * 1024 * 1024)) < <(openssl enc -aes-128-ctr -nosalt -pass pass:dl -pbkdf2 \
    </dev/zero 2>/dev/null) >"$TMP/file"
ip netns exec "$NS_B" python3 -m http.server --bind 10.99.0.2 --directory "$TMP" 8080 \
    >"$TMP/http.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do
    ip netns exec "$NS_A" curl -fsS -o /dev/null --max-time 2 http://10.99.0.2:8080/ 2>/dev/null &&
        break
    sleep 0.1
done
ip netns exec "$NS_A" curl -fsS --max-time 120 -o "$TMP/got" -w '%{speed_download}\n' \
    http://10.99.0.2:8080/file >"$TMP/speed" || fail "the download across the delay line failed"
[ "$(sha256sum <"$TMP/got")" = "$(sha256sum <"$TMP/file")" ] ||
    fail "the file crossed the delay line with another sha256"
echo "32 MiB over TCP: $(awk '{ printf "%.0f", $1 * 8 / 1e6 }' "$TMP/speed") Mbit/s (loaded machine)"
dl_stop
cat "$TMP/dl.out"
[ "$(counter 'b->a' bytes)" -gt $((32 * 1024 * 1024)) ] || fail "b->a carried less than the file"
[ "$(counter 'a->b' dropped)" = 0 ] && [ "$(counter 'b->a' dropped)" = 0 ] ||
    fail "frames dropped without --loss: $(cat "$TMP/dl.out")"

dl_start --delay 1 --loss 50 --seed 7
ip netns exec "$NS_A" ping -c 40 -i 0.02 -W 1 -q 10.99.0.2 >"$TMP/ping" 2>&1 || true
dl_stop
cat "$TMP/dl.out"
lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$TMP/ping")
awk -v l="$lost" 'BEGIN { exit !(l >= 40 && l < 100) }' || fail "50% loss each way: $lost% lost"
[ "$(counter 'a->b' dropped)" -gt 5 ] || fail "--loss dropped nothing: $(cat "$TMP/dl.out")"
echo "ok: delay line (RTT, whole TCP transfer, counters, loss, flags)"
