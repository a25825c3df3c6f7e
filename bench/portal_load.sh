#!/usr/bin/env bash
# floe-portal under load (issue 12): bench/portal_load.c against one floe-portal on SQLite, then
# against two instances sharing a PostgreSQL (devices split across them, messages crossing
# through LISTEN/NOTIFY). Everything runs on loopback in a temporary directory; every process
# started here is stopped by its pid, on failure too.
#   bench/portal_load.sh BUILD [ARGS...]   ARGS go to portal_load (e.g. --devices 200 --seconds 3)
#   PORTAL_LOAD_ENGINES="sqlite pg"        which runs (default both)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
PORTAL=$build/bin/floe-portal
LOAD=$build/bench/portal_load
[ -x "$PORTAL" ] && [ -x "$LOAD" ] || { echo "portal_load.sh: build $build first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/floe-portal-load.XXXXXX)
PIDS=()
# shellcheck source=../tests/portal/pg.sh
. "$root/tests/portal/pg.sh"

cleanup() {
    local pid i
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    PIDS=()
    floe_pg_stop
    rm -rf "$TMP"
}
trap cleanup EXIT

# The open-files limit for a program holding thousands of sockets: as root raised to 1048576,
# otherwise to the hard limit (10,000 devices need about 10,100 in portal_load and in the portal).
nofile() {
    if ulimit -Hn 1048576 2>/dev/null; then
        ulimit -n 1048576
    else
        ulimit -n "$(ulimit -Hn)"
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

admin() {
    "$PORTAL" admin --database "$DB" "$@"
}

# One site with a gateway token, a user with a client token, a resource the user may reach.
setup_model() {
    local site user group
    site=$(admin sites add load-site)
    GW_TOKEN=$(admin gateway-tokens add --site "$site" | sed -n 2p)
    user=$(admin users add load-user)
    CLIENT_TOKEN=$(admin client-tokens add --user "$user" | sed -n 2p)
    RESOURCE=$(admin resources add --site "$site" --name load --address 10.77.0.0/16)
    group=$(admin groups add load-group)
    admin groups add-member --group "$group" --user "$user" >/dev/null
    admin policies add --group "$group" --resource "$RESOURCE" >/dev/null
    [ -n "$GW_TOKEN" ] && [ -n "$CLIENT_TOKEN" ] && [ -n "$RESOURCE" ] || {
        echo "portal_load.sh: admin setup failed" >&2
        exit 1
    }
}

# start_portal NAME PORT ARGS...: sets LAST_PID once /healthz answers.
start_portal() {
    local name=$1 port=$2 i
    shift 2
    (nofile && exec "$PORTAL" --listen "127.0.0.1:$port" --database "$DB" --insecure \
        --token-rate 0 --addr-rate 0 --max-connections 1000000 --log-level warn \
        --log-file "$TMP/$name.log" "$@") >/dev/null 2>"$TMP/$name.err" &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    for i in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$LAST_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "portal_load.sh: floe-portal $name did not start: $(cat "$TMP/$name.err")" >&2
    exit 1
}

run_sqlite() {
    local port
    echo "--- SQLite, one instance"
    DB="sqlite:$TMP/portal.db"
    setup_model
    port=$(free_port)
    start_portal sqlite "$port" --instance load_a
    (nofile && exec "$LOAD" --portal "127.0.0.1:$port" --pid "$LAST_PID" \
        --client-token "$CLIENT_TOKEN" --gateway-token "$GW_TOKEN" --resource "$RESOURCE" "$@")
    cleanup_portals
}

run_pg() {
    local pa pb pid_a
    echo "--- PostgreSQL, two instances"
    floe_pg_start "$TMP"
    DB=$(floe_pg_createdb portal_load)
    setup_model
    pa=$(free_port)
    start_portal pg_a "$pa" --instance load_a
    pid_a=$LAST_PID
    pb=$(free_port)
    start_portal pg_b "$pb" --instance load_b
    (nofile && exec "$LOAD" --portal "127.0.0.1:$pa" --portal "127.0.0.1:$pb" \
        --pid "$pid_a" --pid "$LAST_PID" --client-token "$CLIENT_TOKEN" \
        --gateway-token "$GW_TOKEN" --resource "$RESOURCE" "$@")
    cleanup_portals
}

cleanup_portals() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

for engine in ${PORTAL_LOAD_ENGINES:-sqlite pg}; do
    case $engine in
    sqlite) run_sqlite "$@" ;;
    pg) run_pg "$@" ;;
    *) echo "portal_load.sh: unknown engine $engine (sqlite, pg)" >&2; exit 2 ;;
    esac
done
