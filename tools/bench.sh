#!/usr/bin/env bash
# Builds kappa (release, unless build/ is already configured) and runs the log
# benchmark: produce and consume against cp+sync and cat, in the same run.
#
#   tools/bench.sh [log_bench.py options...]   e.g. --repeat 5 --io posix --check
#
# BUILD_DIR (default: build) selects the meson build directory; when it is not
# "build" and no --kappa is given, the benchmark uses $BUILD_DIR/kappa.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build}"

if [ ! -f "$build/meson-private/coredata.dat" ]; then
    meson setup "$build" --buildtype=release >&2
else
    buildtype="$(meson introspect "$build" --buildoptions 2>/dev/null |
        python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"), "?"))' \
        2>/dev/null || echo "?")"
    if [ "$buildtype" != "release" ]; then
        echo "bench.sh: note: $build is configured with buildtype=$buildtype, numbers may not be representative" >&2
        echo "bench.sh:       (meson configure $build --buildtype=release, or BUILD_DIR=build-release $0)" >&2
    fi
fi
meson compile -C "$build" >&2  # keep stdout for the report

args=("$@")
if [ "$build" != "build" ]; then
    have_kappa=0
    for a in "$@"; do
        case "$a" in --kappa|--kappa=*) have_kappa=1 ;; esac
    done
    if [ "$have_kappa" = 0 ]; then
        args=(--kappa "$build/kappa" "$@")
    fi
fi
exec python3 benchmarks/log_bench.py "${args[@]}"
