#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 600), one job at a time, with the
# limits the project fuzzes under. Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets it
# accept the nightly-only flags cargo-fuzz passes (-Zsanitizer=address and friends).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs `cargo install cargo-fuzz`. New inputs are added to fuzz/corpus/<target>/; crashes land
# in fuzz/artifacts/<target>/ and stop the script with a non-zero status.
set -euo pipefail

seconds="${1:-600}"
shift || true
cd "$(dirname "$0")/../fuzz"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(bundle manifest segment qr_frame schedule invite sealed live)
fi

export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    extra=()
    # The bundle reader runs scoped threads; LeakSanitizer sees their thread-locals before the
    # threads' destructors have run and reports a leak that is not one.
    [ "$target" = bundle ] || [ "$target" = sealed ] && extra=(-detect_leaks=0)
    mkdir -p "corpus/$target"
    status=0
    cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -jobs=1 -workers=1 "${extra[@]}" || status=$?
    # With -jobs, libFuzzer writes its output to fuzz-0.log; keep one log per target.
    mv fuzz-0.log "fuzz-$target.log" 2>/dev/null || true
    tail -n 3 "fuzz-$target.log" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "== $target failed (status $status); see fuzz/fuzz-$target.log and fuzz/artifacts/$target/"
        exit "$status"
    fi
done
