#!/usr/bin/env python3
"""Key -> partition must match Kafka's default partitioner:
toPositive(Utils.murmur2(keyBytes)) % numPartitions."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, feed, gen_clicks, run_tests  # noqa: E402

# Kafka's own vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
# testMurmur2 (signed 32-bit results of Utils.murmur2).
KAFKA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}
# kafka-python's test_murmur2_java_compatibility: partitions of 1000 computed with the
# Java client's partitioner.
JAVA_PARTITION_OF_1000 = {b"a": 524, b"ab": 434, b"abc": 107, b"123456789": 566}


def murmur2(data):
    """Port of Kafka's Utils.murmur2 (seed 0x9747b28c), returning a signed int32."""
    length = len(data)
    m = 0x5BD1E995
    r = 24
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    n4 = length // 4
    for i in range(n4):
        i4 = i * 4
        kk = (data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24))
        kk = (kk * m) & 0xFFFFFFFF
        kk ^= kk >> r
        kk = (kk * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= kk
    rest = length % 4
    base = length & ~3
    if rest == 3:
        h ^= data[base + 2] << 16
    if rest >= 2:
        h ^= data[base + 1] << 8
    if rest >= 1:
        h ^= data[base]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key, n):
    return (murmur2(key) & 0x7FFFFFFF) % n


def placements(k, topic):
    out = {}
    for ln in k.consume(topic, "-f", r"%p %k\n").lines:
        p, _, key = ln.partition(b" ")
        out.setdefault(key, set()).add(int(p))
    return out


def test_murmur2_port_matches_kafka_vectors(k):
    for key, h in KAFKA_MURMUR2.items():
        check(murmur2(key) == h, "murmur2(%r) = %d, Kafka says %d" % (key, murmur2(key), h))
    for key, p in JAVA_PARTITION_OF_1000.items():
        check(partition_for(key, 1000) == p, "partition(%r, 1000) != %d" % (key, p))


def test_kafka_vector_keys_land_where_kafka_puts_them(k):
    for n in (3, 7, 16):
        topic = "mm%d" % n
        k.create(topic, "--partitions", str(n))
        keys = list(KAFKA_MURMUR2) + list(JAVA_PARTITION_OF_1000)
        k.produce(topic, [kk + b":value-" + kk for kk in keys], "-K", ":")
        got = placements(k, topic)
        for key, h in KAFKA_MURMUR2.items():
            want = (h & 0x7FFFFFFF) % n           # straight from Kafka's numbers
            check(got.get(key) == {want}, "%d partitions: key %r landed in %s, Kafka puts it in %d"
                  % (n, key, sorted(got.get(key, [])), want))
        # keys whose length is 1 mod 4 (not covered by UtilsTest), via the port that
        # test_murmur2_port_matches_kafka_vectors checked against the Java partitioner
        for key in JAVA_PARTITION_OF_1000:
            want = partition_for(key, n)
            check(got.get(key) == {want}, "%d partitions: key %r landed in %s, Kafka puts it in %d"
                  % (n, key, sorted(got.get(key, [])), want))


def test_many_keys_with_key_delimiter(k):
    k.create("keys16", "--partitions", "16")
    keys = [("user-%d" % i).encode() for i in range(300)] + \
           [("\u043a\u043b\u044e\u0447-%d" % i).encode() for i in range(20)]   # UTF-8 keys
    k.produce("keys16", [kk + b"|payload" for kk in keys], "-K", "|")
    got = placements(k, "keys16")
    check(len(got) == len(keys), "expected %d distinct keys, saw %d" % (len(keys), len(got)))
    wrong = [(kk, sorted(got[kk]), partition_for(kk, 16)) for kk in keys
             if got.get(kk) != {partition_for(kk, 16)}]
    check(not wrong, "%d keys misplaced, e.g. %r" % (len(wrong), wrong[:3]))
    used = {p for s in got.values() for p in s}
    check(len(used) == 16, "300 keys should use all 16 partitions, used %d" % len(used))


def test_key_field_partitioning(k):
    clicks = gen_clicks(400, "--users", "60")
    k.create("kf", "--partitions", "8")
    k.produce("kf", clicks, "--key-field", "user_id")
    seen = 0
    for ln in k.consume("kf", "--json").lines:
        o = json.loads(ln)
        ev = json.loads(o["value"])
        check(o["key"] == ev["user_id"], "key %r != user_id %r" % (o["key"], ev["user_id"]))
        want = partition_for(ev["user_id"].encode(), 8)
        check(o["partition"] == want, "user_id %r in partition %d, Kafka: %d"
              % (ev["user_id"], o["partition"], want))
        seen += 1
    check(seen == len(clicks), "consumed %d of %d" % (seen, len(clicks)))


def test_explicit_partition_overrides_key(k):
    k.create("expl", "--partitions", "4")
    k.produce("expl", ["%d:v%d" % (i, i) for i in range(20)], "-K", ":", "--partition", "2")
    r = k.consume("expl", "-f", r"%p\n")
    check(r.lines == [b"2"] * 20, "--partition 2 with keys: partitions %r" % set(r.lines))


def test_null_keys_spread_over_partitions(k):
    k.create("rr", "--partitions", "4")
    p = k.spawn("produce", "rr", "--linger-ms", "5", stdout=subprocess.DEVNULL)
    for i in range(24):
        feed(p, b"nokey-%d\n" % i)
        time.sleep(0.03)                   # one batch per line
    feed(p, b"", close=True)
    check(p.wait(timeout=20) == 0, "producer failed")
    r = k.consume("rr", "-f", r"%p %s\n")
    parts = {}
    for ln in r.lines:
        pp, _, v = ln.partition(b" ")
        parts.setdefault(int(pp), []).append(v)
    check(sum(len(v) for v in parts.values()) == 24, "lost records: %r" % parts)
    check(len(parts) >= 2, "24 keyless batches all went to partition(s) %r; "
          "null keys should spread round-robin per batch" % sorted(parts))
    for pp, vals in parts.items():
        nums = [int(v.split(b"-")[1]) for v in vals]
        check(nums == sorted(nums), "partition %d not in produce order: %r" % (pp, nums))


if __name__ == "__main__":
    run_tests(globals())
