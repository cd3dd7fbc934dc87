#!/usr/bin/env bash
# Builds kappa (release, unless build/ is already configured) and runs the
# benchmarks, each against the machine's limits measured in the same run:
#   benchmarks/log_bench.py      produce and consume against cp+sync and cat
#   benchmarks/compact_bench.py  `kappa maintain` (compaction) against cp+sync
#                                of the sealed segments it cleans
#
#   tools/bench.sh [log_bench.py options...] [--compact compact_bench.py options...]
#                                  both, log_bench first; e.g.
#                                  --repeat 5 --io posix --compact --repeat 3
#   tools/bench.sh --log-only [log_bench.py options...]       (the old behaviour)
#   tools/bench.sh --compact-only [compact_bench.py options...]
#                                  e.g. --records 1000000 --keys 10000 --keep
#
# Options before --compact go to log_bench.py only, options after it to
# compact_bench.py only. When both run, the exit status is the first non-zero
# one (each benchmark still runs); both reports go to stdout, the build and
# progress to stderr.
#
# BUILD_DIR (default: build) selects the meson build directory; when it is not
# "build" and no --kappa is given, each benchmark uses $BUILD_DIR/kappa.
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

mode=both
case "${1:-}" in
    --log-only) mode=log; shift ;;
    --compact-only) mode=compact; shift ;;
esac
log_args=()
compact_args=()
if [ "$mode" = compact ]; then
    compact_args=("$@")
else
    seen_compact=0
    for a in "$@"; do
        if [ "$seen_compact" = 0 ] && [ "$a" = "--compact" ]; then
            seen_compact=1
        elif [ "$seen_compact" = 0 ]; then
            log_args+=("$a")
        else
            compact_args+=("$a")
        fi
    done
    if [ "$seen_compact" = 1 ] && [ "$mode" = log ]; then
        echo "bench.sh: --compact options given with --log-only" >&2
        exit 2
    fi
fi

# Prints its arguments, with --kappa $build/kappa in front unless one of them
# is --kappa or the build dir is the default one, NUL-separated.
with_kappa() {
    local have_kappa=0 a
    for a in "$@"; do
        case "$a" in --kappa|--kappa=*) have_kappa=1 ;; esac
    done
    if [ "$build" != "build" ] && [ "$have_kappa" = 0 ]; then
        printf '%s\0' --kappa "$build/kappa"
    fi
    [ "$#" -gt 0 ] && printf '%s\0' "$@"
    return 0
}

run_bench() {  # SCRIPT ARGS...
    local script="$1" args=()
    shift
    mapfile -d '' args < <(with_kappa "$@")
    python3 "$script" "${args[@]}"
}

if [ "$mode" = log ]; then
    mapfile -d '' args < <(with_kappa "${log_args[@]}")
    exec python3 benchmarks/log_bench.py "${args[@]}"
fi
if [ "$mode" = compact ]; then
    mapfile -d '' args < <(with_kappa "${compact_args[@]}")
    exec python3 benchmarks/compact_bench.py "${args[@]}"
fi

status=0
run_bench benchmarks/log_bench.py "${log_args[@]}" || status=$?
echo
run_bench benchmarks/compact_bench.py "${compact_args[@]}" || { rc=$?; [ "$status" = 0 ] && status=$rc; }
exit "$status"
