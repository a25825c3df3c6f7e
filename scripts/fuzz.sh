#!/bin/sh
# Run every libFuzzer target in BUILD_DIR/fuzz/ for SECONDS each, on a temporary copy
# of its seed corpus (fuzz/corpus/<name>/ for <name>_fuzz), so the tree stays clean.
# Exits non-zero if a target is missing or any run finds a crash.
#   sh scripts/fuzz.sh build-fuzz 20
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

found=0
failed=0
for bin in "$build"/fuzz/*_fuzz; do
    [ -x "$bin" ] || continue
    found=$((found + 1))
    name=$(basename "$bin" _fuzz)
    mkdir -p "$work/$name/corpus" "$work/$name/artifacts"
    if [ -d "$root/fuzz/corpus/$name" ]; then
        cp "$root/fuzz/corpus/$name"/* "$work/$name/corpus/" 2>/dev/null || true
    fi
    echo "fuzz: $name for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 \
            -artifact_prefix="$work/$name/artifacts/" "$work/$name/corpus" \
            >"$work/$name/log" 2>&1; then
        echo "fuzz: $name FAILED; last lines of its log:" >&2
        tail -n 40 "$work/$name/log" >&2
        mkdir -p "$root/fuzz-out/$name"
        cp "$work/$name/artifacts"/* "$root/fuzz-out/$name/" 2>/dev/null || true
        echo "fuzz: crash inputs kept in fuzz-out/$name/" >&2
        failed=$((failed + 1))
    else
        grep -E "stat::number_of_executed_units|cov:" "$work/$name/log" | tail -n 2
    fi
done
if [ "$found" -eq 0 ]; then
    echo "fuzz: no *_fuzz targets in $build/fuzz (build the fuzz_all target first)" >&2
    exit 1
fi
echo "fuzz: $found target(s), $failed failed"
[ "$failed" -eq 0 ]
