#!/usr/bin/env python3
"""Delete retention: retention.ms and retention.bytes remove whole oldest sealed segments,
never the active one; the log start offset moves; readers and `kappa maintain` see it."""
import json
import os
import signal
import time

from kappa_harness import check, run_tests, short, stop, feed

DAY = 86_400_000


def now_ms():
    return int(time.time() * 1000)


def seg_bases(k, topic, partition=0):
    return [int(os.path.basename(p)[:20]) for p in k.logs(topic, partition)]


def log_bytes(k, topic, partition=0):
    return sum(os.path.getsize(p) for p in k.logs(topic, partition))


def maintain_json(k, *topics):
    r = k.ok("maintain", "--json", *topics)
    try:
        return json.loads(r.out)
    except ValueError as e:
        raise AssertionError("maintain --json is not JSON (%s): %s" % (e, short(r.out)))


def test_time_retention_keeps_contiguous_tail(k):
    # Produced with retention off, so nothing goes before `maintain` runs.
    k.create("t", "--config", "segment.bytes=4096", "--config", "retention.ms=-1")
    old, new = now_ms() - 3 * DAY, now_ms()
    lines = ['{"ts":%d,"n":%d,"pad":"%s"}' % (old + i, i, "x" * 40) for i in range(400)]
    lines += ['{"ts":%d,"n":%d,"pad":"%s"}' % (new + i, 400 + i, "x" * 40) for i in range(400)]
    k.produce("t", lines, "--timestamp-field", "ts")
    before = seg_bases(k, "t")
    check(len(before) > 6, "setup: expected many segments, got %r" % before)
    k.ok("topic", "alter", "t", "--config", "retention.ms=%d" % DAY)
    rep = maintain_json(k, "t")
    p = rep["partitions"][0]
    check(p["topic"] == "t" and p["partition"] == 0, "maintain names the partition: %r" % p)
    check(p["segments_removed"] > 0 and p["bytes_removed"] > 0, "old segments removed: %r" % p)
    after = seg_bases(k, "t")
    check(len(before) - len(after) == p["segments_removed"],
          "segments_removed %d but %d .log files went" % (p["segments_removed"], len(before) - len(after)))
    start = after[0]
    check(p["log_start_offset"] == start, "maintain's log_start_offset %r vs first segment %d"
          % (p["log_start_offset"], start))
    # Whole segments only: the segment holding offset 399 (the last old record) and
    # everything after it stay; all removed ones ended before 400.
    check(0 < start <= 400, "new start %d should be in (0, 400]" % start)
    got = k.offsets_values("t")
    check([o for o, _ in got] == list(range(start, 800)), "offsets must be the contiguous tail %d..799" % start)
    check([v for _, v in got] == [l.encode() for l in lines[start:]], "values unchanged at their offsets")
    d = k.describe("t")["partitions"][0]
    check(d["log_start_offset"] == start, "describe log_start_offset %r, expected %d" % (d["log_start_offset"], start))
    check(d["log_end_offset"] == 800, "describe log_end_offset %r" % d["log_end_offset"])
    k.reader_check("t")
    # Nothing more to do the second time.
    again = maintain_json(k, "t")["partitions"][0]
    check(again["segments_removed"] == 0, "second maintain removed %r" % again)


def test_active_segment_never_removed(k):
    k.create("a", "--config", "retention.ms=-1")
    k.produce("a", ['{"ts":1000,"n":%d}' % i for i in range(50)], "--timestamp-field", "ts")
    k.ok("topic", "alter", "a", "--config", "retention.ms=1")
    p = maintain_json(k, "a")["partitions"][0]
    check(p["segments_removed"] == 0, "the active segment must stay even when expired: %r" % p)
    check(len(k.values("a")) == 50, "all 50 records still readable")
    # With sealed segments too: all of them go, the active one stays.
    k.ok("topic", "alter", "a", "--config", "segment.bytes=512")
    k.produce("a", ['{"ts":2000,"n":%d}' % i for i in range(200)], "--timestamp-field", "ts")
    maintain_json(k, "a")
    bases = seg_bases(k, "a")
    check(len(bases) == 1, "only the active segment remains, got %r" % bases)
    got = k.offsets_values("a")
    check(got and got[-1][0] == 249 and got[0][0] == bases[0], "active segment's records remain: %r" % got[:2])


def test_size_retention_bounds_a_long_running_producer(k):
    seg, limit = 8192, 40000
    k.create("s", "--config", "segment.bytes=%d" % seg, "--config", "retention.bytes=%d" % limit)
    p = k.spawn("produce", "s", "--linger-ms", "20")
    n = 0
    worst = 0
    for chunk in range(30):
        lines = "".join("record %06d %s\n" % (n + i, "y" * 60) for i in range(300))
        n += 300
        feed(p, lines.encode())
        time.sleep(0.15)
        worst = max(worst, log_bytes(k, "s"))
    feed(p, b"", close=True)
    p.wait(timeout=20)
    check(p.returncode == 0, "producer exit %r: %s" % (p.returncode, short(p.stderr.read())))
    total = log_bytes(k, "s")
    check(total <= limit + seg, "after the producer: %d bytes > retention.bytes + one segment (%d)"
          % (total, limit + seg))
    # While it ran the disk stayed bounded too (a little slack for a roll in progress).
    check(worst <= limit + 3 * seg, "while producing the partition reached %d bytes (limit %d + segment %d)"
          % (worst, limit, seg))
    got = k.offsets_values("s")
    check(got[-1][0] == n - 1 and got[-1][1].startswith(b"record %06d" % (n - 1)), "the newest record is there")
    check([o for o, _ in got] == list(range(got[0][0], n)), "what remains is a contiguous tail")
    check(got[0][0] > 0, "the oldest records were removed")
    check(k.describe("s")["partitions"][0]["log_start_offset"] == got[0][0], "describe shows the new start")


def test_explicit_offset_below_start_is_an_error(k):
    k.create("e", "--config", "segment.bytes=1024", "--config", "retention.bytes=3000")
    k.produce("e", ["value %04d %s" % (i, "z" * 30) for i in range(400)])
    start = k.describe("e")["partitions"][0]["log_start_offset"]
    check(start > 0, "setup: retention moved the start")
    r = k.run("consume", "e", "--from", "3")
    check(r.rc == 1, "--from 3 below the start: exit %d, want 1" % r.rc)
    check(b"log start offset %d" % start in r.err and b"partition 0" in r.err and b"--from earliest" in r.err,
          "error names the partition and the start and says what to do: %s" % short(r.err))
    got = k.offsets_values("e", "--from", "earliest", "--count", "1")
    check(got[0][0] == start, "--from earliest starts at the new start %d: %r" % (start, got))
    got = k.offsets_values("e", "--from", str(start + 1), "--count", "1")
    check(got[0][0] == start + 1, "an offset above the start still works")


def test_group_behind_the_start_resumes_at_start(k):
    k.create("g", "--config", "segment.bytes=1024", "--config", "retention.ms=-1")
    k.produce("g", ["v%04d %s" % (i, "q" * 30) for i in range(100)])
    k.consume("g", "--group", "slow", "--count", "5")
    k.ok("topic", "alter", "g", "--config", "retention.bytes=2000")
    k.produce("g", ["w%04d %s" % (i, "q" * 30) for i in range(300)])
    start = k.describe("g")["partitions"][0]["log_start_offset"]
    check(start > 5, "setup: retention passed the group's offset (start %d)" % start)
    # Lag is Kafka's: log end minus the committed offset, even below the start.
    row = json.loads(k.ok("group", "describe", "slow", "--json").out)["partitions"][0]
    check(row["committed_offset"] == 5 and row["lag"] == 400 - 5, "lag = end - committed: %r" % row)
    r = k.consume("g", "--group", "slow")
    first = r.lines[0]
    check(b"below the log start offset %d" % start in r.err, "a note says the group skipped: %s" % short(r.err))
    vals = k.offsets_values("g", "--from", str(start), "--count", "1")
    check(first == vals[0][1], "the group resumes at the log start")



def test_reader_keeps_reading_while_segments_go(k):
    k.create("f", "--config", "segment.bytes=2048", "--config", "retention.bytes=8000")
    c = k.spawn("consume", "f", "--follow", "-f", r"%o\n")
    p = k.spawn("produce", "f", "--linger-ms", "5")
    total = 6000
    for i in range(0, total, 500):
        feed(p, "".join("line %05d %s\n" % (j, "p" * 20) for j in range(i, i + 500)).encode())
        time.sleep(0.05)
    feed(p, b"", close=True)
    p.wait(timeout=20)
    deadline = time.time() + 10
    offsets = []
    buf = b""
    os.set_blocking(c.stdout.fileno(), False)
    while time.time() < deadline:
        chunk = c.stdout.read()
        if chunk:
            buf += chunk
        if buf.endswith(b"%d\n" % (total - 1)):
            break
        time.sleep(0.05)
    stop(c)
    offsets = [int(x) for x in buf.split()]
    check(offsets and offsets[-1] == total - 1, "the follower reached the end (last %r)" % offsets[-1:])
    check(all(a < b for a, b in zip(offsets, offsets[1:])), "offsets strictly increase (no repeats)")
    check(b"error" not in c.stderr.read(), "no errors while segments were removed under the reader")


def test_paused_follower_continues_at_what_retention_kept(k):
    # The follower's open segment (and more) is removed while it is stopped;
    # it must go on with every record that is still there, skipping none,
    # and say which offsets it never saw.
    k.create("pf", "--config", "segment.bytes=2000", "--config", "retention.ms=-1")
    rec = lambda i: "rec-%05d-%s" % (i, "x" * 40)
    k.produce("pf", [rec(i) for i in range(100)])
    c = k.spawn("consume", "pf", "--follow", "-f", r"%o\n")
    os.set_blocking(c.stdout.fileno(), False)
    buf = b""
    deadline = time.time() + 10
    while not buf.endswith(b"99\n") and time.time() < deadline:
        buf += c.stdout.read() or b""
        time.sleep(0.05)
    check(buf.endswith(b"99\n"), "setup: the follower caught up")
    c.send_signal(signal.SIGSTOP)
    try:
        k.produce("pf", [rec(i) for i in range(100, 400)])
        k.ok("topic", "alter", "pf", "--config", "retention.bytes=4500")
        k.ok("maintain", "pf")
    finally:
        c.send_signal(signal.SIGCONT)
    start = k.describe("pf")["partitions"][0]["log_start_offset"]
    check(start > 100, "setup: retention removed records the follower had not read (start %d)" % start)
    deadline = time.time() + 10
    while not buf.endswith(b"399\n") and time.time() < deadline:
        buf += c.stdout.read() or b""
        time.sleep(0.05)
    stop(c)
    offs = [int(x) for x in buf.split()]
    check(offs[:100] == list(range(100)), "first the 100 records read before")
    check(offs[100:] == list(range(start, 400)), "then every retained record from the new start %d: got %r"
          % (start, offs[100:105]))
    err = c.stderr.read()
    check(b"offsets 100..%d were removed by retention before they were read" % (start - 1) in err,
          "the follower says what it missed: %s" % short(err))


def test_maintain_table_and_errors(k):
    k.create("m1", "--config", "segment.bytes=1024", "--config", "retention.ms=-1")
    k.create("m2", "--partitions", "2")
    k.produce("m1", ["x%03d %s" % (i, "m" * 40) for i in range(100)])
    r = k.ok("maintain")
    rows = [l.split() for l in r.lines]
    check(rows[0][:3] == [b"topic", b"partition", b"segments_removed"], "a header row: %r" % rows[0])
    names = sorted((row[0], row[1]) for row in rows[1:] if row and row[0] in (b"m1", b"m2"))
    check(names == [(b"m1", b"0"), (b"m2", b"0"), (b"m2", b"1")], "one row per partition: %r" % names)
    r = k.run("maintain", "nosuch")
    check(r.rc == 1 and b"nosuch" in r.err, "missing topic: exit 1 naming it: %d %s" % (r.rc, short(r.err)))
    r = k.run("maintain", "bad/name")
    check(r.rc == 2, "invalid topic name is a usage error: %d" % r.rc)


def test_retention_sizing_in_describe(k):
    k.create("z", "--config", "retention.ms=-1", "--config", "retention.bytes=100000")
    base = now_ms() - 100_000
    lines = ['{"ts":%d,"i":%d}' % (base + 1000 * i, i) for i in range(101)]  # one record a second
    k.produce("z", lines, "--timestamp-field", "ts")
    p = k.describe("z")["partitions"][0]
    check(p["retained_span_ms"] == 100_000, "retained span %r" % p["retained_span_ms"])
    check(abs(p["ingest_records_per_sec"] - 1.01) < 0.02, "ingest records/s %r" % p["ingest_records_per_sec"])
    bps = p["ingest_bytes_per_sec"]
    check(abs(bps - p["bytes"] / 100.0) < 1, "ingest bytes/s %r for %r bytes over 100 s" % (bps, p["bytes"]))
    covers = p["retention_covers_ms"]
    check(abs(covers - 100000 / bps * 1000) < 1000, "retention.bytes covers %r ms at %r B/s" % (covers, bps))
    k.ok("topic", "alter", "z", "--config", "retention.bytes=-1", "--config", "retention.ms=3600000")
    check(k.describe("z")["partitions"][0]["retention_covers_ms"] == 3600000, "retention.ms covers itself")
    text = k.ok("topic", "describe", "z").text
    check("records/s" in text and "retention keeps" in text, "text describe shows the sizing: %s" % short(text))


if __name__ == "__main__":
    run_tests(globals())
