#!/usr/bin/env python3
"""kafka-python (Debian's python3-kafka, 2.0.2) driven from kappa's client tests.

  kafkapython_driver.py --bootstrap H:P [--timeout S] [--api-version auto|0.11|...] \\
        produce --topic T --count N [--prefix P] [--compression none|gzip|snappy|lz4|zstd]
  kafkapython_driver.py --bootstrap H:P group --topic T --group G --count N
  kafkapython_driver.py --bootstrap H:P admin CALL...   (create_topics:T:PARTS,
        list_consumer_groups, describe_consumer_groups:G)

kafka-python 2.0.2 does not negotiate: it guesses the broker's version from the
ApiVersions answer (or takes --api-version) and sends fixed request versions for it.
Prints JSON lines, exits 1 on failure; records are key "<prefix>k<i>", value "<prefix>v<i>".
"""
import argparse
import json
import logging
import sys
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener


def emit(**kw):
    print(json.dumps(kw), flush=True)


def fail(msg):
    emit(event="error", error=msg)
    sys.exit(1)


def common(a):
    kw = {"bootstrap_servers": a.bootstrap, "client_id": "kappa-kafkapython-driver",
          "request_timeout_ms": int(a.timeout * 1000) + 1000}
    if a.api_version != "auto":
        kw["api_version"] = tuple(int(x) for x in a.api_version.split("."))
    else:
        kw["api_version_auto_timeout_ms"] = int(a.timeout * 1000)
    return kw


def produce(a):
    codec = None if a.compression == "none" else a.compression
    try:
        p = KafkaProducer(acks="all", linger_ms=5, retries=5, compression_type=codec, **common(a))
    except AssertionError as e:  # kafka-python's checks: codec library missing, broker too old
        fail("KafkaProducer: %s" % e)
    emit(event="api_version", version=list(p.config["api_version"]))
    futures = []
    for i in range(a.count):
        k, v = "%sk%d" % (a.prefix, i), "%sv%d" % (a.prefix, i)
        futures.append((k, v, p.send(a.topic, key=k.encode(), value=v.encode())))
    p.flush(timeout=a.timeout)
    for k, v, f in futures:
        try:
            md = f.get(timeout=a.timeout)
        except Exception as e:  # noqa: BLE001
            fail("send %s: %s: %s" % (k, type(e).__name__, e))
        emit(event="delivered", topic=md.topic, partition=md.partition, offset=md.offset,
             key=k, value=v)
    p.close(timeout=a.timeout)
    emit(event="done", count=a.count)


class Listener(ConsumerRebalanceListener):
    def __init__(self, topic):
        self.topic = topic

    def on_partitions_assigned(self, assigned):
        emit(event="assigned", topic=self.topic, partitions=sorted(tp.partition for tp in assigned))

    def on_partitions_revoked(self, revoked):
        emit(event="revoked", topic=self.topic, partitions=sorted(tp.partition for tp in revoked))


def group(a):
    c = KafkaConsumer(group_id=a.group, auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=10000, heartbeat_interval_ms=1000, **common(a))
    c.subscribe([a.topic], listener=Listener(a.topic))
    deadline = time.monotonic() + a.timeout
    n = 0
    while n < a.count:
        if time.monotonic() > deadline:
            fail("group consumed %d of %d records in %ss" % (n, a.count, a.timeout))
        for tp, msgs in c.poll(timeout_ms=200).items():
            for m in msgs:
                emit(event="record", topic=m.topic, partition=m.partition, offset=m.offset,
                     key=(m.key or b"").decode(), value=(m.value or b"").decode(),
                     timestamp=m.timestamp)
                n += 1
    c.commit()
    for tp in sorted(c.assignment()):
        emit(event="fetched_offset", topic=tp.topic, partition=tp.partition,
             offset=c.committed(TopicPartition(tp.topic, tp.partition)))
    c.close()
    emit(event="done", count=n)


def admin(a):
    ac = KafkaAdminClient(**common(a))
    failed = 0
    for call in a.calls:
        name, *args = call.split(":")
        try:
            if name == "create_topics":
                r = ac.create_topics([NewTopic(args[0], int(args[1]), 1)],
                                     timeout_ms=int(a.timeout * 1000))
                errs = [e for e in r.topic_errors if e[1] != 0]
                if errs:
                    raise RuntimeError("topic errors %r" % (errs,))
                result = args[0]
            elif name == "list_consumer_groups":
                result = sorted(g[0] for g in ac.list_consumer_groups())
            elif name == "describe_consumer_groups":
                result = [{"group": d.group, "state": d.state, "protocol": d.protocol,
                           "members": len(d.members)}
                          for d in ac.describe_consumer_groups([args[0]])]
            else:
                fail("unknown admin call %r" % name)
            emit(event="admin", call=name, ok=True, result=result)
        except Exception as e:  # noqa: BLE001 - reported per call
            failed += 1
            emit(event="admin", call=name, ok=False, error="%s: %s" % (type(e).__name__, e))
    ac.close()
    if failed:
        sys.exit(1)
    emit(event="done")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--api-version", default="auto")
    ap.add_argument("--debug", action="store_true", help="kafka-python's own log on stderr")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--compression", default="none")
    g = sub.add_parser("group")
    g.add_argument("--topic", required=True)
    g.add_argument("--group", required=True)
    g.add_argument("--count", type=int, required=True)
    d = sub.add_parser("admin")
    d.add_argument("calls", nargs="+")
    a = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.ERROR, stream=sys.stderr)
    emit(event="client", name="kafka-python", version=kafka.__version__)
    {"produce": produce, "group": group, "admin": admin}[a.cmd](a)


if __name__ == "__main__":
    main()
