# Two network namespaces joined by a veth, each with one WireGuard end (floe-wg or Debian's
# wireguard-go) configured by wg(8): the topology of the tunnel benchmarks and the demo.
# bash; source it, then call wgns_create, wgns_start and wgns_setup; wgns_cleanup (run it
# from an EXIT trap) stops what was started, by pid, and deletes the namespaces.
#   underlay: 10.77.0.1 (vA in $NS_A) <-> 10.77.0.2 (vB in $NS_B)
# The caller sets BIN (the build's bin directory) and TMP (a private directory).

WGNS_PIDS=()
WGNS_FLOE_PIDS=()

# wgns_create PREFIX: namespaces PREFIX-a-$$ and PREFIX-b-$$ (NS_A, NS_B), veth up, two keys.
wgns_create() {
    NS_A="$1-a-$$"
    NS_B="$1-b-$$"
    ip netns add "$NS_A"
    ip netns add "$NS_B"
    ip link add vA netns "$NS_A" type veth peer name vB netns "$NS_B"
    ip -n "$NS_A" addr add 10.77.0.1/24 dev vA
    ip -n "$NS_B" addr add 10.77.0.2/24 dev vB
    for ns in "$NS_A" "$NS_B"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_A" link set vA up
    ip -n "$NS_B" link set vB up
    (umask 077 && wg genkey >"$TMP/ka" && wg genkey >"$TMP/kb")
}

# wgns_start NS IFNAME IMPL [FLOE-WG-FLAGS...]: run IMPL (floe-wg, wireguard-go, or the path
# of another wireguard-go binary) in the foreground in NS; its log in $TMP/IFNAME.log.
# Waits for its configuration socket.
wgns_start() {
    local ns=$1 ifname=$2 impl=$3
    shift 3
    if [ "$impl" = floe-wg ]; then
        ip netns exec "$ns" "$BIN/floe-wg" --foreground --log-file "$TMP/$ifname.log" "$@" \
            "$ifname" &
        WGNS_FLOE_PIDS+=($!)
    else
        [ "$impl" = wireguard-go ] || [ -x "$impl" ] || { echo "no $impl" >&2; return 1; }
        ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 "$impl" "$ifname" \
            >"$TMP/$ifname.log" 2>&1 &
    fi
    WGNS_PIDS+=($!)
    for _ in $(seq 50); do
        [ -S "/var/run/wireguard/$ifname.sock" ] && return 0
        sleep 0.1
    done
    echo "$impl did not start in $ns" >&2
    return 1
}

# wgns_setup NS IFNAME KEY PEERKEY TUNIP PEERIP PORT PEERPORT PEERUNDERLAY: key, port, the
# peer with its /32 and endpoint, the tunnel address, link up.
wgns_setup() {
    ip netns exec "$1" wg set "$2" private-key "$3" listen-port "$7" \
        peer "$(wg pubkey <"$4")" allowed-ips "$6/32" endpoint "$9:$8"
    ip -n "$1" addr add "$5/24" dev "$2"
    ip -n "$1" link set "$2" up
}

# wgns_pair IF_A IF_B: wgns_setup both ends, tunnel 10.78.0.1 (A) <-> 10.78.0.2 (B).
wgns_pair() {
    wgns_setup "$NS_A" "$1" "$TMP/ka" "$TMP/kb" 10.78.0.1 10.78.0.2 51820 51821 10.77.0.2
    wgns_setup "$NS_B" "$2" "$TMP/kb" "$TMP/ka" 10.78.0.2 10.78.0.1 51821 51820 10.77.0.1
}

# wgns_stop: stop every process started so far (by pid), keep the namespaces.
wgns_stop() {
    local p
    for p in "${WGNS_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    WGNS_PIDS=()
    WGNS_FLOE_PIDS=()
}

wgns_cleanup() {
    wgns_stop
    [ -n "${NS_A:-}" ] && ip netns del "$NS_A" 2>/dev/null
    [ -n "${NS_B:-}" ] && ip netns del "$NS_B" 2>/dev/null
    return 0
}
