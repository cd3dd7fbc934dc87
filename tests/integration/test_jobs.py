#!/usr/bin/env python3
"""The Kappa workflow through the real binary (SPEC section 6): versioned jobs, status
from another process, reprocessing with kill -9, cutover through an alias, two versions
running side by side, and aliases as readers see them."""
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, gen_clicks, run_tests, short, stop  # noqa: E402
from test_sessionize import (SEED, log_bytes, read_topic, same_records,  # noqa: E402
                             scaled)

KEYS = ["--key-field", "user_id", "--time-field", "timestamp_ms"]
V1 = KEYS + ["--gap", "30s", "--max-out-of-orderness", "5s", "--count-by", "event_type"]


def clicks(k, n, partitions=2, seed=7, users=2000, topic="clicks", pieces=1):
    """Produce n generated clicks keyed by user; returns the lines."""
    k.create(topic, "--partitions", partitions, "--config", "retention.ms=-1")
    lines = gen_clicks(n, "--users", users, "--seed", seed, "--rate", 50, "--late-frac", 0.005)
    for i in range(pieces):
        k.produce(topic, lines[i * n // pieces:(i + 1) * n // pieces], "--key-field", "user_id",
                  "--timestamp-field", "timestamp_ms", timeout=120)
    return lines


def more_clicks(k, n, seed, topic="clicks"):
    lines = gen_clicks(n, "--users", 2000, "--seed", seed, "--rate", 50,
                       "--start-ms", 1700000000000 + 10 ** 8)
    k.produce(topic, lines, "--key-field", "user_id", "--timestamp-field", "timestamp_ms",
              timeout=120)


def js(r):
    try:
        return json.loads(r.out)
    except ValueError as e:
        raise AssertionError("not JSON (%s): %s" % (e, short(r.out)))


def status(k, job):
    return js(k.ok("job", "status", job, "--json"))


def caught_up(k, job, n):
    """Whether version n of the job exists and has caught up once (job show --json)."""
    vs = js(k.ok("job", "show", job, "--json"))["versions"]
    return len(vs) >= n and vs[n - 1]["caught_up"]


def end_offsets(k, topic):
    return {p["partition"]: p["log_end_offset"] for p in k.describe(topic)["partitions"]}


def reference(k, output, *opts):
    """The same logic run once, uninterrupted, by plain sessionize."""
    k.ok("sessionize", "--input", "clicks", "--output", output, *opts, timeout=120)
    return read_topic(k, output)


def test_lifecycle_create_run_reprocess_compare_cutover(k):
    clicks(k, 20000)
    r = k.ok("job", "create", "web", "--sessionize", "--input", "clicks", "--output", "sessions", *V1)
    check("sessions.v1" in r.text, "create names the first version's topic: %s" % short(r.out))
    jobs = js(k.ok("job", "list", "--json"))
    check([(j["name"], j["input"], j["alias"], j["serving"], j["versions"]) for j in jobs] ==
          [("web", "clicks", "sessions", 1, 1)], "job list: %r" % jobs)
    aliases = js(k.ok("alias", "list", "--json"))
    check([(a["alias"], a["topic"]) for a in aliases] == [("sessions", "sessions.v1")],
          "version 1 serves the alias from the start: %r" % aliases)
    k.ok("job", "run", "web")
    v1 = read_topic(k, "sessions.v1")
    check(len(v1) > 100, "version 1 emitted sessions: %d" % len(v1))
    same_records(v1, reference(k, "ref30", *V1), "job version 1 vs plain sessionize")
    g = js(k.ok("group", "describe", "job:web:v1", "--json"))
    check({(p["topic"], p["partition"]): p["committed_offset"] for p in g["partitions"]} ==
          {("clicks", p): e for p, e in end_offsets(k, "clicks").items()},
          "group job:web:v1 committed the input's end: %r" % g)

    r = k.ok("job", "reprocess", "web", "--set", "gap=20s")
    check("caught up" in r.errtext, "reprocess says it caught up: %s" % short(r.err))
    show = js(k.ok("job", "show", "web", "--json"))
    check([(v["version"], v["output"], v["group"], v["caught_up"], v["options"]["gap"])
           for v in show["versions"]] ==
          [(1, "sessions.v1", "job:web:v1", True, "30s"), (2, "sessions.v2", "job:web:v2", True, "20s")],
          "job show lists both versions: %r" % show)
    check(show["serving"] == 1 and show["alias_topic"] == "sessions.v1",
          "version 1 keeps serving until cutover: %r" % show)
    v2 = read_topic(k, "sessions.v2")
    same_records(v2, reference(k, "ref20", *(V1[:5] + ["20s"] + V1[6:])),
                 "reprocessed version 2 vs plain sessionize with --gap 20s")

    # compare through the alias: 30s vs 20s sessions differ; equal logic agrees
    r = k.run("compare", "sessions", "sessions.v2")
    check(r.rc == 1, "compare of 30s vs 20s sessions exits 1: %s" % r.describe())
    r = k.run("compare", "sessions.v2", "ref20")
    check(r.rc == 0, "compare of identical outputs exits 0: %s" % r.describe())

    # consumer through the alias, before and after the cutover
    before = k.values("sessions", "--group", "reader")
    check(sorted(before) == sorted(rec.value for rec in v1), "the alias reads version 1")
    r = k.ok("job", "cutover", "web")
    check(b"sessions -> sessions.v2" in r.out, "cutover says what it switched: %s" % short(r.out))
    check(js(k.ok("job", "show", "web", "--json"))["serving"] == 2, "version 2 serves")
    r = k.consume("sessions", "--group", "reader")
    check(sorted(r.lines) == sorted(rec.value for rec in v2),
          "after the cutover the alias reads version 2 from the start")
    check("sessions.v1" in r.errtext and "sessions.v2" in r.errtext,
          "the group is told the alias moved under it: %s" % short(r.err))
    offs = {(p["topic"], p["partition"]) for p in
            js(k.ok("group", "describe", "reader", "--json"))["partitions"]}
    check(offs == {("sessions.v1", 0), ("sessions.v1", 1), ("sessions.v2", 0), ("sessions.v2", 1)},
          "the reader's offsets are kept per real topic: %r" % offs)
    # a cutover to the version already serving changes nothing
    k.ok("job", "cutover", "web")
    # job run now runs the serving version: nothing new to do
    r = k.ok("job", "run", "web")
    check("v2" in r.errtext and "0 events" in r.errtext, "job run runs the serving version: %s" % short(r.err))
    # roll back to version 1, then delete the job
    k.ok("job", "cutover", "web", "--version", "1")
    check(js(k.ok("alias", "list", "--json"))[0]["topic"] == "sessions.v1", "rolled back")
    k.ok("job", "delete", "web")
    check(js(k.ok("job", "list", "--json")) == [], "job deleted")
    check(js(k.ok("alias", "list", "--json")) == [], "its alias went with it")
    check(k.run("group", "describe", "job:web:v2").rc == 1, "its checkpoints went with it")
    check(len(read_topic(k, "sessions.v2")) == len(v2), "its output topics stay")


def test_status_from_another_process_while_running(k):
    clicks(k, 20000, partitions=3)
    k.ok("job", "create", "live", "--sessionize", "--input", "clicks", *V1,
         "--checkpoint-interval", "50ms")
    s = status(k, "live")
    v = s["versions"][0]
    check(not v["running"] and all(p["committed_offset"] is None for p in v["partitions"]) and
          v["lag"] == sum(end_offsets(k, "clicks").values()),
          "before the first run: nothing committed, lag = every record: %r" % v)
    p = k.spawn("job", "run", "live", "--follow", stdin=subprocess.DEVNULL)
    t0 = time.time() * 1000
    deadline = time.monotonic() + 30
    while True:
        v = status(k, "live")["versions"][0]
        ends = end_offsets(k, "clicks")
        if v["running"] and v["lag"] == 0:
            break
        check(time.monotonic() < deadline and p.poll() is None, "the job never caught up: %r" % v)
        time.sleep(0.05)
    check(v["pid"] == p.pid, "status names the running pid %d: %r" % (p.pid, v))
    for part in v["partitions"]:
        check(part["committed_offset"] == part["log_end_offset"] == ends[part["partition"]] and
              part["lag"] == 0 and part["watermark"] is not None and part["open_sessions"] > 0 and
              part["last_checkpoint_timestamp"] >= t0 - 1000 and part["events_per_second"] > 0,
              "a caught-up partition as another process sees it: %r" % part)
    # more input: status shows it processed while the job still runs
    more_clicks(k, 3000, seed=9)
    deadline = time.monotonic() + 30
    while True:
        v = status(k, "live")["versions"][0]
        ends = end_offsets(k, "clicks")
        if all(pp["committed_offset"] == ends[pp["partition"]] for pp in v["partitions"]):
            break
        check(time.monotonic() < deadline, "status never showed the new input processed: %r" % v)
        time.sleep(0.05)
    text = k.ok("job", "status", "live").out.decode()
    check("running, pid %d" % p.pid in text and "committed_offset" in text and "events/s" in text,
          "the text status: %s" % short(text, 800))
    check(k.run("job", "delete", "live").rc == 1, "a running job cannot be deleted")
    check(stop(p, __import__("signal").SIGTERM) == 0, "the job stops cleanly on SIGTERM")
    v = status(k, "live")["versions"][0]
    check(not v["running"] and v["pid"] is None, "after it stops, status says so: %r" % v)


def test_reprocess_killed_and_resumed_equals_uninterrupted(k):
    rnd = random.Random(SEED)
    n = scaled(240000, 60000)
    clicks(k, n, partitions=3, users=20000, pieces=3)
    total = sum(end_offsets(k, "clicks").values())
    k.ok("job", "create", "re", "--sessionize", "--input", "clicks", *V1,
         "--late-output", "late", "--checkpoint-interval", "20ms", "--threads", "2")
    k.ok("job", "run", "re", timeout=120)
    v2_opts = V1[:5] + ["10s"] + V1[6:] + ["--allowed-lateness", "5s"]
    t0 = time.monotonic()
    want = reference(k, "clean", *v2_opts, "--late-output", "clean_late", "--threads", "2")
    clean_secs = time.monotonic() - t0
    want_late = read_topic(k, "clean_late")
    clean_bytes = log_bytes(k, "clean")
    sets = ["--set", "gap=10s", "--set", "allowed-lateness=5s"]
    runs = kills_mid = 0
    refused = False
    while True:
        runs += 1
        check(runs <= 80, "seed %d: reprocess did not finish in 80 runs" % SEED)
        # the same command each time (with --set, or without: both resume)
        args = ["job", "reprocess", "re"] + (sets if runs == 1 or rnd.random() < 0.5 else [])
        p = k.spawn(*args, stdin=subprocess.DEVNULL)
        if runs % 2 == 0:
            time.sleep(rnd.uniform(0.0, 0.5) * clean_secs)
        else:
            target = log_bytes(k, "re.v2") + int(rnd.uniform(0.05, 0.3) * clean_bytes)
            while p.poll() is None and log_bytes(k, "re.v2") < target:
                time.sleep(0.001)
        if p.poll() is None:
            p.kill()
            p.wait()
            _, err = p.communicate()
            check(b"error" not in err, "killed run reported an error: %s" % short(err))
            doc = js(k.ok("job", "show", "re", "--json"))
            check(len(doc["versions"]) <= 2, "a resumed reprocess defined another version: %r" % doc)
            if len(doc["versions"]) == 2 and doc["versions"][1]["caught_up"]:
                # The kill came after version 2 had caught up (a slow exit, as
                # under the sanitizers): it is finished, and a rerun without
                # --set would rightly define version 3.
                break
            if len(doc["versions"]) == 2 and not doc["versions"][1]["caught_up"]:
                kills_mid += 1
                if not refused:
                    # other options while version 2 is unfinished: refused, naming it
                    r = k.run("job", "reprocess", "re", "--set", "gap=1m")
                    check(r.rc == 1 and "version 2" in r.errtext, "other --set values while version 2 is "
                          "unfinished are refused naming it: %s" % r.describe())
                    r = k.run("job", "cutover", "re")
                    check(r.rc == 1 and "lag" in r.errtext, "cutover refuses the unfinished version with its "
                          "lag: %s" % r.describe())
                    refused = True
            continue
        out, err = p.communicate()
        check(p.returncode == 0, "run %d exited %s: %s" % (runs, p.returncode, short(err)))
        break
    check(kills_mid >= 1, "seed %d: no kill landed while version 2 was unfinished (%d runs)" % (SEED, runs))
    doc = js(k.ok("job", "show", "re", "--json"))
    check([v["version"] for v in doc["versions"]] == [1, 2] and doc["versions"][1]["caught_up"],
          "one version 2, finished: %r" % doc)
    same_records(read_topic(k, "re.v2"), want,
                 "version 2 after %d kill -9s (%d runs) vs an uninterrupted run" % (kills_mid, runs))
    same_records(read_topic(k, "late.v2"), want_late, "version 2's late output vs an uninterrupted run")
    st = status(k, "re")["versions"][1]
    check(st["lag"] == 0 and sum(p["committed_offset"] for p in st["partitions"]) == total,
          "version 2 committed every input record: %r" % st)
    # a finished version: reprocess now defines version 3
    k.ok("job", "reprocess", "re", timeout=120)
    check(len(js(k.ok("job", "show", "re", "--json"))["versions"]) == 3, "then a new version")
    same_records(read_topic(k, "re.v3"), want, "version 3 (the same options) vs version 2")


def test_cutover_refused_while_lagging_and_atomic_for_readers(k):
    clicks(k, 10000)
    k.ok("job", "create", "cut", "--sessionize", "--input", "clicks", "--output", "s", *V1)
    k.ok("job", "run", "cut")
    k.ok("job", "reprocess", "cut", "--set", "gap=20s")
    more_clicks(k, 500, seed=11)
    r = k.run("job", "cutover", "cut")
    check(r.rc == 1 and "lag 500" in r.errtext and "job run cut --version 2" in r.errtext,
          "cutover refuses a lagging version with its lag: %s" % r.describe())
    check(js(k.ok("alias", "list", "--json"))[0]["topic"] == "s.v1", "nothing switched")
    r = k.ok("job", "cutover", "cut", "--max-lag", "500")
    k.ok("job", "cutover", "cut", "--version", "1", "--max-lag", "500")
    for v in (1, 2):
        k.ok("job", "run", "cut", "--version", v)
    firsts = {}
    for t in ("s.v1", "s.v2"):
        firsts[t] = k.consume(t, "--partition", "0", "--count", "1").out
    check(firsts["s.v1"] != firsts["s.v2"], "the versions differ")
    # a reader polls the alias while it is switched back and forth
    seen, bad = [], []
    done = threading.Event()

    def poll():
        while not done.is_set():
            r = k.run("consume", "s", "--partition", "0", "--count", "1")
            if r.rc != 0 or r.out not in firsts.values():
                bad.append(r.describe())
            seen.append(r.out)
    th = threading.Thread(target=poll)
    th.start()
    try:
        for i in range(12):
            r = k.ok("job", "cutover", "cut", "--version", 2 if i % 2 == 0 else 1)
            time.sleep(0.03)
    finally:
        done.set()
        th.join()
    check(not bad, "a reader of the alias saw a missing or mixed topic: %s" % bad[:2])
    check(firsts["s.v1"] in seen and firsts["s.v2"] in seen and len(seen) >= 4,
          "the reader saw both versions (%d reads)" % len(seen))


def test_two_versions_running_at_once(k):
    clicks(k, 12000, partitions=2)
    k.ok("job", "create", "two", "--sessionize", "--input", "clicks", *V1, "--checkpoint-interval", "30ms")
    k.ok("job", "reprocess", "two", "--set", "gap=1m")
    p1 = k.spawn("job", "run", "two", "--follow", stdin=subprocess.DEVNULL)
    p2 = k.spawn("job", "run", "two", "--version", "2", "--follow", stdin=subprocess.DEVNULL)
    for i in range(4):
        more_clicks(k, 1500, seed=20 + i)
        time.sleep(0.1)
    ends = end_offsets(k, "clicks")
    deadline = time.monotonic() + 30
    while True:
        st = status(k, "two")["versions"]
        if all(v["running"] and v["lag"] == 0 for v in st):
            break
        check(time.monotonic() < deadline, "the two versions never both caught up: %r" % st)
        time.sleep(0.05)
    for p in (p1, p2):
        check(stop(p, __import__("signal").SIGTERM) == 0, "a version stopped cleanly")
    for n in (1, 2):
        g = js(k.ok("group", "describe", "job:two:v%d" % n, "--json"))
        got = {(e["topic"], e["partition"]): e["committed_offset"] for e in g["partitions"]}
        check(got == {("clicks", p): e for p, e in ends.items()},
              "version %d's offsets are its own and complete: %r vs %r" % (n, got, ends))
    same_records(read_topic(k, "two.v1"), reference(k, "ref1", *V1),
                 "version 1 run beside version 2 vs a plain replay")
    same_records(read_topic(k, "two.v2"), reference(k, "ref2", *(V1[:5] + ["1m"] + V1[6:])),
                 "version 2 run beside version 1 vs a plain replay")


def read_pty(master):
    text = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        text += chunk
    os.close(master)
    return text.decode(errors="replace")


def test_live_reprocess_with_follow_then_cutover(k):
    """The live flow: version 1 follows the input; `reprocess --follow` replays history
    into version 2, says when it has caught up and goes on following, so the cutover
    finds it caught up while input keeps arriving. On a terminal it shows progress and
    an ETA."""
    import pty
    import signal
    clicks(k, 10000)
    k.ok("job", "create", "lv", "--sessionize", "--input", "clicks", "--output", "s", *V1,
         "--checkpoint-interval", "30ms")
    p1 = k.spawn("job", "run", "lv", "--follow", stdin=subprocess.DEVNULL)
    try:
        master, slave = pty.openpty()
    except OSError as e:
        master = slave = None
        print("  (no pseudo-terminal: %s; the progress line is not checked)" % e)
    p2 = k.spawn("job", "reprocess", "lv", "--set", "gap=1m", "--follow", stdin=subprocess.DEVNULL,
                 stderr=slave if slave is not None else subprocess.PIPE)
    if slave is not None:
        os.close(slave)
    deadline = time.monotonic() + 30
    while not caught_up(k, "lv", 2):
        check(time.monotonic() < deadline and p2.poll() is None, "reprocess --follow never caught up")
        time.sleep(0.05)
    check(p2.poll() is None, "reprocess --follow goes on after catching up")
    for i in range(3):
        more_clicks(k, 1000, seed=40 + i)
        time.sleep(0.2)
    deadline = time.monotonic() + 30
    while True:
        r = k.run("job", "cutover", "lv")
        if r.rc == 0:
            break
        check(r.rc == 1 and "lag" in r.errtext and time.monotonic() < deadline,
              "cutover of a following version: %s" % r.describe())
        time.sleep(0.05)
    check(js(k.ok("alias", "list", "--json"))[0]["topic"] == "s.v2", "version 2 serves")
    time.sleep(0.6)
    for p in (p1, p2):
        check(stop(p, signal.SIGTERM) == 0, "a following version stops cleanly")
    same_records(read_topic(k, "s.v2"), reference(k, "ref", *(V1[:5] + ["1m"] + V1[6:])),
                 "version 2, reprocessed and then followed, vs a plain replay")
    if master is not None:
        shown = read_pty(master)
        check("has caught up" in shown and "goes on following" in shown,
              "it says when it has caught up: %r" % shown[-600:])
        check(re.search(r"\d+ events, \d+ events/s, lag \d+ \(\d+% replayed\), ETA \d+:\d\d, watermark", shown),
              "a progress line with an ETA on the terminal: %r" % shown[:600])


def test_reprocess_reads_through_the_archive(k):
    arch = os.path.join(k.root, "slow-disk")
    k.create("clicks", "--config", "archive.dir=" + arch, "--config", "segment.bytes=4096",
             "--config", "retention.bytes=8000", "--config", "retention.ms=-1")
    events = ['{"u":"u%d","t":%d}' % (i % 7, 1000 * i) for i in range(600)]
    for i in range(0, 600, 100):
        k.produce("clicks", events[i:i + 100])
    check(k.offsets_values("clicks")[0][0] > 0, "part of the input is only in the archive")
    k.ok("job", "create", "arc", "--sessionize", "--input", "clicks", "--key-field", "u",
         "--time-field", "t", "--gap", "5s")
    r = k.ok("job", "reprocess", "arc", "--set", "gap=3s")
    check("600 events" in r.errtext and "archive" in r.errtext,
          "reprocess replays the archived history too: %s" % short(r.err))
    # a user's events are 7 s apart: one session per event, but for the last three
    # (597..599 s), whose windows the watermark (599 s - 1 ms) has not closed yet
    check(len(k.values("arc.v2")) == 600 - 3, "sessions of the whole history: %d" % len(k.values("arc.v2")))


def test_aliases_as_readers_see_them(k):
    k.create("t1")
    k.create("t2")
    k.produce("t1", ['{"u":"a","t":1}', '{"u":"b","t":2}'])
    k.produce("t2", ['{"u":"c","t":3}'])
    r = k.ok("alias", "set", "cur", "t1")
    check(b"cur -> t1" in r.out, "alias set says so: %s" % short(r.out))
    check(k.values("cur") == [b'{"u":"a","t":1}', b'{"u":"b","t":2}'], "consume resolves the alias")
    check(k.consume("cur", "-f", r"%t %o\n").lines == [b"t1 0", b"t1 1"], "%t is the real topic")
    check(k.describe("cur")["name"] == "t1", "topic describe resolves it")
    k.ok("consume", "cur", "--group", "g")
    k.ok("sessionize", "--input", "cur", "--output", "s", "--key-field", "u", "--time-field", "t",
         "--gap", "1s", "--flush-at-end")
    check(len(k.values("s")) == 2, "sessionize --input resolves the alias")
    r = k.ok("alias", "set", "cur", "t2")
    check(b"(was t1)" in r.out, "a switch names the old topic: %s" % short(r.out))
    r = k.consume("cur", "--group", "g")
    check(r.lines == [b'{"u":"c","t":3}'] and "t1" in r.errtext, "the switch is said out loud: %s" % short(r.err))
    r = k.run("sessionize", "--input", "cur", "--output", "s", "--key-field", "u", "--time-field", "t",
              "--gap", "1s", "--flush-at-end")
    check(r.rc == 2 and "t1" in r.errtext and "t2" in r.errtext,
          "a job checkpointed on t1 refuses the alias that moved to t2: %s" % r.describe())
    k.ok("group", "reset", "g", "--topic", "cur", "--to", "earliest")
    offs = {(e["topic"], e["partition"]): e["committed_offset"]
            for e in js(k.ok("group", "describe", "g", "--json"))["partitions"]}
    check(offs == {("t1", 0): 2, ("t2", 0): 0}, "group reset through the alias moves t2's offsets: %r" % offs)
    lst = k.ok("alias", "list").out
    check(b"cur\tt2" in lst, "alias list: %s" % short(lst))
    # an alias never shadows a topic, and a topic an alias names stays
    for args, rc, what in [(("alias", "set", "t1", "t2"), 1, "alias named like a topic"),
                           (("alias", "set", "x", "nope"), 1, "alias of a missing topic"),
                           (("topic", "create", "cur"), 1, "topic named like an alias"),
                           (("topic", "delete", "t2"), 1, "deleting the alias's topic"),
                           (("produce", "cur"), 2, "producing to an alias")]:
        r = k.run(*args, input=b'{"u":"z","t":9}\n')
        check(r.rc == rc and ("alias" in r.errtext), "%s is refused: %s" % (what, r.describe()))
    check(k.values("t2") == [b'{"u":"c","t":3}'], "nothing was written through the alias")
    k.ok("alias", "delete", "cur")
    check(k.run("consume", "cur").rc == 1, "a deleted alias resolves to nothing")
    check(k.run("alias", "delete", "cur").rc == 1, "deleting it twice fails")
    k.ok("topic", "delete", "t2")


def test_unfinished_version_refusals_and_abandon(k):
    """A reprocess that cannot finish (its input has a damaged batch) leaves an unfinished
    version: other --set values are refused naming it, cutover is refused, status still
    reads, and --abandon drops it. A finished reprocess run again does nothing; one whose
    input does not exist defines nothing."""
    from test_corruption import setup_damaged
    clicks(k, 3000)
    setup_damaged(k, "dmg")
    k.ok("job", "create", "u", "--sessionize", "--input", "clicks", *V1)
    k.ok("job", "run", "u")
    r = k.run("job", "reprocess", "u", "--set", "input=nosuch")
    check(r.rc == 1 and "nosuch" in r.errtext, "a missing input is refused: %s" % r.describe())
    check(len(js(k.ok("job", "show", "u", "--json"))["versions"]) == 1, "and nothing was defined")
    r = k.run("job", "reprocess", "u", "--set", "input=dmg")
    check(r.rc == 1 and "dmg" in r.errtext and "verify" in r.errtext,
          "a damaged input stops the reprocess, naming it: %s" % r.describe())
    doc = js(k.ok("job", "show", "u", "--json"))
    check(len(doc["versions"]) == 2 and not doc["versions"][1]["caught_up"], "version 2 is unfinished: %r" % doc)
    r = k.run("job", "reprocess", "u", "--set", "gap=1m")
    check(r.rc == 1 and "version 2" in r.errtext and "--abandon" in r.errtext,
          "other --set values are refused, naming version 2 and the way out: %s" % r.describe())
    r = k.run("job", "cutover", "u")
    check(r.rc == 1 and "lag" in r.errtext, "the unfinished version is not cut over: %s" % r.describe())
    st = status(k, "u")
    check([v["version"] for v in st["versions"]] == [1, 2] and st["versions"][1]["lag"] > 0,
          "status reads both versions: %r" % st)
    r = k.ok("job", "reprocess", "u", "--abandon")
    check("abandoned version 2" in r.errtext, "abandon says what it removed: %s" % short(r.err))
    check(len(js(k.ok("job", "show", "u", "--json"))["versions"]) == 1, "version 2 is gone")
    check(k.run("topic", "describe", "u.v2").rc == 1, "with its output topic")
    check(k.run("group", "describe", "job:u:v2").rc == 1, "and its checkpoint")
    check(k.run("job", "reprocess", "u", "--abandon").rc == 1, "nothing left to abandon")
    k.ok("job", "reprocess", "u", "--set", "gap=20s")
    r = k.ok("job", "reprocess", "u", "--set", "gap=20s")
    check("nothing to reprocess" in r.errtext, "the same finished reprocess again does nothing: %s" % short(r.err))
    check(len(js(k.ok("job", "show", "u", "--json"))["versions"]) == 2, "no third version")
    # a version whose input is deleted: status shows the others and exits 1
    k.create("tmp_in")
    k.produce("tmp_in", ['{"user_id":"a","timestamp_ms":1}'])
    k.ok("job", "reprocess", "u", "--set", "input=tmp_in")
    k.ok("topic", "delete", "tmp_in")
    r = k.run("job", "status", "u", "--json")
    check(r.rc == 1, "status exits 1 when a version cannot be read: %s" % r.describe())
    vs = js(r)["versions"]
    check([("error" in v) for v in vs] == [False, False, True] and "tmp_in" in vs[2]["error"],
          "the broken version is named, the others are shown: %r" % vs)


def test_alias_switch_notices_and_refusals(k):
    k.create("t1")
    k.create("t2")
    k.produce("t1", ["a%d" % i for i in range(5)])
    k.produce("t2", ["b%d" % i for i in range(5)])
    k.ok("alias", "set", "a", "t1")
    check(k.values("a", "--group", "g", "--count", "2") == [b"a0", b"a1"], "read two through the alias")
    k.ok("alias", "set", "a", "t2")
    r = k.consume("a", "--group", "g", "--count", "1")
    check(r.lines == [b"b0"] and "has none for t2" in r.errtext, "first read of t2 is said: %s" % short(r.err))
    k.ok("alias", "set", "a", "t1")
    r = k.consume("a", "--group", "g")
    check(r.lines == [b"a2", b"a3", b"a4"] and "resumes t1 at its own offsets" in r.errtext,
          "back on t1 it resumes where it was there, and says so: %s" % r.describe())
    r = k.consume("a", "--group", "g")
    check(r.lines == [] and "resumes" not in r.errtext and "none" not in r.errtext,
          "no alias switch since: no note: %s" % short(r.err))
    # a follower stays on its topic and says once that the alias moved
    p = k.spawn("consume", "a", "--follow", stdin=subprocess.DEVNULL)
    time.sleep(0.3)
    k.ok("alias", "set", "a", "t2")
    time.sleep(2.5)
    out = stop(p)
    err = p.stderr.read().decode()
    check("now points to t2" in err and "goes on reading t1" in err, "the follower notes the switch: %r" % err)
    # outputs are topics, aliases of aliases are refused, a job's alias is the job's
    r = k.run("sessionize", "--input", "t1", "--output", "x1", "--late-output", "a", "--key-field", "u",
              "--time-field", "t", "--gap", "1s")
    check(r.rc == 2 and "alias" in r.errtext, "an alias as --late-output is refused: %s" % r.describe())
    check(k.run("topic", "describe", "x1").rc == 1, "and the refused job created no output topic")
    r = k.run("alias", "set", "a3", "a")
    check(r.rc == 1 and "never another alias" in r.errtext, "no alias of an alias: %s" % r.describe())
    r = k.run("alias", "set", "bad/name", "t1")
    check(r.rc == 2 and "invalid alias name" in r.errtext, "alias names are checked: %s" % r.describe())
    k.produce("clicks", ['{"user_id":"a","timestamp_ms":1}'])
    k.ok("job", "create", "jj", "--sessionize", "--input", "clicks", "--output", "js", *V1)
    for args in (("alias", "set", "js", "t1"), ("alias", "delete", "js")):
        r = k.run(*args)
        check(r.rc == 1 and "job jj" in r.errtext and "cutover" in r.errtext,
              "a job's alias is switched by the job only: %s" % r.describe())
    check("from" not in js(k.ok("job", "show", "jj", "--json"))["versions"][0]["options"],
          "an option left at its default is not stored")


def test_errors_name_the_thing(k):
    k.create("clicks")
    cases = [
        (("job", "run", "nope"), 1, "nope"),
        (("job", "status", "nope"), 1, "nope"),
        (("job", "create", "j", "--input", "clicks", *V1), 2, "--sessionize"),
        (("job", "create", "j", "--sessionize", "--input", "missing", *V1), 1, "missing"),
        (("job", "create", "j", "--sessionize", "--input", "clicks", *KEYS, "--gap", "0"), 2, "--gap"),
        (("job", "create", "j", "--sessionize", "--input", "clicks", *KEYS), 2, "--gap"),
        (("job", "create", "bad/name", "--sessionize", "--input", "clicks", *V1), 2, "bad/name"),
        (("job", "create", "j", "--sessionize", "--input", "clicks", "--output", "clicks", *V1), 2, "clicks"),
    ]
    for args, rc, word in cases:
        r = k.run(*args)
        check(r.rc == rc and word in r.errtext, "`kappa %s` exits %d naming %s: %s"
              % (" ".join(args), rc, word, r.describe()))
    k.create("left.v1")
    r = k.run("job", "create", "j", "--sessionize", "--input", "clicks", "--output", "left", *V1)
    check(r.rc == 1 and "left.v1" in r.errtext, "a leftover version topic is not reused: %s" % r.describe())
    k.ok("job", "create", "j", "--sessionize", "--input", "clicks", *V1)
    check([(a["alias"], a["topic"]) for a in js(k.ok("alias", "list", "--json"))] == [("j", "j.v1")],
          "without --output the job's name is the base")
    for args, rc, word in [
        (("job", "create", "j", "--sessionize", "--input", "clicks", *V1), 1, "already exists"),
        (("job", "reprocess", "j", "--set", "bogus=1"), 2, "bogus"),
        (("job", "reprocess", "j", "--set", "gap=0"), 2, "--gap"),
        (("job", "reprocess", "j", "--set", "gap"), 2, "option=value"),
        (("job", "reprocess", "j", "--set", "from=latest"), 2, "earliest"),
        (("job", "run", "j", "--version", "3"), 2, "version 3"),
        (("job", "cutover", "j", "--version", "3"), 2, "version 3"),
    ]:
        r = k.run(*args)
        check(r.rc == rc and word in r.errtext, "`kappa %s` exits %d naming %s: %s"
              % (" ".join(args), rc, word, r.describe()))
    check(len(js(k.ok("job", "show", "j", "--json"))["versions"]) == 1, "no version was defined by a refusal")
    for verb in ("create", "list", "show", "delete", "run", "status", "reprocess", "cutover"):
        r = k.ok("job", verb, "--help")
        check(b"--" in r.out or b"Options" in r.out, "job %s --help: %s" % (verb, short(r.out)))
    for verb in ("set", "list", "delete"):
        k.ok("alias", verb, "--help")


if __name__ == "__main__":
    run_tests(globals())
