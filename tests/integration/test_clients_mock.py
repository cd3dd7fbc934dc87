#!/usr/bin/env python3
"""The real Kafka clients' round trips against librdkafka's own mock cluster.

No kappa server is involved: this proves the client drivers and checks of
kafka_clients.py (which test_serve_clients.py runs against `kappa serve`) on a second
broker, and records what each client does against it.  A client that is not installed
is skipped with a message ("skip ..."); tools/setup.sh installs them all.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_clients as kc  # noqa: E402
from kappa_harness import run_tests  # noqa: E402


def with_mock(roundtrip, *args, **kw):
    try:
        with kc.MockCluster() as mock:
            roundtrip(mock.broker(), *args, **kw)
    except kc.Skip as e:
        print("skip %s" % e, flush=True)


def test_kcat(_k):
    with_mock(kc.kcat_roundtrip, "kc")


def test_confluent_kafka_python(_k):
    with_mock(kc.confluent_roundtrip, "ck")


def test_kafka_python_negotiated(_k):
    # against the mock, kafka-python guesses a 2.x broker from its ApiVersions answer
    with_mock(kc.kafkapython_roundtrip, "kp")


def test_kafka_python_0_11(_k):
    # the fixed versions it sends to a broker it takes for 0.11 (as kappa serve will be):
    # Metadata v1, Produce v3, Fetch v4, JoinGroup v2, SyncGroup/Heartbeat/LeaveGroup v1
    with_mock(kc.kafkapython_roundtrip, "kp11", api_version="0.11")


def test_kafkajs_group_of_two(_k):
    with_mock(kc.kafkajs_roundtrip, "kj")


def test_sarama(_k):
    with_mock(kc.sarama_roundtrip, "sa")


if __name__ == "__main__":
    run_tests(globals())
