#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz targets (fuzz/) and runs each one briefly from its
# committed seed corpus, failing on any crash, over-limit allocation or slow input.
#
#   scripts/fuzz-smoke.sh              # 30 s per target
#   FUZZ_SMOKE_SECONDS=10 scripts/fuzz-smoke.sh
#
# Needs the nightly toolchain (libFuzzer instrumentation). Without it, says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
TARGETS=(redshift_event response_writer unframe avro_decode protobuf_decode self_describing schema_references)
SECONDS_PER_TARGET=${FUZZ_SMOKE_SECONDS:-30}
if [ "$SECONDS_PER_TARGET" -gt 45 ]; then
    SECONDS_PER_TARGET=45
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz-smoke: SKIPPED: no nightly toolchain (cargo +nightly); the fuzz targets need it." >&2
    echo "fuzz-smoke: install it with: rustup toolchain install nightly" >&2
    exit 0
fi

if ! cargo +nightly fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "fuzz-smoke: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

start=$(date +%s)
echo "fuzz-smoke: building ${TARGETS[*]}"
cargo +nightly fuzz build

for target in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    extra=()
    if [ -f "fuzz/$target.dict" ]; then
        extra+=("-dict=fuzz/$target.dict")
    fi
    echo "fuzz-smoke: $target for ${SECONDS_PER_TARGET}s"
    # cargo fuzz exits non-zero on a crash, a leak, a single allocation over
    # -malloc_limit_mb, RSS over -rss_limit_mb or an input slower than -timeout seconds.
    # (RSS has headroom: AddressSanitizer's quarantine alone holds up to 256 MB, and a big
    # local corpus took avro_decode to 497 MB.)
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -malloc_limit_mb=256 \
        -timeout=10 -print_final_stats=1 "${extra[@]}"
done
echo "fuzz-smoke: all targets ran clean in $(( $(date +%s) - start ))s"
