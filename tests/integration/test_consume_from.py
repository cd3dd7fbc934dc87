#!/usr/bin/env python3
"""consume start positions (--from earliest|latest|OFFSET|-N|@TS), --count, --partition."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import LineReader, check, run_tests, short, stop  # noqa: E402

BASE = 1_650_000_000_000


def ten(k, topic="ten"):
    lines = ['{"ts":%d,"n":%d}' % (BASE + 1000 * (i + 1), i) for i in range(10)]
    k.produce(topic, lines, "--timestamp-field", "ts")
    return [x.encode() for x in lines]


def test_from_earliest_offset_and_minus_n(k):
    recs = ten(k)
    check(k.values("ten") == recs, "default start is earliest")
    check(k.values("ten", "--from", "earliest") == recs, "--from earliest")
    check(k.values("ten", "--from", "3") == recs[3:], "--from 3: %r" % k.values("ten", "--from", "3"))
    check(k.values("ten", "--from", "0") == recs, "--from 0")
    check(k.values("ten", "--from", "9") == recs[9:], "--from 9")
    check(k.values("ten", "--from", "10") == [], "--from 10 (the end) prints nothing")
    check(k.values("ten", "--from", "-3") == recs[7:], "--from -3: %r" % k.values("ten", "--from", "-3"))
    check(k.values("ten", "--from", "-1") == recs[9:], "--from -1")
    check(k.values("ten", "--from", "-20") == recs, "--from -20 on 10 records should start at 0")
    ov = k.offsets_values("ten", "--from", "-2")
    check([o for o, _ in ov] == [8, 9], "offsets of --from -2: %r" % ov)


def test_from_latest_without_follow_prints_nothing(k):
    ten(k)
    r = k.consume("ten", "--from", "latest")
    check(r.out == b"", "--from latest without --follow printed %s" % short(r.out))


def test_from_timestamp(k):
    recs = ten(k)          # timestamps BASE+1000 .. BASE+10000
    check(k.values("ten", "--from", "@%d" % (BASE + 5000)) == recs[4:],
          "@ts equal to a record's timestamp starts at that record")
    check(k.values("ten", "--from", "@%d" % (BASE + 5500)) == recs[5:],
          "@ts between records starts at the next one")
    check(k.values("ten", "--from", "@0") == recs, "@0 starts at the beginning")
    check(k.values("ten", "--from", "@%d" % (BASE + 99_000)) == [],
          "@ts after every record prints nothing")


def test_from_timestamp_out_of_order(k):
    # Kafka's offsetsForTimes: the earliest offset whose timestamp >= target
    ts = [1000, 5000, 3000, 7000, 2000, 9000]
    lines = ['{"t":%d}' % t for t in ts]
    k.produce("ooo", lines, "--timestamp-field", "t")
    got = k.values("ooo", "--from", "@4000")
    check(got == [x.encode() for x in lines[1:]], "@4000 should start at offset 1 (ts 5000): %r" % got)
    got = k.values("ooo", "--from", "@8000")
    check(got == [lines[5].encode()], "@8000 should start at offset 5: %r" % got)


def test_from_timestamp_across_segments(k):
    k.create("tseg", "--config", "segment.bytes=4096", "--config", "retention.ms=-1")
    lines = []
    for p in range(8):
        chunk = ['{"ts":%d,"pad":"%s"}' % (BASE + 10 * (p * 40 + i), "p" * 30) for i in range(40)]
        k.produce("tseg", chunk, "--timestamp-field", "ts")
        lines += chunk
    check(len(k.logs("tseg")) >= 3, "setup: expected several segments")
    for target_idx in (0, 41, 150, 299, 319):
        got = k.offsets_values("tseg", "--from", "@%d" % (BASE + 10 * target_idx), "--count", "1")
        check(got and got[0][0] == target_idx, "@ts of record %d gave %r" % (target_idx, got))


def test_count(k):
    recs = ten(k)
    check(k.values("ten", "--count", "4") == recs[:4], "--count 4")
    check(k.values("ten", "--from", "5", "--count", "2") == recs[5:7], "--from 5 --count 2")
    check(k.values("ten", "--count", "100") == recs, "--count beyond the end stops at the end")


def test_count_with_follow_waits_then_exits(k):
    k.create("cf")
    p = k.spawn("consume", "cf", "--follow", "--count", "3", stdin=subprocess.DEVNULL)
    time.sleep(0.3)
    check(p.poll() is None, "consume --follow --count 3 exited on an empty topic")
    k.produce("cf", ["a", "b", "c", "d", "e"])
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        check(False, "--follow --count 3 did not exit after 3 records")
    check(p.returncode == 0, "rc %s: %s" % (p.returncode, short(err)))
    check(out == b"a\nb\nc\n", "--follow --count 3 printed %s" % short(out))


def test_latest_with_follow_sees_only_new(k):
    ten(k)
    f = k.spawn("consume", "ten", "--from", "latest", "--follow", stdin=subprocess.DEVNULL)
    lr = LineReader(f.stdout)
    time.sleep(0.3)
    seen = []
    for i in range(15):              # keep producing until the follower is clearly live
        k.produce("ten", ["new-%d" % i])
        item = lr.get(0.4)
        if item and item[1] is not None:
            seen.append(item[1].rstrip(b"\n"))
            break
    seen += lr.collect(100, 0.5)
    stop(f, signal.SIGINT)
    check(seen, "--from latest --follow printed nothing for new records")
    check(all(s.startswith(b"new-") for s in seen), "old records printed with --from latest: %r"
          % seen[:3])
    nums = [int(s[4:]) for s in seen]
    check(nums == list(range(nums[0], nums[0] + len(nums))), "gaps/dups in new records: %r" % nums)


def test_partition_selection(k):
    k.create("parts", "--partitions", "3")
    for p in range(3):
        k.produce("parts", ["p%d-%d" % (p, i) for i in range(4)], "--partition", str(p))
    for p in range(3):
        check(k.values("parts", "--partition", str(p)) == [b"p%d-%d" % (p, i) for i in range(4)],
              "--partition %d: %r" % (p, k.values("parts", "--partition", str(p))))
    allv = k.consume("parts", "-f", r"%p %o %s\n").lines
    check(len(allv) == 12, "all partitions: %d records" % len(allv))
    per = {}
    for ln in allv:
        p, o, v = ln.split(b" ")
        per.setdefault(int(p), []).append((int(o), v))
    for p in range(3):
        check(per.get(p) == [(i, b"p%d-%d" % (p, i)) for i in range(4)],
              "partition %d out of order/incomplete: %r" % (p, per.get(p)))
    # -N and OFFSET apply per partition
    r = k.values("parts", "--partition", "1", "--from", "-1")
    check(r == [b"p1-3"], "--partition 1 --from -1: %r" % r)
    r = k.run("consume", "parts", "--partition", "7")
    check(r.rc in (1, 2) and "7" in r.errtext, "partition 7 of 3: %s" % r.describe())


if __name__ == "__main__":
    run_tests(globals())
