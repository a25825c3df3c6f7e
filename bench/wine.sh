#!/bin/sh
# Wine against native (issue 14's "Done when"): aead_bench and stun_bench of the Linux build,
# each followed by the same benchmark's Windows build (mingw) under wine64, in one run; then
# every rate line side by side with its ratio (Wine / native, in %). Run it by hand on a quiet
# machine (make bench runs it); the rates of one run are only comparable with each other.
# Usage: bench/wine.sh [BUILD [WIN_BUILD [SECONDS]]]
#   BUILD      the Linux build (default build): BUILD/bench/aead_bench, stun_bench
#   WIN_BUILD  the Windows build (default build-win, make windows): its bench/*.exe; Wine's
#              prefix is WIN_BUILD/wineprefix unless WINEPREFIX is set
#   SECONDS    per rate line (default 1; the benchmarks' own argument)
# Exit status: 0 printed, 1 a program missing or failing.
set -eu
build=${1:-build}
win=${2:-build-win}
secs=${3:-1}
wine=$(command -v wine64 || command -v /usr/lib/wine/wine64 || true)
[ -n "$wine" ] || { echo "bench/wine.sh: wine64 not installed (make deps)" >&2; exit 1; }
WINEPREFIX=${WINEPREFIX:-$(cd "$win" && pwd)/wineprefix}
export WINEPREFIX
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# rates FILE: "label<TAB>value<TAB>unit" for each line of FILE with a rate (GB/s, ops/s, msg/s).
rates() {
    awk 'match($0, /[0-9.]+ (GB\/s|ops\/s|msg\/s)/) {
        label = substr($0, 1, RSTART - 1); sub(/[ \t]+$/, "", label)
        split(substr($0, RSTART, RLENGTH), v, " ")
        printf "%s\t%s\t%s\n", label, v[1], v[2] }' "$1"
}

for b in aead_bench stun_bench; do
    for f in "$build/bench/$b" "$win/bench/$b.exe"; do
        [ -f "$f" ] || { echo "bench/wine.sh: $f not built (make build windows)" >&2; exit 1; }
    done
    echo "=== $b: native" >&2
    "$build/bench/$b" "$secs" | tee "$tmp/$b.native" >&2
    echo "=== $b: Windows build under $("$wine" --version)" >&2
    "$wine" "$win/bench/$b.exe" "$secs" | tr -d '\r' | tee "$tmp/$b.wine" >&2
    rates "$tmp/$b.native" >"$tmp/$b.n"
    rates "$tmp/$b.wine" >"$tmp/$b.w"
    if [ ! -s "$tmp/$b.n" ] || [ "$(wc -l <"$tmp/$b.n")" != "$(wc -l <"$tmp/$b.w")" ]; then
        echo "bench/wine.sh: $b printed different rate lines under Wine" >&2
        exit 1
    fi
done

printf '%-50s %18s %18s %7s\n' "Wine / native, $secs s per line" native wine ratio
for b in aead_bench stun_bench; do
    echo "$b"
    paste "$tmp/$b.n" "$tmp/$b.w" | awk -F'\t' '{
        f = $3 == "GB/s" ? "%12.3f" : "%12.0f"
        r = $2 > 0 ? 100 * $5 / $2 : 0
        printf "  %-48s " f " %-5s " f " %-5s %6.1f%%\n", $1, $2, $3, $5, $6, r }'
done
