#!/usr/bin/env python3
"""The topic config message.timestamp.type (Kafka's): CreateTime keeps the writers'
timestamps; LogAppendTime stamps every batch with the time it was appended, whatever the
writer gave (kappa produce --timestamp-field says so once), as a Kafka broker does, and
every reader, the time index and retention see that time. Created, altered, described,
validated like every topic config; a sessionize output created LogAppendTime is stamped
too. (Clients through kappa serve: test_serve.py.)"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short  # noqa: E402

Y2001 = 978307200000  # 2001-01-01, the writers' timestamps
DAY = 86400000
LAT = ("--config", "message.timestamp.type=LogAppendTime")
# Records from 2001 are far past the default retention.ms: kept here, where retention
# is not what is tested.
KEEP = ("--config", "retention.ms=-1")


def now_ms():
    return int(time.time() * 1000)


def events(n, pad=0):
    return ['{"k":"u%d","ts":%d,"n":%d%s}' % (i % 4, Y2001 + 1000 * i, i,
                                              ',"pad":"%s"' % ("x" * pad) if pad else "")
            for i in range(n)]


def stamps(k, topic, *extra):
    return [int(t) for t in k.consume(topic, "-f", r"%T\n", *extra).lines]


def notices(r):
    return r.errtext.count("message.timestamp.type=LogAppendTime")


def check_recent(ts, before, after, what):
    check(ts and all(before <= t <= after for t in ts),
          "%s: timestamps %s not all within the append window [%d, %d]" % (what, ts[:5], before, after))


def test_config_is_created_described_altered_and_validated(k):
    k.create("plain")
    k.create("stamped", *LAT)
    check(k.describe("plain")["config"].get("message.timestamp.type") == "CreateTime",
          "the default CreateTime is not among the effective configs: %r" % k.describe("plain")["config"])
    check(k.describe("stamped")["config"]["message.timestamp.type"] == "LogAppendTime", "create --config")
    check("message.timestamp.type=CreateTime (default)" in k.ok("topic", "describe", "plain").text,
          "plain describe: %s" % short(k.ok("topic", "describe", "plain").out))
    k.ok("topic", "alter", "plain", "--config", "message.timestamp.type=LogAppendTime")
    check(k.describe("plain")["config"]["message.timestamp.type"] == "LogAppendTime", "alter to LogAppendTime")
    k.ok("topic", "alter", "plain", "--config", "message.timestamp.type=CreateTime")
    check(k.describe("plain")["config"]["message.timestamp.type"] == "CreateTime", "alter back to CreateTime")
    for bad in ("logappendtime", "AppendTime", ""):
        r = k.run("topic", "create", "bad", "--config", "message.timestamp.type=" + bad)
        check(r.rc == 2, "create with message.timestamp.type=%r: %s" % (bad, r.describe()))
        for word in ("message.timestamp.type", "CreateTime", "LogAppendTime"):
            check(word in r.errtext, "the refusal should name %s: %s" % (word, short(r.err)))
        r = k.run("topic", "alter", "stamped", "--config", "message.timestamp.type=" + bad)
        check(r.rc == 2 and "message.timestamp.type" in r.errtext, "alter to %r: %s" % (bad, r.describe()))
    check("bad" not in k.ok("topic", "list").text, "a refused create made a topic")
    check(k.describe("stamped")["config"]["message.timestamp.type"] == "LogAppendTime",
          "a refused alter changed the config")


def test_produce_with_timestamp_field_is_stamped_with_the_append_time(k):
    k.create("lat", *LAT, *KEEP, "--config", "segment.bytes=8192")
    k.create("ct", *KEEP, "--config", "segment.bytes=8192")
    lines = events(600, pad=20)
    before = now_ms()
    r = k.produce("lat", lines, "--timestamp-field", "ts", "--key-field", "k")
    after = now_ms()
    check(notices(r) == 1, "want one notice about LogAppendTime, stderr: %s" % short(r.err, 800))
    check("lat" in r.errtext and "--timestamp-field ts" in r.errtext, "the notice names topic and field: %s"
          % short(r.err, 800))
    r = k.produce("ct", lines, "--timestamp-field", "ts", "--key-field", "k")
    check(notices(r) == 0, "a CreateTime topic gets no notice: %s" % short(r.err))

    check(k.values("lat") == [ln.encode() for ln in lines], "the lines are stored unchanged")
    check_recent(stamps(k, "lat"), before, after, "consume -f %T")
    check(stamps(k, "ct") == [Y2001 + 1000 * i for i in range(600)], "CreateTime keeps the field's times")
    js = [json.loads(ln)["timestamp"] for ln in k.consume("lat", "--json").lines]
    check_recent(js, before, after, "consume --json")

    d = k.describe("lat")["partitions"][0]
    check_recent([d["oldest_timestamp"], d["newest_timestamp"]], before, after, "describe oldest/newest")
    d = k.describe("ct")["partitions"][0]
    check(d["oldest_timestamp"] == Y2001 and d["newest_timestamp"] == Y2001 + 599000,
          "CreateTime describe: %r" % d)

    # Time lookups: the append time, not 2001.
    check(len(k.values("lat", "--from", "@%d" % before)) == 600, "--from @<before the append> reads all")
    check(k.values("lat", "--from", "@%d" % (after + 1)) == [], "--from @<after the append> reads none")
    check(len(k.values("ct", "--from", "@%d" % (Y2001 + 300000))) == 300, "CreateTime --from @ts")

    logs = k.logs("lat")
    check(len(logs) >= 3, "setup: expected several segments, got %d" % len(logs))
    dump = k.ok("dump", logs[0]).text
    check("LogAppendTime: " in dump and "CreateTime: " not in dump, "dump: %s" % short(dump, 400))
    check("CreateTime: " in k.ok("dump", k.logs("ct")[0]).text, "dump of the CreateTime topic")
    tidx = k.ok("dump", logs[0][:-len(".log")] + ".timeindex").text
    ts = [int(ln.split()[1]) for ln in tidx.splitlines() if ln.startswith("timestamp:")]
    check_recent(ts, before, after, "the time index")
    k.ok("verify", "lat")
    rep = k.reader_check("lat")
    check(rep.ok, "kafka_reader: %s" % "; ".join(rep.problems[:3]))
    batches = [b for s in rep.segments for b in s.batches]
    check(batches and all(b.log_append_time for b in batches), "attributes bit 3 not set on every batch")
    # kappa reads each record's timestamp as its batch's maxTimestamp, the append time.
    batch_time = {r.offset: b.max_timestamp for b in batches for r in b.records}
    for ln in k.consume("lat", "-f", r"%o %T\n").lines:
        o, t = map(int, ln.split())
        check(t == batch_time[o], "offset %d: timestamp %d, its batch's append time %d" % (o, t, batch_time[o]))
    check(len(set(batch_time.values())) <= len(batches), "more timestamps than batches")
    # Without --timestamp-field there is nothing to say.
    r = k.produce("lat", ["plain line"])
    check(notices(r) == 0, "a notice without --timestamp-field: %s" % short(r.err))


def test_compressed_batches_are_stamped_too(k):
    k.create("z", *LAT)
    before = now_ms()
    k.produce("z", events(300), "--timestamp-field", "ts", "-z", "zstd")
    after = now_ms()
    check_recent(stamps(k, "z"), before, after, "zstd batches")
    rep = k.reader_check("z")
    check(rep.ok, "kafka_reader: %s" % "; ".join(rep.problems[:3]))
    batches = [b for s in rep.segments for b in s.batches]
    check(all(b.log_append_time and b.compression == 4 for b in batches), "zstd batches with bit 3")


def test_alter_applies_to_later_appends(k):
    k.create("alt", *KEEP)
    k.produce("alt", events(3), "--timestamp-field", "ts")
    k.ok("topic", "alter", "alt", "--config", "message.timestamp.type=LogAppendTime")
    before = now_ms()
    k.produce("alt", events(3), "--timestamp-field", "ts")
    after = now_ms()
    k.ok("topic", "alter", "alt", "--config", "message.timestamp.type=CreateTime")
    k.produce("alt", events(3), "--timestamp-field", "ts")
    ts = stamps(k, "alt")
    check(ts[:3] == [Y2001, Y2001 + 1000, Y2001 + 2000], "before the alter: %r" % ts)
    check_recent(ts[3:6], before, after, "while LogAppendTime")
    check(ts[6:] == [Y2001, Y2001 + 1000, Y2001 + 2000], "after altering back: %r" % ts)


def test_retention_by_time_sees_the_append_time(k):
    # Records from 2001 are years past retention.ms by their own times, but were
    # appended just now: a LogAppendTime topic keeps them, a CreateTime one does not.
    for topic, extra in (("lat", LAT), ("ct", ())):
        k.create(topic, "--config", "segment.bytes=4096", "--config", "retention.ms=-1", *extra)
        k.produce(topic, events(400, pad=40), "--timestamp-field", "ts")
        k.ok("topic", "alter", topic, "--config", "retention.ms=%d" % DAY)
        k.ok("maintain", topic)
    check(k.describe("lat")["partitions"][0]["log_start_offset"] == 0,
          "retention removed LogAppendTime segments appended just now")
    check(len(k.values("lat")) == 400, "LogAppendTime records lost")
    check(k.describe("ct")["partitions"][0]["log_start_offset"] > 0,
          "setup: CreateTime segments from 2001 should have gone")


def test_sessionize_output_created_log_append_time_is_stamped(k):
    k.create("ev", *KEEP)
    k.produce("ev", events(40), "--timestamp-field", "ts", "--key-field", "k")
    k.create("sess", *LAT)
    k.create("sess-ct", *KEEP)
    before = now_ms()
    r = k.ok("sessionize", "--input", "ev", "--output", "sess", "--key-field", "k", "--time-field", "ts",
             "--gap", "30s", "--flush-at-end", timeout=60)
    after = now_ms()
    out = k.consume("sess", "-f", r"%T %s\n").lines
    check(len(out) == 4, "4 sessions expected, got %d: %s" % (len(out), short(r.err)))
    check_recent([int(ln.split(b" ", 1)[0]) for ln in out], before, after, "sessionize output")
    # The CreateTime output of the same job: window_end - 1, the spec's record timestamp.
    k.ok("sessionize", "--input", "ev", "--output", "sess-ct", "--key-field", "k", "--time-field", "ts",
         "--gap", "30s", "--flush-at-end", timeout=60)
    for ln in k.consume("sess-ct", "-f", r"%T %s\n").lines:
        ts, value = ln.split(b" ", 1)
        check(int(ts) == json.loads(value)["window_end"] - 1, "CreateTime output record %r" % ln)


if __name__ == "__main__":
    run_tests(globals())
