#!/usr/bin/env python3
"""kappa sessionize --idle-timeout (SPEC section 5, "Quiet input") as a user meets it: the
rule checked record by record against the Flink model extended with it, a live --follow job
whose quiet partition closes its sessions at gap + max-out-of-orderness + DUR after its last
record while another partition keeps going, what arrives after that is late exactly as the
rule says, `job status` naming the idle partitions, kill -9 in a quiet period, the job
options, and the stdin filter. Every live run is compared with a replay of the same input."""
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short  # noqa: E402
from test_sessionize import (INT64_MAX, INT64_MIN, SEED, Opts, PartitionModel,  # noqa: E402
                             by_partition, check_late_output, end_offsets, expected_output, model_summary,
                             read_topic, same_records, sessionize, summary)

SANITIZED = os.environ.get("KAPPA_SANITIZED", "0") not in ("", "0")
# How late a live firing may be: the job looks at a quiet input every 200 ms, then
# checkpoints; consume is a separate process started every poll.
SLACK_MS = 3000 if SANITIZED else 1500
# The rule's promise (a replay does what the live run did) holds for records stamped no
# earlier than the job's last look at the clock before they were appended: the live tests
# stamp their records this far ahead of the wall clock, more than a produce takes.
LEAD_MS = 2000 if SANITIZED else 500


def now_ms():
    return int(time.time() * 1000)


class IdleModel(PartitionModel):
    """The Flink model plus the idle rule: before a record stamped b whose predecessor was
    stamped a, wm = max(wm, wm_prev + (b - a - DUR)) where wm_prev is the watermark after
    the predecessor; at the end of the input the same with the wall clock as b."""

    def __init__(self, o, idle_ms):
        super().__init__(o)
        self.idle = idle_ms
        self.last = None
        self.wm_after = INT64_MIN

    def step_to(self, b):
        if self.last is None or self.wm_after == INT64_MIN:
            return
        excess = b - self.last - self.idle
        if excess > 0:
            wm = min(INT64_MAX, self.wm_after + excess)
            if wm > self.wm:
                self.wm = wm
                self.advance()

    def feed_rec(self, rec):
        self.step_to(rec.ts)
        self.feed(rec.value, rec)
        self.last, self.wm_after = rec.ts, self.wm


def gen_quiet_input(rnd, keys, idle_ms, gap_ms, ooo_ms, start):
    """JSON lines with a record-time field rt and an event time t: bursts of events with
    quiet periods between them around the timeout (shorter, equal, longer), stragglers whose
    event time lags far behind their record time, events right after a quiet period that
    would join a session the quiet period closed, record times that step backwards, and
    malformed lines."""
    lines, rt, last_key, last_t = [], start, None, 0
    for _ in range(rnd.randint(6, 10)):
        if last_key is not None and rnd.random() < 0.8:
            # first after the quiet: would extend the last session (late if the rule closed it)
            last_t += rnd.randint(0, gap_ms // 2)
            lines.append('{"rt":%d,"k":"%s","t":%d}' % (rt, last_key, last_t))
        for _ in range(rnd.randint(5, 40)):
            rt += rnd.choice([0, 1, 50, 300, 900])
            if rnd.random() < 0.05:
                rt -= rnd.randint(1, 2000)                      # a record stamped earlier
            t = rt - rnd.randint(0, 2 * ooo_ms)
            if rnd.random() < 0.15:
                t = rt - rnd.randint(gap_ms, 4 * (gap_ms + ooo_ms + idle_ms))  # a straggler
            key = rnd.choice(keys)
            if rnd.random() < 0.03:
                lines.append('{"rt":%d,"k":"%s"}' % (rt, key))  # no event time: malformed
            else:
                lines.append('{"rt":%d,"k":"%s","t":%d}' % (rt, key, max(0, t)))
                if t >= rt - 2 * ooo_ms:
                    last_key, last_t = key, t
        rt += rnd.choice([idle_ms - 1, idle_ms, idle_ms + 1, idle_ms // 2,
                          idle_ms + rnd.randint(1, 3 * (gap_ms + ooo_ms)),
                          idle_ms + gap_ms + ooo_ms + rnd.randint(0, 2 * gap_ms), 5 * idle_ms + 4 * gap_ms])
    return lines


def test_replay_matches_the_rule_record_by_record(k):
    """Inputs with quiet periods, several partitions and settings: output, late output and
    the summary equal the model's; with the rule off, the same input gives Flink's plain
    output (so the rule is what made the difference)."""
    keys = ["a", "b", "c", "d", "e"]
    configs = [dict(gap="2s", ooo="500ms", lateness="0", idle="3s"),
               dict(gap="1s", ooo="0", lateness="2s", idle="1500ms"),
               dict(gap="5s", ooo="1s", lateness="500ms", idle="10s")]
    differed = made_late = 0
    for i, c in enumerate(configs):
        rnd = random.Random(SEED * 100 + i)
        o = Opts(gap=c["gap"], ooo=c["ooo"], lateness=c["lateness"])
        idle_ms = {"3s": 3000, "1500ms": 1500, "10s": 10000}[c["idle"]]
        topic = "q%d" % i
        parts = 2 if i != 1 else 3
        k.create(topic, "--partitions", parts)
        start = 1_700_000_000_000 + i * 10_000_000  # 2023: the end-of-input look fires the rest
        for p in range(parts):
            lines = gen_quiet_input(rnd, keys, idle_ms, o_ms(o.gap), o_ms(o.ooo), start)
            k.produce(topic, lines, "--partition", p, "--timestamp-field", "rt")
        inputs = by_partition(read_topic(k, topic))
        args = ["--input", topic, "--output", "out%d" % i, "--late-output", "late%d" % i,
                "--idle-timeout", c["idle"]] + o.args()
        r = sessionize(k, *args)
        models = {}
        for p, recs in inputs.items():
            m = IdleModel(o, idle_ms)
            for rec in recs:
                m.feed_rec(rec)
            m.step_to(now_ms())  # the end of the input: the wall clock
            models[p] = m
        s = summary(r)
        want = model_summary(models)
        check({key: s[key] for key in want} == want,
              "seed %d config %d: summary %r, the idle model %r" % (SEED, i, s, want))
        same_records(read_topic(k, "out%d" % i), expected_output(models),
                     "seed %d config %d (%s): output vs the idle model" % (SEED, i, " ".join(args)))
        check_late_output(models, read_topic(k, "late%d" % i), "config %d late output" % i)
        # The rule off: Flink's plain semantics, which differ on this input.
        plain = {p: PartitionModel(o) for p in inputs}
        for p, recs in inputs.items():
            for rec in recs:
                plain[p].feed(rec.value, rec)
        off = ["--input", topic, "--output", "off%d" % i] + o.args()
        sessionize(k, *off)
        same_records(read_topic(k, "off%d" % i), expected_output(plain),
                     "config %d without --idle-timeout vs Flink's model" % i)
        differed += expected_output(plain) != expected_output(models)
        made_late += sum(m.late for m in models.values()) - sum(m.late for m in plain.values())
    check(made_late >= 3, "seed %d: only %d events made late by a quiet period" % (SEED, made_late))
    check(differed == len(configs), "seed %d: the rule changed the output of only %d of %d configs"
          % (SEED, differed, len(configs)))


def o_ms(text):
    from test_sessionize import ms
    return ms(text)


def produce_now(k, topic, partition, events):
    """events: [(key, event time, record timestamp)]: the record timestamps, the rule's
    clock, are the test's (LEAD_MS ahead of the wall clock)."""
    lines = ['{"k":"%s","t":%d,"rt":%d}' % e for e in events]
    k.produce(topic, lines, "--partition", partition, "--timestamp-field", "rt")


def last_record_ts(k, topic, partition):
    recs = [r for r in read_topic(k, topic) if r.p == partition]
    return recs[-1].ts


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        check(time.monotonic() < deadline, "waited %ss for %s" % (timeout, what))
        time.sleep(0.05)


def session_keys(k, topic, partition):
    return [json.loads(r.value)["key"] for r in read_topic(k, topic) if r.p == partition]


def check_live_equals_replay(k, args, out, late, what):
    """A replay of the input with the same options writes what the live run wrote (the live
    run is a prefix: the replay also looks at the wall clock at its end)."""
    replay = [a for a in args]
    replay[replay.index("--output") + 1] = out + "_replay"
    replay[replay.index("--late-output") + 1] = late + "_replay"
    sessionize(k, *replay)
    live, again = by_partition(read_topic(k, out)), by_partition(read_topic(k, out + "_replay"))
    for p in set(live) | set(again):
        lv, rv = live.get(p, []), again.get(p, [])
        same_records(lv, rv[:len(lv)], "%s: partition %d live vs replay" % (what, p))
    same_records(read_topic(k, late), read_topic(k, late + "_replay"), "%s: late output live vs replay" % what)
    return live, again


def test_live_quiet_partition_closes_its_sessions(k):
    """Two partitions: p1 keeps getting events, p0 goes quiet. p0's sessions appear at about
    gap + max-out-of-orderness + DUR after its last record (never before), `job status`
    says p0 is idle since its last record + DUR and p1 is not, an event that would have
    joined a closed session is late, and a replay writes the same records."""
    gap, ooo, idle = 1000, 200, 1000
    k.create("ev", "--partitions", 2)
    k.ok("job", "create", "quiet", "--sessionize", "--input", "ev", "--output", "sess", "--key-field", "k",
         "--time-field", "t", "--gap", "1s", "--max-out-of-orderness", "200ms", "--idle-timeout", "1s",
         "--late-output", "late", "--checkpoint-interval", "100ms")
    job = k.spawn("job", "run", "quiet", "--follow", stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = now_ms() + LEAD_MS
        burst = [("a", t0, t0), ("b", t0 + 10, t0 + 10), ("a", t0 + 300, t0 + 300)]
        produce_now(k, "ev", 0, burst)
        a_ts = t0 + 300  # p0's last record
        wm_prev = a_ts - ooo - 1
        # b's session [t0+10, t0+1010) and a's [t0, t0+1300) fire when the quiet time
        # past the timeout has moved the watermark to their end - 1
        due = {"b": a_ts + idle + (t0 + 1010 - 1 - wm_prev), "a": a_ts + idle + (t0 + 1300 - 1 - wm_prev)}
        check(due["a"] == a_ts + gap + ooo + idle, "test arithmetic")
        busy_at = [0]

        def keep_p1_busy():
            t = now_ms() + LEAD_MS
            produce_now(k, "ev", 1, [("c", t, t)])
            busy_at[0] = now_ms()

        keep_p1_busy()
        idle_seen = None
        seen = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(seen) < 2:
            if now_ms() - busy_at[0] >= 300:
                keep_p1_busy()
            for key in session_keys(k, "sess.v1", 0):
                seen.setdefault(key, now_ms())
            if idle_seen is None and now_ms() > a_ts + idle + 300:
                st = json.loads(k.ok("job", "status", "quiet", "--json").out)
                ps = {p["partition"]: p for p in st["versions"][0]["partitions"]}
                if ps[0]["idle"]:
                    idle_seen = ps
            time.sleep(0.05)
        check(sorted(seen) == ["a", "b"], "p0's sessions during the quiet period: %r" % seen)
        for key in seen:
            check(seen[key] >= due[key] - 50, "p0's session of %s appeared at %d, before it was due (%d: "
                  "its end - 1 + idle-timeout after the watermark of the last record)" % (key, seen[key], due[key]))
            check(seen[key] <= due[key] + SLACK_MS, "p0's session of %s appeared %d ms after it was due"
                  % (key, seen[key] - due[key]))
        check(session_keys(k, "sess.v1", 0) == ["b", "a"], "p0's sessions: %r" % session_keys(k, "sess.v1", 0))
        check(session_keys(k, "sess.v1", 1) == [], "busy p1's session fired: %r" % session_keys(k, "sess.v1", 1))
        check(idle_seen is not None, "job status never said partition 0 was idle")
        check(idle_seen[0]["idle_since"] == a_ts + idle and not idle_seen[1]["idle"],
              "job status: %r (p0's last record at %d)" % (idle_seen, a_ts))
        text = k.ok("job", "status", "quiet").text
        check("partition 0 idle since" in text and "partition 1 idle" not in text,
              "job status text does not say which partition is idle: %s" % text)
        # An event for a's closed session [t0, t0+1300): late, kept in the late output.
        wait_for("the quiet period to pass a's session by 500 ms", lambda: now_ms() > due["a"] + 500, 10)
        produce_now(k, "ev", 0, [("a", t0 + 400, now_ms() + LEAD_MS)])
        wait_for("the late event in the late output",
                 lambda: [r for r in read_topic(k, "late.v1") if r.p == 0], 10)
        # p1 goes quiet too: c's session closes the same way.
        c_ts = last_record_ts(k, "ev", 1)
        wait_for("p1's session after it went quiet", lambda: session_keys(k, "sess.v1", 1), 10)
        check(now_ms() >= c_ts + gap + ooo + idle - 50, "p1's session fired early")
    finally:
        job.send_signal(signal.SIGTERM)
        job.wait(timeout=20)
    check(job.returncode == 0, "job run --follow exited %s" % job.returncode)
    args = ["--input", "ev", "--output", "sess.v1", "--late-output", "late.v1", "--key-field", "k",
            "--time-field", "t", "--gap", "1s", "--max-out-of-orderness", "200ms", "--idle-timeout", "1s"]
    live, _ = check_live_equals_replay(k, args, "sess.v1", "late.v1", "quiet partitions")
    check(len(live.get(0, [])) == 2 and len(live.get(1, [])) == 1, "live output %r" % live)


def test_log_append_time_input_is_the_clock(k):
    """With message.timestamp.type=LogAppendTime on the input, the rule's clock is the
    append time, whatever time the producer wrote: records claiming to be from 2001 still
    close their sessions about gap + DUR after they were appended, and a replay agrees."""
    k.create("app", "--config", "message.timestamp.type=LogAppendTime")
    args = ["--input", "app", "--output", "aout", "--late-output", "alate", "--key-field", "k",
            "--time-field", "t", "--gap", "500ms", "--idle-timeout", "500ms", "--checkpoint-interval", "50ms"]
    job = k.spawn("sessionize", *args, "--follow", stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t = now_ms()
        k.produce("app", ['{"k":"a","t":%d,"rt":978307200000}' % t], "--timestamp-field", "rt")
        appended = read_topic(k, "app")[0].ts
        check(abs(appended - now_ms()) < 10000, "the record is not stamped with its append time: %d" % appended)
        due = appended + 500 + (t + 500 - 1 - (t - 1))  # last record + DUR + (end - 1 - wm_prev)
        wait_for("the session of the quiet input", lambda: read_topic(k, "aout"), 10)
        fired = now_ms()
        check(due - 50 <= fired <= due + SLACK_MS, "the session came out at %d, due at %d" % (fired, due))
    finally:
        job.send_signal(signal.SIGTERM)
        job.wait(timeout=20)
    check(job.returncode == 0, "sessionize --follow exited %s" % job.returncode)
    check_live_equals_replay(k, [a for a in args if a not in ("--checkpoint-interval", "50ms")],
                             "aout", "alate", "LogAppendTime input")


def test_kill9_in_a_quiet_period(k):
    """kill -9 of a following job at random moments of quiet periods (before, while and
    after it closes sessions), a restart, more input: the output equals a replay."""
    rnd = random.Random(SEED + 14)
    k.create("in", "--partitions", 2)
    args = ["--input", "in", "--output", "out", "--late-output", "late", "--key-field", "k", "--time-field",
            "t", "--gap", "500ms", "--max-out-of-orderness", "100ms", "--idle-timeout", "400ms",
            "--checkpoint-interval", "50ms"]
    job = k.spawn("sessionize", *args, "--follow", stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kills = 0
    try:
        for burst in range(4 if SANITIZED else 6):
            t = now_ms() + LEAD_MS
            for p in (0, 1):
                evs = [(rnd.choice("xyz"), t + rnd.randint(-300, 300), t + i) for i in range(rnd.randint(3, 12))]
                if burst and rnd.random() < 0.5:
                    evs.append(("x", t - rnd.randint(600, 3000), t + 20))  # a straggler into a closed past
                produce_now(k, "in", p, evs)
            # into the quiet period (sessions are due about 1 s after the burst)
            time.sleep(rnd.uniform(0.1, 1.8))
            job.kill()
            job.wait()
            kills += 1
            job = k.spawn("sessionize", *args, "--follow", stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0.0, 1.5))
        # caught up, then quiet for longer than every session's due time: all of them are out
        wait_for("the job to catch up", lambda: caught_up(k, "sessionize:out", "in"), 20)
        last = max(r.ts for r in read_topic(k, "in"))  # every session is due by gap + ooo + DUR after it
        wait_for("the last burst's sessions to be due", lambda: now_ms() > last + 500 + 100 + 400 + 500, 20)
    finally:
        job.send_signal(signal.SIGTERM)
        job.wait(timeout=20)
    check(job.returncode == 0, "the last run exited %s" % job.returncode)
    replay = [a for a in args if a != "--checkpoint-interval" and a != "50ms"]
    live, again = check_live_equals_replay(k, replay, "out", "late", "after %d kill -9s" % kills)
    check(sum(len(v) for v in live.values()) == sum(len(v) for v in again.values()) > 0,
          "the live run stopped short of the replay: %d vs %d sessions"
          % (sum(len(v) for v in live.values()), sum(len(v) for v in again.values())))


def caught_up(k, group, topic):
    r = k.run("group", "describe", group, "--json")
    if r.rc != 0:
        return False
    d = json.loads(r.out)
    ends = end_offsets(k, topic)
    got = {p["partition"]: p["committed_offset"] for p in d["partitions"] if p["topic"] == topic}
    return all(got.get(p) == e for p, e in ends.items())


def test_job_options_show_and_reprocess(k):
    """--idle-timeout is a job option: job create stores it, job show prints it, reprocess
    --set changes or removes it, and a bad value is refused naming the option."""
    k.create("e")
    k.produce("e", ['{"k":"a","t":1000}'], "--timestamp-field", "t")  # stamped 1970
    k.ok("job", "create", "j", "--sessionize", "--input", "e", "--output", "o", "--key-field", "k", "--time-field", "t",
         "--gap", "1s", "--idle-timeout", "90s")
    show = k.ok("job", "show", "j").text
    check("--idle-timeout 90s" in show, "job show: %s" % show)
    bad = k.run("job", "create", "j2", "--sessionize", "--input", "e", "--output", "o2", "--key-field", "k", "--time-field",
                "t", "--gap", "1s", "--idle-timeout", "soon")
    check(bad.rc == 2 and b"--idle-timeout" in bad.err, "bad --idle-timeout: %s" % bad.describe())
    r = k.run("sessionize", "--input", "e", "--output", "x", "--key-field", "k", "--time-field", "t",
              "--gap", "1s", "--idle-timeout", "-5s")
    check(r.rc == 2 and b"--idle-timeout" in r.err, "negative --idle-timeout: %s" % r.describe())
    k.ok("job", "run", "j")
    k.ok("job", "reprocess", "j", "--set", "idle-timeout=2s", timeout=60)
    show = k.ok("job", "show", "j").text
    check(show.count("--idle-timeout 90s") == 1 and "--idle-timeout 2s" in show,
          "job show after reprocess --set idle-timeout=2s: %s" % show)
    st = json.loads(k.ok("job", "status", "j", "--json").out)
    p = st["versions"][1]["partitions"][0]
    # the one record is from 1970: the partition is idle since its timestamp + the timeout
    check(p["idle"] is True and p["idle_since"] == 3000, "job status of v2: %r" % p)
    p1 = st["versions"][0]["partitions"][0]
    check(p1["idle"] is True and p1["idle_since"] == 91000, "v1 (90s) status: %r" % p1)
    k.ok("job", "reprocess", "j", "--set", "idle-timeout=", timeout=60)
    st = json.loads(k.ok("job", "status", "j", "--json").out)
    check(st["versions"][2]["partitions"][0]["idle"] is False and
          st["versions"][2]["partitions"][0]["idle_since"] is None,
          "a version without --idle-timeout is never idle: %r" % st["versions"][2])
    # the one event's session: closed by the rule at the end of v1's run, open without it
    check(len(read_topic(k, "o.v1")) == 1 and len(read_topic(k, "o.v3")) == 0,
          "v1 %r, v3 %r" % (read_topic(k, "o.v1"), read_topic(k, "o.v3")))


def test_stdin_filter_closes_sessions_when_stdin_goes_quiet(k):
    """`--input - --output -` with --idle-timeout: a line's time is when it was read, and a
    quiet stdin (still open) lets its sessions out on stdout."""
    p = k.spawn("sessionize", "--input", "-", "--output", "-", "--key-field", "k", "--time-field", "t",
                "--gap", "300ms", "--idle-timeout", "300ms", stderr=subprocess.DEVNULL)
    try:
        sent = now_ms()
        p.stdin.write(b'{"k":"a","t":%d}\n' % sent)
        p.stdin.flush()
        import select
        r, _, _ = select.select([p.stdout], [], [], 10)
        check(r, "no session on stdout within 10 s of a quiet stdin")
        line = p.stdout.readline()
        got = now_ms()
        check(b'"key":"a"' in line and b'"count":1' in line, "filter output: %s" % short(line))
        check(got - sent >= 550, "the session came out %d ms after its line, before gap + timeout"
              % (got - sent))
    finally:
        p.stdin.close()
        p.wait(timeout=10)
    check(p.returncode == 0, "filter exited %s" % p.returncode)


if __name__ == "__main__":
    run_tests(globals())
