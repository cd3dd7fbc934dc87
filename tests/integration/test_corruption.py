#!/usr/bin/env python3
"""A flipped byte inside a sealed segment: consume refuses it, verify names it,
--skip-corrupt skips exactly the bad batch."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_reader  # noqa: E402
from kappa_harness import check, run_tests, short  # noqa: E402


def setup_damaged(k, topic="dmg"):
    """Several segments of several batches; flip one byte inside a record value in the
    middle batch of the first (sealed) segment.  Returns (sent, seg_name, bad_batch)."""
    k.create(topic, "--config", "segment.bytes=4096")
    sent = []
    for p in range(12):
        lines = [("dmg-%02d-%02d-%s" % (p, i, "v" * 24)).encode() for i in range(20)]
        k.produce(topic, lines)
        sent += lines
    rep = k.reader_check(topic)
    check(rep.ok and len(rep.segments) >= 3, "setup: %d segments, problems %s"
          % (len(rep.segments), rep.problems[:3]))
    seg = rep.segments[0]
    check(len(seg.batches) >= 3, "setup: first segment has %d batches" % len(seg.batches))
    bad = seg.batches[len(seg.batches) // 2]
    # the middle of the batch's last record value: inside the CRC-covered records area
    pos = bad.position + bad.size - 6
    with open(seg.path, "r+b") as f:
        f.seek(pos)
        c = f.read(1)
        f.seek(pos)
        f.write(bytes([c[0] ^ 0x5A]))
    return sent, seg, bad


def mentions_number(text, n):
    return re.search(r"(?<![0-9])%d(?![0-9])" % n, text) is not None


def test_consume_refuses_corrupt_batch(k):
    sent, seg, bad = setup_damaged(k)
    r = k.consume("dmg", rc=None)
    check(r.rc == 1, "consume over a corrupt batch should exit 1: %s" % r.describe())
    got = r.lines
    check(got == sent[:len(got)], "consume printed something that is not the original data "
          "(the corrupted record?): %s" % next((short(g) for g, e in zip(got, sent) if g != e),
                                               "more lines than were produced"))
    check(len(got) <= bad.base_offset, "consume printed records at/after the corrupt batch "
          "(%d lines, bad batch starts at %d)" % (len(got), bad.base_offset))
    err = r.errtext
    check("dmg" in err, "error does not name the topic: %r" % err)
    check(re.search(r"dmg-0\b|partition\W{0,3}0\b", err, re.I),
          "error does not name the partition: %r" % err)
    check(seg.name[:20] in err, "error does not name the segment %s: %r" % (seg.name, err))
    check(any(mentions_number(err, n) for n in range(bad.base_offset, bad.last_offset + 1)),
          "error does not name the corrupt offset (%d..%d): %r"
          % (bad.base_offset, bad.last_offset, err))


def test_verify_names_segment_and_offset(k):
    k.produce("clean", ["a", "b", "c"])
    r = k.run("verify")
    check(r.rc == 0, "verify of a clean data dir should exit 0: %s" % r.describe())
    sent, seg, bad = setup_damaged(k)
    r = k.run("verify", "dmg")
    check(r.rc == 1, "verify should exit 1 on a corrupt batch: %s" % r.describe())
    both = r.text + r.errtext
    check(seg.name[:20] in both, "verify does not name segment %s: %s" % (seg.name, short(both)))
    check(any(mentions_number(both, n) for n in range(bad.base_offset, bad.last_offset + 1)),
          "verify does not name offset %d: %s" % (bad.base_offset, short(both)))
    r = k.run("verify")
    check(r.rc == 1, "verify without a topic must check all topics: %s" % r.describe())
    r = k.run("verify", "clean")
    check(r.rc == 0, "verify of the clean topic: %s" % r.describe())


def test_skip_corrupt_continues_after_damage(k):
    sent, seg, bad = setup_damaged(k)
    r = k.consume("dmg", "--skip-corrupt", rc=None)
    got = r.lines
    expected = sent[:bad.base_offset] + sent[bad.last_offset + 1:]
    check(got == expected,
          "--skip-corrupt should print everything except offsets %d..%d: got %d records, "
          "expected %d; first difference %s" % (
              bad.base_offset, bad.last_offset, len(got), len(expected),
              next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), "length")))
    err = r.errtext
    check(mentions_number(err, bad.base_offset),
          "skipped range not reported (want offset %d): %r" % (bad.base_offset, err))
    check(mentions_number(err, bad.last_offset) or
          mentions_number(err, bad.last_offset - bad.base_offset + 1),
          "skipped range end/count not reported (%d..%d): %r"
          % (bad.base_offset, bad.last_offset, err))
    check(r.rc in (0, 1), "rc %s" % r.rc)


def test_corrupt_batch_never_returned_from_any_start(k):
    sent, seg, bad = setup_damaged(k)
    # starting inside / right after the bad batch
    r = k.consume("dmg", "--from", str(bad.base_offset), rc=None)
    check(r.rc == 1 and r.lines == [], "--from the bad offset: %s" % r.describe())
    r = k.consume("dmg", "--from", str(bad.last_offset + 1), "--count", "3", rc=None)
    check(r.rc == 0 and r.lines == sent[bad.last_offset + 1:bad.last_offset + 4],
          "--from just after the bad batch should read normally: %s" % r.describe())
    r = k.consume("dmg", "--json", rc=None)
    check(r.rc == 1, "--json over the bad batch: %s" % r.describe())


def test_verify_detects_bad_index_entry(k):
    k.create("vidx", "--config", "segment.bytes=65536")
    for p in range(40):
        k.produce("vidx", [("vidx-%02d-%02d-%s" % (p, i, "q" * 40)) for i in range(40)])
    rep = k.reader_check("vidx")
    check(rep.ok and len(rep.segments) >= 2, "setup: %s" % rep.problems[:3])
    seg = rep.segments[0]
    check(seg.index, "setup: sealed 64 KiB segment has no .index entries")
    ipath = seg.path[:-4] + ".index"
    with open(ipath, "r+b") as f:
        f.seek(4)
        f.write((seg.index[0][1] + 1).to_bytes(4, "big"))   # position off by one
    r = k.run("verify", "vidx")
    check(r.rc == 1, "verify should fail on an index entry pointing inside a batch: %s"
          % r.describe())
    both = r.text + r.errtext
    check(seg.name[:20] in both, "verify does not name the segment: %s" % short(both))


def test_flipped_crc_field(k):
    k.create("crcf", "--config", "segment.bytes=4096")
    sent = []
    for p in range(8):
        lines = [("crcf-%d-%02d-%s" % (p, i, "c" * 30)).encode() for i in range(20)]
        k.produce("crcf", lines)
        sent += lines
    rep = k.reader_check("crcf")
    seg = rep.segments[0]
    bad = seg.batches[1]
    with open(seg.path, "r+b") as f:
        f.seek(bad.position + 17)           # the stored CRC itself
        f.write(b"\x00\x00\x00\x00" if bad.crc else b"\x01\x01\x01\x01")
    check(kafka_reader.check_segment(seg.path).problems, "setup: reader misses the bad CRC")
    r = k.run("verify", "crcf")
    check(r.rc == 1, "verify with a wrong stored CRC: %s" % r.describe())
    r = k.consume("crcf", rc=None)
    check(r.rc == 1 and r.lines == sent[:len(r.lines)] and len(r.lines) <= bad.base_offset,
          "consume over a wrong stored CRC: %s" % r.describe())


if __name__ == "__main__":
    run_tests(globals())
