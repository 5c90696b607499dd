#!/usr/bin/env bash
# Runs superdecode's whole test suite. On first use it creates .venv with the pinned Python
# tools (fastavro, protobuf + grpcio-tools, aws-glue-schema-registry, confluent-kafka, moto,
# cargo-lambda, cfn-lint) from tests/fixtures/requirements.txt, and reinstalls them whenever that
# file changes.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
requirements=tests/fixtures/requirements.txt
if ! cmp -s "$requirements" "$venv/.installed-requirements" 2>/dev/null; then
  echo "== setting up $venv (pinned tools from $requirements)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/.installed-requirements"
fi
export PATH="$PWD/$venv/bin:$PATH"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# Docs in step with the code: a broken intra-doc link or stray HTML tag fails here.
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps

echo "== deployment template"
cfn-lint template.yaml
echo "template.yaml passes cfn-lint"

echo "== fixtures: regenerate with the independent encoders, compare with the committed ones"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python tests/fixtures/generate.py "$scratch" 2> "$scratch/generate.log" > /dev/null || {
  cat "$scratch/generate.log"
  exit 1
}
diff -r tests/fixtures/schemas "$scratch/tests/fixtures/schemas"
diff tests/fixtures/cases.json "$scratch/tests/fixtures/cases.json"
diff -r samples "$scratch/samples"
python tests/fixtures/evolution.py "$scratch" 2> "$scratch/evolution.log" || {
  cat "$scratch/evolution.log"
  exit 1
}
diff -r tests/fixtures/evolution/schemas "$scratch/tests/fixtures/evolution/schemas"
diff tests/fixtures/evolution/cases.json "$scratch/tests/fixtures/evolution/cases.json"
diff tests/fixtures/evolution/streams.json "$scratch/tests/fixtures/evolution/streams.json"
python tests/fixtures/schemaless.py "$scratch" 2> "$scratch/schemaless.log" || {
  cat "$scratch/schemaless.log"
  exit 1
}
diff -r tests/fixtures/schemaless "$scratch/tests/fixtures/schemaless"
# Through the loopback Confluent-compatible registry, with confluent-kafka's real client,
# serializers and deserializers.
python tests/fixtures/confluent.py "$scratch" 2> "$scratch/confluent.log" > /dev/null || {
  cat "$scratch/confluent.log"
  exit 1
}
diff -r tests/fixtures/confluent "$scratch/tests/fixtures/confluent"
echo "fixtures and samples match their generators"

echo "== random Protobuf messages from Google's Python runtime (tests/protobuf_random.rs)"
python tests/fixtures/random_proto3.py "$(scripts/protobuf-src.sh)" "$scratch/random_proto3.json" 1500
export SUPERDECODE_RANDOM_PROTO3=$scratch/random_proto3.json

echo "== tests"
cargo test --locked

echo "== benchmark scripts still agree with superdecode (answers only: 40 rows, one run each)"
python bench/versus_python.py --rows 40 --repeat 1 --binary target/debug/superdecode > /dev/null
echo "bench/versus_python.py: every handler gives every row superdecode's value"

echo "== registry load model (bench/registry_load.py: 1 and 4 cold processes, calls counted)"
python bench/registry_load.py --processes 1,4 --rounds 1 --binary target/debug/superdecode > "$scratch/load.log" || {
  cat "$scratch/load.log"
  exit 1
}
tail -1 "$scratch/load.log"
