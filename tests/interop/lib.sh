# Shared helpers of floe's shell tests (bash). Source it after `set -euo pipefail`:
#   . "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
# It checks FLOE_BIN_DIR and FLOE_SOURCE_DIR and sources scripts/coturn.sh. Nothing
# here kills by name: processes are stopped by the pid their starter recorded.

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

: "${FLOE_BIN_DIR:?FLOE_BIN_DIR must point at the build bin directory}"
: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
# shellcheck source=../../scripts/coturn.sh
. "$FLOE_SOURCE_DIR/scripts/coturn.sh"

# need_tool TOOL...: fail loudly (never skip) when a tool is not installed.
need_tool() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || fail "$tool not installed (run 'make deps')"
    done
}

# need_bin NAME...: fail when a floe program is not built.
need_bin() {
    local bin
    for bin in "$@"; do
        [ -x "$FLOE_BIN_DIR/$bin" ] || fail "$FLOE_BIN_DIR/$bin not built"
    done
}

# wait_exit PID WHAT: wait up to 5 s for PID (not our child) to exit; fail with WHAT if not.
wait_exit() {
    local _
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    fail "$2"
}

# wait_udp PORT [PID]: wait up to 10 s until something binds UDP PORT (and PID lives).
wait_udp() {
    local i=0
    while [ -z "$(ss -Hlnu "sport = :$1")" ]; do
        [ "$i" -lt 100 ] || fail "nothing bound UDP port $1 within 10 s"
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
            fail "process $2 exited before binding UDP port $1"
        fi
        sleep 0.1
        i=$((i + 1))
    done
}

# stop_pid PID: SIGTERM, up to 5 s of grace, then SIGKILL; reaps it.
stop_pid() {
    local pid=$1 i=0
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# expect_exit CODE CMD...: run CMD, its stdout in $TMP/out and stderr in $TMP/err.
expect_exit() {
    local want=$1 rc=0
    shift
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        cat "$TMP/out" "$TMP/err" >&2
        fail "exit $rc, expected $want: $*"
    fi
}

# expect_stderr TEXT: the last command's stderr is one line containing TEXT.
expect_stderr() {
    grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$TMP/err")"
}

# veth_link NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth between two namespaces, both ends up, with
# ADDR_A (prefix included) on IF_A and ADDR_B on IF_B (an empty ADDR leaves that end without
# an address).
veth_link() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    [ -z "$3" ] || ip -n "$1" addr add "$3" dev "$2"
    [ -z "$6" ] || ip -n "$4" addr add "$6" dev "$5"
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
}
