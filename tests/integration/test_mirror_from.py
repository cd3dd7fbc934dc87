#!/usr/bin/env python3
"""kappa mirror --from: pulling a Kafka cluster's topics into local ones (SPEC section 9).

The cluster is librdkafka's mock cluster (tests/clients/mock_cluster, fed by kcat), or,
for retention, a second data dir served by `kappa serve`.  Checked: every record arrives
with its key, value, timestamp, headers and partition, nulls kept; exactly once across
kill -9; /REGEX/ picks up a topic created while following; a local topic with too few
partitions and `kappa produce` into a mirrored topic are refused; offsets removed by the
cluster's retention before they were pulled are reported once and in status.  Skips
cleanly without the mock cluster or kcat; every wait is bounded.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_clients as kc  # noqa: E402
from kappa_harness import Kappa, check, run_tests, short, stop  # noqa: E402

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
# partition, offset, timestamp, key length (-1 null), key, value length, value, headers
FMT = r"%p\t%o\t%T\t%K\t%k\t%S\t%s\t%h\n"


class Skip(Exception):
    pass


def mock():
    if not KCAT:
        raise Skip("kcat is not installed (tools/setup.sh installs it)")
    try:
        return kc.MockCluster()
    except kc.Skip as e:
        raise Skip(str(e))


def kcat(bootstrap, *args, input=None, timeout=20):
    p = subprocess.run([KCAT, "-b", bootstrap] + [str(a) for a in args], input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    check(p.returncode == 0, "kcat %s: exit %d %s" % (" ".join(map(str, args)), p.returncode,
                                                      short(p.stderr)))
    return p.stdout


def produce(bootstrap, topic, partition, lines, *extra):
    kcat(bootstrap, "-P", "-t", topic, "-p", partition, *extra,
         input=("".join(l + "\n" for l in lines)).encode())


def parse(out):
    recs = []
    for line in out.decode().splitlines():
        f = line.split("\t")
        check(len(f) == 8, "unexpected record line %r" % line)
        recs.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]), f[4], int(f[5]), f[6], f[7]))
    return sorted(recs)


def cluster_records(bootstrap, topic):
    return parse(kcat(bootstrap, "-C", "-t", topic, "-e", "-q", "-f", FMT))


def local_records(k, topic):
    return parse(k.ok("consume", topic, "-f", FMT).out)


def values_by_partition(recs):
    out = {}
    for r in recs:
        out.setdefault(r[0], []).append(r[6])
    return out


def status(k, name):
    return json.loads(k.ok("mirror", "status", name, "--json").out)


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    check(False, "gave up after %ss waiting for %s" % (timeout, what))


def skipping(fn):
    def wrapped(k):
        try:
            fn(k)
        except Skip as e:
            print("skip %s: %s" % (fn.__name__, e), flush=True)
    wrapped.__name__ = fn.__name__
    return wrapped


@skipping
def test_pull_keeps_keys_values_timestamps_headers_partitions(k):
    with mock() as m:
        b = m.bootstrap
        m.topic("T", 3)
        produce(b, "T", 0, ["k%d:v%d" % (i, i) for i in range(20)], "-K:", "-H", "h1=a", "-H", "h2=")
        # no key delimiter: null keys; -Z: an empty value is null (a tombstone)
        produce(b, "T", 1, ["x", "z"], "-K:")
        produce(b, "T", 1, ["n:"], "-K:", "-Z")
        produce(b, "T", 2, ["k:" + "v" * 5000, "k2:"], "-K:", "-H", "only=1")
        src = cluster_records(b, "T")
        check(len(src) == 25, "kcat read back %d records from the mock, produced 25" % len(src))

        k.ok("mirror", "create", "home", "--from", b, "--topics", "T", "--prefix", "home.")
        r = k.run("mirror", "run", "home", timeout=30)
        r.expect(0, "mirror run")
        got = local_records(k, "home.T")
        # offsets match too: the mock's partitions start at 0 and have no gaps
        strip = lambda rs: [x[:3] + x[4:5] + x[6:] for x in rs]  # noqa: E731
        check(strip(got) == strip(src), "local home.T %s\n  differs from the cluster's %s"
              % (short(repr(got), 800), short(repr(src), 800)))
        by = {(x[0], x[1]): x for x in got}
        check(by[(0, 0)][7] == "h1=a,h2=", "headers of home.T 0/0: %r" % (by[(0, 0)],))
        check(by[(1, 0)][3] == -1 and by[(1, 2)][5] == -1 and by[(1, 0)][5] == 1,
              "null key / null value not kept: %r %r" % (by[(1, 0)], by[(1, 2)]))
        check(by[(2, 1)][5] == 0 and by[(2, 1)][3] == 2, "empty value != null: %r" % (by[(2, 1)],))

        st = status(k, "home")
        check(st["direction"] == "from" and st["bootstrap"] == b and st["name"] == "home",
              "status header %r" % st)
        parts = {p["partition"]: p for p in st["partitions"]}
        check(sorted(parts) == [0, 1, 2], "status partitions %r" % st["partitions"])
        for p, n in ((0, 20), (1, 3), (2, 2)):
            e = parts[p]
            check(e["topic"] == "T" and e["log_end_offset"] == n and e["committed_offset"] == n
                  and e["lag"] == 0 and e["lag_ms"] == 0 and e["last_error"] is None
                  and e["lost"] == [], "status of partition %d: %r" % (p, e))

        # A second run finds nothing new and appends nothing.
        produce(b, "T", 1, ["late"])
        k.run("mirror", "run", "home", timeout=30).expect(0, "second mirror run")
        again = local_records(k, "home.T")
        check(len(again) == 26, "after a second run home.T has %d records, expected 26" % len(again))


PAD = "." * 2000


class Producer(threading.Thread):
    """Keeps producing numbered records into every partition until stopped."""

    def __init__(self, bootstrap, topic, partitions):
        super().__init__(daemon=True)
        self.b, self.topic, self.partitions = bootstrap, topic, partitions
        self.seq = [0] * partitions
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.halt.is_set():
                for p in range(self.partitions):
                    # ~100 KB per call: the mirror's appenders write past their
                    # checkpoints between two, so restarts have tails to cut back
                    lines = ["p%d-%d %s" % (p, self.seq[p] + i, PAD) for i in range(50)]
                    produce(self.b, self.topic, p, lines)
                    self.seq[p] += len(lines)
                time.sleep(0.05)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


@skipping
def test_kill_9_while_following_gives_every_record_exactly_once(k):
    with mock() as m:
        b = m.bootstrap
        m.topic("K", 2)
        k.ok("mirror", "create", "edge", "--from", b, "--topics", "K", "--prefix", "home.")
        prod = Producer(b, "K", 2)
        prod.start()
        rng = random.Random(7)
        restarts_cut = 0
        try:
            # A backlog first, so that the first run writes records before its first
            # checkpoint (kCommitEveryMs): a kill then must not duplicate them.
            wait_for("a backlog on the cluster", lambda: min(prod.seq) >= 500, 20)
            for i in range(5):
                p = k.spawn("mirror", "run", "edge", "--follow")
                time.sleep(rng.uniform(0.3, 0.7) if i == 0 else rng.uniform(0.4, 1.6))
                p.kill()
                _, err = p.communicate(timeout=10)
                restarts_cut += b"removed offsets" in err
        finally:
            prod.halt.set()
            prod.join(timeout=20)
        check(prod.error is None, "producer: %s" % prod.error)
        r = k.run("mirror", "run", "edge", timeout=30)
        r.expect(0, "final mirror run")
        restarts_cut += b"removed offsets" in r.err
        want = {p: ["p%d-%d" % (p, i) for i in range(n)] for p, n in enumerate(prod.seq)}
        got = {p: [v.split(" ")[0] for v in vs]
               for p, vs in values_by_partition(local_records(k, "home.K")).items()}
        for p in want:
            g = got.get(p, [])
            check(g == want[p], "partition %d: %d records locally, %d produced; first difference at %s"
                  % (p, len(g), len(want[p]),
                     next((i for i, (x, y) in enumerate(zip(g, want[p])) if x != y), min(len(g), len(want[p])))))
        print("  %s records pulled exactly once across 5 kill -9 (%d restarts cut back a tail)"
              % (sum(prod.seq), restarts_cut), flush=True)


@skipping
def test_regex_picks_up_new_topics_and_refusals_name_both_sides(k):
    with mock() as m:
        b = m.bootstrap
        m.topic("r.a", 1)
        produce(b, "r.a", 0, ["a1", "a2"])
        k.ok("mirror", "create", "rx", "--from", b, "--topics", "/r\\..*/", "--prefix", "home.")
        p = k.spawn("mirror", "run", "rx", "--follow")
        try:
            wait_for("home.r.a", lambda: k.run("consume", "home.r.a").rc == 0
                     and k.run("consume", "home.r.a").out == b"a1\na2\n", 15)
            m.topic("r.b", 2)
            t0 = time.monotonic()
            produce(b, "r.b", 1, ["b1"])
            m.topic("other", 1)
            wait_for("home.r.b", lambda: k.run("consume", "home.r.b").out == b"b1\n", 15)
            took = time.monotonic() - t0
            check(took < 12, "new topic r.b pulled after %.1fs (SPEC: within 10 s)" % took)
            # the mirror's local topics belong to it
            r = k.run("produce", "home.r.a", input=b"x\n")
            check(r.rc != 0 and b"rx" in r.err, "produce into home.r.a: exit %d %s" % (r.rc, short(r.err)))
        finally:
            rc = stop(p, timeout=10)
        check(rc == 0, "mirror run --follow exit %s after SIGINT" % rc)
        names = k.ok("topic", "list").out
        check(b"home.other" not in names, "topic 'other' does not match /r\\..*/ but was pulled")

        # a local topic with fewer partitions than the cluster's is refused, naming both
        m.topic("F", 3)
        k.ok("topic", "create", "few.F", "--partitions", "1")
        k.ok("mirror", "create", "few", "--from", b, "--topics", "F", "--prefix", "few.")
        r = k.run("mirror", "run", "few", timeout=30)
        check(r.rc == 1 and re.search(rb"few\.F has 1 partition", r.err) and b"F has 3" in r.err,
              "few partitions: exit %d %s" % (r.rc, short(r.err)))


@skipping
def test_unreachable_cluster_is_said_once_and_back_once(k):
    with mock() as m:
        b = m.bootstrap
        m.topic("L", 1)
        produce(b, "L", 0, ["one"])
        k.ok("mirror", "create", "link", "--from", b, "--topics", "L", "--prefix", "home.")
        k.ok("mirror", "create", "once", "--from", b, "--topics", "L", "--prefix", "once.")
        err_path = os.path.join(k.root, "follow.err")
        with open(err_path, "wb") as err:
            p = k.spawn("mirror", "run", "link", "--follow", stderr=err)
        said = lambda: open(err_path, "rb").read().decode()  # noqa: E731
        try:
            wait_for("home.L", lambda: k.run("consume", "home.L").out == b"one\n", 15)
            m.command("down")
            wait_for("the 'cannot reach' line", lambda: "cannot reach" in said(), 20)
            wait_for("last_error in status", lambda: "cannot reach" in
                     (status(k, "link")["partitions"][0]["last_error"] or ""), 5)
            # without --follow, a run keeps trying while the cluster is down; SIGTERM ends it, exit 0
            q = k.spawn("mirror", "run", "once")
            time.sleep(1.5)
            check(q.poll() is None, "mirror run exited %s while the cluster was down" % q.returncode)
            t0 = time.monotonic()
            rc = stop(q, signal.SIGTERM, timeout=10)
            check(rc == 0 and time.monotonic() - t0 < 5, "SIGTERM while waiting: exit %s after %.1fs"
                  % (rc, time.monotonic() - t0))
            check(q.stderr.read().decode().count("cannot reach") == 1, "run without --follow")
            m.command("up")
            produce(b, "L", 0, ["two"])
            wait_for("home.L after the outage", lambda: k.run("consume", "home.L").out == b"one\ntwo\n", 30)
            wait_for("the 'reachable again' line", lambda: "reachable again" in said(), 10)
        finally:
            rc = stop(p, signal.SIGTERM, timeout=10)
        check(rc == 0, "mirror run --follow: exit %s" % rc)
        text = said()
        check(text.count("cannot reach") == 1 and text.count("reachable again") == 1,
              "link lines: %r" % text)
        check(status(k, "link")["partitions"][0]["last_error"] is None, "last_error after the outage")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(src, port):
    """kappa serve on src's data dir at 127.0.0.1:port, once it listens."""
    p = src.spawn("serve", "--listen", "127.0.0.1:%d" % port, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        check(p.poll() is None, "kappa serve on port %d exited %s" % (port, p.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.05)
    check(False, "kappa serve did not listen on port %d within 10 s" % port)


@skipping
def test_records_removed_by_cluster_retention_are_reported_lost(k):
    if not KCAT:
        raise Skip("kcat is not installed")
    src = Kappa(os.path.join(k.root, "cluster"))
    os.makedirs(src.root)
    src.ok("topic", "create", "r", "--config", "segment.bytes=1024", "--config", "retention.bytes=2048")
    port = free_port()
    b = "127.0.0.1:%d" % port
    try:
        s = serve(src, port)
        produce(b, "r", 0, ["a%d" % i for i in range(30)])
        k.ok("mirror", "create", "lo", "--from", b, "--topics", "r", "--prefix", "home.")
        k.run("mirror", "run", "lo", timeout=30).expect(0, "first run")
        produce(b, "r", 0, ["b%d" % i for i in range(300)], "-X", "batch.num.messages=1")
        # retention removes the oldest segments, b0.. included, before the mirror sees them
        check(stop(s, signal.SIGTERM) == 0, "kappa serve did not stop cleanly")
        src.ok("maintain", "r")
        s = serve(src, port)
        low = int(re.search(rb"\n0 +(\d+) +330 ", src.ok("topic", "describe", "r").out).group(1))
        check(low > 30, "retention removed nothing: log start %d" % low)

        r = k.run("mirror", "run", "lo", timeout=30)
        r.expect(0, "run after retention")
        lines = [l for l in r.err.decode().splitlines() if "lost" in l]
        want_line = "topic r partition 0: offsets 30..%d were removed" % (low - 1)
        check(len(lines) == 1 and want_line in lines[0], "lost offsets said %d times: %r, expected %r"
              % (len(lines), lines, want_line))
        st = status(k, "lo")["partitions"][0]
        check(st["lost"] == [[30, low - 1]] and st["committed_offset"] == 330 and st["lag"] == 0
              and st["log_end_offset"] == 330, "status after the loss: %r" % st)
        vals = [x[6] for x in local_records(k, "home.r")]
        want = ["a%d" % i for i in range(30)] + ["b%d" % i for i in range(low - 30, 300)]
        check(vals == want, "home.r: %s" % short(repr(vals), 600))
        # said once: a later run does not repeat it
        r = k.run("mirror", "run", "lo", timeout=30)
        check(r.rc == 0 and b"lost" not in r.err, "third run: %s" % r.describe())
    finally:
        src.cleanup()


if __name__ == "__main__":
    run_tests(globals())
