#!/usr/bin/env python3
"""The archive tier (topic config archive.dir): segments leaving retention move to the
archive with their indexes; `consume --archive` replays archive then live without a seam."""
import json
import os

from kappa_harness import check, run_tests, short

import kafka_reader


def archive_topic(k, name, *configs):
    arch = os.path.join(k.root, "slow-disk")
    k.create(name, "--config", "archive.dir=" + arch, *configs)
    return arch


def test_archive_replay_is_exact(k):
    arch = archive_topic(k, "a", "--config", "segment.bytes=4096", "--config", "retention.bytes=12000")
    lines = ["event %05d %s" % (i, "e" * 30) for i in range(3000)]
    for i in range(0, 3000, 600):
        k.produce("a", lines[i:i + 600])
    adir = os.path.join(arch, "a-0")
    archived = sorted(n for n in os.listdir(adir) if n.endswith(".log"))
    check(len(archived) >= 5, "segments moved to the archive: %r" % archived)
    for n in archived:
        stem = n[:-4]
        check(os.path.exists(os.path.join(adir, stem + ".index")) and
              os.path.exists(os.path.join(adir, stem + ".timeindex")), "%s moved with its indexes" % n)
        check(not os.path.exists(os.path.join(k.pdir("a"), n)), "%s is no longer in the live dir" % n)
    rep = kafka_reader.check_partition(adir)
    check(not rep.problems, "archived segments are Kafka format: %r" % rep.problems[:3])
    live = k.offsets_values("a")
    check(live[0][0] > 0, "the live log starts past the archived part")
    full = k.offsets_values("a", "--archive")
    check([o for o, _ in full] == list(range(3000)), "archive + live = every offset once, in order")
    check([v for _, v in full] == [l.encode() for l in lines], "archive + live = every record")
    # Seeking into the archived range.
    check(k.offsets_values("a", "--archive", "--from", "10", "--count", "2") == [(10, lines[10].encode()),
                                                                                 (11, lines[11].encode())],
          "--from 10 --archive")
    r = k.run("consume", "a", "--from", "10")
    check(r.rc == 1 and b"--archive" in r.err, "without --archive the error suggests it: %s" % short(r.err))
    d = k.describe("a")["partitions"][0]
    check(d["archive_segments"] == len(archived), "describe archive_segments %r" % d["archive_segments"])
    check(d["archive_start_offset"] == 0 and d["archive_end_offset"] == live[0][0],
          "describe archived range %r..%r, live starts at %d" % (d["archive_start_offset"], d["archive_end_offset"],
                                                                 live[0][0]))
    check(d["archive_bytes"] == sum(os.path.getsize(os.path.join(adir, n)) for n in archived),
          "describe archive_bytes %r" % d["archive_bytes"])
    text = k.ok("topic", "describe", "a").text
    check("archive: offsets 0..%d" % (live[0][0] - 1) in text, "text describe shows the archive: %s" % short(text))


def test_archive_by_time_and_maintain_counts(k):
    arch = archive_topic(k, "t", "--config", "segment.bytes=2048", "--config", "retention.ms=-1")
    k.produce("t", ['{"ts":%d,"i":%d}' % (1000 + i, i) for i in range(500)], "--timestamp-field", "ts")
    k.ok("topic", "alter", "t", "--config", "retention.ms=3600000")
    p = json.loads(k.ok("maintain", "t", "--json").out)["partitions"][0]
    check(p["segments_archived"] > 0 and p["segments_removed"] == 0, "retention archived, not deleted: %r" % p)
    check(p["bytes_archived"] > 0, "bytes_archived %r" % p)
    got = k.offsets_values("t", "--archive")
    check([o for o, _ in got] == list(range(500)), "all 500 still readable through the archive")


def test_topic_delete_removes_archive(k):
    arch = archive_topic(k, "d", "--config", "segment.bytes=1024", "--config", "retention.bytes=2000")
    k.produce("d", ["x%04d %s" % (i, "d" * 30) for i in range(300)])
    check(os.path.isdir(os.path.join(arch, "d-0")), "setup: archive written")
    k.ok("topic", "delete", "d")
    check(not os.path.exists(os.path.join(arch, "d-0")), "the topic's archive went with it")
    # A new topic of the same name does not see old archived records.
    archive_topic(k, "d")
    k.produce("d", ["fresh"])
    check(k.values("d", "--archive") == [b"fresh"], "a recreated topic starts empty")


def test_archive_dir_must_be_absolute(k):
    r = k.run("topic", "create", "bad", "--config", "archive.dir=relative/path")
    check(r.rc == 2 and b"archive.dir" in r.err and b"absolute" in r.err, "relative archive.dir refused: %s"
          % short(r.err))


def test_archive_dir_inside_the_data_dir_is_refused(k):
    k.create("x")
    for bad in (os.path.join(k.data, "topics"), os.path.join(k.data, "arch")):
        r = k.run("topic", "alter", "x", "--config", "archive.dir=" + bad)
        check(r.rc == 2 and b"inside the data dir" in r.err, "archive.dir %s refused: %s" % (bad, short(r.err)))
        r = k.run("topic", "create", "y", "--config", "archive.dir=" + bad)
        check(r.rc == 2, "also at create: %s" % short(r.err))


def test_interrupted_move_is_read_once(k):
    # A crash between the archive copy and the live removal leaves a segment in both
    # places: readers must return its records once.
    arch = archive_topic(k, "i", "--config", "segment.bytes=1024", "--config", "retention.ms=-1")
    lines = ["r%04d %s" % (i, "i" * 30) for i in range(200)]
    k.produce("i", lines)
    first = k.logs("i")[0]
    adir = os.path.join(arch, "i-0")
    os.makedirs(adir)
    for suffix in (".log", ".index", ".timeindex"):
        src = first[:-4] + suffix
        with open(src, "rb") as f, open(os.path.join(adir, os.path.basename(src)), "wb") as g:
            g.write(f.read())
    got = k.offsets_values("i", "--archive")
    check([o for o, _ in got] == list(range(200)), "each offset once with a segment in both places")
    k.ok("topic", "alter", "i", "--config", "retention.bytes=1")
    k.ok("maintain", "i")
    got = k.offsets_values("i", "--archive")
    check([o for o, _ in got] == list(range(200)), "after the move completes, still each offset once")


def test_sessionize_replays_through_the_archive(k):
    """`sessionize --archive` replays the archived history too: the same sessions as the
    same events in a topic that never archived anything."""
    archive_topic(k, "clicks", "--config", "segment.bytes=4096", "--config", "retention.bytes=8000")
    k.create("plain", "--config", "retention.ms=-1")
    events = ['{"u":"u%d","t":%d}' % (i % 7, 1000 * i) for i in range(600)]
    for i in range(0, 600, 100):
        k.produce("clicks", events[i:i + 100])
    k.produce("plain", events)
    check(k.offsets_values("clicks")[0][0] > 0, "part of the input is only in the archive")
    job = ["--key-field", "u", "--time-field", "t", "--gap", "5s", "--flush-at-end"]
    k.ok("sessionize", "--input", "plain", "--output", "s-plain", *job)
    r = k.ok("sessionize", "--input", "clicks", "--output", "s-archive", "--archive", *job)
    check("600 events" in r.errtext, "every archived and live event was read: %s" % short(r.err))
    want = k.values("s-plain")
    # A user's events are 7 s apart, more than the 5 s gap: one session each.
    check(len(want) == 600, "one session per event: %d" % len(want))
    check(k.values("s-archive") == want, "archive + live replay gives the sessions of the whole history")
    r = k.ok("sessionize", "--input", "clicks", "--output", "s-live", *job)
    check("600 events" not in r.errtext, "without --archive only the live part is read: %s" % short(r.err))


if __name__ == "__main__":
    run_tests(globals())
