#!/usr/bin/env python3
"""The real Kafka clients' round trips against librdkafka's own mock cluster.

No kappa server is involved: this proves the client drivers and checks of
kafka_clients.py (which test_serve_clients.py runs against `kappa serve`) on a second
broker, and records what each client sends to it: every test prints the request
versions the mock received, and for the clients that do not negotiate (sarama,
kafka-python at a fixed api_version) checks them, since kappa serve must accept exactly
those.  A client that is not installed is skipped with a message ("skip ...");
tools/setup.sh installs them all.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_clients as kc  # noqa: E402
from kappa_harness import check, run_tests  # noqa: E402


# What a negotiating client sends to a broker advertising kappa serve's ranges
# (librdkafka 2.0.2 and kafkajs 2.2.4 alike: the top of each range).
AT_KAPPA_RANGES = {"Produce": [7], "Fetch": [10], "ListOffsets": [2], "FindCoordinator": [0],
                   "JoinGroup": [2], "SyncGroup": [1], "Heartbeat": [1], "LeaveGroup": [1],
                   "OffsetCommit": [2], "OffsetFetch": [3]}


def with_mock(k, roundtrip, *args, expect_versions=None, ranges=None, **kw):
    """Runs roundtrip(broker, *args, **kw) on a fresh mock cluster (advertising `ranges`
    when given); expect_versions: {API: [versions]} that the client must have sent (and no
    other version of that API)."""
    try:
        with kc.MockCluster(debug_log=os.path.join(k.root, "mock.log")) as mock:
            if ranges:
                mock.advertise(ranges)
            roundtrip(mock.broker(), *args, **kw)
            seen = mock.requests_seen()
    except kc.Skip as e:
        print("skip %s" % e, flush=True)
        return
    print("  requests received by the mock: %s" % json.dumps(seen, sort_keys=True), flush=True)
    for api, versions in (expect_versions or {}).items():
        check(seen.get(api) == versions, "%s: sent %s v%s, expected v%s (all seen: %s)"
              % (roundtrip.__name__, api, seen.get(api), versions, seen))


# The clients that negotiate run against the mock advertising kappa serve's ranges, so
# they send what they will send to kappa serve (zstd: librdkafka 2.0.2 sends it
# uncompressed below Produce v7, and the round trip still holds).

def test_kcat(k):
    with_mock(k, kc.kcat_roundtrip, "kc", ranges=kc.KAPPA_RANGES_ON_MOCK,
              expect_versions=AT_KAPPA_RANGES)


def test_confluent_kafka_python(k):
    with_mock(k, kc.confluent_roundtrip, "ck", ranges=kc.KAPPA_RANGES_ON_MOCK,
              expect_versions=dict(AT_KAPPA_RANGES, InitProducerId=[1]))


def test_kafka_python_negotiated(k):
    # against the mock's ApiVersions answer, kafka-python 2.0.2 guesses a 2.3 broker
    with_mock(k, kc.kafkapython_roundtrip, "kp")


def test_kafka_python_0_11(k):
    # the fixed versions it sends to a broker it takes for 0.11.0 (as kappa serve will
    # be).  The version must have three parts: (0, 11) compares below (0, 11, 0) and
    # gets 0.10's requests (Fetch v3, JoinGroup v1).
    with_mock(k, kc.kafkapython_roundtrip, "kp11", api_version="0.11.0", expect_versions={
        "Produce": [3], "Fetch": [4], "ListOffsets": [1], "FindCoordinator": [0],
        "JoinGroup": [2], "SyncGroup": [1], "LeaveGroup": [1], "OffsetCommit": [2],
        "OffsetFetch": [1]})


def test_kafkajs_group(k):
    with_mock(k, kc.kafkajs_roundtrip, "kj", ranges=kc.KAPPA_RANGES_ON_MOCK,
              expect_versions=AT_KAPPA_RANGES)


def test_sarama(k):
    # sarama 1.22 never negotiates: config.Version = 0.11.0.0 picks every version
    with_mock(k, kc.sarama_roundtrip, "sa", expect_versions={
        "Metadata": [1], "Produce": [3], "Fetch": [4], "ListOffsets": [1],
        "FindCoordinator": [0], "JoinGroup": [1], "SyncGroup": [0], "LeaveGroup": [0],
        "OffsetCommit": [1], "OffsetFetch": [1]})



def test_zstd_confluent_kafka_python(k):
    # compression.codec=zstd: librdkafka compresses only with Produce v7 and Fetch v10
    with_mock(k, kc.confluent_zstd_roundtrip, "ckz", ranges=kc.KAPPA_RANGES_ON_MOCK,
              expect_versions={"Produce": [7], "Fetch": [10]})


def test_kafka_python_at_kappa_ranges(k):
    # against kappa serve's ranges kafka-python 2.0.2 guesses a 2.1 broker (Fetch v10 is
    # in range): Produce v7, but still Fetch v4
    with_mock(k, kc.kafkapython_roundtrip, "kpk", ranges=kc.KAPPA_RANGES_ON_MOCK, expect_versions={
        "Produce": [7], "Fetch": [4], "ListOffsets": [1], "JoinGroup": [2], "OffsetCommit": [2],
        "OffsetFetch": [1]})


if __name__ == "__main__":
    run_tests(globals())
