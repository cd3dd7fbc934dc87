#!/usr/bin/env python3
"""Benchmark of `kappa serve` as Kafka clients meet it, against librdkafka's own
in-memory mock broker (tests/clients/mock_cluster) in the same run:

  produce   kcat -P -t clicks -X acks=all < FILE      (gen_clicks.py N, one JSON a
            line) into kappa serve on a fresh data dir (durable: acknowledged means
            fdatasynced) and into a fresh mock cluster (memory only); msgs/s; then
            the same into clicks-p, a topic of P partitions (below)
  consume   kcat -C -t clicks-p -o beginning -e | wc -l  from each; msgs/s (the
            count must be N). The mock keeps only the newest 5 MiB of a partition
            (librdkafka 2.0.2's mock: rd_kafka_mock_partition_init, max_size), so
            it cannot serve the whole input from one partition: clicks-p has
            enough partitions for about 3 MiB each (kcat spreads the records at
            random, one by one: -X sticky.partitioning.linger.ms=0). kappa serve's
            rate from the 1-partition topic is shown too, without a mock figure.
  latency   a confluent-kafka (librdkafka) producer, acks=all, linger.ms=0, sending
            one record every 1/--rate s for --latency-seconds; p50/p99 of the time
            from produce() to its delivery report
  RSS       the broker process's VmRSS (/proc/PID/status) with --idle-conns open
            connections that each did one ApiVersions request and now sit idle
  fsync     for reference: the work directory's file system's own fdatasync
            p50/p99 (a 200-byte append, once per ms), the floor under an acks=all
            acknowledgement from kappa serve
  idle CPU  the broker's utime+stime (/proc/PID/stat) over --idle-seconds while one
            `kcat -C -o end` waits at the end of a topic

Targets (issue 12): produce through kappa serve >= 0.7 x the mock's rate while durable;
consume >= 0.7 x the mock's; acks=all p99 <= 5 ms at 1,000 msg/s; RSS with 1,000
idle connections <= 64 MiB; idle CPU ~0 (here: <= 1 % of one core). The mock's
latency, RSS and idle CPU are shown for reference only.

Both brokers see the same commands in the same order; produce and consume are
repeated --repeat times (fresh data dir / fresh mock each time, alternating) and
the best time is reported. The machine's other load distorts all of this: the
report prints the load average before and after.

Usage: benchmarks/serve_bench.py [--kappa PATH] [--mock-cluster PATH] [--records N]
           [--work DIR] [--repeat R] [--check] ...          (see --help)
       tools/bench.sh --serve-only [same options]            (builds first)

Needs kcat, tests/clients/mock_cluster (built by meson where librdkafka-dev is
installed) and, for the latency row, a python3 with confluent_kafka (Debian's
python3-confluent-kafka). Exit status: 0 after a report (with --check: 1 when a
target is missed), 1 when a command fails, 2 for a usage error.
"""
import argparse
import json
import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KAPPA = REPO_ROOT / "build" / "kappa"
DEFAULT_MOCK = REPO_ROOT / "build" / "tests" / "clients" / "mock_cluster"
DEFAULT_GEN = REPO_ROOT / "tools" / "gen_clicks.py"
TOPIC = "clicks"
TOPIC_P = "clicks-p"

PRODUCE_MIN_RATIO = 0.7
CONSUME_MIN_RATIO = 0.7
P99_MAX_MS = 5.0
RSS_MAX_KIB = 64 * 1024
IDLE_CPU_MAX = 0.01   # fraction of one core


class RunError(Exception):
    pass


def log(msg):
    print("[serve_bench] %s" % msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- brokers

class KappaServe:
    name = "kappa serve"

    def __init__(self, kappa, data_dir, env, extra=()):
        self.kappa = kappa
        self.data = data_dir
        self.env = env
        self.extra = list(extra)
        self.p = None

    def create_topic(self, topic, partitions=1):
        subprocess.run([self.kappa, "--data-dir", self.data, "topic", "create", topic,
                        "--partitions", str(partitions)], check=True, env=self.env,
                       stdout=subprocess.DEVNULL, timeout=60)

    def start(self):
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen([self.kappa, "--data-dir", self.data, "serve", "--listen",
                                   "127.0.0.1:0"] + self.extra,
                                  stdout=subprocess.DEVNULL, stderr=self.err, env=self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.err.seek(0)
            m = re.search(rb"clients are told ([^ )]+:\d+)", self.err.read())
            if m:
                self.bootstrap = m.group(1).decode()
                return self
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        self.err.seek(0)
        raise RunError("kappa serve did not start: %s" % self.err.read()[-500:].decode(errors="replace"))

    @property
    def pid(self):
        return self.p.pid

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class MockBroker:
    name = "librdkafka mock"

    def __init__(self, exe):
        self.exe = exe
        self.p = None

    def start(self):
        self.p = subprocess.Popen([self.exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.bootstrap = self._line(15)
        if not re.match(r"^[0-9.]+:\d+$", self.bootstrap or ""):
            raise RunError("mock_cluster did not print its bootstrap: %r" % self.bootstrap)
        return self

    def _line(self, timeout):
        import select
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise RunError("mock_cluster did not answer in %ss" % timeout)
        return self.p.stdout.readline().decode().strip()

    def create_topic(self, topic, partitions=1):
        self.p.stdin.write(("topic %s %d\n" % (topic, partitions)).encode())
        self.p.stdin.flush()
        ans = self._line(15)
        if ans != "ok":
            raise RunError("mock_cluster: topic %s: %s" % (topic, ans))

    @property
    def pid(self):
        return self.p.pid

    def stop(self):
        if self.p and self.p.poll() is None:
            try:
                self.p.stdin.write(b"quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()


# ---------------------------------------------------------------- measurements

def timed(argv, stdin_path=None, timeout=600):
    """Runs argv (stdin from a file), returns (seconds, stdout)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        dt = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        raise RunError("`%s` did not finish in %ss" % (" ".join(argv), timeout))
    finally:
        if stdin_path:
            stdin.close()
    if p.returncode != 0:
        raise RunError("`%s` exited %d: %s" % (" ".join(argv), p.returncode,
                                                p.stderr[-500:].decode(errors="replace")))
    return dt, p.stdout


def produce_rate(kcat, broker, topic, input_path, records, timeout, extra=()):
    dt, _ = timed([kcat, "-b", broker.bootstrap, "-P", "-t", topic, "-X", "acks=all"] + list(extra),
                  stdin_path=input_path, timeout=timeout)
    return records / dt


def consume_rate(kcat, broker, topic, records, timeout):
    cmd = "%s -b %s -C -t %s -o beginning -e -q | wc -l" % (kcat, broker.bootstrap, topic)
    dt, out = timed(["bash", "-o", "pipefail", "-c", cmd], timeout=timeout)
    got = int(out.strip() or 0)
    if got != records:
        raise RunError("%s: kcat -C read %d records, expected %d" % (broker.name, got, records))
    return records / dt


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_versions_request(correlation):
    body = b""
    header = struct.pack(">hhih", 18, 0, correlation, 5) + b"bench"
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RunError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def idle_connections_rss(broker, n, settle=1.0):
    """Opens n connections, each does ApiVersions v0 and stays open; returns
    (rss_before_kib, rss_with_kib)."""
    before = proc_status_kib(broker.pid, "VmRSS")
    host, port = broker.bootstrap.rsplit(":", 1)
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection((host, int(port)), timeout=10)
            socks.append(s)
            s.sendall(api_versions_request(i + 1))
            size = struct.unpack(">i", recv_exact(s, 4))[0]
            resp = recv_exact(s, size)
            if struct.unpack(">i", resp[:4])[0] != i + 1:
                raise RunError("%s: ApiVersions answer on connection %d has the wrong correlation id"
                               % (broker.name, i))
        time.sleep(settle)
        # every connection is still open: one more round trip on the first and last
        for s in (socks[0], socks[-1]):
            s.sendall(api_versions_request(99999))
            size = struct.unpack(">i", recv_exact(s, 4))[0]
            recv_exact(s, size)
        with_conns = proc_status_kib(broker.pid, "VmRSS")
    finally:
        for s in socks:
            s.close()
    return before, with_conns


def idle_cpu(kcat, broker, topic, seconds):
    """CPU seconds the broker used while one kcat -C waits at the end of `topic`."""
    c = subprocess.Popen([kcat, "-b", broker.bootstrap, "-C", "-t", topic, "-o", "end", "-q"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # connected, metadata, offsets: now in its long poll
        if c.poll() is not None:
            raise RunError("%s: the waiting kcat -C exited %s" % (broker.name, c.returncode))
        t0, cpu0 = time.monotonic(), proc_cpu_seconds(broker.pid)
        time.sleep(seconds)
        t1, cpu1 = time.monotonic(), proc_cpu_seconds(broker.pid)
    finally:
        c.terminate()
        try:
            c.wait(timeout=10)
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait()
    return (cpu1 - cpu0) / (t1 - t0)


LATENCY_PROBE = r'''
import json, sys, time
from confluent_kafka import Producer
bootstrap, topic, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
              "enable.idempotence": False, "message.timeout.ms": 30000})
lat, errors = [], []
def done(err, msg, t0):
    if err is not None:
        errors.append(str(err))
    else:
        lat.append(time.perf_counter() - t0)
# warm up: connection, metadata
for i in range(20):
    t = time.perf_counter()
    p.produce(topic, value=b"warm", on_delivery=lambda e, m, t=t: None)
p.flush(30)
n = int(rate * seconds)
start = time.perf_counter()
for i in range(n):
    due = start + i / rate
    while True:
        left = due - time.perf_counter()
        if left <= 0:
            break
        p.poll(left)
    t = time.perf_counter()
    p.produce(topic, value=b"latency-%d" % i, on_delivery=lambda e, m, t=t: done(e, m, t))
    p.poll(0)
left = p.flush(30)
elapsed = time.perf_counter() - start
lat.sort()
def pct(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None
print(json.dumps({"sent": n, "delivered": len(lat), "errors": errors[:3], "undelivered": left,
                  "rate": n / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                  "max_ms": lat[-1] * 1000 if lat else None}))
'''


def fdatasync_latency(work, n=500):
    """The disk's own floor under an acks=all ack: p50/p99 ms of fdatasync after a
    200-byte append, once per ms, in the work directory (the data dir's file system)."""
    path = os.path.join(work, "fdatasync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    lat = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 200)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t0)
            time.sleep(0.001)
    finally:
        os.close(fd)
        os.remove(path)
    lat.sort()
    return lat[n // 2] * 1000, lat[min(n - 1, n * 99 // 100)] * 1000


def client_python():
    for py in [os.environ.get("KAPPA_CLIENT_PYTHON"), sys.executable, "/usr/bin/python3"]:
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import confluent_kafka"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


def latency(py, broker, topic, rate, seconds):
    p = subprocess.run([py, "-c", LATENCY_PROBE, broker.bootstrap, topic, str(rate), str(seconds)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=seconds + 120)
    if p.returncode != 0:
        raise RunError("%s: latency probe exited %d: %s" % (broker.name, p.returncode,
                                                             p.stderr[-800:].decode(errors="replace")))
    r = json.loads(p.stdout.decode().strip().splitlines()[-1])
    if r["delivered"] != r["sent"]:
        raise RunError("%s: latency probe: %d of %d delivered (%s)" % (
            broker.name, r["delivered"], r["sent"], r["errors"]))
    return r


# ---------------------------------------------------------------- the run

def generate(gen, records, work):
    path = Path(work) / ("clicks-%d.jsonl" % records)
    if not path.exists():
        log("generating %d clicks into %s" % (records, path))
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            subprocess.run([sys.executable, str(gen), str(records)], stdout=out, check=True)
        tmp.rename(path)
    return path


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bench(a, work):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        raise RunError("kcat is not installed (tools/setup.sh installs it)")
    if not os.path.exists(a.mock_cluster):
        raise RunError("%s is not built (needs librdkafka-dev; meson builds it)" % a.mock_cluster)
    env = dict(os.environ)
    if a.io:
        env["KAPPA_IO"] = a.io
    nofile = raise_nofile(a.idle_conns + 256)
    if nofile < a.idle_conns + 64:
        raise RunError("RLIMIT_NOFILE is %d, too low for %d connections" % (nofile, a.idle_conns))
    input_path = generate(a.gen, a.records, work)
    res = {"records": a.records, "input_bytes": input_path.stat().st_size,
           "load_before": loadavg(), "kappa": {}, "mock": {}}
    # librdkafka's mock keeps only the newest 5 MiB of each partition (2.0.2:
    # rd_kafka_mock_partition_init, max_size), so it cannot hold the input in one
    # partition: the consume rows read a second topic of enough partitions that
    # each holds about 3 MiB (records spread at random, one by one).
    parts = max(1, -(-res["input_bytes"] // (3 << 20)))
    res["partitions"] = parts
    keys = ("produce", "produce_p", "consume", "consume_1")
    best = {"kappa": dict.fromkeys(keys, 0.0), "mock": dict.fromkeys(keys, 0.0)}
    for rep in range(a.repeat):
        for which in ("kappa", "mock"):
            if which == "kappa":
                data = os.path.join(work, "data")
                shutil.rmtree(data, ignore_errors=True)
                b = KappaServe(a.kappa, data, env, ["--max-connections", str(a.idle_conns + 100)])
                b.create_topic(TOPIC, 1)
                b.create_topic(TOPIC_P, parts)
                b.start()
            else:
                b = MockBroker(a.mock_cluster).start()
                b.create_topic(TOPIC, 1)
                b.create_topic(TOPIC_P, parts)
            try:
                run = "(run %d of %d)" % (rep + 1, a.repeat)
                r = {"produce": produce_rate(kcat, b, TOPIC, input_path, a.records, a.timeout)}
                log("%s: produce, 1 partition: %.0f msgs/s %s" % (b.name, r["produce"], run))
                r["produce_p"] = produce_rate(kcat, b, TOPIC_P, input_path, a.records, a.timeout,
                                              ["-X", "sticky.partitioning.linger.ms=0"])
                log("%s: produce, %d partitions: %.0f msgs/s" % (b.name, parts, r["produce_p"]))
                r["consume"] = consume_rate(kcat, b, TOPIC_P, a.records, a.timeout)
                log("%s: consume, %d partitions: %.0f msgs/s" % (b.name, parts, r["consume"]))
                if which == "kappa":
                    r["consume_1"] = consume_rate(kcat, b, TOPIC, a.records, a.timeout)
                    log("%s: consume, 1 partition: %.0f msgs/s" % (b.name, r["consume_1"]))
                for key, v in r.items():
                    best[which][key] = max(best[which][key], v)
            finally:
                b.stop()
    for which in ("kappa", "mock"):
        res[which].update(best[which])

    # Latency, idle connections and idle CPU: a fresh server on the data produced above
    # (kappa) and a fresh mock, each with a small topic of its own.
    py = client_python()
    res["fdatasync_p50_ms"], res["fdatasync_p99_ms"] = fdatasync_latency(work)
    for which in ("kappa", "mock"):
        if which == "kappa":
            b = KappaServe(a.kappa, os.path.join(work, "data"), env,
                           ["--max-connections", str(a.idle_conns + 100)])
            b.create_topic("lat", 1)
            b.start()
        else:
            b = MockBroker(a.mock_cluster).start()
            b.create_topic("lat", 1)
        try:
            r = res[which]
            log("%s: %d idle connections" % (b.name, a.idle_conns))
            r["rss_before_kib"], r["rss_conns_kib"] = idle_connections_rss(b, a.idle_conns)
            if py:
                log("%s: acks=all latency at %d msg/s for %ss" % (b.name, a.rate, a.latency_seconds))
                r["latency"] = latency(py, b, "lat", a.rate, a.latency_seconds)
            log("%s: idle CPU with a waiting consumer for %ss" % (b.name, a.idle_seconds))
            r["idle_cpu"] = idle_cpu(kcat, b, "lat", a.idle_seconds)
            r["rss_end_kib"] = proc_status_kib(b.pid, "VmRSS")
        finally:
            b.stop()
    if not py:
        log("no python3 with confluent_kafka: the latency rows are left out")
    res["load_after"] = loadavg()
    return res


def report(a, res):
    k, m = res["kappa"], res["mock"]
    rows = []  # (figure, kappa, mock, ratio, target, ok)

    def ratio_row(name, key, min_ratio):
        ratio = k[key] / m[key] if m[key] else 0
        rows.append((name, "%.0f" % k[key], "%.0f" % m[key], "%.2f" % ratio,
                     ">= %.1f x mock" % min_ratio, ratio >= min_ratio))

    ratio_row("produce msgs/s, 1 partition (kcat -P, acks=all)", "produce", PRODUCE_MIN_RATIO)
    parts = "%d partition%s" % (res["partitions"], "s" * (res["partitions"] > 1))
    ratio_row("produce msgs/s, %s" % parts, "produce_p", PRODUCE_MIN_RATIO)
    ratio_row("consume msgs/s, %s (kcat -C -e)" % parts, "consume", CONSUME_MIN_RATIO)
    rows.append(("consume msgs/s, 1 partition", "%.0f" % k["consume_1"], "-", "-", "-", None))
    if "latency" in k:
        kl, ml = k["latency"], m.get("latency", {})
        for q in ("p50", "p99"):
            kv, mv = kl[q + "_ms"], ml.get(q + "_ms")
            rows.append(("acks=all latency %s ms @ %d/s" % (q, a.rate), "%.2f" % kv,
                         "%.2f" % mv if mv is not None else "-",
                         "%.2f" % (kv / mv) if mv else "-",
                         "<= %.0f ms" % P99_MAX_MS if q == "p99" else "-",
                         kv <= P99_MAX_MS if q == "p99" else None))
    rows.append(("  (fdatasync of a 200-byte append here, p50 / p99 ms)", "%.2f / %.2f" % (
        res["fdatasync_p50_ms"], res["fdatasync_p99_ms"]), "-", "-", "-", None))
    rows.append(("RSS MiB, %d idle connections" % a.idle_conns, "%.1f" % (k["rss_conns_kib"] / 1024),
                 "%.1f" % (m["rss_conns_kib"] / 1024), "%.2f" % (k["rss_conns_kib"] / m["rss_conns_kib"]),
                 "<= %d MiB" % (RSS_MAX_KIB // 1024), k["rss_conns_kib"] <= RSS_MAX_KIB))
    rows.append(("  (RSS MiB before the connections)", "%.1f" % (k["rss_before_kib"] / 1024),
                 "%.1f" % (m["rss_before_kib"] / 1024), "-", "-", None))
    rows.append(("idle CPU %% of a core, waiting consumer, %ds" % a.idle_seconds,
                 "%.2f" % (k["idle_cpu"] * 100), "%.2f" % (m["idle_cpu"] * 100), "-",
                 "<= %.0f %%" % (IDLE_CPU_MAX * 100), k["idle_cpu"] <= IDLE_CPU_MAX))
    heads = ("figure", "kappa serve", "mock", "ratio", "target", "")
    table = [heads] + [(r[0], r[1], r[2], r[3], r[4], "" if r[5] is None else ("pass" if r[5] else "FAIL"))
                       for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(heads))]
    print("kappa serve vs librdkafka's mock broker: %d records (%.1f MB of JSON lines), best of %d; "
          "load average %s before, %s after (%d CPUs)" % (
              res["records"], res["input_bytes"] / 1e6, a.repeat, res["load_before"], res["load_after"],
              os.cpu_count()))
    for i, t in enumerate(table):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(t, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if "latency" in k:
        print("latency probe: kappa %d sent at %.0f/s, max %.2f ms; mock max %.2f ms" % (
            k["latency"]["sent"], k["latency"]["rate"], k["latency"]["max_ms"],
            m["latency"]["max_ms"] if "latency" in m else float("nan")))
    return all(r[5] is not False for r in rows)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="kappa serve against librdkafka's mock broker, "
                                 "with kcat and a confluent-kafka producer.")
    ap.add_argument("--kappa", default=str(DEFAULT_KAPPA), help="kappa binary (default: build/kappa)")
    ap.add_argument("--mock-cluster", default=str(DEFAULT_MOCK),
                    help="tests/clients/mock_cluster binary (default: build/tests/clients/mock_cluster)")
    ap.add_argument("--records", type=int, default=2_000_000, help="records to produce (default 2,000,000)")
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one, removed)")
    ap.add_argument("--repeat", type=int, default=2, help="produce/consume runs per broker, best kept (default 2)")
    ap.add_argument("--rate", type=int, default=1000, help="latency probe's msgs/s (default 1000)")
    ap.add_argument("--latency-seconds", type=float, default=10, help="latency probe's duration (default 10)")
    ap.add_argument("--idle-conns", type=int, default=1000, help="idle connections for the RSS row (default 1000)")
    ap.add_argument("--idle-seconds", type=float, default=10, help="idle CPU window (default 10)")
    ap.add_argument("--io", choices=["posix", "uring"], default=None, help="KAPPA_IO for kappa serve")
    ap.add_argument("--timeout", type=float, default=600, help="per-command timeout, seconds")
    ap.add_argument("--gen", default=str(DEFAULT_GEN), help="click generator (default tools/gen_clicks.py)")
    ap.add_argument("--json", metavar="PATH", default=None, help="also write the figures as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    if a.records < 1 or a.repeat < 1 or a.idle_conns < 1 or a.rate < 1:
        ap.error("--records, --repeat, --idle-conns and --rate must be positive")
    return a


def main(argv=None):
    a = parse_args(argv)
    work = a.work or tempfile.mkdtemp(prefix="serve-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        res = bench(a, work)
    except RunError as e:
        print("serve_bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(os.path.join(work, "data"), ignore_errors=True)
    ok = report(a, res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return 1 if (a.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
