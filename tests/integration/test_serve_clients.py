#!/usr/bin/env python3
"""The real Kafka clients' round trips (kafka_clients.py, proven against librdkafka's
mock cluster by test_clients_mock.py) against `kappa serve`: kcat, confluent-kafka-python,
kafka-python (negotiating, and at the fixed versions it sends to a 0.11 broker),
kafkajs and sarama. A client that is not installed is skipped with a message."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_clients as kc  # noqa: E402
from kappa_harness import check, run_tests  # noqa: E402
from test_serve import Server  # noqa: E402


def with_server(k, roundtrip, *args, **kw):
    s = Server(k)
    try:
        broker = kc.Broker(s.addr, name="kappa serve",
                           create_topic=lambda name, parts: k.create(name, "--partitions", parts))
        roundtrip(broker, *args, **kw)
    except kc.Skip as e:
        print("skip %s" % e, flush=True)
    finally:
        s.stop()


def test_kcat(k):
    with_server(k, kc.kcat_roundtrip, "kc")


def test_confluent_kafka_python_idempotent(k):
    # enable.idempotence=true, acks=all: InitProducerId and sequence numbers
    with_server(k, kc.confluent_roundtrip, "ck")


def test_kafka_python_0_11(k):
    with_server(k, kc.kafkapython_roundtrip, "kp11", api_version="0.11.0")


def test_kafka_python_negotiated(k):
    with_server(k, kc.kafkapython_roundtrip, "kp")


def test_kafkajs_group(k):
    with_server(k, kc.kafkajs_roundtrip, "kj")


def test_sarama(k):
    with_server(k, kc.sarama_roundtrip, "sa")



def stored_as_zstd(k, roundtrip):
    """roundtrip, then a check that kappa stored the client's batches as zstd."""
    def run(broker, topic, *args, **kw):
        roundtrip(broker, topic, *args, **kw)
        dump = k.ok("dump", k.logs(topic)[0]).text
        check("compresscodec: zstd" in dump, "%s: the client's batches are not stored as zstd" % topic)
    return run


def test_zstd_confluent_kafka_python(k):
    with_server(k, stored_as_zstd(k, kc.confluent_zstd_roundtrip), "ckz")


def test_zstd_kafka_python(k):
    with_server(k, stored_as_zstd(k, kc.kafkapython_zstd_roundtrip), "kpz")


def test_zstd_sarama_refused_in_produce_v3_but_read(k):
    with_server(k, kc.sarama_zstd, "saz")


if __name__ == "__main__":
    run_tests(globals())
