#!/usr/bin/env python3
"""Data-dir settings (`kappa config`) and the disk budget max.bytes: the oldest sealed
segments of delete-policy topics go first, an active segment holding the excess is
rolled early, producers never fail for the budget, compacted topics are not trimmed."""
import json
import os
import re
import subprocess
import time

from kappa_harness import check, run_tests, short


def topic_bytes(k, topic, partitions=1):
    total = 0
    for p in range(partitions):
        d = k.pdir(topic, p)
        for n in os.listdir(d) if os.path.isdir(d) else []:
            if n.endswith((".log", ".index", ".timeindex")):
                total += os.path.getsize(os.path.join(d, n))
    return total


def test_config_verbs(k):
    check(k.ok("config", "get", "max.bytes").text.strip() == "-1", "default max.bytes is -1 (no budget)")
    k.ok("config", "set", "max.bytes=123456")
    check(k.ok("config", "get", "max.bytes").text.strip() == "123456", "get after set")
    check("max.bytes=123456" in k.ok("config", "list").text, "list shows it")
    check(json.loads(k.ok("config", "list", "--json").out) == {"max.bytes": "123456", "num.partitions": "1"},
          "list --json")
    # num.partitions: what kappa serve's auto-created topics get (SPEC section 8).
    k.ok("config", "set", "num.partitions=3")
    check(k.ok("config", "get", "num.partitions").text.strip() == "3", "num.partitions after set")
    r = k.run("config", "set", "num.partitions=0")
    check(r.rc == 2 and b"num.partitions" in r.err, "num.partitions=0: exit %d %s" % (r.rc, r.err[:200]))
    k.ok("config", "set", "max.bytes", "-1")
    check(k.ok("config", "get", "max.bytes").text.strip() == "-1", "KEY VALUE form")
    for bad in (["config", "set", "max.bytes=lots"], ["config", "set", "max.bytes=-5"],
                ["config", "set", "nosuch=1"], ["config", "get", "nosuch"], ["config", "set", "max.bytes"]):
        r = k.run(*bad)
        check(r.rc == 2, "%r: exit %d, want 2 (%s)" % (bad, r.rc, short(r.err)))
    check(b"max.bytes" in k.run("config", "get", "nosuch").err, "the error lists the known settings")


def test_budget_bounds_one_long_produce(k):
    # Default segment.bytes (1 GiB): only rolling early can keep this under budget.
    budget = 300_000
    k.ok("config", "set", "max.bytes=%d" % budget)
    lines = ["line %07d %s" % (i, "b" * 60) for i in range(100_000)]  # ~7 MB
    r = k.produce("big", lines, timeout=60)
    total = topic_bytes(k, "big")
    check(total <= budget * 1.5, "after a 7 MB produce the topic holds %d bytes, budget %d" % (total, budget))
    got = k.offsets_values("big")
    check(got[-1] == (99_999, lines[-1].encode()), "the newest records are all there")
    check([o for o, _ in got] == list(range(got[0][0], 100_000)), "a contiguous tail")
    check(b"error" not in r.err, "the producer did not fail: %s" % short(r.err))


def test_oldest_first_across_topics_and_compacted_spared(k):
    k.create("old", "--config", "segment.bytes=4096", "--config", "retention.ms=-1")
    k.create("new", "--config", "segment.bytes=4096", "--config", "retention.ms=-1")
    k.create("kv", "--config", "segment.bytes=4096", "--config", "cleanup.policy=compact",
             "--config", "min.cleanable.dirty.ratio=1")
    now = int(time.time() * 1000)
    k.produce("old", ['{"ts":%d,"pad":"%s"}' % (now - 10_000_000 + i, "o" * 50) for i in range(1000)],
              "--timestamp-field", "ts")
    k.produce("new", ['{"ts":%d,"pad":"%s"}' % (now + i, "n" * 50) for i in range(1000)], "--timestamp-field", "ts")
    k.produce("kv", ["k%04d:%s" % (i, "v" * 50) for i in range(1000)], "-K", ":")
    kv_before = topic_bytes(k, "kv")
    new_before = topic_bytes(k, "new")
    total = kv_before + new_before + topic_bytes(k, "old")
    budget = total - topic_bytes(k, "old") // 2
    k.ok("config", "set", "max.bytes=%d" % budget)
    out = json.loads(k.ok("maintain", "--json").out)
    rep = out["budget"]
    check(rep["max_bytes"] == budget and rep["bytes_after"] <= budget, "budget pass: %r" % rep)
    check(rep["segments_retired"] > 0, "segments retired: %r" % rep)
    row = next(p for p in out["partitions"] if p["topic"] == "old")
    check(row["segments_removed"] == rep["segments_retired"] and row["bytes_removed"] > 0,
          "the partition's row shows what the budget removed: %r" % row)
    check(row["log_start_offset"] == k.describe("old")["partitions"][0]["log_start_offset"] > 0,
          "the row's log_start_offset is the new start: %r" % row)
    check(topic_bytes(k, "new") == new_before, "the newer topic was not touched while older data remained")
    check(topic_bytes(k, "kv") == kv_before, "a compacted topic is never trimmed by the budget")
    check(k.describe("old")["partitions"][0]["log_start_offset"] > 0, "the oldest topic lost its oldest segments")
    # Past every delete-policy sealed segment, maintain says what is left.
    k.ok("config", "set", "max.bytes=1")
    r = k.ok("maintain")
    check(b"still over its budget" in r.err, "maintain explains the remaining excess: %s" % short(r.err))
    check(len(k.logs("old")) == 1 and len(k.logs("new")) == 1, "only active segments remain")
    check(topic_bytes(k, "kv") == kv_before, "compacted topic still untouched")


def test_small_produce_rolls_an_active_segment_over_budget(k):
    k.produce("one", ["line %06d %s" % (i, "o" * 60) for i in range(30000)])  # ~2 MB, one segment
    k.ok("config", "set", "max.bytes=500000")
    r = k.ok("maintain")
    check(b"still over its budget" in r.err, "setup: only the active segment holds the excess")
    k.produce("one", ["late %d" % i for i in range(10)])
    total = topic_bytes(k, "one")
    check(total <= 500000, "a small produce rolled the big active segment so it could go: %d bytes" % total)
    check(k.values("one")[-1] == b"late 9", "the new records are there")


def test_concurrent_budget_passes_remove_only_the_excess(k):
    k.create("c", "--config", "segment.bytes=4096", "--config", "retention.ms=-1")
    k.produce("c", ["c%05d %s" % (i, "c" * 60) for i in range(3000)])
    total = topic_bytes(k, "c")
    budget = total - 3 * 4096
    k.ok("config", "set", "max.bytes=%d" % budget)
    ps = [k.spawn("maintain") for _ in range(3)]
    for p in ps:
        p.wait(timeout=30)
        check(p.returncode == 0, "maintain exit %r" % p.returncode)
    after = topic_bytes(k, "c")
    check(budget - 2 * 4300 < after <= budget, "three passes at once removed only the excess: %d bytes left, "
          "budget %d" % (after, budget))


def test_budget_moves_to_archive(k):
    arch = os.path.join(k.root, "arch")
    k.create("ar", "--config", "segment.bytes=8192", "--config", "archive.dir=" + arch)
    k.ok("config", "set", "max.bytes=40000")
    lines = ["a%06d %s" % (i, "z" * 40) for i in range(20000)]
    k.produce("ar", lines, timeout=60)
    check(topic_bytes(k, "ar") <= 60000, "live part within budget: %d" % topic_bytes(k, "ar"))
    got = k.offsets_values("ar", "--archive")
    check([o for o, _ in got] == list(range(20000)), "nothing lost: the budget moved segments to the archive")


def test_full_disk_is_a_clear_error_and_loses_nothing_acknowledged(k):
    # A real full disk: a 2 MiB tmpfs (needs root; skipped where mounting is not allowed).
    mnt = os.path.join(k.root, "small")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        print("  (skipped: cannot mount a tmpfs here)")
        return
    try:
        data = os.path.join(mnt, "data")
        first = ["acked %04d" % i for i in range(100)]
        r = k.run("--data-dir", data, "produce", "full", input="".join(l + "\n" for l in first), data_dir=False)
        r.expect(0, "the first produce fits")
        more = "".join("line %07d %s\n" % (i, "f" * 60) for i in range(60000))  # ~4.4 MB
        r = k.run("--data-dir", data, "produce", "full", input=more, data_dir=False)
        check(r.rc == 1, "a full disk fails the producer: exit %d" % r.rc)
        check(b"No space left on device" in r.err and b"topic full partition 0" in r.err,
              "the error names the cause and the partition: %s" % short(r.err))
        m = re.search(rb"end offset 0:(\d+)", r.err)
        check(m, "the error says where the log ends: %s" % short(r.err))
        end = int(m.group(1))
        got = k.run("--data-dir", data, "consume", "full", data_dir=False).expect(0).lines
        check(len(got) == end, "consume reads %d records, the error said %d" % (len(got), end))
        check(got[:100] == [l.encode() for l in first], "every acknowledged record survives")
        check(all(g == ("line %07d %s" % (i, "f" * 60)).encode() for i, g in enumerate(got[100:])),
              "what was stored of the second produce is a clean prefix")
    finally:
        subprocess.run(["umount", "-l", mnt])


if __name__ == "__main__":
    run_tests(globals())
