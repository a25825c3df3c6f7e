#!/bin/sh
# The Wine side of a Windows test run (ctest fixture "wine"), for the prefix in $WINEPREFIX:
#   wine_prefix.sh start WINE WINESERVER  create the prefix (wineboot) and start one
#                                         wineserver that lives through the whole run
#   wine_prefix.sh stop WINESERVER        stop this prefix's wineserver (wineserver -k)
# A Wine program starts in about 0.1 s with a running server and 2 s or more without one,
# and Wine's own server exits 3 s after its last program: one server for the run saves
# that for every test. It also exits by itself 60 s after the last Wine program, should
# the run be interrupted before the stop.
set -eu
: "${WINEPREFIX:?WINEPREFIX must name the prefix}"
case "${1:-}" in
start)
    [ -x "$2" ] || { echo "wine64 not installed (run 'make deps')" >&2; exit 1; }
    mkdir -p "$WINEPREFIX"
    # The server and the Wine services wineboot starts outlive this script: they must not
    # hold ctest's output pipe (ctest would wait for them), so their output goes to a log.
    log=$WINEPREFIX/wineboot.log
    "$3" -p60 </dev/null >"$log" 2>&1 || true # 2: already running for this prefix
    "$2" wineboot -i </dev/null >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    echo "Wine prefix $WINEPREFIX ready"
    ;;
stop)
    "$2" -k 2>/dev/null || true # 1: none running any more
    ;;
*)
    echo "usage: wine_prefix.sh start WINE WINESERVER | stop WINESERVER" >&2
    exit 2
    ;;
esac
