#!/usr/bin/env bash
# Cross-builds the Lambda artifact exactly as `sam build` does (cargo-lambda, arm64, zig
# from PyPI) and checks that the result is an aarch64 executable named bootstrap.
# Uses the pinned tools in .venv (scripts/test.sh creates it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
command -v cargo-lambda >/dev/null || { echo "run scripts/test.sh first: it installs cargo-lambda" >&2; exit 1; }

cargo lambda build --release --arm64
artifact=target/lambda/superdecode/bootstrap
# ELF magic, then e_machine (bytes 18-19, little-endian) = 0xB7: AArch64.
header=$(od -An -tx1 -N20 "$artifact" | tr -d ' \n')
[ "${header:0:8}" = 7f454c46 ] || { echo "$artifact is not an ELF file" >&2; exit 1; }
[ "${header:36:4}" = b700 ] || { echo "$artifact is not built for aarch64 (e_machine ${header:36:4})" >&2; exit 1; }
echo "$artifact: aarch64 ELF, $(du -h "$artifact" | cut -f1)"
