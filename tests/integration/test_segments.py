#!/usr/bin/env python3
"""Segment rolling: segment.bytes and segment.ms, names, describe vs files."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests  # noqa: E402


def produce_pieces(k, topic, pieces, per_piece, width=30):
    sent = []
    for p in range(pieces):
        lines = [("s%02d-%04d-" % (p, i) + "w" * width).encode() for i in range(per_piece)]
        k.produce(topic, lines)
        sent += lines
    return sent


def test_segment_bytes_roll(k):
    k.create("roll", "--config", "segment.bytes=4096")
    sent = produce_pieces(k, "roll", 10, 50)           # ~22 KB in 10 appends
    logs = k.logs("roll")
    names = [os.path.basename(p) for p in logs]
    check(len(logs) >= 4, "segment.bytes=4096 with ~22 KB gave %d .log files: %r"
          % (len(logs), names))
    for n in names:
        check(re.fullmatch(r"\d{20}\.log", n), "segment name %r is not 20 digits + .log" % n)
    rep = k.reader_check("roll")
    check(rep.ok, "reader problems: %s" % rep.problems[:3])
    for s in rep.segments:
        if s.batches:
            check(int(s.name[:20]) == s.batches[0].base_offset,
                  "%s holds first offset %d" % (s.name, s.batches[0].base_offset))
        if len(s.batches) > 1:
            check(s.size <= 4096, "%s is %d bytes > segment.bytes 4096" % (s.name, s.size))
    check(k.values("roll") == sent, "consume across segments differs from input")
    ov = k.offsets_values("roll", "--from", "237", "--count", "5")
    check(ov == [(237 + i, sent[237 + i]) for i in range(5)], "--from 237 across segments: %r" % ov)


def test_single_produce_respects_segment_bytes(k):
    # Kafka rejects a batch larger than segment.bytes, so one long produce must still
    # give segments no bigger than segment.bytes.
    k.create("big", "--config", "segment.bytes=16384")
    lines = [("one-run-%05d-" % i + "q" * 40).encode() for i in range(2000)]   # ~110 KB
    k.produce("big", lines)
    rep = k.reader_check("big")
    check(rep.ok, "reader problems: %s" % rep.problems[:3])
    check(len(rep.segments) >= 5, "110 KB into segment.bytes=16384 gave %d segment(s) (sizes %r)"
          % (len(rep.segments), [s.size for s in rep.segments]))
    for s in rep.segments:
        check(s.size <= 16384, "%s is %d bytes > segment.bytes" % (s.name, s.size))
    check(k.values("big") == lines, "consume differs from input")


def test_segment_ms_roll(k):
    k.create("timed", "--config", "segment.ms=100")
    first = ["first-%d" % i for i in range(10)]
    k.produce("timed", first)
    time.sleep(0.3)
    second = ["second-%d" % i for i in range(10)]
    k.produce("timed", second)
    names = [os.path.basename(p) for p in k.logs("timed")]
    check(names == ["%020d.log" % 0, "%020d.log" % 10],
          "segment.ms=100 with two appends 300 ms apart: expected 2 segments "
          "(00..00.log, 00..10.log), got %r" % names)
    check(k.values("timed") == [x.encode() for x in first + second], "data differs")
    d = k.describe("timed")
    check(d["partitions"][0]["segments"] == 2, "describe segments %r" % d["partitions"][0])


def test_no_roll_without_limits(k):
    # default segment.bytes (1 GiB) and segment.ms: several appends stay in one segment
    produce_pieces(k, "one", 5, 100)
    names = [os.path.basename(p) for p in k.logs("one")]
    check(names == ["%020d.log" % 0], "default configs rolled: %r" % names)


def test_describe_matches_files(k):
    k.create("desc", "--config", "segment.bytes=4096", "--config", "retention.ms=-1")
    lines = ['{"ts":%d,"n":%d,"pad":"%s"}' % (1_600_000_000_000 + 1000 * i, i, "p" * 40)
             for i in range(300)]
    for i in range(0, 300, 50):
        k.produce("desc", lines[i:i + 50], "--timestamp-field", "ts")
    d = k.describe("desc")
    check(d.get("name") == "desc", "describe name %r" % d.get("name"))
    parts = d.get("partitions")
    check(isinstance(parts, list) and len(parts) == 1, "partitions %r" % parts)
    p = parts[0]
    logs = k.logs("desc")
    check(p["partition"] == 0, "partition %r" % p)
    check(p["log_start_offset"] == 0, "log_start_offset %r" % p["log_start_offset"])
    check(p["log_end_offset"] == 300, "log_end_offset %r" % p["log_end_offset"])
    check(p["segments"] == len(logs), "describe segments %r, .log files %d"
          % (p["segments"], len(logs)))
    check(p["bytes"] == sum(os.path.getsize(x) for x in logs),
          "describe bytes %r != sum of .log sizes %d"
          % (p["bytes"], sum(os.path.getsize(x) for x in logs)))
    check(p["oldest_timestamp"] == 1_600_000_000_000, "oldest_timestamp %r" % p["oldest_timestamp"])
    check(p["newest_timestamp"] == 1_600_000_000_000 + 299_000,
          "newest_timestamp %r" % p["newest_timestamp"])


if __name__ == "__main__":
    run_tests(globals())
