# Helpers of the floe-portal tests (bash), on top of tests/interop/lib.sh. Source after
# `set -euo pipefail` with TMP set to the test's temporary directory. Every process started
# here is recorded in $TMP/pids and stopped by that pid (portal_cleanup, from the trap).
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
PORTAL=$FLOE_BIN_DIR/floe-portal
DRIVER=$FLOE_BIN_DIR/portal_driver

# free_port tcp|udp: a port nothing listens on now (the kernel's pick for port 0).
free_port() {
    python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

# admin ARGS...: floe-portal admin on $DB; its stdout (the new id) is printed.
admin() {
    "$PORTAL" admin --database "$DB" "$@"
}

# start_portal NAME PORT ARGS...: start floe-portal in the background (log $TMP/NAME.log,
# pid in $TMP/NAME.pid) and wait until /healthz answers.
start_portal() {
    local name=$1 port=$2 i=0
    shift 2
    "$PORTAL" --listen "127.0.0.1:$port" --database "$DB" --log-file "$TMP/$name.log" \
        --log-level debug "$@" >/dev/null 2>>"$TMP/$name.err" &
    echo $! >"$TMP/$name.pid"
    echo $! >>"$TMP/pids"
    while ! curl -fsS "${PORTAL_SCHEME:-http}://127.0.0.1:$port/healthz" \
        ${PORTAL_CURL_OPTS:-} >"$TMP/healthz" 2>/dev/null; do
        [ "$i" -lt 100 ] || fail "floe-portal $name did not answer /healthz within 10 s: $(cat "$TMP/$name.err")"
        kill -0 "$(cat "$TMP/$name.pid")" 2>/dev/null || fail "floe-portal $name exited: $(cat "$TMP/$name.err")"
        sleep 0.1
        i=$((i + 1))
    done
}

# portal_pid NAME: the pid start_portal recorded.
portal_pid() {
    cat "$TMP/$1.pid"
}

# start_relay PORT SECRET [IP [NAME]]: a floe-relay on IP:PORT (default 127.0.0.1; IPv6
# without brackets), pid in $TMP/NAME.pid (default relay).
start_relay() {
    local ip=${3:-127.0.0.1} name=${4:-relay} listen relayed
    listen="$ip:$1"
    relayed=(--relay-ip "$ip")
    [[ $ip == *:* ]] && listen="[$ip]:$1" && relayed=(--relay-ip6 "$ip")
    printf '%s\n' "$2" >"$TMP/$name-secret"
    "$FLOE_BIN_DIR/floe-relay" --listen "$listen" "${relayed[@]}" \
        --auth-secret-file "$TMP/$name-secret" \
        --threads 1 --io epoll --log-level warn >/dev/null 2>>"$TMP/$name.err" &
    echo $! >"$TMP/$name.pid"
    echo $! >>"$TMP/pids"
    wait_udp "$1" "$(cat "$TMP/$name.pid")"
}

# portal_cleanup_pids: stop everything recorded in $TMP/pids (by pid).
portal_cleanup_pids() {
    local pid
    if [ -f "$TMP/pids" ]; then
        while read -r pid; do
            kill "$pid" 2>/dev/null || true
        done <"$TMP/pids"
        while read -r pid; do
            stop_pid "$pid"
        done <"$TMP/pids"
    fi
}

# portal_cleanup: portal_cleanup_pids, then remove $TMP.
portal_cleanup() {
    portal_cleanup_pids
    rm -rf "$TMP"
}

# portal_sqlite_begin SECRET: the start of a test of one floe-portal on SQLite: the traps
# (portal_cleanup on exit), floe-portal, curl and python3 needed, DB=sqlite:$TMP/portal.db
# with setup_model (a free relay port, relay secret SECRET).
portal_sqlite_begin() {
    trap 'exit 130' INT TERM # so that the EXIT trap's cleanup runs
    trap portal_cleanup EXIT
    need_bin floe-portal
    need_tool curl python3
    DB=sqlite:$TMP/portal.db
    setup_model "$(free_port udp)" "$1"
}

# portal_pg_cleanup: portal_cleanup_pids, floe_pg_stop (pg.sh), then remove $TMP.
portal_pg_cleanup() {
    portal_cleanup_pids
    floe_pg_stop
    rm -rf "$TMP"
}

# portal_pg_begin DBNAME SECRET: the start of a test of floe-portal on PostgreSQL (source pg.sh
# first): the traps (portal_pg_cleanup on exit), the tools, a PostgreSQL server in $TMP with
# the database DBNAME (its URL in DB), setup_model (a free relay port, relay secret SECRET).
portal_pg_begin() {
    trap 'exit 130' INT TERM # so that the EXIT trap's cleanup runs
    trap portal_pg_cleanup EXIT
    need_bin floe-portal portal_driver
    need_tool curl python3 ss runuser
    floe_pg_start "$TMP" || fail "cannot start PostgreSQL"
    DB=$(floe_pg_createdb "$1") || fail "cannot create the database"
    setup_model "$(free_port udp)" "$2"
}

# setup_model: one site, a gateway token, a user with a client token, a resource the user may
# reach (through a group and a policy) and one it may not, a relay. Sets SITE GW_TOKEN USER
# CLIENT_TOKEN RESOURCE OTHER_RESOURCE GROUP POLICY RELAY (ids and tokens).
setup_model() {
    local relay_port=$1 secret=$2
    SITE=$(admin sites add hq)
    admin gateway-tokens add --site "$SITE" >"$TMP/gwtok"
    GW_TOKEN=$(sed -n 2p "$TMP/gwtok")
    USER_ID=$(admin users add alice)
    admin client-tokens add --user "$USER_ID" >"$TMP/cltok"
    CLIENT_TOKEN=$(sed -n 2p "$TMP/cltok")
    RESOURCE=$(admin resources add --site "$SITE" --name db --address 10.20.0.0/16 \
        --filter tcp:5432)
    OTHER_RESOURCE=$(admin resources add --site "$SITE" --name secret --address 10.99.0.0/24)
    GROUP=$(admin groups add eng)
    admin groups add-member --group "$GROUP" --user "$USER_ID" >/dev/null
    POLICY=$(admin policies add --group "$GROUP" --resource "$RESOURCE")
    RELAY=$(admin relays add --address "127.0.0.1:$relay_port" --secret "$secret")
    [ -n "$GW_TOKEN" ] && [ -n "$CLIENT_TOKEN" ] && [ -n "$RELAY" ] || fail "admin setup failed"
}

# write_wait_metric: $TMP/wait-metric.sh PORT NAME VALUE [SECONDS], a command for the driver's
# `run` step: waits until floe_portal_NAME is VALUE at /metrics of the portal on PORT (default
# 10 s), exits 1 if it is not by then.
# write_ids_sqlite: $TMP/ids.sh prints the client's and the gateway's device ids from the
# SQLite store at $TMP/portal.db (the driver's `ids` step; it learns them from an
# authorization otherwise).
write_ids_sqlite() {
    cat >"$TMP/ids.sh" <<EOS
#!/bin/bash
sqlite3 -separator ' ' "$TMP/portal.db" \
    "SELECT (SELECT id FROM devices WHERE kind = 1), (SELECT id FROM devices WHERE kind = 2)"
EOS
    chmod +x "$TMP/ids.sh"
}

write_wait_metric() {
    cat >"$TMP/wait-metric.sh" <<'EOS'
#!/bin/bash
set -u
end=$((SECONDS + ${4:-10}))
while [ "$SECONDS" -lt "$end" ]; do
    if curl -fsS ${PORTAL_CURL_OPTS:-} "${PORTAL_SCHEME:-http}://127.0.0.1:$1/metrics" \
        >"$0.$1.out" 2>/dev/null && grep -qx "floe_portal_$2 $3" "$0.$1.out"; then
        exit 0
    fi
    sleep 0.1
done
echo "floe_portal_$2 is not $3 at port $1 after ${4:-10} s" >&2
exit 1
EOS
    chmod +x "$TMP/wait-metric.sh"
}
