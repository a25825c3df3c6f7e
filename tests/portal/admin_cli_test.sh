#!/usr/bin/env bash
# floe-portal admin end to end, on SQLite and on a PostgreSQL this script starts (pg.sh):
# --help at every level; the README's quick setup (ids alone on stdout, a token on the next
# line); groups, policies, relays; listings as tables and as JSON read with jq (a relay's
# secret never listed); bad input refused with one line on stderr and exit 2, a database
# that cannot be opened exit 1; tokens stored hashed (the plain token is not in the database
# files, its SHA-256 is).
set -euo pipefail
# shellcheck source=../interop/lib.sh
. "$FLOE_SOURCE_DIR/tests/interop/lib.sh"
# shellcheck source=pg.sh
. "$FLOE_SOURCE_DIR/tests/portal/pg.sh"

need_tool jq ss runuser sha256sum
need_bin floe-portal
P="$FLOE_BIN_DIR/floe-portal"
TMP=$(mktemp -d /tmp/floe-adm.XXXXXX)
cleanup() {
    local rc=$?
    floe_pg_stop
    rm -rf "$TMP"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that cleanup runs

# adm ARGS...: floe-portal admin on the database under test, expected to succeed.
adm() {
    "$P" admin --database "$DB" "$@" >"$TMP/out" 2>"$TMP/err" ||
        fail "admin $* failed: $(cat "$TMP/err")"
    [ ! -s "$TMP/err" ] || fail "admin $* wrote to stderr: $(cat "$TMP/err")"
}

# bad CODE ARGS...: the command fails with CODE, says why in one line, prints nothing.
bad() {
    local want=$1
    shift
    expect_exit "$want" "$P" admin --database "$DB" "$@"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "admin $*: stderr not one line: $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "admin $*: printed $(cat "$TMP/out")"
}

# An id alone on the first line of stdout (and nothing else unless a token follows).
id_line() {
    local id
    id=$(sed -n 1p "$TMP/out")
    [[ "$id" =~ ^[1-9][0-9]*$ ]] || fail "not an id on stdout: '$(cat "$TMP/out")'"
    echo "$id"
}

# A token "ID.HEX" on the second line of stdout.
token_line() {
    local t
    t=$(sed -n 2p "$TMP/out")
    [[ "$t" =~ ^[1-9][0-9]*\.[0-9a-f]{64}$ ]] || fail "not a token: '$t'"
    [ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "more than id and token on stdout"
    echo "$t"
}

# The SHA-256 hex of a token's secret part (what the store keeps).
token_hash() {
    local hex=${1#*.}
    # shellcheck disable=SC2059
    printf "$(echo "$hex" | sed 's/../\\x&/g')" | sha256sum | cut -d' ' -f1
}

check_help() {
    local e
    "$P" --help >"$TMP/out" || fail "floe-portal --help failed"
    grep -q "admin" "$TMP/out" || fail "floe-portal --help does not mention admin"
    "$P" admin --help >"$TMP/out" || fail "admin --help failed"
    for e in sites gateway-tokens users client-tokens resources groups policies relays devices \
        authorizations; do
        grep -q "^  $e " "$TMP/out" || fail "admin --help does not list $e"
        "$P" admin "$e" --help >"$TMP/out2" || fail "admin $e --help failed"
        grep -q "^usage: floe-portal admin $e" "$TMP/out2" || fail "admin $e --help: no usage"
    done
    "$P" admin resources add --help >"$TMP/out" || fail "admin resources add --help failed"
    grep -q -- "--filter" "$TMP/out" || fail "resources add --help does not explain --filter"
    expect_exit 2 "$P" admin
    expect_exit 2 "$P" admin sites
}

# The README's quick setup and the rest of the entities; sets TOKEN_GW and TOKEN_CLIENT.
setup_and_list() {
    local site res user group policy relay
    adm sites add HQ
    site=$(id_line)
    adm gateway-tokens add --site "$site"
    id_line >/dev/null
    TOKEN_GW=$(token_line)
    adm resources add --site "$site" --name intranet --address 10.1.2.3/16 \
        --filter tcp:80-443 --filter udp:53 --filter icmp
    res=$(id_line)
    adm users add alice
    user=$(id_line)
    adm client-tokens add --user "$user"
    TOKEN_CLIENT=$(token_line)
    adm groups add engineering
    group=$(id_line)
    adm groups add-member --group "$group" --user "$user"
    [ ! -s "$TMP/out" ] || fail "add-member printed something"
    adm policies add --group "$group" --resource "$res"
    policy=$(id_line)
    adm relays add --address 127.0.0.1:3478 --secret topsecret
    relay=$(id_line)
    [ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "relays add with --secret printed more than the id"
    adm relays add --address relay.example.com:3478
    id_line >/dev/null
    [ -n "$(sed -n 2p "$TMP/out")" ] || fail "relays add without --secret did not print one"
    printf 'fromafile\n' >"$TMP/secret"
    adm relays add --address 127.0.0.2:3478 --secret-file "$TMP/secret"
    id_line >/dev/null
    [ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "relays add --secret-file printed more than the id"

    adm --json sites list
    [ "$(jq -r '.[0].name' "$TMP/out")" = HQ ] || fail "sites list: $(cat "$TMP/out")"
    [ "$(jq -r '.[0].id' "$TMP/out")" = "$site" ] || fail "sites list id"
    [ "$(jq -r '.[0].resources' "$TMP/out")" = 1 ] || fail "sites list resources count"
    adm resources list --json
    [ "$(jq -r '.[0].address' "$TMP/out")" = 10.1.0.0/16 ] || fail "CIDR not normalised"
    [ "$(jq -r '.[0].filters' "$TMP/out")" = "tcp:80-443,udp:53,icmp" ] || fail "filters"
    adm --json groups members
    [ "$(jq -r '.[0].user_name' "$TMP/out")" = alice ] || fail "members: $(cat "$TMP/out")"
    adm --json policies list
    [ "$(jq -r '.[0].resource_name' "$TMP/out")" = intranet ] || fail "policies list"
    adm --json relays list
    [ "$(jq length "$TMP/out")" = 3 ] || fail "relays list"
    ! grep -q topsecret "$TMP/out" || fail "relays list shows a secret"
    [ "$(jq -r '.[0] | has("secret")' "$TMP/out")" = false ] || fail "relays list has secret"
    for e in gateway-tokens client-tokens users; do
        adm --json "$e" list
        [ "$(jq length "$TMP/out")" = 1 ] || fail "$e list: $(cat "$TMP/out")"
        ! grep -q "${TOKEN_GW#*.}\|${TOKEN_CLIENT#*.}" "$TMP/out" || fail "$e list shows a token"
    done
    adm --json devices
    [ "$(jq length "$TMP/out")" = 0 ] || fail "devices online: $(cat "$TMP/out")"
    adm --json authorizations
    [ "$(jq length "$TMP/out")" = 0 ] || fail "authorizations: $(cat "$TMP/out")"
    adm sites list
    grep -q "^id  *name  *gateways" "$TMP/out" || fail "sites table header: $(cat "$TMP/out")"
    grep -q "HQ" "$TMP/out" || fail "sites table lacks HQ"
    adm devices --all
    grep -q "^id  *kind" "$TMP/out" || fail "devices table header"
    SITE=$site USER_ID=$user GROUP=$group POLICY=$policy RELAY=$relay RES=$res
}

check_bad_input() {
    local long
    long=$(printf 'x%.0s' $(seq 65))
    bad 2 resources add --site "$SITE" --name r2 --address 10.0.0.256/24
    grep -q "10.0.0.256" "$TMP/err" || fail "bad CIDR not named: $(cat "$TMP/err")"
    bad 2 resources add --site "$SITE" --name r2 --address 10.0.0.0/33
    bad 2 resources add --site "$SITE" --name r2 --address fd00::/64 --filter tcp:0
    bad 2 resources add --site "$SITE" --name r2 --address fd00::/64 --filter udp:65536
    bad 2 resources add --site "$SITE" --name r2 --address fd00::/64 --filter sctp
    bad 2 resources add --site "$SITE" --name r2 --address fd00::/64 --filter icmp:8
    bad 2 resources add --site 999 --name r2 --address fd00::/64
    bad 2 resources add --site abc --name r2 --address fd00::/64
    bad 2 resources add --name r2 --address fd00::/64
    bad 2 resources add --site "$SITE" --name "$long" --address fd00::/64
    bad 2 resources add --site "$SITE" --name intranet --address fd00::/64
    grep -q "name exists in the site" "$TMP/err" || fail "duplicate not said: $(cat "$TMP/err")"
    bad 2 sites add ""
    bad 2 sites add HQ
    bad 2 sites remove 999
    bad 2 sites remove x
    bad 2 sites frobnicate
    bad 2 sites add a --colour red
    bad 2 gateway-tokens add --site 999
    bad 2 client-tokens add --user 0
    bad 2 groups add-member --group "$GROUP" --user "$USER_ID"
    bad 2 groups add-member --group "$GROUP" --user 999
    bad 2 policies add --group "$GROUP" --resource "$RES"
    bad 2 policies add --group "$GROUP" --resource 999
    bad 2 relays add --address 127.0.0.1:0
    bad 2 relays add --address 127.0.0.1:65536
    bad 2 relays add --address "no space:1"
    bad 2 relays add --address 127.0.0.1:3479 --secret "with space"
    bad 2 relays add --address 127.0.0.1:3479 --secret-file "$TMP/nonexistent"
    bad 2 relays add --address 127.0.0.1:3479 --secret-file "$TMP/secret" --secret x
    bad 2 nonsense list
    bad 2 devices remove 999
    bad 2 devices remove
    expect_exit 2 "$P" admin --database mysql://x sites list
    expect_stderr "sqlite:"
    expect_exit 1 "$P" admin --database sqlite:/nonexistent-floe-dir/p.db sites list
    expect_stderr "cannot open the database"
}

check_removals() {
    adm policies remove "$POLICY"
    adm groups remove-member --group "$GROUP" --user "$USER_ID"
    adm groups remove "$GROUP"
    adm relays remove "$RELAY"
    adm users remove "$USER_ID"
    adm sites remove "$SITE"
    adm --json resources list
    [ "$(jq length "$TMP/out")" = 0 ] || fail "resources of a removed site remain"
    adm --json gateway-tokens list
    [ "$(jq length "$TMP/out")" = 0 ] || fail "tokens of a removed site remain"
    bad 2 policies remove "$POLICY"
}

# suite DB: everything above on one database.
suite() {
    DB=$1
    setup_and_list
    check_bad_input
    check_removals
}

check_help

# SQLite: the file holds the hash of each token, never the token.
DB="sqlite:$TMP/portal.db"
suite "$DB"
for t in "$TOKEN_GW" "$TOKEN_CLIENT"; do
    ! grep -q "${t#*.}" "$TMP/portal.db" || fail "plain token in the SQLite file"
done
# The grep can find what is there: the hashes were removed with their site and user, so a
# fresh token's hash is checked.
adm sites add grep-site
adm gateway-tokens add --site "$(id_line)"
t=$(token_line)
grep -q "$(token_hash "$t")" "$TMP/portal.db" || fail "token hash not in the SQLite file"
! grep -q "${t#*.}" "$TMP/portal.db" || fail "plain token in the SQLite file"
FLOE_PORTAL_DATABASE="$DB" "$P" admin sites list >"$TMP/out" || fail "FLOE_PORTAL_DATABASE"
grep -q grep-site "$TMP/out" || fail "FLOE_PORTAL_DATABASE not used"

# PostgreSQL: the same, then the data directory after a checkpoint.
floe_pg_start "$TMP" || fail "cannot start PostgreSQL"
suite "$(floe_pg_createdb floe_admin_test)"
adm sites add grep-site
adm gateway-tokens add --site "$(id_line)"
t=$(token_line)
floe_pg_as "$PG_BIN/psql" -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d floe_admin_test \
    -c CHECKPOINT >/dev/null || fail "CHECKPOINT failed"
grep -rq "$(token_hash "$t")" "$PG_HOST/data" || fail "token hash not in the PostgreSQL files"
! grep -rq "${t#*.}" "$PG_HOST/data" || fail "plain token in the PostgreSQL files"
! grep -rq "${TOKEN_CLIENT#*.}" "$PG_HOST/data" || fail "plain client token in PostgreSQL"
echo "admin CLI: SQLite and PostgreSQL passed"
