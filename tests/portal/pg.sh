# A throwaway PostgreSQL server for floe-portal's tests (bash; source it after lib.sh).
#   floe_pg_start DIR   initdb and pg_ctl start in DIR/pg (as the postgres user when root), on
#                       a free loopback port with its unix socket in DIR/pg. Sets PG_PID (the
#                       postmaster's pid), PG_PORT, PG_HOST (the socket directory).
#   floe_pg_createdb NAME   a database; prints its URL for --database.
#   floe_pg_stop        SIGINT (fast shutdown) to PG_PID, SIGKILL after 10 s; call it from the
#                       test's trap. Nothing is killed by name.
# A missing PostgreSQL fails loudly (never a skip): 'make deps' installs Debian's postgresql.

PG_PID=""
PG_PORT=""
PG_HOST=""
PG_BIN=""

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/N/bin).
floe_pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    else
        echo "PostgreSQL server (initdb, pg_ctl) not installed: run 'make deps'" >&2
        return 1
    fi
}

# Run a server command as the postgres user when we are root (initdb refuses root).
floe_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A TCP port on loopback that nothing listens on, in 20000..59999.
floe_pg_free_port() {
    local i p
    for i in $(seq 200); do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
        if [ -z "$(ss -Hant "sport = :$p")" ] && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
            echo "$p"
            return 0
        fi
    done
    echo "floe_pg_free_port: no free port" >&2
    return 1
}

floe_pg_start() {
    local dir=$1/pg i
    PG_BIN=$(floe_pg_bin) || return 1
    mkdir -p "$dir"
    chmod 755 "$1"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    chmod 700 "$dir"
    floe_pg_as "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    PG_PORT=$(floe_pg_free_port) || return 1
    PG_HOST=$dir
    floe_pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start \
        >"$dir/pg_ctl.log" 2>&1 || { cat "$dir/pg_ctl.log" "$dir/server.log" >&2; return 1; }
    PG_PID=$(head -n 1 "$dir/data/postmaster.pid")
    for i in $(seq 100); do
        "$PG_BIN/pg_isready" -q -h "$dir" -p "$PG_PORT" && return 0
        sleep 0.1
    done
    echo "PostgreSQL did not accept connections: $(tail -n 5 "$dir/server.log")" >&2
    return 1
}

floe_pg_createdb() {
    floe_pg_as "$PG_BIN/createdb" -h "$PG_HOST" -p "$PG_PORT" -U postgres "$1" >&2 || return 1
    echo "postgresql://postgres@/$1?host=$PG_HOST&port=$PG_PORT"
}

floe_pg_stop() {
    local i
    [ -n "$PG_PID" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null || true
    for i in $(seq 100); do
        kill -0 "$PG_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$PG_PID" 2>/dev/null || true
    PG_PID=""
}
