#!/usr/bin/env bash
# Prints the path of protobuf v21.5's source tree (conformance/, src/google/protobuf/*.proto),
# as carried by the crates.io package protobuf-src 1.1.0+21.5. Fetches it with cargo into
# the cargo registry cache on first use (a throwaway project under target/conformance/fetch);
# nothing is copied into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
fetcher=$PWD/target/conformance/fetch
if [ ! -f "$fetcher/Cargo.toml" ]; then
  mkdir -p "$fetcher/src"
  cat > "$fetcher/Cargo.toml" <<'TOML'
[package]
name = "fetch-protobuf-src"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
protobuf-src = "=1.1.0"

[workspace]
TOML
  : > "$fetcher/src/lib.rs"
fi
(cd "$fetcher" && cargo fetch --quiet)
manifest=$(cd "$fetcher" && cargo metadata --format-version 1 --quiet |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="protobuf-src" and p["version"]=="1.1.0+21.5"))')
src=$(dirname "$manifest")/protobuf
[ -f "$src/conformance/conformance.proto" ] || { echo "no conformance/ in $src" >&2; exit 1; }
echo "$src"
