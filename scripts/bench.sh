#!/bin/sh
# Run every benchmark program built in BUILD/bench, one after the other.
# Benchmarks print their own rates and ratios; run by hand, never as timed tests.
set -eu
build=${1:-build}
found=0
for b in "$build"/bench/*; do
    [ -x "$b" ] || continue
    found=1
    echo "=== $(basename "$b")"
    "$b"
done
if [ "$found" -eq 0 ]; then
    echo "bench: no benchmark programs in $build/bench" >&2
    exit 1
fi
