#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with cargo-fuzz on
# nightly: `cargo install cargo-fuzz` and a nightly toolchain must be there.
# New inputs go to a scratch corpus, so corpus/<target>/ keeps only the small
# committed seeds; a crash, or an input running over 10 s, stops the run and
# leaves that input in artifacts/.
set -euo pipefail

seconds="${1:-60}"
cd "$(dirname "$0")"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for target in $(cargo +nightly fuzz list); do
    echo "== $target: ${seconds}s"
    mkdir -p "$scratch/$target" "corpus/$target"
    cargo +nightly fuzz run --target-dir "$target_dir" "$target" "$scratch/$target" "corpus/$target" \
        -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1
done
