#!/usr/bin/env python3
"""Benchmark of `kappa mirror` (SPEC section 9) against kcat doing the same transfer
with librdkafka directly, both against librdkafka's own in-memory mock broker
(tests/clients/mock_cluster), in the same run:

  forward   gen_clicks.py N (one JSON a line) is produced into a local topic
            `clicks` (kappa produce --key-field user_id, on a fresh data dir; not
            timed); then `kappa mirror create m --to MOCK --topics clicks` and
            `kappa mirror run m` (timed: it exits once the destination confirmed
            every record; librdkafka idempotent producer, so acks=all) into a fresh
            mock; against `kcat -P -K TAB -X acks=all` of the same records with the
            same keys (a copy of the input as "user_id<TAB>json" lines) into a
            fresh mock; msgs/s each. Once for a 1-partition topic (the mock keeps
            only the newest 5 MiB of a partition, librdkafka 2.0.2's
            rd_kafka_mock_partition_init max_size, but a producer does not care)
            and once for a topic of P partitions: enough for about 3 MiB each, as
            in serve_bench.py, so that the mock holds everything. The 2.0.2 mock
            has no CreateTopics: the destination topic is made beforehand with the
            mock's `topic NAME PARTITIONS` command.
  pull      a fresh mock's P-partition topic filled by kcat -P with
            -X sticky.partitioning.linger.ms=0 (records spread at random, one by
            one, as serve_bench.py does; not timed); then `kappa mirror create h
            --from MOCK --topics clicks` and `kappa mirror run h` (timed: exits at
            the end) on a fresh data dir, against `kcat -C -o beginning -e | wc -l`
            from the same mock; msgs/s each. kcat's count must be N, and so must
            the sum of log_end_offset of `kappa topic describe clicks --json` after
            the pull.

Targets (issue 13): kappa mirror >= 0.7 x kcat's rate in each row. The mirror does
more than kcat (per-partition progress in the catalog, one kappa.mirror.offset
header per forwarded record, durable local appends when pulling), which is what the
0.7 allows for.

Each row is run --repeat times (fresh mock, fresh progress or data dir each time,
mirror and kcat alternating) and the best time is reported. The machine's other
load distorts all of this: the report prints the load average before and after.

Usage: benchmarks/mirror_bench.py [--kappa PATH] [--mock-cluster PATH] [--records N]
           [--work DIR] [--repeat R] [--check] ...          (see --help)
       tools/bench.sh --mirror-only [same options]           (builds first)

Needs kcat and tests/clients/mock_cluster (built by meson where librdkafka-dev is
installed). Exit status: 0 after a report (with --check: 1 when a target is
missed), 1 when a command fails, 2 for a usage error.
"""
import argparse
import json
import os
import re
import select
import shutil
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

FORWARD_MIN_RATIO = 0.7
PULL_MIN_RATIO = 0.7


class RunError(Exception):
    pass


def log(msg):
    print("[mirror_bench] %s" % msg, file=sys.stderr, flush=True)


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
        return self

    def stop(self):
        if self.p and self.p.poll() is None:
            try:
                self.p.stdin.write(b"quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run(argv, stdin_path=None, timeout=600, env=None):
    """Runs argv (stdin from a file), returns (seconds, stdout); a failure is a RunError."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env)
        dt = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        raise RunError("`%s` did not finish in %ss" % (" ".join(map(str, argv)), timeout))
    finally:
        if stdin_path:
            stdin.close()
    if p.returncode != 0:
        raise RunError("`%s` exited %d: %s" % (" ".join(map(str, argv)), p.returncode,
                                                p.stderr[-500:].decode(errors="replace")))
    return dt, p.stdout


class Kappa:
    def __init__(self, exe, data, timeout):
        self.exe, self.data, self.timeout = exe, data, timeout

    def __call__(self, *args, stdin_path=None):
        return run([self.exe, "--data-dir", self.data] + list(args), stdin_path=stdin_path,
                   timeout=self.timeout)

    def end_offsets(self, topic):
        _, out = self("topic", "describe", topic, "--json")
        return sum(p["log_end_offset"] for p in json.loads(out)["partitions"])

    def mirror_confirmed(self, name):
        """(sum of the source's log_end_offset, sum of committed_offset) of a mirror."""
        _, out = self("mirror", "status", name, "--json")
        parts = json.loads(out)["partitions"]
        return (sum(p["log_end_offset"] for p in parts), sum(p["committed_offset"] for p in parts))


def generate(gen, records, work):
    path = Path(work) / ("clicks-%d.jsonl" % records)
    if not path.exists():
        log("generating %d clicks into %s" % (records, path))
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            subprocess.run([sys.executable, str(gen), str(records)], stdout=out, check=True)
        tmp.rename(path)
    keyed = Path(work) / ("clicks-%d.keyed" % records)
    if not keyed.exists():
        # kcat -K TAB: the same key (user_id) kappa produce --key-field takes
        tmp = keyed.with_suffix(".tmp")
        with open(path, "rb") as src, open(tmp, "wb") as out:
            for line in src:
                out.write(json.loads(line)["user_id"].encode() + b"\t" + line)
        tmp.rename(keyed)
    return path, keyed


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def prepare_source(a, work, parts, input_path):
    """A data dir with `clicks` of `parts` partitions holding the input (not timed)."""
    data = os.path.join(work, "src-%d" % parts)
    shutil.rmtree(data, ignore_errors=True)
    k = Kappa(a.kappa, data, a.timeout)
    k("topic", "create", TOPIC, "--partitions", str(parts))
    k("produce", TOPIC, "--key-field", "user_id", "--no-create", stdin_path=input_path)
    got = k.end_offsets(TOPIC)
    if got != a.records:
        raise RunError("kappa produce wrote %d records, expected %d" % (got, a.records))
    return k


def mirror_forward(a, k, parts):
    """kappa mirror --to a fresh mock; msgs/s."""
    with MockBroker(a.mock_cluster).start() as m:
        m.create_topic(TOPIC, parts)
        if getattr(k, "mirrored", False):
            k("mirror", "delete", "m")  # a fresh mirror: progress from the start
        k.mirrored = True
        k("mirror", "create", "m", "--to", m.bootstrap, "--topics", TOPIC)
        dt, _ = k("mirror", "run", "m")
        end, confirmed = k.mirror_confirmed("m")
        if end != a.records or confirmed != a.records:
            raise RunError("mirror --to: %d of %d records confirmed (source end %d)"
                           % (confirmed, a.records, end))
    return a.records / dt


def kcat_produce(a, kcat, parts, keyed_path):
    with MockBroker(a.mock_cluster).start() as m:
        m.create_topic(TOPIC, parts)
        dt, _ = run([kcat, "-b", m.bootstrap, "-P", "-t", TOPIC, "-K", "\t", "-X", "acks=all"],
                    stdin_path=keyed_path, timeout=a.timeout)
    return a.records / dt


def pull(a, kcat, work, parts, input_path):
    """A mock filled with the input (not timed); then kcat -C and kappa mirror --from
    (order alternating by the caller); returns (mirror msgs/s, kcat msgs/s)."""
    with MockBroker(a.mock_cluster).start() as m:
        m.create_topic(TOPIC, parts)
        run([kcat, "-b", m.bootstrap, "-P", "-t", TOPIC, "-X", "acks=all",
             "-X", "sticky.partitioning.linger.ms=0"], stdin_path=input_path, timeout=a.timeout)
        cmd = "%s -b %s -C -t %s -o beginning -e -q | wc -l" % (kcat, m.bootstrap, TOPIC)
        dt, out = run(["bash", "-o", "pipefail", "-c", cmd], timeout=a.timeout)
        got = int(out.strip() or 0)
        if got != a.records:
            raise RunError("kcat -C read %d records from the mock, expected %d" % (got, a.records))
        kcat_rate = a.records / dt
        data = os.path.join(work, "pull")
        shutil.rmtree(data, ignore_errors=True)
        k = Kappa(a.kappa, data, a.timeout)
        k("mirror", "create", "h", "--from", m.bootstrap, "--topics", TOPIC)
        dt, _ = k("mirror", "run", "h")
        got = k.end_offsets(TOPIC)
        if got != a.records:
            raise RunError("mirror --from pulled %d records, expected %d" % (got, a.records))
        shutil.rmtree(data, ignore_errors=True)
    return a.records / dt, kcat_rate


def bench(a, work):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        raise RunError("kcat is not installed (tools/setup.sh installs it)")
    if not os.path.exists(a.mock_cluster):
        raise RunError("%s is not built (needs librdkafka-dev; meson builds it)" % a.mock_cluster)
    input_path, keyed_path = generate(a.gen, a.records, work)
    # As serve_bench.py: enough partitions for about 3 MiB of input each, so the mock
    # (newest 5 MiB per partition) holds all of it.
    parts = max(1, -(-input_path.stat().st_size // (3 << 20)))
    res = {"records": a.records, "input_bytes": input_path.stat().st_size, "partitions": parts,
           "load_before": loadavg()}
    keys = ("forward_1", "forward_p", "pull")
    best = {"mirror": dict.fromkeys(keys, 0.0), "kcat": dict.fromkeys(keys, 0.0)}

    def keep(which, key, v):
        best[which][key] = max(best[which][key], v)

    sources = {}
    for p in sorted({1, parts}):
        log("producing %d records into a local %d-partition topic (not timed)" % (a.records, p))
        sources[p] = prepare_source(a, work, p, input_path)
    for rep in range(a.repeat):
        runs = "(run %d of %d)" % (rep + 1, a.repeat)
        for key, p in (("forward_1", 1), ("forward_p", parts)):
            order = ("mirror", "kcat") if rep % 2 == 0 else ("kcat", "mirror")
            for which in order:
                if which == "mirror":
                    v = mirror_forward(a, sources[p], p)
                else:
                    v = kcat_produce(a, kcat, p, keyed_path)
                log("%s: forward, %d partition%s: %.0f msgs/s %s" % (
                    which, p, "s" * (p > 1), v, runs))
                keep(which, key, v)
        mv, kv = pull(a, kcat, work, parts, input_path)
        log("pull, %d partitions: mirror %.0f msgs/s, kcat -C %.0f msgs/s %s" % (parts, mv, kv, runs))
        keep("mirror", "pull", mv)
        keep("kcat", "pull", kv)
    res.update(best)
    res["load_after"] = loadavg()
    return res


def report(a, res):
    k, m = res["mirror"], res["kcat"]
    rows = []

    def ratio_row(name, key, min_ratio):
        ratio = k[key] / m[key] if m[key] else 0
        rows.append((name, "%.0f" % k[key], "%.0f" % m[key], "%.2f" % ratio,
                     ">= %.1f x kcat" % min_ratio, ratio >= min_ratio))

    parts = "%d partition%s" % (res["partitions"], "s" * (res["partitions"] > 1))
    ratio_row("forward msgs/s, 1 partition (mirror --to / kcat -P)", "forward_1", FORWARD_MIN_RATIO)
    ratio_row("forward msgs/s, %s" % parts, "forward_p", FORWARD_MIN_RATIO)
    ratio_row("pull msgs/s, %s (mirror --from / kcat -C -e)" % parts, "pull", PULL_MIN_RATIO)
    heads = ("figure", "kappa mirror", "kcat", "ratio", "target", "")
    table = [heads] + [(r[0], r[1], r[2], r[3], r[4], "pass" if r[5] else "FAIL") for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(heads))]
    print("kappa mirror vs kcat, both against librdkafka's mock broker: %d records (%.1f MB of "
          "JSON lines), best of %d; load average %s before, %s after (%d CPUs)" % (
              res["records"], res["input_bytes"] / 1e6, a.repeat, res["load_before"],
              res["load_after"], os.cpu_count()))
    for i, t in enumerate(table):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(t, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return all(r[5] for r in rows)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="kappa mirror --to/--from against kcat, both "
                                 "against librdkafka's mock broker.")
    ap.add_argument("--kappa", default=str(DEFAULT_KAPPA), help="kappa binary (default: build/kappa)")
    ap.add_argument("--mock-cluster", default=str(DEFAULT_MOCK),
                    help="tests/clients/mock_cluster binary (default: build/tests/clients/mock_cluster)")
    ap.add_argument("--records", type=int, default=2_000_000, help="records (default 2,000,000)")
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one, removed)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per row, best kept (default 2)")
    ap.add_argument("--timeout", type=float, default=600, help="per-command timeout, seconds")
    ap.add_argument("--gen", default=str(DEFAULT_GEN), help="click generator (default tools/gen_clicks.py)")
    ap.add_argument("--json", metavar="PATH", default=None, help="also write the figures as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    if a.records < 1 or a.repeat < 1:
        ap.error("--records and --repeat must be positive")
    return a


def main(argv=None):
    a = parse_args(argv)
    work = a.work or tempfile.mkdtemp(prefix="mirror-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        res = bench(a, work)
    except RunError as e:
        print("mirror_bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        for d in Path(work).glob("src-*"):
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(os.path.join(work, "pull"), ignore_errors=True)
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    ok = report(a, res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return 1 if (a.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
