#!/usr/bin/env python3
"""Crash safety: kill -9 of a producer mid-stream, torn tails, lost indexes."""
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_reader  # noqa: E402
from kappa_harness import LineReader, check, run_tests, short, stop  # noqa: E402

SEED = int(os.environ.get("KAPPA_TEST_SEED", str(int(time.time()) % 100000)))


def check_prefix_stream(k, topic, expected):
    """consume must print offsets 0..n-1 dense, the first len(expected) values equal to
    `expected`; returns the values after them."""
    ov = k.offsets_values(topic)
    offs = [o for o, _ in ov]
    check(offs == list(range(len(ov))), "offsets not dense from 0: %r" % offs[:20])
    vals = [v for _, v in ov]
    check(vals[:len(expected)] == expected,
          "records from earlier rounds changed (had %d, now %d)" % (len(expected), len(vals)))
    return vals[len(expected):]


def test_kill9_producer_leaves_clean_prefix(k):
    rnd = random.Random(SEED)
    k.create("crash", "--config", "segment.bytes=8192")
    # a follower running through all the crashes must only ever print whole records
    follower = k.spawn("consume", "crash", "--follow", stdin=subprocess.DEVNULL)
    followed = LineReader(follower.stdout)
    stream = []
    written_total = 0
    rounds_with_data = 0
    for rnd_no in range(6):
        p = k.spawn("produce", "crash", "--linger-ms", "5", stdout=subprocess.DEVNULL)
        lines = []
        deadline = time.monotonic() + rnd.uniform(0.05, 0.6)
        i = 0
        try:
            while time.monotonic() < deadline:
                line = ("r%d-%05d-%s" % (rnd_no, i, "x" * rnd.randint(0, 60))).encode()
                p.stdin.write(line + b"\n")
                p.stdin.flush()
                lines.append(line)
                i += 1
                time.sleep(rnd.uniform(0.0005, 0.003))
        except BrokenPipeError:
            err = p.stderr.read() if p.poll() is not None else b""
            check(False, "round %d: producer died before kill -9 (rc %s): %s"
                  % (rnd_no, p.poll(), short(err)))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        written_total += len(lines)
        new = check_prefix_stream(k, "crash", stream)
        check(new == lines[:len(new)],
              "seed %d round %d: consume after kill -9 is not a clean prefix of what was sent: "
              "first bad %s" % (SEED, rnd_no,
                                next((short(a) for a, e in zip(new, lines) if a != e), "extra records")))
        if new:
            rounds_with_data += 1
        stream += new
    check(rounds_with_data >= 2,
          "seed %d: only %d of 6 rounds had durable records before kill -9 (%d lines written); "
          "--linger-ms 5 should make records durable while stdin stays open"
          % (SEED, rounds_with_data, written_total))
    # a clean produce afterwards continues at the next offset
    k.produce("crash", ["after-1", "after-2"])
    ov = k.offsets_values("crash", "--from", str(len(stream)))
    check(ov == [(len(stream), b"after-1"), (len(stream) + 1, b"after-2")],
          "after the crashes, new records should be at %d, %d: got %r"
          % (len(stream), len(stream) + 1, ov))
    rep = k.reader_check("crash")
    check(rep.ok, "files after recovery: %s" % rep.problems[:3])
    check(len(rep.records) == len(stream) + 2, "reader sees %d records, consume %d"
          % (len(rep.records), len(stream) + 2))
    k.ok("verify", "crash")
    seen = followed.collect(len(stream) + 2, 15)
    stop(follower, signal.SIGINT)
    want = stream + [b"after-1", b"after-2"]
    check(seen == want, "consume --follow running through the kill -9 rounds printed %d lines, "
          "the log holds %d; first difference at %s" % (
              len(seen), len(want),
              next((i for i, (a, e) in enumerate(zip(seen, want)) if a != e), "the end")))


def make_batches(k, topic, pieces=6, per=15):
    sent = []
    for p in range(pieces):
        lines = [("torn-%d-%02d-%s" % (p, i, "t" * 20)).encode() for i in range(per)]
        k.produce(topic, lines)
        sent += lines
    return sent


def tear_last_batch(path, garbage):
    with open(path, "rb") as f:
        data = f.read()
    batches, probs, _ = kafka_reader.parse_log(data)
    check(not probs and len(batches) >= 2, "setup: %s has %d batches, problems %s"
          % (path, len(batches), probs))
    last = batches[-1]
    cut = last.position + last.size // 2
    with open(path, "r+b") as f:
        f.truncate(cut)
        f.seek(cut)
        f.write(garbage)
    return last


def test_torn_tail_recovered_to_whole_batches(k):
    sent = make_batches(k, "torn")
    logs = k.logs("torn")
    last = tear_last_batch(logs[-1], b"\xde\xad\xbe\xef" * 16 + b"\x00\x00\x00\x07garbage")
    whole = last.base_offset                 # records before the torn batch
    # readers see exactly the whole batches, never the torn one or garbage
    r = k.consume("torn", rc=None)
    check(r.lines == sent[:whole], "consume after tearing: expected %d whole records, got %d: %s"
          % (whole, len(r.lines), short(r.out[-200:])))
    # a new producer recovers the tail and continues at the next offset
    k.produce("torn", ["new-a", "new-b"])
    ov = k.offsets_values("torn")
    check(ov == list(enumerate(sent[:whole] + [b"new-a", b"new-b"])),
          "after recovery expected offsets 0..%d with new records at %d: got tail %r"
          % (whole + 1, whole, ov[-4:]))
    rep = k.reader_check("torn")
    check(rep.ok, "kafka_reader after recovery: %s" % rep.problems[:3])
    k.ok("verify", "torn")


def test_torn_tail_in_fresh_segment(k):
    # the only batch of a just-rolled segment is torn: recovery leaves the segment empty
    # (or removes it) and the next append lands at the same base offset
    k.create("fresh", "--config", "segment.bytes=4096")
    sent = []
    piece = 0
    while len(k.logs("fresh")) < 2 and piece < 50:
        lines = [("fresh-%02d-%02d-%s" % (piece, i, "f" * 30)).encode() for i in range(20)]
        k.produce("fresh", lines)
        sent += lines
        piece += 1
    logs = k.logs("fresh")
    check(len(logs) == 2, "setup: no roll")
    with open(logs[-1], "rb") as f:
        batches, probs, _ = kafka_reader.parse_log(f.read())
    check(len(batches) >= 1 and not probs, "setup: new segment %r" % batches)
    first = batches[0]
    with open(logs[-1], "r+b") as f:
        f.truncate(first.position + first.size // 2)     # tear its first batch
    whole = first.base_offset
    check(k.values("fresh") == sent[:whole], "consume after tearing the new segment")
    k.produce("fresh", ["again"])
    ov = k.offsets_values("fresh", "--from", str(whole))
    check(ov == [(whole, b"again")], "append after recovery should be at %d: %r" % (whole, ov))
    rep = k.reader_check("fresh")
    check(rep.ok, "reader problems: %s" % rep.problems[:3])
    check([r.offset for r in rep.records] == list(range(whole + 1)), "offsets on disk")


def test_torn_tail_without_garbage(k):
    sent = make_batches(k, "torn2")
    logs = k.logs("torn2")
    last = tear_last_batch(logs[-1], b"")
    whole = last.base_offset
    check(k.values("torn2") == sent[:whole], "consume after truncation")
    k.produce("torn2", ["next"])
    ov = k.offsets_values("torn2", "--from", str(whole))
    check(ov == [(whole, b"next")], "new record should be at %d: %r" % (whole, ov))
    check(k.reader_check("torn2").ok, "reader problems after recovery")


def test_torn_tail_zero_filled(k):
    # what a crash after a file-size extension but before data looks like
    sent = make_batches(k, "zeros")
    logs = k.logs("zeros")
    with open(logs[-1], "ab") as f:
        f.write(b"\x00" * 4096)
    check(k.values("zeros") == sent, "zero tail changed what consume prints")
    k.produce("zeros", ["z"])
    ov = k.offsets_values("zeros", "--from", str(len(sent)))
    check(ov == [(len(sent), b"z")], "after zero tail, new record at %d: %r" % (len(sent), ov))
    check(k.reader_check("zeros").ok, "reader problems after recovery")


def test_missing_indexes_rebuilt(k):
    k.create("noidx", "--config", "segment.bytes=65536")
    sent = []
    for p in range(30):
        lines = [("noidx-%02d-%03d-%s" % (p, i, "i" * 40)).encode() for i in range(40)]
        k.produce("noidx", lines)
        sent += lines
    d = k.pdir("noidx")
    removed = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".index") or n.endswith(".timeindex"):
            os.remove(os.path.join(d, n))
            removed.append(n)
    check(removed, "setup: no index files to remove")
    # reads must still be right without indexes
    ov = k.offsets_values("noidx", "--from", "1000", "--count", "2")
    check(ov == [(1000, sent[1000]), (1001, sent[1001])], "--from 1000 without index: %r" % ov)
    k.produce("noidx", ["tail"])
    ov = k.offsets_values("noidx", "--from", str(len(sent)))
    check(ov == [(len(sent), b"tail")], "append after index loss: %r" % ov)
    # the active segment's indexes must be rebuilt and correct (Kafka rebuilds all)
    rep = k.reader_check("noidx", require_indexes=False)
    check(rep.ok, "reader problems: %s" % rep.problems[:3])
    active = rep.segments[-1]
    stem = active.path[:-4]
    check(os.path.exists(stem + ".index") and os.path.exists(stem + ".timeindex"),
          "active segment's .index/.timeindex were not rebuilt")
    if active.size > 16384:
        check(active.index, "rebuilt .index of a %d-byte segment has no entries" % active.size)
    r = k.run("verify", "noidx")
    check(r.rc in (0, 1), "verify rc %s" % r.rc)


def test_corrupt_index_of_active_segment_rebuilt(k):
    k.create("badidx")
    sent = []
    for p in range(20):
        lines = [("badidx-%02d-%03d-%s" % (p, i, "b" * 40)).encode() for i in range(40)]
        k.produce("badidx", lines)
        sent += lines
    stem = k.logs("badidx")[-1][:-4]
    entries, _ = kafka_reader.parse_index(open(stem + ".index", "rb").read())
    check(entries, "setup: the 60 KB segment has no .index entries")
    with open(stem + ".index", "r+b") as f:   # point every entry somewhere wrong
        for i in range(len(entries)):
            f.seek(i * 8 + 4)
            f.write((entries[i][1] + 3).to_bytes(4, "big"))
    ov = k.offsets_values("badidx", "--from", "700", "--count", "1")
    check(ov == [(700, sent[700])], "--from 700 with a corrupt index: %r" % ov)
    k.produce("badidx", ["more"])
    check(k.values("badidx") == sent + [b"more"], "data after index corruption")
    rep = k.reader_check("badidx")
    check(rep.ok, "index not rebuilt after inconsistency: %s" % rep.problems[:3])


if __name__ == "__main__":
    run_tests(globals())
