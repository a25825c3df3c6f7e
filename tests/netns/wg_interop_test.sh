#!/usr/bin/env bash
# floe-wg against wireguard-go (Debian's), both configured with wg(8), in two network
# namespaces joined by a veth: underlay 10.77.0.1 (floe-wg) and 10.77.0.2 (wireguard-go),
# tunnel 10.78.0.1 and 10.78.0.2. Handshakes initiated from each side, without and with a
# preshared key (and a mismatched one refused); pings both ways; 100 MB over TCP each way
# with matching sha256 while the peer's endpoint moves mid-transfer (set with `wg set` one
# way, roamed by the peer changing its source address the other way); 100 MB each way over
# IPv6 inside the tunnel; `wg show` counters; crypto lanes and receive offload at work.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"

need_tool ip wg wireguard-go socat sha256sum ping ss nft jq
need_bin floe-wg

TMP=$(mktemp -d)
NS_A="floe-wgi-a-$$"
NS_B="floe-wgi-b-$$"
IF_A="fwa$$"
IF_B="gwb$$"
PID_A=""
PID_B=""
XFER_PIDS=()

cleanup() {
    local rc=$? p
    for p in "${XFER_PIDS[@]}"; do stop_pid "$p"; done
    stop_pid "$PID_A"
    stop_pid "$PID_B"
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        echo "--- floe-wg log" >&2
        tail -n 30 "$TMP/floe.log" >&2 || true
        echo "--- wireguard-go log" >&2
        tail -n 30 "$TMP/wggo.log" >&2 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }

# ----------------------------------------------------------------- topology
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add vA netns "$NS_A" type veth peer name vB netns "$NS_B"
ip -n "$NS_A" addr add 10.77.0.1/24 dev vA
ip -n "$NS_B" addr add 10.77.0.2/24 dev vB
ip -n "$NS_B" addr add 10.77.0.3/24 dev vB
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set vA up
ip -n "$NS_B" link set vB up

# ------------------------------------------------------------ the two ends
# Started by `ip netns exec` itself (not through A/B, which would fork a subshell), so that
# $! is the daemon's own pid: ip netns exec execs the program.
# Three crypto lanes (the loop and two workers), whatever the machine's CPU count.
ip netns exec "$NS_A" "$FLOE_BIN_DIR/floe-wg" --foreground --log-level debug --threads 3 \
    --log-file "$TMP/floe.log" "$IF_A" &
PID_A=$!
ip netns exec "$NS_B" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose wireguard-go "$IF_B" \
    >"$TMP/wggo.log" 2>&1 &
PID_B=$!
for i in $(seq 50); do
    [ -S "/var/run/wireguard/$IF_A.sock" ] && [ -S "/var/run/wireguard/$IF_B.sock" ] && break
    kill -0 "$PID_A" 2>/dev/null || fail "floe-wg exited at start"
    kill -0 "$PID_B" 2>/dev/null || fail "wireguard-go exited at start"
    sleep 0.1
done
[ -S "/var/run/wireguard/$IF_A.sock" ] || fail "floe-wg made no UAPI socket"
grep -q '3 crypto lanes' "$TMP/floe.log" || fail "floe-wg did not start 3 crypto lanes"

umask 077
wg genkey >"$TMP/key_a"
wg genkey >"$TMP/key_b"
wg genpsk >"$TMP/psk"
wg genpsk >"$TMP/psk_other"
PUB_A=$(wg pubkey <"$TMP/key_a")
PUB_B=$(wg pubkey <"$TMP/key_b")
A wg set "$IF_A" private-key "$TMP/key_a" listen-port 51820
B wg set "$IF_B" private-key "$TMP/key_b" listen-port 51821
[ "$(A wg show "$IF_A" public-key)" = "$PUB_A" ] || fail "floe-wg reports another public key"
[ "$(A wg show "$IF_A" listen-port)" = 51820 ] || fail "floe-wg is not on port 51820"
ip -n "$NS_A" addr add 10.78.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 10.78.0.2/24 dev "$IF_B"
ip -n "$NS_A" -6 addr add fd78::1/64 dev "$IF_A" nodad
ip -n "$NS_B" -6 addr add fd78::2/64 dev "$IF_B" nodad
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up

# peers PSK_A PSK_B: (re)create the peer on each side, so the next packet starts a handshake.
peers() {
    A wg set "$IF_A" peer "$PUB_B" remove
    B wg set "$IF_B" peer "$PUB_A" remove
    A wg set "$IF_A" peer "$PUB_B" preshared-key "$1" allowed-ips 10.78.0.2/32,fd78::2/128 \
        endpoint 10.77.0.2:51821
    B wg set "$IF_B" peer "$PUB_A" preshared-key "$2" allowed-ips 10.78.0.1/32,fd78::1/128 \
        endpoint 10.77.0.1:51820
}

# handshake WHO PSK: fresh peers, WHO (a or b) pings first: it initiates; the other side's
# wireguard-go log shows which way the initiation went.
handshake() {
    local who=$1 psk=$2 sent recv
    peers "$psk" "$psk"
    sent=$(grep -c "Sending handshake initiation" "$TMP/wggo.log" || true)
    recv=$(grep -c "Received handshake initiation" "$TMP/wggo.log" || true)
    if [ "$who" = a ]; then
        A ping -c 2 -i 0.2 -W 3 10.78.0.2 >/dev/null || fail "ping floe-wg -> wireguard-go ($psk)"
        B ping -c 2 -i 0.2 -W 3 10.78.0.1 >/dev/null || fail "ping wireguard-go -> floe-wg ($psk)"
        [ "$(grep -c "Received handshake initiation" "$TMP/wggo.log")" -gt "$recv" ] ||
            fail "wireguard-go received no initiation from floe-wg ($psk)"
    else
        B ping -c 2 -i 0.2 -W 3 10.78.0.1 >/dev/null || fail "ping wireguard-go -> floe-wg ($psk)"
        A ping -c 2 -i 0.2 -W 3 10.78.0.2 >/dev/null || fail "ping floe-wg -> wireguard-go ($psk)"
        [ "$(grep -c "Sending handshake initiation" "$TMP/wggo.log")" -gt "$sent" ] ||
            fail "wireguard-go sent no initiation to floe-wg ($psk)"
    fi
    [ "$(A wg show "$IF_A" latest-handshakes | cut -f2)" -gt 0 ] ||
        fail "floe-wg reports no handshake ($psk)"
    echo "ok: handshake initiated by $who, psk $(basename "$psk"), pings both ways"
}

handshake a /dev/null
handshake b /dev/null
handshake b "$TMP/psk"

# Mismatched preshared keys: no session, so no ping gets through.
peers "$TMP/psk" "$TMP/psk_other"
if A ping -c 1 -W 2 10.78.0.2 >/dev/null; then
    fail "a ping got through with mismatched preshared keys"
fi
[ "$(A wg show "$IF_A" latest-handshakes | cut -f2)" = 0 ] ||
    fail "a handshake completed with mismatched preshared keys"
echo "ok: mismatched preshared keys refused"

handshake a "$TMP/psk"

# ---------------------------------------------------------------- transfers
head -c $((100 * 1024 * 1024)) /dev/urandom >"$TMP/data"
WANT=$(sha256sum <"$TMP/data" | cut -d' ' -f1)
HALF=$((50 * 1024 * 1024))

# transfer FROM_NS TO_NS TO_IP NAME ROAM...: send data with a pause after the first half,
# run ROAM during the pause, then check the received file's sha256. TO_IP in brackets: IPv6.
transfer() {
    local from=$1 to=$2 ip=$3 name=$4 rpid spid i tcp=TCP
    shift 4
    [ "${ip:0:1}" = "[" ] && tcp=TCP6
    ip netns exec "$to" socat -u "$tcp-LISTEN:5001,bind=$ip,reuseaddr" "CREATE:$TMP/$name" \
        </dev/null &
    rpid=$!
    XFER_PIDS+=("$rpid")
    for i in $(seq 50); do
        [ -n "$(ip netns exec "$to" ss -Hltn "sport = :5001")" ] && break
        sleep 0.1
    done
    (head -c "$HALF" "$TMP/data"; sleep 2; tail -c +$((HALF + 1)) "$TMP/data") |
        ip netns exec "$from" socat -u - "$tcp:$ip:5001" &
    spid=$!
    XFER_PIDS+=("$spid")
    for i in $(seq 100); do
        [ "$(stat -c %s "$TMP/$name" 2>/dev/null || echo 0)" -ge "$HALF" ] && break
        sleep 0.1
    done
    [ "$(stat -c %s "$TMP/$name")" -ge "$HALF" ] || fail "$name: first half did not arrive"
    "$@"
    for i in $(seq 300); do
        kill -0 "$rpid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$rpid" 2>/dev/null && fail "$name: transfer did not finish within 30 s"
    wait "$spid" || fail "$name: sender failed"
    wait "$rpid" || fail "$name: receiver failed"
    [ "$(sha256sum <"$TMP/$name" | cut -d' ' -f1)" = "$WANT" ] || fail "$name: sha256 differs"
    rm -f "$TMP/$name"
    echo "ok: 100 MB $name, sha256 matches"
}

# floe-wg -> wireguard-go; mid-transfer floe-wg is told the peer's other address.
transfer "$NS_A" "$NS_B" 10.78.0.2 a-to-b A wg set "$IF_A" peer "$PUB_B" endpoint 10.77.0.3:51821
[ "$(A wg show "$IF_A" endpoints | cut -f2)" = 10.77.0.3:51821 ] ||
    fail "floe-wg endpoint is $(A wg show "$IF_A" endpoints | cut -f2), not 10.77.0.3:51821"

# wireguard-go -> floe-wg; mid-transfer the peer's datagrams start coming from its other
# address (rewritten statelessly on the way out, as a NAT rebinding would): floe-wg must
# follow it (roaming) for its ACKs to arrive.
roam_b() {
    B nft add table ip floe_roam
    B nft add chain ip floe_roam post '{ type filter hook postrouting priority 0; }'
    B nft add rule ip floe_roam post ip saddr 10.77.0.3 udp sport 51821 ip saddr set 10.77.0.2
}
transfer "$NS_B" "$NS_A" 10.78.0.1 b-to-a roam_b
[ "$(A wg show "$IF_A" endpoints | cut -f2)" = 10.77.0.2:51821 ] ||
    fail "floe-wg did not follow the peer to 10.77.0.2:51821"
grep -q '"message":"endpoint changed"' "$TMP/floe.log" || fail "floe-wg logged no roam"
echo "ok: endpoint moved by wg set, then by roaming"

# Over IPv6 inside the tunnel: TCPv6 segmentation on the way out, coalescing on the way in.
transfer "$NS_A" "$NS_B" "[fd78::2]" a-to-b-ipv6 true
transfer "$NS_B" "$NS_A" "[fd78::1]" b-to-a-ipv6 true

# ------------------------------------------------------------------ wg show
read -r _ RX TX <<<"$(A wg show "$IF_A" transfer)"
[ "$RX" -gt $((200 * 1024 * 1024)) ] || fail "floe-wg rx_bytes $RX below 200 MiB"
[ "$TX" -gt $((200 * 1024 * 1024)) ] || fail "floe-wg tx_bytes $TX below 200 MiB"
LAST=$(A wg show "$IF_A" latest-handshakes | cut -f2)
NOW=$(date +%s)
[ "$LAST" -gt $((NOW - 200)) ] && [ "$LAST" -le $((NOW + 1)) ] ||
    fail "floe-wg latest handshake $LAST is not recent (now $NOW)"
A wg show "$IF_A" | grep -q "latest handshake:" || fail "wg show lacks the latest handshake"
echo "ok: wg show: rx $RX, tx $TX bytes, latest handshake $((NOW - LAST)) s ago"

# SIGTERM removes the socket and the interface.
stop_pid "$PID_A"
PID_A=""
[ ! -e "/var/run/wireguard/$IF_A.sock" ] || fail "floe-wg left its socket"
# The exit stats: every lane encrypted or decrypted some of the 200 MB.
LANES=$(jq -r 'select(.message == "stats") | .crypto_items' "$TMP/floe.log" | tail -1)
IFS=/ read -r L0 L1 L2 <<<"$LANES"
[ "${L0:-0}" -gt 0 ] && [ "${L1:-0}" -gt 0 ] && [ "${L2:-0}" -gt 0 ] ||
    fail "crypto work per lane '$LANES': a lane did nothing"
echo "ok: packets per crypto lane $LANES"
# Receive offload: the 100 MB from wireguard-go reached TUN as coalesced TCP packets.
read -r GW GS <<<"$(jq -r 'select(.message == "stats") | "\(.gro_writes) \(.gro_segs)"' \
    "$TMP/floe.log" | tail -1)"
[ "${GW:-0}" -gt 0 ] && [ "${GS:-0}" -gt "${GW:-0}" ] ||
    fail "no coalesced TUN writes (gro_writes '$GW', gro_segs '$GS')"
echo "ok: $GS segments written to TUN in $GW coalesced packets"
TE=$(jq -r 'select(.message == "stats") | .tun_errors' "$TMP/floe.log" | tail -1)
[ "$TE" = 0 ] || fail "TUN refused $TE writes"
ip -n "$NS_A" link show "$IF_A" >/dev/null 2>&1 && fail "floe-wg left its interface"
echo "PASS"
