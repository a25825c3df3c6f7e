#!/bin/sh
# Run every benchmark program built in BUILD/bench, one after the other, then the
# tunnel benchmark (bench/tunnel.sh: network namespaces, needs root). Benchmarks print
# their own rates and ratios; they are run by hand, never as timed tests.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
found=0
for b in "$build"/bench/*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    # portal_load needs portals and a database: bench/portal_load.sh below sets them up
    [ "$(basename "$b")" != portal_load ] || continue
    found=1
    echo "=== $(basename "$b")"
    "$b"
done
if [ "$found" -eq 0 ]; then
    echo "bench: no benchmark programs in $build/bench" >&2
    exit 1
fi
if [ -x "$build/bench/portal_load" ]; then
    echo "=== portal_load (floe-portal: SQLite, then PostgreSQL with two instances)"
    bash "$root/bench/portal_load.sh" "$build"
fi
echo "=== tunnel (floe-wg against wireguard-go from bookworm-backports and bookworm, in network namespaces)"
bash "$root/bench/tunnel.sh" "$build/bin" 10
