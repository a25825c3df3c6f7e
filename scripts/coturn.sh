# Helpers to run Debian's coturn (turnserver) on loopback for floe's tests and demos.
# Relayed port ranges are kept apart so tests can run in parallel: coturn 50000-54999,
# floe-relay 61000-61999 (relay_uclient), 62000-62999 (floe_turn_relay) and 64800-64999
# (turn_return).
# POSIX sh; source it. Nothing here kills by name: the caller stops coturn by the
# pid that floe_coturn_start leaves in COTURN_PID (floe_coturn_stop does it).

# A UDP port on 127.0.0.1 that no socket uses right now, in 20000..59999.
floe_free_udp_port() {
    _tries=0
    while [ "$_tries" -lt 200 ]; do
        _r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
        _p=$((20000 + _r % 40000))
        if [ -z "$(ss -Hanu "sport = :$_p")" ]; then
            echo "$_p"
            return 0
        fi
        _tries=$((_tries + 1))
    done
    echo "floe_free_udp_port: no free UDP port found" >&2
    return 1
}

# floe_coturn_start DIR PORT: start turnserver in the background, listening on
# UDP 127.0.0.1:PORT only, no config file, its files (log, pid, db) in DIR.
# Sets COTURN_PID. Fails loudly when turnserver is not installed.
floe_coturn_start() {
    if ! command -v turnserver >/dev/null 2>&1; then
        echo "turnserver not found: install Debian's coturn package ('make deps')" >&2
        return 1
    fi
    turnserver -n --listening-ip=127.0.0.1 --listening-port="$2" --relay-ip=127.0.0.1 \
        --no-tls --no-dtls --no-tcp --no-cli --no-auth --simple-log \
        --log-file="$1/coturn.log" --no-stdout-log --pidfile="$1/coturn.pid" \
        --userdb="$1/coturn.db" --min-port=50000 --max-port=54999 \
        >"$1/coturn.out" 2>&1 &
    COTURN_PID=$!
}

# floe_coturn_wait PORT DIR: wait (up to 10 s) until coturn's UDP socket is bound.
floe_coturn_wait() {
    _i=0
    while [ "$_i" -lt 100 ]; do
        if [ -n "$(ss -Hlnu "sport = :$1")" ]; then
            return 0
        fi
        if ! kill -0 "$COTURN_PID" 2>/dev/null; then
            echo "turnserver exited early; its output:" >&2
            cat "$2"/coturn.out "$2"/coturn.log* >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    echo "turnserver did not bind 127.0.0.1:$1 within 10 s" >&2
    return 1
}

# Stop the coturn started by floe_coturn_start (by its pid), waiting up to 5 s.
floe_coturn_stop() {
    if [ -z "${COTURN_PID:-}" ]; then
        return 0
    fi
    kill "$COTURN_PID" 2>/dev/null || true
    _i=0
    while kill -0 "$COTURN_PID" 2>/dev/null && [ "$_i" -lt 50 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    kill -9 "$COTURN_PID" 2>/dev/null || true
    wait "$COTURN_PID" 2>/dev/null || true
    COTURN_PID=""
}
