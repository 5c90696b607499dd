#!/usr/bin/env bash
# Runs Google's Protobuf conformance suite (protobuf v21.5) against superdecode's Protobuf
# decoder. See docs/conformance.md.
#
# 1. Fetches the crates.io package protobuf-src 1.1.0+21.5 (protobuf v21.5's source tree,
#    conformance/ included) with cargo, into a throwaway project under target/conformance.
# 2. Installs Debian's protoc, libprotobuf (3.21) and jsoncpp if they are missing.
# 3. Generates C++ for conformance.proto and the test_messages protos with Debian's protoc
#    and builds conformance_test_runner with g++ (cached: rebuilt only when missing).
# 4. Builds the testee (examples/conformance_testee.rs) and runs the runner against it
#    with --enforce_recommended. Exit status: the runner's (0 = no unexpected failures).
#
# Idempotent: everything lives in target/conformance/; a second run only rebuilds the testee.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/conformance
mkdir -p "$work"

echo "== protobuf v21.5 sources (crates.io: protobuf-src =1.1.0+21.5)"
src=$(scripts/protobuf-src.sh)
echo "sources: $src"

echo "== build tools (Debian protoc, libprotobuf, jsoncpp)"
need=()
command -v protoc > /dev/null || need+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/message.h ] || need+=(libprotobuf-dev)
[ -f /usr/include/jsoncpp/json/json.h ] || need+=(libjsoncpp-dev)
command -v g++ > /dev/null || need+=(g++)
command -v pkg-config > /dev/null || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
protoc --version

runner=$work/conformance_test_runner
if [ ! -x "$runner" ]; then
  echo "== building conformance_test_runner"
  gen=$work/gen
  rm -rf "$gen" && mkdir -p "$gen/third_party/jsoncpp"
  cp "$src/conformance/conformance.proto" "$gen/"
  mkdir -p "$gen/google/protobuf"
  cp "$src/src/google/protobuf/test_messages_proto2.proto" "$src/src/google/protobuf/test_messages_proto3.proto" "$gen/google/protobuf/"
  (cd "$gen" && protoc -I. -I/usr/include --cpp_out=. conformance.proto \
    google/protobuf/test_messages_proto2.proto google/protobuf/test_messages_proto3.proto)
  # The suite includes its bundled jsoncpp as "third_party/jsoncpp/json.h"; use Debian's.
  echo '#include <json/json.h>' > "$gen/third_party/jsoncpp/json.h"
  # A few internal headers the suite uses (stubs/stringprintf.h, ...) are not installed by
  # libprotobuf-dev, though their functions are in the library: take them from the same
  # 21.x source tree, searched only after the installed headers.
  overlay=$gen/overlay/google/protobuf/stubs
  mkdir -p "$overlay"
  cp "$src"/src/google/protobuf/stubs/*.h "$overlay/"
  objs=()
  for f in "$src"/conformance/{conformance_test,conformance_test_runner,binary_json_conformance_suite,text_format_conformance_suite,conformance_test_main}.cc \
           "$gen"/conformance.pb.cc "$gen"/google/protobuf/test_messages_proto{2,3}.pb.cc; do
    o=$gen/$(basename "$f" .cc).o
    g++ -std=c++17 -O1 -w -I"$gen" -I"$src/conformance" -I/usr/include/jsoncpp -idirafter "$gen/overlay" -c "$f" -o "$o" &
    objs+=("$o")
    # Two compilers at a time: the machine is shared.
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  done
  wait
  g++ -o "$runner.tmp" "${objs[@]}" $(pkg-config --libs protobuf) -ljsoncpp -lpthread
  mv "$runner.tmp" "$runner"
fi

echo "== building the testee"
cargo build --quiet --example conformance_testee
testee=$root/target/debug/examples/conformance_testee

echo "== running the suite"
export SUPERDECODE_CONFORMANCE_SRC=$src
set +e
(cd "$work" && "$runner" --enforce_recommended "$testee") 2>&1 | tee "$work/runner.log" | grep -v "^\s*$" | tail -n 40
status=${PIPESTATUS[0]}
set -e
# Two suites run: binary+JSON first, then text format (all skipped: not superdecode's job).
grep -E "CONFORMANCE SUITE (PASSED|FAILED)" "$work/runner.log" > "$work/summary.txt" || true
echo "== summary (also in target/conformance/summary.txt)"
cat "$work/summary.txt"
exit "$status"
