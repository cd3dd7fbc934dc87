#!/usr/bin/env python3
"""confluent-kafka-python (librdkafka) driven from kappa's client tests.

  confluent_driver.py --bootstrap H:P [--timeout S] produce --topic T --count N [--prefix P]
        [--no-idempotence] [--acks all|1|0] [--compression none|gzip|snappy|lz4|zstd]
        [--timestamp MS]
  confluent_driver.py --bootstrap H:P group --topic T --group G --count N
  confluent_driver.py --bootstrap H:P admin CALL...   (create_topics:T:PARTS, list_topics,
        describe_configs:T, delete_topics:T, list_groups)

Prints JSON lines (event: delivered, record, assigned, revoked, committed, admin, done,
error), exits 1 on failure.  Records are key "<prefix>k<i>", value "<prefix>v<i>", with the
given timestamp (else the client's clock); a delivery report names the timestamp the
broker acknowledged and its type (create_time, or log_append_time from the broker).
Every wait is bounded by --timeout.
"""
import argparse
import json
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


TIMESTAMP_TYPES = {confluent_kafka.TIMESTAMP_NOT_AVAILABLE: "not_available",
                   confluent_kafka.TIMESTAMP_CREATE_TIME: "create_time",
                   confluent_kafka.TIMESTAMP_LOG_APPEND_TIME: "log_append_time"}


def emit(**kw):
    print(json.dumps(kw), flush=True)


def fail(msg):
    emit(event="error", error=msg)
    sys.exit(1)


def produce(a):
    conf = {"bootstrap.servers": a.bootstrap, "client.id": "kappa-confluent-driver",
            "enable.idempotence": not a.no_idempotence, "acks": a.acks,
            "compression.codec": a.compression, "linger.ms": 5,
            "message.timeout.ms": int(a.timeout * 1000)}
    p = Producer(conf)
    delivered = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append("%s: %s" % (msg.key(), err))
        else:
            delivered[msg.key().decode()] = msg

    keys = []
    for i in range(a.count):
        k, v = "%sk%d" % (a.prefix, i), "%sv%d" % (a.prefix, i)
        keys.append(k)
        while True:
            try:
                if a.timestamp is None:
                    p.produce(a.topic, key=k, value=v, on_delivery=on_delivery)
                else:
                    p.produce(a.topic, key=k, value=v, timestamp=a.timestamp, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
    left = p.flush(a.timeout)
    if errors:
        fail("delivery failed: %s" % "; ".join(errors[:5]))
    if left:
        fail("%d records not delivered in %ss" % (left, a.timeout))
    for k in keys:
        m = delivered[k]
        ts_type, ts = m.timestamp()
        emit(event="delivered", topic=m.topic(), partition=m.partition(), offset=m.offset(),
             key=k, value=m.value().decode(), timestamp=ts, timestamp_type=TIMESTAMP_TYPES.get(ts_type, ts_type))
    emit(event="done", count=len(keys))


def group(a):
    def on_assign(c, parts):
        emit(event="assigned", topic=a.topic, partitions=sorted(tp.partition for tp in parts))

    def on_revoke(c, parts):
        emit(event="revoked", topic=a.topic, partitions=sorted(tp.partition for tp in parts))

    c = Consumer({"bootstrap.servers": a.bootstrap, "client.id": "kappa-confluent-driver",
                  "group.id": a.group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 6000})
    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    deadline = time.monotonic() + a.timeout
    n = 0
    while n < a.count:
        if time.monotonic() > deadline:
            fail("group consumed %d of %d records in %ss" % (n, a.count, a.timeout))
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                continue
            fail("consume: %s" % m.error())
        emit(event="record", topic=m.topic(), partition=m.partition(), offset=m.offset(),
             key=(m.key() or b"").decode(), value=(m.value() or b"").decode(),
             timestamp=m.timestamp()[1], timestamp_type=TIMESTAMP_TYPES.get(m.timestamp()[0]))
        n += 1
    try:
        for tp in c.commit(asynchronous=False) or []:
            emit(event="committed", topic=tp.topic, partition=tp.partition, offset=tp.offset)
    except KafkaException as e:
        fail("commit: %s" % e)
    committed = c.committed([TopicPartition(a.topic, p) for p in
                             sorted({tp.partition for tp in c.assignment()})], timeout=a.timeout)
    for tp in committed:
        emit(event="fetched_offset", topic=tp.topic, partition=tp.partition, offset=tp.offset)
    c.close()
    emit(event="done", count=n)


def admin(a):
    ac = AdminClient({"bootstrap.servers": a.bootstrap, "client.id": "kappa-confluent-driver"})
    failed = 0
    for call in a.calls:
        name, *args = call.split(":")
        try:
            if name == "create_topics":
                fs = ac.create_topics([NewTopic(args[0], int(args[1]), 1)],
                                      request_timeout=a.timeout, operation_timeout=a.timeout)
                for t, f in fs.items():
                    f.result(timeout=a.timeout)
                result = args[0]
            elif name == "delete_topics":
                fs = ac.delete_topics([args[0]], request_timeout=a.timeout,
                                      operation_timeout=a.timeout)
                for t, f in fs.items():
                    f.result(timeout=a.timeout)
                result = args[0]
            elif name == "list_topics":
                md = ac.list_topics(timeout=a.timeout)
                result = {t: len(tm.partitions) for t, tm in md.topics.items()}
            elif name == "describe_configs":
                fs = ac.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, args[0])],
                                         request_timeout=a.timeout)
                result = {}
                for res, f in fs.items():
                    for k, e in f.result(timeout=a.timeout).items():
                        result[k] = e.value
            elif name == "list_groups":
                result = sorted(g.id for g in ac.list_groups(timeout=a.timeout))
            else:
                fail("unknown admin call %r" % name)
            emit(event="admin", call=name, ok=True, result=result)
        except Exception as e:  # noqa: BLE001 - reported per call
            failed += 1
            emit(event="admin", call=name, ok=False, error="%s: %s" % (type(e).__name__, e))
    if failed:
        sys.exit(1)
    emit(event="done")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--timeout", type=float, default=20)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--no-idempotence", action="store_true")
    p.add_argument("--acks", default="all")
    p.add_argument("--compression", default="none")
    p.add_argument("--timestamp", type=int, default=None)
    g = sub.add_parser("group")
    g.add_argument("--topic", required=True)
    g.add_argument("--group", required=True)
    g.add_argument("--count", type=int, required=True)
    d = sub.add_parser("admin")
    d.add_argument("calls", nargs="+")
    a = ap.parse_args()
    emit(event="client", name="confluent-kafka-python", version=confluent_kafka.version()[0],
         librdkafka=confluent_kafka.libversion()[0])
    {"produce": produce, "group": group, "admin": admin}[a.cmd](a)


if __name__ == "__main__":
    main()
