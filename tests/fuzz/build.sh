#!/bin/sh
# Builds the wire request fuzzer with clang's libFuzzer and AddressSanitizer
# (not part of the meson build, which uses gcc, and replays only the seed corpus:
# the fuzz-corpus-replay test) and, given SECONDS, runs it that long starting
# from the seed corpus of real clients' requests (tests/fuzz/corpus/, see
# capture_corpus.py). Usage, from anywhere in the repository:
#   tests/fuzz/build.sh             build only, into build-fuzz/request_fuzz
#   tests/fuzz/build.sh SECONDS     build, then fuzz for SECONDS
# New inputs the fuzzer finds go to build-fuzz/corpus/ (the seed corpus is only
# read); a crash leaves its input as build-fuzz/crash-* . FUZZ_OUT overrides the
# binary's path, CXX the compiler (default clang++).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-"$root/build-fuzz/request_fuzz"}
case "${1:-}" in
  "") seconds= ;;
  *[!0-9]*|0) echo "usage: tests/fuzz/build.sh [SECONDS]" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac
mkdir -p "$(dirname "$out")"
"${CXX:-clang++}" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
  -I"$root/include" -I"$root/src" -I"$root/tests/fuzz" \
  "$root/tests/fuzz/request_fuzz.cc" "$root"/src/wire/*.cc "$root/src/util/status.cc" \
  -o "$out"
[ -n "$seconds" ] || exit 0
work="$(dirname "$out")/corpus"
mkdir -p "$work"
cd "$(dirname "$out")"
exec "$out" -max_total_time="$seconds" -print_final_stats=1 "$work" "$root/tests/fuzz/corpus"
