#!/usr/bin/env bash
# Builds kappa (release, unless build/ is already configured) and runs the
# benchmarks, each against the machine's limits measured in the same run:
#   benchmarks/log_bench.py      produce and consume against cp+sync and cat
#   benchmarks/compact_bench.py  `kappa maintain` (compaction) against cp+sync
#                                of the sealed segments it cleans
#   benchmarks/serve_bench.py    `kappa serve` with kcat and a librdkafka producer
#                                against librdkafka's in-memory mock broker
#                                (build/tests/clients/mock_cluster)
#   benchmarks/mirror_bench.py   `kappa mirror --to/--from` against kcat -P/-C doing
#                                the same transfer, both against that mock broker
#
#   tools/bench.sh [log_bench.py options...] [--compact compact_bench.py options...]
#                  [--serve serve_bench.py options...] [--mirror mirror_bench.py options...]
#                                  all four, in that order; e.g.
#                                  --repeat 5 --io posix --compact --repeat 3
#   tools/bench.sh --log-only [log_bench.py options...]       (the old behaviour)
#   tools/bench.sh --compact-only [compact_bench.py options...]
#                                  e.g. --records 1000000 --keys 10000 --keep
#   tools/bench.sh --serve-only [serve_bench.py options...]
#                                  e.g. --records 500000 --repeat 1
#   tools/bench.sh --mirror-only [mirror_bench.py options...]
#                                  e.g. --records 500000 --repeat 3
#
# Options before --compact / --serve / --mirror go to log_bench.py only, options
# after --compact to compact_bench.py only (up to a --serve or --mirror), options
# after --serve to serve_bench.py only (up to a --mirror), options after --mirror
# to mirror_bench.py only. When all run, the exit status is the first non-zero
# one (each benchmark still runs); the reports go to stdout, the build and
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

mode=all
case "${1:-}" in
    --log-only) mode=log; shift ;;
    --compact-only) mode=compact; shift ;;
    --serve-only) mode=serve; shift ;;
    --mirror-only) mode=mirror; shift ;;
esac
log_args=()
compact_args=()
serve_args=()
mirror_args=()
if [ "$mode" = compact ]; then
    compact_args=("$@")
elif [ "$mode" = serve ]; then
    serve_args=("$@")
elif [ "$mode" = mirror ]; then
    mirror_args=("$@")
else
    target=log
    for a in "$@"; do
        if [ "$target" != mirror ] && [ "$a" = "--mirror" ]; then
            target=mirror
        elif [ "$target" != serve ] && [ "$target" != mirror ] && [ "$a" = "--compact" ]; then
            target=compact
        elif [ "$a" = "--serve" ] && [ "$target" != serve ] && [ "$target" != mirror ]; then
            target=serve
        elif [ "$target" = log ]; then
            log_args+=("$a")
        elif [ "$target" = compact ]; then
            compact_args+=("$a")
        elif [ "$target" = serve ]; then
            serve_args+=("$a")
        else
            mirror_args+=("$a")
        fi
    done
    if [ "$target" != log ] && [ "$mode" = log ]; then
        echo "bench.sh: --compact/--serve/--mirror options given with --log-only" >&2
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
# serve_bench.py and mirror_bench.py also need the mock broker of the client tests
# from the same build.
serve_mock=()
if [ "$build" != "build" ] && [[ " ${serve_args[*]} " != *" --mock-cluster"* ]]; then
    serve_mock=(--mock-cluster "$build/tests/clients/mock_cluster")
fi
mirror_mock=()
if [ "$build" != "build" ] && [[ " ${mirror_args[*]} " != *" --mock-cluster"* ]]; then
    mirror_mock=(--mock-cluster "$build/tests/clients/mock_cluster")
fi
if [ "$mode" = serve ]; then
    mapfile -d '' args < <(with_kappa "${serve_mock[@]}" "${serve_args[@]}")
    exec python3 benchmarks/serve_bench.py "${args[@]}"
fi
if [ "$mode" = mirror ]; then
    mapfile -d '' args < <(with_kappa "${mirror_mock[@]}" "${mirror_args[@]}")
    exec python3 benchmarks/mirror_bench.py "${args[@]}"
fi

status=0
run_bench benchmarks/log_bench.py "${log_args[@]}" || status=$?
echo
run_bench benchmarks/compact_bench.py "${compact_args[@]}" || { rc=$?; [ "$status" = 0 ] && status=$rc; }
echo
run_bench benchmarks/serve_bench.py "${serve_mock[@]}" "${serve_args[@]}" || { rc=$?; [ "$status" = 0 ] && status=$rc; }
echo
run_bench benchmarks/mirror_bench.py "${mirror_mock[@]}" "${mirror_args[@]}" || { rc=$?; [ "$status" = 0 ] && status=$rc; }
exit "$status"
