#!/usr/bin/env python3
"""Several processes on one data dir: the writer lock, readers racing a writer,
--follow latency, --linger-ms."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import LineReader, check, feed, run_tests, short, stop  # noqa: E402


def wait_visible(k, topic, value, timeout=5.0, *extra):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = k.consume(topic, *extra, rc=None)
        if value in r.lines:
            return True
        time.sleep(0.05)
    return False


def test_second_writer_refused_with_pid(k):
    k.create("locked")
    a = k.spawn("produce", "locked", "--linger-ms", "10", stdout=subprocess.DEVNULL)
    feed(a, b"from-a-1\n")
    check(wait_visible(k, "locked", b"from-a-1"), "first producer's record never became visible")
    t0 = time.monotonic()
    r = k.run("produce", "locked", input=b"from-b\n", timeout=10)
    took = time.monotonic() - t0
    check(r.rc == 1, "second writer should fail with exit 1: %s" % r.describe())
    check(took < 5, "second writer should fail at once, took %.1fs" % took)
    check(str(a.pid) in r.errtext, "message does not name the holder's pid %d: %r"
          % (a.pid, r.errtext))
    check("locked" in r.errtext, "message does not name the topic: %r" % r.errtext)
    feed(a, b"from-a-2\n", close=True)
    rc = a.wait(timeout=10)
    check(rc == 0, "first producer exit %s: %s" % (rc, short(a.stderr.read())))
    check(k.values("locked") == [b"from-a-1", b"from-a-2"],
          "log should hold only the first writer's records: %r" % k.values("locked"))
    # the lock is gone with its holder
    k.produce("locked", ["from-c"])
    check(k.values("locked")[-1] == b"from-c", "third writer after the first exited")


def test_writers_on_different_partitions_coexist(k):
    k.create("two", "--partitions", "2")
    a = k.spawn("produce", "two", "--partition", "0", "--linger-ms", "10",
                stdout=subprocess.DEVNULL)
    feed(a, b"p0-a\n")
    check(wait_visible(k, "two", b"p0-a", 5.0, "--partition", "0"), "p0 record not visible")
    r = k.run("produce", "two", "--partition", "1", input=b"p1-b\n", timeout=10)
    check(r.rc == 0, "a writer on partition 1 must not be blocked by one on partition 0: %s"
          % r.describe())
    feed(a, b"", close=True)
    check(a.wait(timeout=10) == 0, "partition-0 producer failed")
    check(k.values("two", "--partition", "1") == [b"p1-b"], "partition 1 content")
    check(k.values("two", "--partition", "0") == [b"p0-a"], "partition 0 content")


def test_linger_makes_records_visible_while_stdin_open(k):
    p = k.spawn("produce", "linger", "--linger-ms", "50", stdout=subprocess.DEVNULL)
    feed(p, b"early\n")
    ok = wait_visible(k, "linger", b"early", 5.0)
    feed(p, b"late\n", close=True)
    check(p.wait(timeout=10) == 0, "producer failed: %s" % short(p.stderr.read()))
    check(ok, "--linger-ms 50: a record was not visible after 5 s while stdin stayed open")
    check(k.values("linger") == [b"early", b"late"], "final content")


def test_reader_races_writer(k):
    k.create("race", "--config", "segment.bytes=65536")
    pieces, per = 10, 2000
    expected = [("race-%02d-%05d-%s" % (p, i, "r" * (i % 40))).encode()
                for p in range(pieces) for i in range(per)]
    follower = k.spawn("consume", "race", "--follow", stdin=subprocess.DEVNULL)
    lr = LineReader(follower.stdout)
    snapshots = []
    for p in range(pieces):
        w = k.spawn("produce", "race", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        chunk = expected[p * per:(p + 1) * per]
        data = b"".join(l + b"\n" for l in chunk)
        half = len(data) // 2
        feed(w, data[:half])
        # a non-follow reader in the middle of a write sees whole records only
        r = k.consume("race", rc=None)
        snapshots.append(r)
        feed(w, data[half:], close=True)
        check(w.wait(timeout=30) == 0, "producer %d failed" % p)
    got = lr.collect(len(expected), timeout=20)
    stop(follower, signal.SIGINT)
    check(len(got) == len(expected), "--follow saw %d of %d records" % (len(got), len(expected)))
    bad = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)
    check(bad is None, "--follow line %d is %s, expected %s"
          % (bad or 0, short(got[bad or 0]), short(expected[bad or 0])))
    for n, r in enumerate(snapshots):
        check(r.rc == 0, "concurrent consume %d exit %s: %s" % (n, r.rc, short(r.err)))
        check(r.lines == expected[:len(r.lines)],
              "concurrent consume %d saw a partial/invalid record" % n)
    check(k.reader_check("race").ok, "files after the race")


def test_follow_latency_under_one_second(k):
    k.produce("lat", ["warm-up"])
    f = k.spawn("consume", "lat", "--follow", "--from", "earliest", stdin=subprocess.DEVNULL)
    lr = LineReader(f.stdout)
    first = lr.get(10)
    check(first and first[1] == b"warm-up\n", "--follow did not print the existing record: %r"
          % (first,))
    worst = 0.0
    for i in range(3):
        time.sleep(0.2)
        k.produce("lat", ["ping-%d" % i])        # returns when the record is durable
        t_done = time.monotonic()
        item = lr.get(5)
        check(item and item[1] == b"ping-%d\n" % i, "--follow did not print ping-%d: %r"
              % (i, item))
        worst = max(worst, item[0] - t_done)
    stop(f, signal.SIGINT)
    check(worst < 1.0, "a produced record took %.3fs to appear on consume --follow" % worst)


def test_follow_across_segment_roll(k):
    k.create("frol", "--config", "segment.bytes=4096")
    f = k.spawn("consume", "frol", "--follow", stdin=subprocess.DEVNULL)
    lr = LineReader(f.stdout)
    sent = []
    for p in range(6):
        lines = [("frol-%d-%02d-%s" % (p, i, "f" * 40)).encode() for i in range(30)]
        k.produce("frol", lines)
        sent += lines
    got = lr.collect(len(sent), 15)
    stop(f, signal.SIGINT)
    check(len(k.logs("frol")) >= 3, "setup: expected several segments")
    check(got == sent, "--follow across rolls saw %d of %d records (first diff %s)"
          % (len(got), len(sent), next((i for i, (a, b) in enumerate(zip(got, sent)) if a != b), "-")))


def test_idle_follow_does_not_busy_poll(k):
    # --follow sleeps on inotify: idle for 2 s it should use next to no CPU.
    k.produce("idle", [b"one"])
    f = k.spawn("consume", "idle", "--follow", stdin=subprocess.DEVNULL)
    lr = LineReader(f.stdout)
    check(lr.collect(1, 10) == [b"one"], "follower did not print the existing record")
    def cpu_ticks():
        with open("/proc/%d/stat" % f.pid) as st:
            fields = st.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])   # utime + stime, in clock ticks
    before = cpu_ticks()
    time.sleep(2.0)
    used = (cpu_ticks() - before) / os.sysconf("SC_CLK_TCK")
    check(used < 0.2, "an idle --follow used %.2f s of CPU in 2 s (busy polling?)" % used)
    k.produce("idle", [b"two"])
    check(lr.collect(1, 10) == [b"two"], "follower missed a record after idling")
    stop(f)


if __name__ == "__main__":
    run_tests(globals())
