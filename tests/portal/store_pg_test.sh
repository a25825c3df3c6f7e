#!/usr/bin/env bash
# floe-portal's store on PostgreSQL: the store's test program (tests/unit/portal_store_test.c,
# which runs on SQLite as unit.portal_store_test) against a PostgreSQL server this script
# starts in a temporary directory (pg.sh) and stops by pid, on success and on failure.
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
# shellcheck source=pg.sh
. "$FLOE_SOURCE_DIR/tests/portal/pg.sh"

need_tool ss runuser
TEST_BIN="$FLOE_BIN_DIR/../tests/portal_store_test"
[ -x "$TEST_BIN" ] || fail "$TEST_BIN not built"

TMP=$(mktemp -d /tmp/floe-pgs.XXXXXX)
cleanup() {
    local rc=$?
    floe_pg_stop
    [ "$rc" -eq 0 ] || tail -n 20 "$TMP/pg/server.log" >&2 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that cleanup runs

floe_pg_start "$TMP" || fail "cannot start PostgreSQL"
URL=$(floe_pg_createdb floe_store_test) || fail "cannot create the database"
"$TEST_BIN" "$URL"
