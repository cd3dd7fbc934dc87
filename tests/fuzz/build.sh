#!/bin/sh
# Builds the wire request fuzzer with clang's libFuzzer and AddressSanitizer
# (not part of the meson build, which uses gcc). Usage, from the repository:
#   tests/fuzz/build.sh [OUT]   then   OUT -max_total_time=60
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-"$root/build-fuzz/request_fuzz"}
mkdir -p "$(dirname "$out")"
exec "${CXX:-clang++}" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
  -I"$root/include" -I"$root/src" \
  "$root/tests/fuzz/request_fuzz.cc" "$root"/src/wire/*.cc "$root/src/util/status.cc" \
  -o "$out"
