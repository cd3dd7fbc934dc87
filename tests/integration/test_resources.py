#!/usr/bin/env python3
"""Memory stays bounded whatever the input or topic width; oversized records are refused."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, to_stdin  # noqa: E402

LIMIT_KIB = 64 * 1024
# Sanitizer builds carry shadow memory and quarantines: memory bounds do not apply.
SANITIZED = os.environ.get("KAPPA_SANITIZED") == "1"


def check_rss(rss, what):
    if not SANITIZED:
        check(rss < LIMIT_KIB, "%s peaked at %d KiB RSS" % (what, rss))


def peak_rss_kib(k, args, stdin_bytes=b"", path=None):
    """Runs kappa with stdin from a file; returns (exit code, peak RSS KiB, stderr).
    Keep this test process small: a forked child starts with the parent's RSS."""
    if path is None:
        path = os.path.join(k.root, "stdin.bin")
        with open(path, "wb") as f:
            f.write(stdin_bytes)
    with open(path, "rb") as inp:
        p = subprocess.Popen(k.cmd(args), stdin=inp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, usage.ru_maxrss, err


def test_keyed_produce_to_a_wide_topic_stays_small(k):
    k.create("wide", "--partitions", "300")
    lines = [("k%05d:" % i + "v" * 80).encode() for i in range(30000)]
    rc, rss, err = peak_rss_kib(k, ["produce", "wide", "-K", ":"], to_stdin(lines))
    check(rc == 0, "produce failed: %r" % err[-300:])
    check_rss(rss, "keyed produce over 300 partitions")
    got = k.consume("wide", "-f", r"%k\n").lines
    check(len(got) == len(lines), "consumed %d of %d records" % (len(got), len(lines)))


def test_produce_and_consume_memory_does_not_grow_with_input(k):
    path = os.path.join(k.root, "big.txt")
    with open(path, "wb") as f:                                  # ~22 MB, written in pieces
        for start in range(0, 300000, 10000):
            f.write(b"".join(("line-%07d-" % i + "x" * 60 + "\n").encode() for i in range(start, start + 10000)))
    rc, rss, err = peak_rss_kib(k, ["produce", "big"], path=path)
    check(rc == 0, "produce failed: %r" % err[-300:])
    check_rss(rss, "produce of 22 MB")
    rc, rss, err = peak_rss_kib(k, ["consume", "big"], b"")
    check(rc == 0, "consume failed: %r" % err[-300:])
    check_rss(rss, "consume of 22 MB")


def test_record_larger_than_segment_bytes_is_refused(k):
    k.create("small", "--config", "segment.bytes=1000")
    r = k.produce("small", [b"ok-1", b"y" * 2000, b"ok-2"], rc=1)
    check(b"segment.bytes" in r.err and b"line 2" in r.err, "message should name segment.bytes and line 2: %r" % r.err)
    check(k.values("small") == [b"ok-1"], "the record before the bad line must be kept")


if __name__ == "__main__":
    run_tests(globals())
