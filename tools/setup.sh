#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for kappa and builds it, then runs one of:
#   tools/setup.sh demo    generate clicks, produce, consume, describe
#   tools/setup.sh test    every test (unit + integration, both I/O backends)
#   tools/setup.sh build   just install and build
# Set KAPPA_SANITIZE=1 to build with -Db_sanitize=address,undefined (in build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential pkg-config meson ninja-build python3 liburing-dev liblmdb-dev libxxhash-dev
          libcli11-dev doctest-dev libsimdjson-dev libisal-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
          lz4 zstd
          # the real Kafka clients of the protocol tests (tests/clients, test_clients_*.py);
          # node and npm come from the nodejs package (or are already installed)
          kcat librdkafka-dev python3-confluent-kafka python3-kafka golang-go golang-github-shopify-sarama-dev
          python3-zstandard)  # kafka-python's zstd codec
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# kafkajs, pinned by tests/clients/package-lock.json, into tests/clients/node_modules.
if [ ! -f tests/clients/node_modules/kafkajs/package.json ]; then
  echo "setup: installing kafkajs into tests/clients/node_modules"
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    echo "setup: npm ci failed; the kafkajs client tests will be skipped" >&2
fi

builddir=build
opts=()
if [ "${KAPPA_SANITIZE:-0}" = 1 ]; then
  builddir=build-asan
  # -O1 with line tables only (-g1): the sanitizers find the same bugs, and
  # the build takes half the time of -O2 -g, which keeps CI short.
  opts=(-Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false -Dbuildtype=plain -Doptimization=1
        -Dcpp_args=-g1)
fi
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" "${opts[@]}" >/dev/null
meson compile -C "$builddir" -j 2 >/dev/null

case "${1:-build}" in
  build) ;;
  test)
    rc=0
    selected=()
    if [ "${KAPPA_SANITIZE:-0}" = 1 ]; then
      # Under the sanitizers: the unit tests, the fuzz corpus replay, every script on io_uring, and
      # on posix the scripts that stress the I/O paths (the release run has
      # every script on both): the suite stays within CI's 10 minutes.
      mapfile -t selected < <(meson test -C "$builddir" --list 2>/dev/null | sed -n 's/^.* \/ //p' |
        grep -E '^(unit|fuzz-corpus-replay|integration-kafka-reader-self-test|integration-self-contained|integration-.*-uring|integration-(roundtrip|crash|corruption)-posix)$')
    fi
    meson test -C "$builddir" --num-processes 2 --print-errorlogs "${selected[@]}" || rc=$?
    # One plain closing line for CI: "N passed, N failed".
    python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1]) if line.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
print("%d passed, %d failed" % (ok, len(results) - ok))
PY
    exit $rc ;;
  demo) exec tools/demo.sh "$builddir/kappa" ;;
  *) echo "usage: tools/setup.sh [build|test|demo]" >&2; exit 2 ;;
esac
