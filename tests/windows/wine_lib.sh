# Helpers of the tests that run floe-client.exe under wine64 in a Wine prefix of their own
# (bash; source after tests/interop/lib.sh, e.g. through portal_lib.sh or e2e_lib.sh). They use
# WINE, WINESERVER (the programs), CLIENT_EXE, PREFIX_SRC (the run's prefix, fixture
# windows.wine_prefix) and WP (this test's prefix, under $TMP).

# wine_down: stop this test's wineserver (its prefix's only), with the Wine programs it runs.
wine_down() {
    [ -d "$WP" ] || return 0
    WINEPREFIX=$WP "$WINESERVER" -k 2>/dev/null || true
    WINEPREFIX=$WP timeout 10 "$WINESERVER" -w 2>/dev/null || true
}

# wine_need_client: wine64, wineserver and CLIENT_EXE are there (a missing one fails the test).
wine_need_client() {
    [ -x "$WINE" ] || fail "wine64 not installed (run 'make deps')"
    [ -x "$WINESERVER" ] || fail "wineserver not installed (run 'make deps')"
    [ -f "$CLIENT_EXE" ] || fail "$CLIENT_EXE not built"
}

# wine_own_prefix: WP becomes a copy of the run's prefix PREFIX_SRC.
wine_own_prefix() {
    [ -d "$PREFIX_SRC/drive_c" ] || fail "no Wine prefix in $PREFIX_SRC (fixture windows.wine_prefix)"
    if [ -f "$PREFIX_SRC/system.reg" ] && [ -f "$PREFIX_SRC/user.reg" ]; then
        cp -a "$PREFIX_SRC" "$WP"
        return
    fi
    # The run's wineserver saves the registry lazily: right after the prefix was made it may
    # not be on disk yet, and a copy without it failed (OpenSSL under Wine: "malloc failure").
    # Then this test makes a prefix of its own (a few seconds more).
    mkdir -p "$WP"
    WINEPREFIX=$WP "$WINE" wineboot -i </dev/null >"$WP/wineboot.log" 2>&1 ||
        fail "wineboot of $WP: $(tail -n 5 "$WP/wineboot.log")"
}
