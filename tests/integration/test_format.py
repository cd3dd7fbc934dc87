#!/usr/bin/env python3
"""On-disk format: segments read by the independent kafka_reader.py (CRC-32C, dense
offsets, .index entries at batch starts, monotonic .timeindex) and `kappa dump`."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_reader  # noqa: E402
from kappa_harness import check, gen_clicks, run_tests, short  # noqa: E402


def reader_ok(k, topic, partition=0):
    rep = k.reader_check(topic, partition)
    check(rep.segments, "no .log files in %s" % k.pdir(topic, partition))
    check(rep.ok, "kafka_reader found problems in %s-%d: %s"
          % (topic, partition, "; ".join(rep.problems[:5])))
    return rep


def test_reader_self_test(k):
    failures = kafka_reader.self_test()
    check(not failures, "kafka_reader self-test: %s" % failures)


def test_segments_valid_crc_dense_offsets(k):
    k.create("fmt", "--config", "segment.bytes=4096")
    sent = []
    t0 = int(time.time() * 1000)
    for piece in range(10):
        lines = ["key%d:value-%d-%03d-%s" % (i % 7, piece, i, "p" * (i % 13)) for i in range(60)]
        k.produce("fmt", lines, "-K", ":")
        sent += [tuple(x.encode().split(b":", 1)) for x in lines]
    t1 = int(time.time() * 1000)
    rep = reader_ok(k, "fmt")
    check(len(rep.segments) >= 3, "segment.bytes=4096 with ~25 KB gave only %d segment(s)"
          % len(rep.segments))
    recs = rep.records
    check([r.offset for r in recs] == list(range(len(sent))),
          "offsets on disk are not 0..%d dense" % (len(sent) - 1))
    check([(r.key, r.value) for r in recs] == sent, "keys/values on disk differ from input")
    for r in recs:
        check(t0 - 5000 <= r.timestamp <= t1 + 5000,
              "record %d timestamp %d is not the wall clock at produce" % (r.offset, r.timestamp))
        check(r.headers == [], "record %d has unexpected headers %r" % (r.offset, r.headers))
    for s in rep.segments:
        check(re.fullmatch(r"\d{20}\.log", s.name), "bad segment name %s" % s.name)
        if s.batches:
            check(s.base == s.batches[0].base_offset, "%s starts with batch %d"
                  % (s.name, s.batches[0].base_offset))
        for bt in s.batches:
            check(bt.magic == 2, "magic %d" % bt.magic)


def test_index_entries_point_at_batch_starts(k):
    k.create("idx", "--config", "segment.bytes=65536")
    n = 0
    for piece in range(40):
        lines = ["idx-%06d-%s" % (n + i, "z" * 48) for i in range(40)]
        n += len(lines)
        k.produce("idx", lines)
    rep = reader_ok(k, "idx")
    check(len(rep.segments) >= 2, "expected a roll at 64 KiB, got %d segment(s)"
          % len(rep.segments))
    check(len(rep.records) == n, "reader sees %d records, produced %d" % (len(rep.records), n))
    first = rep.segments[0]
    check(len(first.batches) >= 20, "expected many batches, got %d" % len(first.batches))
    # Kafka indexes every ~4 KiB of log: a 64 KiB segment must have several entries
    check(len(first.index) >= max(2, first.size // 16384),
          "sealed segment of %d bytes has only %d .index entries (want one per ~4 KiB)"
          % (first.size, len(first.index)))
    check(len(first.index) <= len(first.batches), "more index entries than batches")
    # (kafka_reader has checked each entry points at a batch start holding its offset)
    # `kappa dump` of the .index shows the same entries (Kafka's "offset: N position: P")
    text = k.ok("dump", first.path[:-4] + ".index").text
    pairs = [(int(a), int(b)) for a, b in re.findall(r"offset: (\d+) position: (\d+)", text)]
    check(pairs == [(first.base + rel, pos) for rel, pos in first.index],
          "dump of .index %r, reader %r" % (pairs[:4], first.index[:4]))
    # consume from offsets inside several batches must use the index correctly
    for start in (1, 777, n // 2, n - 1):
        ov = k.offsets_values("idx", "--from", str(start), "--count", "3")
        check([o for o, _ in ov] == list(range(start, min(start + 3, n))),
              "--from %d gave offsets %r" % (start, [o for o, _ in ov]))
        check(ov[0][1] == ("idx-%06d-%s" % (start, "z" * 48)).encode(),
              "--from %d gave value %s" % (start, short(ov[0][1])))


def test_timeindex_and_event_timestamps(k):
    clicks = gen_clicks(2000, "--users", "50", "--jitter-ms", "5000", "--late-frac", "0.01")
    k.create("clicks", "--config", "segment.bytes=32768", "--config", "retention.ms=-1")
    for i in range(0, len(clicks), 250):
        k.produce("clicks", clicks[i:i + 250], "--timestamp-field", "timestamp_ms",
                  "--key-field", "user_id")
    rep = reader_ok(k, "clicks")
    check(len(rep.segments) >= 4, "expected several segments, got %d" % len(rep.segments))
    recs = rep.records
    check(len(recs) == len(clicks), "reader sees %d records of %d" % (len(recs), len(clicks)))
    for r, line in zip(recs, clicks):
        ev = json.loads(line)
        check(r.value == line, "offset %d value differs" % r.offset)
        check(r.timestamp == ev["timestamp_ms"], "offset %d timestamp %d != timestamp_ms %d"
              % (r.offset, r.timestamp, ev["timestamp_ms"]))
        check(r.key == ev["user_id"].encode(), "offset %d key %r != user_id %r"
              % (r.offset, r.key, ev["user_id"]))
    # timestamps are out of order in the input: the reader checked maxTimestamp per batch
    # and that the time index is non-decreasing and tracks the running maximum.
    check(any(s.timeindex for s in rep.segments), "no .timeindex entries at all")
    for s in rep.segments[:-1]:
        check(s.timeindex, "sealed segment %s has an empty .timeindex (Kafka writes the "
              "segment's max timestamp to it when rolling)" % s.name)
        mx = max(r.timestamp for r in s.records)
        check(s.timeindex[-1][0] == mx, "sealed segment %s: last .timeindex timestamp %d, "
              "max record timestamp %d" % (s.name, s.timeindex[-1][0], mx))


def test_null_key_and_null_value_on_disk(k):
    k.produce("nulls", ["plain", ""])
    k.produce("nulls", ["tomb", ""], "-Z")
    k.produce("nulls", ["k:v", "e:"], "-K", ":")
    recs = reader_ok(k, "nulls").records
    got = [(r.key, r.value) for r in recs]
    check(got == [(None, b"plain"), (None, b""), (None, b"tomb"), (None, None),
                  (b"k", b"v"), (b"e", b"")], "on-disk key/value: %r" % got)


def test_dump_prints_batches_and_records(k):
    k.create("dmp", "--config", "segment.bytes=4096")
    sent = []
    for piece in range(6):
        lines = ["dump-%d-%02d" % (piece, i) for i in range(40)]
        k.produce("dmp", lines)
        sent += lines
    rep = reader_ok(k, "dmp")
    seg = rep.segments[0]
    r = k.ok("dump", seg.path)
    text = r.text
    bases = [int(x) for x in re.findall(r"baseOffset: (-?\d+)", text)]
    check(bases == [bt.base_offset for bt in seg.batches],
          "dump baseOffsets %r, reader %r" % (bases[:10], [bt.base_offset for bt in seg.batches][:10]))
    rec_lines = [ln for ln in text.splitlines() if "payload: " in ln]
    offs = []
    payloads = []
    for ln in rec_lines:
        m = re.search(r"(?:^|[^A-Za-z])offset: (\d+)", ln)
        check(m, "record line without 'offset: N': %s" % short(ln))
        offs.append(int(m.group(1)))
        payloads.append(ln.split("payload: ", 1)[1].rstrip())
    check(offs == [x.offset for x in seg.records],
          "dump record offsets %r != %r" % (offs[:10], [x.offset for x in seg.records][:10]))
    check(payloads == [x.value.decode() for x in seg.records],
          "dump payloads differ: %r" % payloads[:5])
    # a sealed segment in the middle too
    if len(rep.segments) > 2:
        mid = rep.segments[1]
        text = k.ok("dump", mid.path).text
        check("baseOffset: %d" % mid.base in text, "dump of %s lacks its first batch" % mid.name)


if __name__ == "__main__":
    run_tests(globals())
