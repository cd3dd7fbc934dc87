#!/usr/bin/env python3
"""Compaction (cleanup.policy=compact): latest record per key in the sealed segments,
offsets kept, tombstones for delete.retention.ms, lag and dirty ratio honoured, small
cleaned segments grouped, and crash safety under kill -9."""
import json
import os
import random
import shutil
import signal
import time

from kappa_harness import check, run_tests, short, feed

import kafka_reader


def records(k, topic, *extra):
    """[(offset, key, value)] with None for null, via --json."""
    out = []
    for ln in k.consume(topic, "--json", *extra).lines:
        j = json.loads(ln)
        out.append((j["offset"], j["key"], j["value"]))
    return out


def make_input(n, keys, seed, tombstone_every=0):
    rnd = random.Random(seed)
    lines, model = [], []
    for i in range(n):
        key = "key%04d" % rnd.randrange(keys)
        value = "" if tombstone_every and rnd.randrange(tombstone_every) == 0 else "v%06d-%s" % (i, "d" * 20)
        lines.append("%s:%s" % (key, value))
        model.append((i, key, value if value else None))
    return lines, model


def active_base(k, topic):
    return int(os.path.basename(k.logs(topic)[-1])[:20])


def expected_after_compaction(model, sealed_end):
    latest = {}
    for off, key, val in model:
        if off < sealed_end:
            latest[key] = off
    keep = set(latest.values())
    return [r for r in model if r[0] >= sealed_end or r[0] in keep]


def loose_check(k, topic):
    rep = kafka_reader.check_partition(k.pdir(topic), dense=False)
    check(not rep.problems, "Kafka-format check: %r" % rep.problems[:5])


def compact_topic(k, name, *configs):
    k.create(name, "--config", "cleanup.policy=compact", "--config", "min.cleanable.dirty.ratio=0", *configs)


def test_latest_per_key_with_offsets(k):
    compact_topic(k, "c", "--config", "segment.bytes=4096")
    lines, model = make_input(5000, 200, seed=7, tombstone_every=15)
    for i in range(0, len(lines), 700):  # several produces: automatic passes at rolls in between
        k.produce("c", lines[i:i + 700], "-K", ":", "-Z")
    rep = json.loads(k.ok("maintain", "c", "--json").out)["partitions"][0]
    got = records(k, "c")
    want = expected_after_compaction(model, active_base(k, "c"))
    check(len(got) == len(want), "%d records after compaction, expected %d" % (len(got), len(want)))
    for g, w in zip(got, want):
        check(g == w, "record %r, expected %r" % (g, w))
    check(len(got) < 1500, "compaction removed most of the 5000 records (%d left)" % len(got))
    check(rep["log_start_offset"] == 0, "compaction never moves the log start: %r" % rep)
    loose_check(k, "c")
    # A reader asking for a removed offset gets the next one there is.
    gap = next(o for o in range(5000) if o not in {r[0] for r in got})
    nxt = min(r[0] for r in got if r[0] > gap)
    check(k.offsets_values("c", "--from", str(gap), "--count", "1")[0][0] == nxt, "seek into a gap")


def test_active_segment_untouched(k):
    compact_topic(k, "u")  # one big segment: all of it active
    lines, model = make_input(600, 5, seed=3)
    k.produce("u", lines, "-K", ":")
    rep = json.loads(k.ok("maintain", "u", "--json").out)["partitions"][0]
    check(rep["segments_compacted"] == 0 and rep["records_compacted"] == 0, "nothing sealed, nothing done: %r" % rep)
    check(records(k, "u") == model, "the active segment is read back unchanged")


def test_tombstones_go_after_delete_retention(k):
    compact_topic(k, "t", "--config", "segment.bytes=2048", "--config", "delete.retention.ms=1500")
    k.produce("t", ["a:1", "b:1", "c:1", "a:2", "b:", "c:"], "-K", ":", "-Z")
    k.produce("t", ["fill%03d:%s" % (i, "f" * 40) for i in range(200)], "-K", ":")  # seals the above
    k.ok("maintain", "t")
    got = {key: val for _, key, val in records(k, "t")}
    check(got.get("a") == "2" and "b" in got and got["b"] is None and got["c"] is None,
          "fresh tombstones are kept (readers must see the deletes): %r" % {x: got.get(x) for x in "abc"})
    time.sleep(1.6)
    k.ok("maintain", "t")
    got = records(k, "t")
    keys = [key for _, key, _ in got]
    check("b" not in keys and "c" not in keys, "tombstones older than delete.retention.ms are gone: %r" % keys[:5])
    check(("a", "2") in [(key, v) for _, key, v in got], "live keys stay")
    loose_check(k, "t")


def test_min_compaction_lag(k):
    compact_topic(k, "l", "--config", "segment.bytes=2048", "--config", "min.compaction.lag.ms=3600000")
    lines, model = make_input(800, 10, seed=5)
    k.produce("l", lines, "-K", ":")
    rep = json.loads(k.ok("maintain", "l", "--json").out)["partitions"][0]
    check(rep["records_compacted"] == 0, "records newer than min.compaction.lag.ms stay: %r" % rep)
    check(records(k, "l") == model, "all records readable unchanged")
    k.ok("topic", "alter", "l", "--config", "min.compaction.lag.ms=0")
    rep = json.loads(k.ok("maintain", "l", "--json").out)["partitions"][0]
    check(rep["records_compacted"] > 0, "with the lag lifted it compacts: %r" % rep)


def test_dirty_ratio(k):
    # Written while not compacted, so that no writer compacts on its own at
    # a roll and the dirty share is known.
    k.create("r", "--config", "cleanup.policy=delete", "--config", "retention.ms=-1", "--config", "segment.bytes=2048",
             "--config", "min.cleanable.dirty.ratio=0.9")
    k.produce("r", ["k%03d:%s" % (i % 50, "x" * 30) for i in range(2000)], "-K", ":")
    k.ok("topic", "alter", "r", "--config", "cleanup.policy=compact")
    k.ok("maintain", "r")  # the first pass finds everything dirty
    n1 = len(k.values("r"))
    # A few updates, written the same way: the dirty share stays below 0.9.
    k.ok("topic", "alter", "r", "--config", "cleanup.policy=delete", "--config", "retention.ms=-1")
    k.produce("r", ["k%03d:%s" % (i % 50, "y" * 30) for i in range(60)], "-K", ":")
    k.produce("r", ["k%03d:%s" % (i % 50, "z" * 30) for i in range(60)], "-K", ":")
    k.ok("topic", "alter", "r", "--config", "cleanup.policy=compact")
    rep = json.loads(k.ok("maintain", "r", "--json").out)["partitions"][0]
    check(rep["records_compacted"] == 0, "dirty ratio below min.cleanable.dirty.ratio: no pass: %r" % rep)
    k.ok("topic", "alter", "r", "--config", "min.cleanable.dirty.ratio=0.01")
    rep = json.loads(k.ok("maintain", "r", "--json").out)["partitions"][0]
    check(rep["records_compacted"] > 0, "past the ratio it compacts: %r" % rep)
    check(n1 < 2000, "setup: the first pass compacted (%d left)" % n1)


def test_small_cleaned_segments_are_grouped(k):
    k.create("g", "--config", "segment.bytes=2048", "--config", "retention.ms=-1")
    k.produce("g", ["k%02d:%s" % (i % 20, "w" * 40) for i in range(1500)], "-K", ":")
    n_before = len(k.logs("g"))
    k.ok("topic", "alter", "g", "--config", "cleanup.policy=compact", "--config", "min.cleanable.dirty.ratio=0")
    k.ok("maintain", "g")
    k.produce("g", ["k%02d:%s" % (i % 20, "n" * 40) for i in range(300)], "-K", ":")
    k.ok("maintain", "g")
    n_after = len(k.logs("g"))
    check(n_before > 20, "setup: many segments (%d)" % n_before)
    check(n_after <= n_before // 4, "cleaned small segments are merged: %d -> %d .log files" % (n_before, n_after))
    loose_check(k, "g")


def latest_per_key(model, end):
    latest = {}
    for off, key, val in model:
        if off < end:
            latest[key] = (off, key, val)
    return latest


def check_complete(k, topic, model, end):
    got = records(k, topic)
    offs = [g[0] for g in got]
    check(all(a < b for a, b in zip(offs, offs[1:])), "offsets increase")
    have = set(got)
    for key, rec in latest_per_key(model, end).items():
        check(rec in have, "the latest record of %s %r is missing" % (key, rec))
    loose_check(k, topic)
    return got


def test_kill9_during_maintain_never_loses_a_latest_value(k):
    # Built as delete-policy first so the producer does not compact on its own.
    k.create("x", "--config", "segment.bytes=16384", "--config", "retention.ms=-1")
    n = 40000 if os.environ.get("KAPPA_SANITIZED") == "1" else 100000
    lines, model = make_input(n, 400, seed=11, tombstone_every=20)
    k.produce("x", lines, "-K", ":", "-Z", timeout=60)
    k.produce("x", ["tail:1"], "-K", ":")
    model.append((n, "tail", "1"))
    k.ok("topic", "alter", "x", "--config", "cleanup.policy=compact", "--config", "min.cleanable.dirty.ratio=0")
    # How long an uninterrupted pass takes, on a copy: the kills spread over it.
    pristine = os.path.join(k.root, "pristine")
    shutil.copytree(k.data, pristine)
    t0 = time.monotonic()
    k.ok("maintain", "x", timeout=60)
    full = time.monotonic() - t0
    want = expected_after_compaction(model, active_base(k, "x"))
    check(records(k, "x") == want, "an uninterrupted pass gives exactly latest-per-key")
    # Each round: back to the uncompacted log, kill -9 maintain at a random
    # moment, check, then let a second maintain finish the job.
    rnd = random.Random(2)
    kills = 0
    for round_ in range(6):
        shutil.rmtree(k.data)
        shutil.copytree(pristine, k.data)
        p = k.spawn("maintain", "x")
        time.sleep(rnd.uniform(0.0, full))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait(timeout=30)
        check_complete(k, "x", model, n + 1)
        k.ok("maintain", "x", timeout=60)
        got = check_complete(k, "x", model, n + 1)
        check(got == want, "round %d: after the kill, maintain gives exactly latest-per-key (%d vs %d records)"
              % (round_, len(got), len(want)))
        leftovers = [f for f in os.listdir(k.pdir("x")) if f.endswith((".cleaned", ".swap"))]
        check(not leftovers, "no .cleaned or .swap files left: %r" % leftovers)
    check(kills >= 2, "setup: maintain was killed mid-run in %d of 6 rounds" % kills)


def test_kill9_during_automatic_clean(k):
    compact_topic(k, "w", "--config", "segment.bytes=8192")
    lines, model = make_input(30000, 300, seed=13)
    p = k.spawn("produce", "w", "-K", ":", "--linger-ms", "1")
    for i in range(0, 30000, 3000):
        feed(p, "".join(l + "\n" for l in lines[i:i + 3000]).encode())
        time.sleep(0.02)
    time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    end = k.describe("w")["partitions"][0]["log_end_offset"]
    check(end > 0, "setup: something was stored before the kill")
    # What was stored is a prefix of the input; its latest values must all be there.
    check_complete(k, "w", model, end)
    k.ok("maintain", "w")
    check_complete(k, "w", model, end)


def test_reader_paused_while_compaction_swaps_segments(k):
    k.create("s", "--config", "segment.bytes=8192", "--config", "retention.ms=-1")
    lines, model = make_input(50000, 300, seed=17)
    k.produce("s", lines, "-K", ":", timeout=60)
    k.produce("s", ["tail:1"], "-K", ":")
    model.append((50000, "tail", "1"))
    k.ok("topic", "alter", "s", "--config", "cleanup.policy=compact", "--config", "min.cleanable.dirty.ratio=0")
    c = k.spawn("consume", "s", "-f", r"%o %k %s\n")
    head = c.stdout.read(65536)  # then stop reading: the pipe fills and consume waits mid-log
    time.sleep(0.2)
    rep = json.loads(k.ok("maintain", "s", "--json").out)["partitions"][0]
    check(rep["segments_compacted"] > 3, "setup: maintain rewrote segments under the reader: %r" % rep)
    rest, err = c.communicate(timeout=30)
    check(c.returncode == 0 and not err.strip(), "the reader finished cleanly: %d %s" % (c.returncode, short(err)))
    got = []
    for ln in (head + rest).split(b"\n"):
        if ln:
            o, key, val = ln.decode().split(" ", 2)
            got.append((int(o), key, val))
    offs = [g[0] for g in got]
    check(all(a < b for a, b in zip(offs, offs[1:])), "offsets strictly increase across the swap")
    have = set(got)
    for key, rec in latest_per_key(model, 50001).items():
        check(rec in have, "the reader missed the latest record of %s: %r" % (key, rec))


def test_keyless_records_refused(k):
    compact_topic(k, "kl")
    r = k.produce("kl", ["no key here"], rc=None)
    check(r.rc != 0 and b"key" in r.err, "keyless record refused on a compacted topic: %d %s" % (r.rc, short(r.err)))
    # Dead-lettered lines have no key: a compacted dead-letter topic is refused up front.
    r = k.run("produce", "ok", "-K", ":", "--on-error", "dead-letter:kl", input="a:1\nbad\n")
    check(r.rc == 2 and b"dead-letter topic kl is compacted" in r.err, "compacted dead-letter topic: %d %s"
          % (r.rc, short(r.err)))
    check(k.values("kl") == [], "nothing keyless got into the compacted topic")


if __name__ == "__main__":
    run_tests(globals())
