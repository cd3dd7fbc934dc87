#!/usr/bin/env python3
"""Compressed batches (`kappa produce -z gzip|snappy|lz4|zstd`): the segments hold
batches an independent reader of Kafka's format decompresses to the same records, and
every reader of the log (consume, sessionize, compare, compaction, dump, verify) reads
them as it reads plain ones. Damage inside a compressed payload is reported, never
returned as data."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_reader  # noqa: E402
from kappa_harness import check, gen_clicks, run_tests, short  # noqa: E402

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
SESSIONS = ["--key-field", "user_id", "--time-field", "timestamp_ms", "--gap", "30m",
            "--count-by", "event_type", "--flush-at-end"]


def test_each_codec_writes_kafka_batches_that_read_back(k):
    lines = gen_clicks(6000, "--users", 300, "--seed", 5)
    plain_bytes = None
    for name, bits in [("none", 0)] + list(CODECS.items()):
        topic = "c-" + name
        k.create(topic, "--partitions", 2, "--config", "segment.bytes=65536", "--config", "retention.ms=-1")
        k.produce(topic, lines, "-z", name, "--key-field", "user_id", "--timestamp-field", "timestamp_ms")
        got = sorted(k.values(topic))
        check(got == sorted(lines), "%s: consume gave %d records, not the %d produced" % (name, len(got), len(lines)))
        size = 0
        for p in range(2):
            rep = k.reader_check(topic, p)
            check(rep.ok, "%s partition %d: kafka_reader: %s" % (name, p, "; ".join(rep.problems[:3])))
            codecs = {b.compression for s in rep.segments for b in s.batches}
            check(codecs == {bits}, "%s: batches carry codecs %s" % (name, codecs))
            check(len(rep.segments) >= 2 or name != "none", "%s: expected several segments" % name)
            size += sum(os.path.getsize(f) for f in k.logs(topic, p))
            ordered = [r.value for r in rep.records]
            check(ordered == k.values(topic, "--partition", p),
                  "%s partition %d: the independent reader and consume disagree" % (name, p))
        if name == "none":
            plain_bytes = size
        else:
            check(size < plain_bytes / 2, "%s: %d bytes on disk against %d uncompressed" % (name, size, plain_bytes))
        k.ok("verify", topic)
        dump = k.ok("dump", k.logs(topic, 0)[0]).text
        check("compresscodec: %s" % name in dump, "%s: dump says %s" % (name, short(dump)))
        check(lines[0].decode() in dump or "payload: {" in dump, "%s: dump shows no payload" % name)


def test_readers_see_the_same_records_through_any_codec(k):
    lines = gen_clicks(8000, "--users", 400, "--seed", 9, "--jitter-ms", 5000)
    outputs = {}
    for name in ["none", "gzip", "snappy", "lz4", "zstd"]:
        k.create("in-" + name, "--partitions", 2, "--config", "retention.ms=-1")
        k.produce("in-" + name, lines, "-z", name, "--key-field", "user_id", "--timestamp-field", "timestamp_ms")
        k.ok("sessionize", "--input", "in-" + name, "--output", "out-" + name, *SESSIONS)
        outputs[name] = [k.values("out-" + name, "--partition", p) for p in range(2)]
        check(sum(len(o) for o in outputs[name]) > 100, "%s: only %d sessions" % (name, len(outputs[name][0])))
    for name in CODECS:
        check(outputs[name] == outputs["none"], "sessionize over %s input differs from over plain input" % name)
        r = k.run("compare", "in-none", "in-" + name)
        check(r.rc == 0, "compare in-none in-%s: exit %d: %s" % (name, r.rc, short(r.err)))


def test_compaction_keeps_the_codec_and_the_latest_values(k):
    for name in CODECS:
        topic = "kv-" + name
        k.create(topic, "--config", "cleanup.policy=compact", "--config", "segment.bytes=16384",
                 "--config", "min.cleanable.dirty.ratio=0.01")
        latest = {}
        lines = []
        for i in range(3000):
            key = "k%d" % (i % 150)
            v = "%s:%s" % (key, json.dumps({"n": i, "pad": "x" * 40}))
            lines.append(v)
            latest[key] = v.split(":", 1)[1]
        k.produce(topic, lines, "-z", name, "-K", ":")
        k.ok("maintain", topic)
        kv = {}
        for ln in k.consume(topic, "-f", r"%k=%s\n").lines:
            key, _, val = ln.decode().partition("=")
            kv[key] = val
        check(kv == latest, "%s: after compaction the latest values differ" % name)
        rep = k.reader_check(topic, dense=False)
        check(rep.ok, "%s: kafka_reader after compaction: %s" % (name, "; ".join(rep.problems[:3])))
        check(len(rep.records) < 3000, "%s: compaction removed nothing (%d records)" % (name, len(rep.records)))
        check({b.compression for s in rep.segments for b in s.batches} == {CODECS[name]},
              "%s: compaction changed the batches' codec" % name)


def _corrupt_compressed_payload(path):
    """Flips bytes inside the first batch's compressed records and fixes the CRC, so
    only decompression (or the records) can tell."""
    data = bytearray(open(path, "rb").read())
    length = struct.unpack(">i", data[8:12])[0]
    end = 12 + length
    for i in range(61 + 8, min(61 + 40, end)):
        data[i] ^= 0xA5
    struct.pack_into(">I", data, 17, kafka_reader.crc32c(bytes(data[21:end])))
    open(path, "wb").write(data)


def test_damage_inside_a_compressed_payload_is_reported(k):
    for name in CODECS:
        topic = "bad-" + name
        k.create(topic, "--config", "segment.bytes=16384")
        k.produce(topic, ["value-%04d-%s" % (i, "y" * 50) for i in range(2000)], "-z", name)
        first = k.logs(topic)[0]
        _corrupt_compressed_payload(first)
        r = k.run("verify", topic)
        check(r.rc == 1, "%s: verify of a damaged payload exits %d: %s" % (name, r.rc, short(r.out + r.err)))
        check(b"batch at position 0" in r.out + r.err, "%s: verify does not name the batch: %s"
              % (name, short(r.out + r.err)))
        r = k.consume(topic, rc=None)
        check(r.rc == 1, "%s: consume of a damaged payload exits %d" % (name, r.rc))
        check(b"offset 0" in r.err and b"segment" in r.err, "%s: consume's error: %s" % (name, short(r.err)))
        check(not r.out, "%s: consume printed records of the damaged batch" % name)
        skipped = k.consume(topic, "--skip-corrupt").lines
        check(0 < len(skipped) < 2000 and skipped[-1].startswith(b"value-1999"),
              "%s: --skip-corrupt gave %d records" % (name, len(skipped)))


def test_bad_codec_is_a_usage_error(k):
    r = k.produce("t", ["a"], "-z", "lzma", rc=2)
    check(b"lzma" in r.err and b"zstd" in r.err, "unhelpful error: %s" % short(r.err))


if __name__ == "__main__":
    run_tests(globals())
