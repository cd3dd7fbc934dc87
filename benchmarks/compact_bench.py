#!/usr/bin/env python3
"""Benchmark of kappa's log cleaner: `kappa maintain` compacting a keyed topic.

Measures compaction against the machine's own limit, in the same run, on the
same bytes (DESIGN.md, "Performance approach"):

  baseline  cp SEALED.log... DESTDIR/ && sync        (durable copy of the bytes
                                                      compaction reads)
  kappa     kappa --data-dir D maintain T --json     (compacts every sealed
                                                      segment of T)

Target (from the issue): compacting 1 M records over 10 k keys runs at
>= 50 % of the copy's throughput (MB/s = sealed .log bytes / wall time), with
peak RSS <= 64 MiB + 32 B per distinct key (ru_maxrss of the maintain process
itself, from os.wait4; see log_bench.run_measured).

Setup, done once, untimed: N lines `key:value` (--keys distinct keys, each
used N/keys times, in a seeded random order; values are unique ~80-100 byte
JSON objects carrying their line number) are produced with `produce -K :`
into a one-partition topic created with cleanup.policy=delete,
retention.ms=-1 and segment.bytes=--segment-bytes, so that the writer's own
background cleaner (which runs when it rolls a segment) leaves the data as it
is. Then segment.bytes is lowered to 1 KiB for one more record (key
`__seal__`, outside the benchmark's keys), which makes the writer roll: every
one of the N records is now in a sealed segment, and only the seal record is
in the active one, which compaction never touches. Last, the topic is altered
to segment.bytes=--segment-bytes, cleanup.policy=compact and
min.cleanable.dirty.ratio=0. This "pristine" data dir is kept.

Each repeat works on a fresh `cp -a` of the pristine data dir (synced), times
the copy baseline on that copy's sealed .log files, then times `maintain`;
the best (shortest) time of each over --repeat runs is reported, peak RSS is
the largest seen. Page cache: nothing is dropped; the sealed files were just
written by `cp -a` and synced, so both the baseline and maintain read them
from a warm cache, and both pay for durable writes (maintain fdatasyncs its
output). Before each timed command fresh memory is touched and freed
(log_bench.prefault), and output of the previous command deleted and synced.

After every maintain, untimed: `kappa consume T -f '%o %k %s\\n'` must show,
in the sealed range, every key exactly once, at the offset of its latest
record there and with that record's value; the active segment must be
unchanged; maintain's records_compacted must equal the records dropped; and
`kappa verify T` must pass. Any failure there is a correctness failure.

Usage: benchmarks/compact_bench.py [--records N] [--keys K] [--repeat R]
       [--kappa PATH] [--keep] ...                     (see --help)
       tools/bench.sh --compact-only [same options]    (builds first)

Exit status: 0 after a report, whatever the performance numbers (a target
that is not met is reported as "not met"); with --check, also 1 when a
target is not met. 1 when the correctness check fails or a command fails,
2 for a usage error. Python 3 standard library only (it reuses the process
launcher of log_bench.py, next to it).
"""
import argparse
import glob
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import log_bench  # noqa: E402  (same directory; stdlib only)
from log_bench import (RunError, drop_path, fmt_mib, fmt_rate, kappa_version,  # noqa: E402
                       prefault, run_measured, sync_all, warm)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KAPPA = REPO_ROOT / "build" / "kappa"
TOPIC = "compacted"
SEAL_KEY = "__seal__"
SEAL_VALUE = "seal"
SEAL_SEGMENT_BYTES = 1024        # small enough that the seal record rolls

MIN_RATIO = 0.5                  # maintain MB/s / copy MB/s
RSS_BASE_KIB = 64 * 1024         # 64 MiB; ru_maxrss is in KiB on Linux
RSS_PER_KEY_BYTES = 32

CHUNK = 1 << 20
EVENT_TYPES = ["view"] * 80 + ["add_to_cart"] * 15 + ["purchase"] * 5


def log(msg):
    print(f"[compact_bench] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- input data

def key_name(k):
    return f"key{k:05d}"


def generate(records, keys, seed, work):
    """Writes `key:value` lines, cached in the work dir by (records, keys,
    seed). Each of the `keys` keys is used records/keys times (+1 for some),
    in a seeded random order; a value is a gen_clicks-like JSON object with
    the line number in it, so every record's value is unique."""
    path = work / f"compact-input-{records}-{keys}-{seed}.txt"
    if path.exists() and path.stat().st_size > 0:
        log(f"using cached input {path}")
        return path
    log(f"generating {records} records over {keys} keys (seed {seed}) ...")
    t0 = time.perf_counter()
    rnd = random.Random(seed)
    order = [i % keys for i in range(records)]
    rnd.shuffle(order)
    ts = 1_700_000_000_000
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as out:
        buf = []
        for i, k in enumerate(order):
            ts += rnd.randint(1, 10)
            buf.append(
                f'{key_name(k)}:{{"seq":{i},"user_id":"u{rnd.randrange(100_000)}",'
                f'"product_id":"p{rnd.randrange(50_000)}",'
                f'"event_type":"{EVENT_TYPES[rnd.randrange(100)]}","ts":{ts}}}\n')
            if len(buf) >= 10_000:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf))
    tmp.rename(path)
    log(f"generated {path.stat().st_size / 1e6:.1f} MB in "
        f"{time.perf_counter() - t0:.1f} s")
    return path


class Expected:
    """What the topic must hold after compacting offsets [0, sealed_end):
    for each key its latest offset and value there, and the records at or
    past sealed_end unchanged."""

    def __init__(self, input_path, records, sealed_end):
        self.sealed_end = sealed_end
        self.latest = {}       # key -> (offset, value), offsets < sealed_end
        self.tail = []         # (offset, key, value) for offsets >= sealed_end
        value_bytes = 0
        with open(input_path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                key, _, value = line.rstrip("\n").partition(":")
                value_bytes += len(value)
                if i < sealed_end:
                    self.latest[key] = (i, value)
                else:
                    self.tail.append((i, key, value))
                n = i + 1
        if n != records:
            raise RunError(f"input {input_path} has {n} lines, expected {records}")
        if records >= sealed_end:
            self.tail.append((records, SEAL_KEY, SEAL_VALUE))
        self.mean_value_bytes = value_bytes / records
        self.sealed_records = min(sealed_end, records)
        self.sealed_keys = len(self.latest)


def check_compacted(kappa, data_dir, exp, env, timeout):
    """Consumes the topic once and compares it with `exp`. Returns a list of
    problems (empty when correct) and the number of records read."""
    argv = [kappa, "--data-dir", str(data_dir), "consume", TOPIC,
            "-f", r"%o %k %s\n"]
    problems = []
    hidden = 0

    def problem(msg):
        nonlocal hidden
        if len(problems) < 20:
            problems.append(msg)
        else:
            hidden += 1

    seen = set()
    tail_i = 0
    prev = -1
    count = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                                env=env, text=True, encoding="utf-8",
                                errors="replace")
        timer = threading.Timer(timeout, proc.kill)
        timer.daemon = True
        timer.start()
        for line in proc.stdout:
            count += 1
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) != 3 or not parts[0].isdigit():
                problem(f"unparsable consume line: {line!r}")
                continue
            off, key, value = int(parts[0]), parts[1], parts[2]
            if off <= prev:
                problem(f"offset {off} after {prev}: offsets not increasing")
            prev = off
            if off < exp.sealed_end:
                want = exp.latest.get(key)
                if want is None:
                    problem(f"offset {off}: key {key!r} is not a key of the sealed range")
                elif key in seen:
                    problem(f"offset {off}: key {key!r} appears more than once in the sealed range")
                elif want[0] != off:
                    problem(f"offset {off}: key {key!r} kept at offset {off}, "
                            f"its latest record is at {want[0]}")
                elif want[1] != value:
                    problem(f"offset {off}: key {key!r} has value {value[:60]!r}, "
                            f"expected {want[1][:60]!r}")
                seen.add(key)
            else:
                if tail_i >= len(exp.tail) or exp.tail[tail_i] != (off, key, value):
                    want = exp.tail[tail_i] if tail_i < len(exp.tail) else None
                    problem(f"active segment: got {(off, key, value[:60])}, expected "
                            f"{want[:2] + (want[2][:60],) if want else 'nothing'}")
                tail_i += 1
        proc.stdout.close()
        rc = proc.wait()
        timer.cancel()
        err.seek(0)
        stderr = err.read().decode(errors="replace").strip()
    if hidden:
        problems.append(f"... and {hidden} more such problem(s)")
    if rc != 0:
        problems.insert(0, f"consume exited with {rc}: {stderr}")
    missing = len(exp.latest) - len(seen)
    if missing:
        some = [k for k in exp.latest if k not in seen][:5]
        problems.append(f"{missing} key(s) of the sealed range are gone, e.g. {some}")
    if tail_i < len(exp.tail):
        problems.append(f"{len(exp.tail) - tail_i} record(s) of the active segment are gone")
    return problems, count


# ------------------------------------------------------------------ kappa I/O

def run_kappa(kappa, data_dir, args, env, stdin=None, timeout=300):
    """Runs an untimed setup command; RunError unless it exits 0."""
    argv = [kappa, "--data-dir", str(data_dir), *args]
    try:
        r = subprocess.run(argv, stdin=stdin, capture_output=True, text=True,
                           env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError(f"{' '.join(argv)} did not finish in {timeout:g} s")
    if r.returncode != 0:
        raise RunError(f"kappa exited with {r.returncode}: {' '.join(argv)}\n"
                       f"{(r.stderr + r.stdout).strip()}")
    return r


def partition_dir(data_dir):
    return Path(data_dir) / "topics" / f"{TOPIC}-0"


def segments(data_dir):
    """The partition's .log files, oldest first (the last is the active one)."""
    return sorted(glob.glob(str(partition_dir(data_dir) / "*.log")))


def base_offset(path):
    return int(Path(path).name.split(".")[0])


def build_pristine(a, kappa, input_path, pristine, env):
    """Produces the input into a fresh data dir and seals it (module doc)."""
    drop_path(pristine)
    log(f"producing into {pristine} (segment.bytes={a.segment_bytes}, "
        "cleanup.policy=delete, retention.ms=-1) ...")
    run_kappa(kappa, pristine, ["topic", "create", TOPIC, "--partitions", "1",
                                "--config", "cleanup.policy=delete",
                                "--config", "retention.ms=-1",
                                "--config", f"segment.bytes={a.segment_bytes}"], env)
    t0 = time.perf_counter()
    with open(input_path, "rb") as stdin:
        r = run_kappa(kappa, pristine, ["produce", TOPIC, "-K", ":", "--no-create"],
                      env, stdin=stdin, timeout=a.timeout)
    log(f"produced in {time.perf_counter() - t0:.2f} s: "
        f"{log_bench.last_line(r.stderr)}")
    run_kappa(kappa, pristine, ["topic", "alter", TOPIC,
                                "--config", f"segment.bytes={SEAL_SEGMENT_BYTES}"], env)
    # The seal record: the active segment is far past 1 KiB, so it rolls.
    with tempfile.TemporaryFile() as seal:
        seal.write(f"{SEAL_KEY}:{SEAL_VALUE}\n".encode())
        seal.seek(0)
        run_kappa(kappa, pristine, ["produce", TOPIC, "-K", ":", "--no-create"],
                  env, stdin=seal, timeout=a.timeout)
    run_kappa(kappa, pristine, ["topic", "alter", TOPIC,
                                "--config", f"segment.bytes={a.segment_bytes}",
                                "--config", "cleanup.policy=compact",
                                "--config", "min.cleanable.dirty.ratio=0"], env)
    sync_all()


# ------------------------------------------------------------------ benchmark

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Benchmark kappa maintain (compaction) against a durable "
                    "copy of the same bytes.")
    ap.add_argument("--kappa", default=str(DEFAULT_KAPPA),
                    help="kappa binary (default: %(default)s)")
    ap.add_argument("--records", type=int, default=1_000_000,
                    help="keyed records to produce (default: %(default)s)")
    ap.add_argument("--keys", type=int, default=10_000,
                    help="distinct keys (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=1,
                    help="seed of the key order and values (default: %(default)s)")
    ap.add_argument("--segment-bytes", type=int, default=16 << 20,
                    help="the topic's segment.bytes (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each measurement, each on a fresh copy of the "
                         "uncompacted data; the best is reported (default: %(default)s)")
    ap.add_argument("--work", default=None,
                    help="work directory, kept afterwards with the input and the "
                         "uncompacted data dir cached in it (default: a temporary "
                         "directory under /tmp, removed at the end unless --keep)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (input, pristine data dir and the "
                         "last compacted data dir) and print where it is")
    ap.add_argument("--io", choices=["posix", "uring"], default=None,
                    help="set KAPPA_IO for the kappa runs (default: unset)")
    ap.add_argument("--sync", choices=["global", "file"], default="global",
                    dest="sync_mode",
                    help="baseline durability: 'global' times `cp ... && sync`, "
                         "'file' `cp ... && sync DEST...` (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds after which a kappa run is killed and the "
                         "benchmark stops with an error (default: %(default)s)")
    ap.add_argument("--no-prefault", action="store_true",
                    help="do not touch fresh memory before each timed command")
    ap.add_argument("--check", action="store_true",
                    help="also exit 1 when a performance target is not met")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="also write the results as JSON to PATH ('-': JSON on "
                         "stdout, the table on stderr)")
    a = ap.parse_args(argv)
    if a.records < 1:
        ap.error("--records must be at least 1")
    if a.keys < 1:
        ap.error("--keys must be at least 1")
    if a.keys > 99_999:
        ap.error("--keys must be at most 99999 (keys are key00000..key99999)")
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    if not (4096 <= a.segment_bytes <= 2**31 - 1):
        ap.error("--segment-bytes must be from 4096 to 2147483647")
    kappa = Path(a.kappa)
    if not kappa.is_absolute():
        kappa = (REPO_ROOT / kappa) if not kappa.exists() else kappa.resolve()
    if not (kappa.is_file() and os.access(kappa, os.X_OK)):
        ap.error(f"kappa binary not found or not executable: {kappa} "
                 "(build it with tools/bench.sh or meson compile -C build)")
    a.kappa = str(kappa)
    return a


def bench(a, work):
    env = dict(os.environ)
    env.pop("KAPPA_DATA_DIR", None)
    if a.io:
        env["KAPPA_IO"] = a.io
    kappa = a.kappa
    version = kappa_version(kappa, env)

    input_path = generate(a.records, a.keys, a.seed, work)
    input_bytes = input_path.stat().st_size
    pristine = work / f"pristine-{a.records}-{a.keys}-{a.seed}-{a.segment_bytes}"
    stamp = pristine / "READY"
    if stamp.exists() and stamp.read_text().strip() == kappa:
        log(f"using cached uncompacted data dir {pristine}")
    else:
        build_pristine(a, kappa, input_path, pristine, env)
        stamp.write_text(kappa + "\n")

    segs = segments(pristine)
    if len(segs) < 2:
        raise RunError(f"produce left {len(segs)} segment file(s) in "
                       f"{partition_dir(pristine)}: nothing is sealed")
    sealed_names = [Path(s).name for s in segs[:-1]]
    sealed_bytes = sum(os.path.getsize(s) for s in segs[:-1])
    sealed_end = base_offset(segs[-1])
    active_bytes = os.path.getsize(segs[-1])
    exp = Expected(input_path, a.records, sealed_end)
    if sealed_end < a.records:
        log(f"WARNING: only offsets [0, {sealed_end}) of {a.records} are in sealed "
            f"segments; the rest is in the active segment and is not compacted")
    log(f"{len(sealed_names)} sealed segment(s), {sealed_bytes / 1e6:.1f} MB, "
        f"{exp.sealed_records} records, {exp.sealed_keys} distinct keys; "
        f"active segment {active_bytes} bytes from offset {sealed_end}")

    floor = [run_measured(["true"], what="true") for _ in range(3)]
    floor_s = min(t for t, _, _ in floor)
    floor_kib = max(k for _, k, _ in floor)

    def settle():
        if not a.no_prefault:
            prefault(2 * sealed_bytes + (64 << 20))

    run_dir = work / "run-data"
    copy_dest = work / "copy-dest"
    cp_script = 'd=$1; shift; cp "$@" "$d"/ && sync'
    if a.sync_mode == "file":
        cp_script += ' "$d"/*'

    cp_times, mt_times, mt_rss, reports, checks = [], [], [], [], []
    after_bytes = after_segments = None
    for r in range(a.repeat):
        # A fresh, synced copy of the uncompacted data.
        drop_path(run_dir)
        subprocess.run(["cp", "-a", str(pristine), str(run_dir)], check=True)
        sync_all()
        run_sealed = [str(partition_dir(run_dir) / n) for n in sealed_names]
        warm(run_sealed)

        drop_path(copy_dest)
        copy_dest.mkdir()
        sync_all()
        settle()
        t_cp, _, _ = run_measured(["/bin/sh", "-c", cp_script, "sh",
                                   str(copy_dest), *run_sealed],
                                  what="cp && sync")
        cp_times.append(t_cp)
        drop_path(copy_dest)

        settle()
        with tempfile.TemporaryFile() as out:
            t, rss, err = run_measured(
                [kappa, "--data-dir", str(run_dir), "maintain", TOPIC, "--json"],
                stdout=out, env=env, what="kappa maintain", timeout=a.timeout)
            out.seek(0)
            text = out.read().decode(errors="replace")
        mt_times.append(t)
        mt_rss.append(rss)
        try:
            rep = json.loads(text)["partitions"][0]
        except (ValueError, KeyError, IndexError) as e:
            raise RunError(f"could not parse maintain --json output ({e}): {text!r}")
        reports.append(rep)
        if err.strip():
            log(f"maintain said: {err.strip()}")

        # Untimed: is the result right?
        problems, consumed = check_compacted(kappa, run_dir, exp, env, a.timeout)
        dropped = exp.sealed_records - exp.sealed_keys
        if rep.get("records_compacted") != dropped:
            problems.append(f"maintain reported records_compacted="
                            f"{rep.get('records_compacted')}, but {dropped} records "
                            f"should have been dropped "
                            f"({exp.sealed_records} sealed - {exp.sealed_keys} keys)")
        if rep.get("segments_compacted", 0) == 0:
            problems.append("maintain compacted no segment at all")
        v = subprocess.run([kappa, "--data-dir", str(run_dir), "verify", TOPIC],
                           capture_output=True, text=True, env=env,
                           timeout=a.timeout)
        verify_out = log_bench.last_line(v.stdout + v.stderr)
        if v.returncode != 0:
            problems.append(f"kappa verify exited with {v.returncode}: "
                            f"{(v.stdout + v.stderr).strip()[:500]}")
        after = segments(run_dir)
        after_segments = len(after)
        after_bytes = sum(os.path.getsize(s) for s in after[:-1])
        checks.append({"ok": not problems, "problems": problems,
                       "records_read": consumed, "verify": verify_out})
        log(f"repeat {r + 1}/{a.repeat}: cp+sync {t_cp:.3f} s, maintain {t:.3f} s, "
            f"{fmt_mib(rss)}; {rep.get('segments_compacted')} segment(s) compacted, "
            f"{rep.get('records_compacted')} records dropped; check: "
            + ("ok" if not problems else f"FAILED ({len(problems)} problem(s))"))
        for p in problems:
            log(f"  CORRECTNESS: {p}")

    if not a.keep:
        drop_path(run_dir)

    return {
        "kappa": kappa, "version": version, "io": a.io or "(default)",
        "records": a.records, "keys": a.keys, "seed": a.seed,
        "input_bytes": input_bytes, "mean_value_bytes": exp.mean_value_bytes,
        "segment_bytes_config": a.segment_bytes,
        "sealed_segments": len(sealed_names), "sealed_bytes": sealed_bytes,
        "sealed_records": exp.sealed_records, "sealed_keys": exp.sealed_keys,
        "sealed_end_offset": sealed_end, "active_bytes": active_bytes,
        "after_segments": after_segments, "after_sealed_bytes": after_bytes,
        "repeat": a.repeat, "sync_mode": a.sync_mode,
        "copy_s": min(cp_times), "maintain_s": min(mt_times),
        "maintain_rss_kib": max(mt_rss),
        "all_times": {"copy": cp_times, "maintain": mt_times},
        "all_rss_kib": mt_rss,
        "maintain_reports": reports, "checks": checks,
        "prefault": not a.no_prefault,
        "rss_method": "own" if log_bench.SUBREAPER else "includes harness",
        "launch_floor_s": floor_s, "launch_floor_rss_kib": floor_kib,
    }


def report(res, out):
    """Prints the report; returns (correct, all targets met)."""
    sb = res["sealed_bytes"]
    cp, mt = res["copy_s"], res["maintain_s"]
    cp_mbs, mt_mbs = sb / cp / 1e6, sb / mt / 1e6
    ratio = cp / mt
    rss = res["maintain_rss_kib"]
    rss_limit = RSS_BASE_KIB + RSS_PER_KEY_BYTES * res["sealed_keys"] / 1024
    ratio_ok = ratio >= MIN_RATIO
    rss_ok = rss <= rss_limit
    correct = all(c["ok"] for c in res["checks"])
    nrec = res["sealed_records"]

    def met(ok):
        return "met" if ok else "**not met**"

    cp_desc = ("`cp SEALED.log... DIR/ && sync"
               + (" DIR/*`" if res["sync_mode"] == "file" else "`"))
    lines = []
    lines.append(f"## kappa compaction benchmark — {res['records']} records over "
                 f"{res['keys']} keys, best of {res['repeat']}")
    lines.append("")
    lines.append(f"- kappa: `{res['kappa']}`"
                 + (f" — {res['version']}" if res["version"] else ""))
    lines.append(f"- KAPPA_IO: {res['io']}; host: {platform.node()}, "
                 f"{os.cpu_count()} CPUs, Linux {platform.release()}")
    lines.append(f"- input: {res['input_bytes'] / 1e6:.1f} MB of `key:value` lines "
                 f"(mean value {res['mean_value_bytes']:.0f} B), seed {res['seed']}; "
                 f"segment.bytes={res['segment_bytes_config']}")
    lines.append(f"- compacted (sealed) range: offsets [0, {res['sealed_end_offset']}), "
                 f"{nrec} records, {res['sealed_keys']} distinct keys, "
                 f"{res['sealed_segments']} segment(s), {sb / 1e6:.1f} MB; "
                 f"active segment (not compacted): {res['active_bytes']} B")
    if res["sealed_end_offset"] < res["records"]:
        lines.append(f"- **warning**: {res['records'] - res['sealed_end_offset']} "
                     "records were left in the active segment and not compacted")
    lines.append("")
    lines.append("| command | records/s | MB/s (sealed bytes / s) | time s "
                 "| limit (baseline) s | ratio (throughput) | target | result |")
    lines.append("|---|---:|---:|---:|---:|---:|---|---|")
    lines.append(f"| {cp_desc} (baseline) | {fmt_rate(nrec / cp)} | {cp_mbs:.0f} "
                 f"| {cp:.3f} | | | | |")
    lines.append(f"| `kappa maintain {TOPIC}` | {fmt_rate(nrec / mt)} | {mt_mbs:.0f} "
                 f"| {mt:.3f} | {cp:.3f} | {ratio:.2f}× | ≥ {MIN_RATIO:g}× | {met(ratio_ok)} |")
    lines.append("")
    lines.append(f"- peak RSS `kappa maintain`: {fmt_mib(rss)} (target ≤ 64 MiB + "
                 f"{RSS_PER_KEY_BYTES} B × {res['sealed_keys']} keys = "
                 f"{fmt_mib(rss_limit)}) — {met(rss_ok)}")
    rep = res["maintain_reports"][-1] if res["maintain_reports"] else {}
    lines.append(f"- maintain said (last run): segments_compacted="
                 f"{rep.get('segments_compacted')}, records_compacted="
                 f"{rep.get('records_compacted')}, bytes_compacted="
                 f"{rep.get('bytes_compacted')}; sealed .log bytes after: "
                 f"{res['after_sealed_bytes']} in {res['after_segments'] - 1} file(s)")
    bad = [i + 1 for i, c in enumerate(res["checks"]) if not c["ok"]]
    last = res["checks"][-1] if res["checks"] else {}
    if correct:
        lines.append(f"- correctness (every run): each of the {res['sealed_keys']} keys "
                     "exactly once in the sealed range, at its latest offset with its "
                     "latest value; active segment unchanged; records_compacted agrees; "
                     f"`kappa verify`: {last.get('verify', '')} — ok")
    else:
        lines.append(f"- correctness: **FAILED** in run(s) {bad}:")
        for i in bad:
            for p in res["checks"][i - 1]["problems"]:
                lines.append(f"  - run {i}: {p}")
    note = (f"- method: both commands timed from launch to exit, started the same way "
            f"(`true`: {res['launch_floor_s'] * 1e3:.1f} ms, "
            f"{fmt_mib(res['launch_floor_rss_kib'])}); each run on a fresh synced "
            "`cp -a` of the uncompacted data dir, page cache not dropped (both read "
            "warm)")
    if res["prefault"]:
        note += "; fresh memory touched and freed before each (untimed)"
    if res["rss_method"] != "own":
        note += ("; no PR_SET_CHILD_SUBREAPER here: RSS includes the harness's own, "
                 "an upper bound")
    lines.append(note)
    t = res["all_times"]
    lines.append("- all runs (s): " + "; ".join(
        f"{k} " + ", ".join(f"{x:.3f}" for x in v) for k, v in t.items())
        + "; maintain RSS " + ", ".join(fmt_mib(x) for x in res["all_rss_kib"]))
    print("\n".join(lines), file=out, flush=True)

    res["throughput_mb_s"] = {"copy": cp_mbs, "maintain": mt_mbs}
    res["targets"] = {
        "throughput_ratio": {"value": ratio, "min": MIN_RATIO, "met": ratio_ok},
        "maintain_rss_kib": {"value": rss, "max": rss_limit, "met": rss_ok},
    }
    res["correct"] = correct
    return correct, ratio_ok and rss_ok


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    temp = a.work is None
    work = Path(tempfile.mkdtemp(prefix="kappa-compact-bench-", dir="/tmp")) if temp \
        else Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        try:
            res = bench(a, work)
        except RunError as e:
            print(f"compact_bench: {e}", file=sys.stderr)
            return 1
        except subprocess.CalledProcessError as e:
            print(f"compact_bench: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("compact_bench: interrupted", file=sys.stderr)
            return 130
        to_stdout = a.json == "-"
        correct, all_met = report(res, sys.stderr if to_stdout else sys.stdout)
        if a.json:
            if to_stdout:
                json.dump(res, sys.stdout, indent=2)
                print()
            else:
                with open(a.json, "w") as f:
                    json.dump(res, f, indent=2)
        if not correct:
            print("compact_bench: CORRECTNESS CHECK FAILED: the compacted topic is "
                  "not what it must be (see above)", file=sys.stderr)
            return 1
        if a.check and not all_met:
            print("compact_bench: a target was not met (--check)", file=sys.stderr)
            return 1
        return 0
    finally:
        for leftover in (work / "copy-dest",):
            shutil.rmtree(leftover, ignore_errors=True)
        if a.keep:
            log(f"kept the work directory {work}")
        elif temp:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(work / "run-data", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
