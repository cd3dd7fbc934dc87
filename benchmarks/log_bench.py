#!/usr/bin/env python3
"""End-to-end benchmark of kappa's log: durable produce and full replay.

Measures kappa against the machine's own limits, in the same run, on the same
data (DESIGN.md, "Performance approach"):

  baseline  cp FILE DEST && sync                      (durable copy of the input)
  kappa     kappa --data-dir D produce clicks < FILE  (durable append, fresh D)
  baseline  cat D/topics/clicks-0/*.log > /dev/null   (read the segments, warm cache)
  kappa     kappa --data-dir D consume clicks --from earliest > /dev/null
  kappa     kappa produce keyed --key-field user_id < FILE, into a topic of
            1 and of --many-partitions (1,000) partitions: the first produce
            (which creates every partition's files) and a second one (appends)

Targets (from the issues): produce <= 1.3 x (cp + sync) and >= 2 M records/s;
consume <= 2 x cat of the segment files; peak RSS of produce and consume
<= 64 MiB (ru_maxrss of the child, from os.wait4). The many-partitions rows
have no target: they show what 1,000 partitions add to a keyed produce (every
partition is fdatasynced at exit, all in flight at once).

Input is `gen_clicks.py N` (tools/gen_clicks.py), generated once and
cached in the work directory. Every measurement is repeated --repeat times and
the best (shortest) time is reported; baselines and kappa runs are interleaved
so that drift in the machine's state affects both alike. Peak RSS is the
largest seen over all repeats.

After the timed runs, one untimed `consume` is checked against the input: the
default output format (value + newline) must reproduce the input file byte for
byte, so a fast but wrong consume cannot pass (--no-verify skips this).

Method notes: each timed command, baseline or kappa, is started the same way
(through a throwaway `sh`, so that ru_maxrss is the command's own and not
inherited from this Python process; see run_measured) and timed from launch
to exit. Before each one, output left by the previous run is deleted and
synced, and fresh memory is touched and freed (see prefault), untimed, so
every command starts from the same state. MB/s is always input bytes / s,
also for the rows that read the (slightly larger) segment files.

Usage: benchmarks/log_bench.py [--kappa PATH] [--records N] [--work DIR]
       [--repeat R] [--io posix|uring] [--check] ...    (see --help)
       tools/bench.sh [same options]                  (builds first)

Exit status: 0 after a report, whatever the numbers (benchmarks report, they do
not fail); with --check, 1 when a target is missed. 1 when a command fails,
2 for a usage error. Python 3 standard library only.
"""
import argparse
import glob
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KAPPA = REPO_ROOT / "build" / "kappa"
DEFAULT_GEN = REPO_ROOT / "tools" / "gen_clicks.py"
TOPIC = "clicks"

PRODUCE_MAX_RATIO = 1.3          # x (cp + sync)
PRODUCE_MIN_RATE = 2_000_000     # records/s
CONSUME_MAX_RATIO = 2.0          # x (cat of the segments)
RSS_LIMIT_KIB = 64 * 1024        # 64 MiB; ru_maxrss is in KiB on Linux

CHUNK = 1 << 20


class RunError(Exception):
    """A command the benchmark depends on failed; there is nothing to report."""


def log(msg):
    print(f"[log_bench] {msg}", file=sys.stderr, flush=True)


def _set_child_subreaper():
    """Makes this process adopt orphaned descendants (Linux prctl).

    Needed to measure a child's own peak RSS: a process started directly by
    Python inherits Python's high-water RSS (vfork shares the parent's memory,
    fork copies it, and exec keeps the larger of old and new in ru_maxrss), so
    a lean kappa would report the harness's ~10-100 MB. Instead each measured
    command is started by a throwaway `sh` (about 1 MB) which backgrounds it
    and exits; the command is then re-parented to us and os.wait4 gives its
    own rusage. Returns False where this is not possible."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


SUBREAPER = _set_child_subreaper()

# $1 = pid file, $2 = read end of a "go" pipe; the rest is the command. The
# job waits for "go" until sh has exited: a command that ended first could be
# reaped by sh and be lost to us. A background job's stdin would be /dev/null,
# so the real stdin is passed through fd 9.
_LAUNCH = ('p=$1; g=$2; shift 2; exec 9<&0; eval "exec 8<&$g $g<&-"; '
           '{ read -r _ <&8; exec "$@" <&9 8<&- 9<&-; } & echo $! > "$p"')


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def run_measured(argv, *, stdin=None, stdout=subprocess.DEVNULL, env=None,
                 what=None, timeout=None):
    """Runs argv to completion; returns (wall seconds, ru_maxrss KiB, stderr).

    The child is reaped with os.wait4 so its own peak RSS is known (see
    _set_child_subreaper; without it the value also covers this process).
    Every measured command, baseline or kappa, is launched the same way, so
    the ~2 ms of the launcher is in every time alike. stderr is collected in
    a temporary file (not a pipe) so a chatty child never blocks.
    Raises RunError when the command does not exit 0, or is still running
    after `timeout` seconds (it is then killed).
    """
    argv = [str(x) for x in argv]
    with tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", prefix="kappa-bench-pid-") as pidf:
        t0 = time.perf_counter()
        if SUBREAPER:
            go_r, go_w = os.pipe()
            try:
                sh = subprocess.Popen(["/bin/sh", "-c", _LAUNCH, "sh",
                                       pidf.name, str(go_r), *argv],
                                      stdin=stdin, stdout=stdout, stderr=err,
                                      env=env, pass_fds=(go_r,))
                os.close(go_r)
                rc_sh = sh.wait()
                pidf.seek(0)
                pid_text = pidf.read().strip()
                if rc_sh != 0 or not pid_text.isdigit():
                    raise RunError(f"could not launch {what or argv[0]}")
                pid = int(pid_text)
                os.write(go_w, b"go\n")
            finally:
                os.close(go_w)
        else:
            pid = subprocess.Popen(argv, stdin=stdin, stdout=stdout,
                                   stderr=err, env=env).pid
        timed_out = threading.Event()

        def expire():
            timed_out.set()
            kill(pid)

        timer = threading.Timer(timeout, expire) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(pid, 0)
        except BaseException:
            # A backgrounded job ignores SIGINT: stop it ourselves on Ctrl-C.
            if kill(pid):
                os.waitpid(pid, 0)
            raise
        finally:
            if timer:
                timer.cancel()
        elapsed = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if timed_out.is_set():
        raise RunError(f"{what or argv[0]} did not finish in {timeout:g} s "
                       f"and was killed: {' '.join(argv)}\n{stderr.strip()}")
    if rc != 0:
        raise RunError(f"{what or argv[0]} exited with {rc}: "
                       f"{' '.join(argv)}\n{stderr.strip()}")
    return elapsed, usage.ru_maxrss, stderr


def sync_all():
    subprocess.run(["sync"], check=True)


def drop_path(path):
    """Removes a file or tree if present, then syncs so that freeing it (and
    anything else dirty on the machine) is not billed to the next timed run."""
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()
    sync_all()


_PREFAULT = ("import mmap, sys\n"
             "m = mmap.mmap(-1, int(sys.argv[1]), flags=mmap.MAP_PRIVATE"
             " | mmap.MAP_ANONYMOUS | getattr(mmap, 'MAP_POPULATE', 0))\n"
             "m.close()\n")


def prefault(nbytes):
    """Touches and frees nbytes of memory in a throwaway process, untimed.

    On a VM whose hypervisor takes idle free memory back (free page
    reporting, ballooning), the first writer into fresh memory pays for
    faulting it in again; on the machine this was written on that made a
    185 MB `cp` take 0.05 s or 0.4 s depending on how long the box had been
    idle. Doing this right before every timed command (baselines and kappa
    alike) puts them all on the same footing. --no-prefault turns it off."""
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f
                         if line.startswith("MemAvailable:"))
        nbytes = min(nbytes, avail // 2)
    except (OSError, StopIteration, ValueError):
        pass
    subprocess.run([sys.executable, "-c", _PREFAULT, str(nbytes)], check=True)


def warm(paths):
    """Reads files once so they are in the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(CHUNK):
                pass


def generate(gen, records, work):
    data = work / f"clicks-{records}.jsonl"
    if data.exists() and data.stat().st_size > 0:
        log(f"using cached input {data}")
        return data
    log(f"generating {records} records with {gen} ...")
    tmp = data.with_suffix(".tmp")
    t0 = time.perf_counter()
    with open(tmp, "wb") as out:
        subprocess.run([sys.executable, str(gen), str(records)], stdout=out,
                       check=True)
    tmp.rename(data)
    log(f"generated {data.stat().st_size / 1e6:.1f} MB in "
        f"{time.perf_counter() - t0:.1f} s")
    return data


def segment_files(data_dir):
    return sorted(glob.glob(str(data_dir / "topics" / f"{TOPIC}-0" / "*.log")))


def verify_consume(kappa, data_dir, input_path, env, timeout):
    """Runs consume once, untimed, and compares its stdout with the input.

    Returns (ok, message)."""
    argv = [kappa, "--data-dir", str(data_dir), "consume", TOPIC,
            "--from", "earliest"]
    with tempfile.TemporaryFile() as err, open(input_path, "rb") as expected:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                                env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.daemon = True
        timer.start()
        pos = 0
        mismatch = None
        while True:
            got = proc.stdout.read(CHUNK)
            if not got:
                break
            if mismatch is None:
                want = expected.read(len(got))
                if got != want:
                    n = min(len(got), len(want))
                    i = next((k for k in range(n) if got[k] != want[k]), n)
                    mismatch = pos + i
            pos += len(got)
        proc.stdout.close()
        rc = proc.wait()
        timer.cancel()
        err.seek(0)
        stderr = err.read().decode(errors="replace").strip()
        expected_size = os.fstat(expected.fileno()).st_size
    if rc != 0:
        return False, f"consume exited with {rc}: {stderr}"
    if mismatch is not None:
        return False, f"output differs from the input at byte {mismatch}"
    if pos != expected_size:
        return False, (f"output is {pos} bytes, input is {expected_size} bytes")
    return True, f"consume output is byte-identical to the input ({pos} bytes)"


def kappa_version(kappa, env):
    try:
        r = subprocess.run([kappa, "--version", "-v"], capture_output=True,
                           text=True, timeout=10, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    lines = [x.strip() for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    return " / ".join(lines[:4]) or None


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def fmt_rate(x):
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def fmt_mib(kib):
    return f"{kib / 1024:.1f} MiB"


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Benchmark kappa produce/consume against cp+sync and cat.")
    ap.add_argument("--kappa", default=str(DEFAULT_KAPPA),
                    help="kappa binary (default: %(default)s)")
    ap.add_argument("--records", type=int, default=2_000_000,
                    help="records to generate (default: %(default)s)")
    ap.add_argument("--work", default=None,
                    help="work directory, kept afterwards with the input cached "
                         "in it (default: a temporary directory under /tmp, "
                         "removed at the end)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each measurement; the best is reported "
                         "(default: %(default)s)")
    ap.add_argument("--io", choices=["posix", "uring"], default=None,
                    help="set KAPPA_IO for the kappa runs (default: unset, "
                         "kappa chooses)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds after which a kappa run is killed and the "
                         "benchmark stops with an error (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a target is missed")
    ap.add_argument("--sync", choices=["global", "file"], default="global",
                    dest="sync_mode",
                    help="baseline durability: 'global' times `cp && sync` "
                         "(the issue's definition), 'file' times "
                         "`cp && sync DEST` (fsync of the copy only, immune to "
                         "other writers on the machine) (default: %(default)s)")
    ap.add_argument("--no-prefault", action="store_true",
                    help="do not touch fresh memory before each timed command "
                         "(see prefault() for why it is done)")
    ap.add_argument("--many-partitions", type=int, default=1000, metavar="N",
                    help="partitions of the keyed many-partitions case (0 skips it; default 1000)")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip the byte-for-byte check of consume's output")
    ap.add_argument("--gen", default=str(DEFAULT_GEN),
                    help="data generator (default: %(default)s)")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="also write the results as JSON to PATH")
    ap.add_argument("--keep-data", action="store_true",
                    help="keep the last kappa data directory in the work dir")
    a = ap.parse_args(argv)
    if a.records < 1:
        ap.error("--records must be at least 1")
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    if a.many_partitions < 0 or a.many_partitions == 1:
        ap.error("--many-partitions must be 0 (skip) or at least 2")
    kappa = Path(a.kappa)
    if not kappa.is_absolute():
        kappa = (REPO_ROOT / kappa) if not kappa.exists() else kappa.resolve()
    if not (kappa.is_file() and os.access(kappa, os.X_OK)):
        ap.error(f"kappa binary not found or not executable: {kappa} "
                 "(build it with tools/bench.sh or meson compile -C build)")
    a.kappa = str(kappa)
    if not Path(a.gen).is_file():
        ap.error(f"data generator not found: {a.gen} (use --gen PATH)")
    return a


def bench(a, work):
    env = dict(os.environ)
    env.pop("KAPPA_DATA_DIR", None)
    if a.io:
        env["KAPPA_IO"] = a.io
    kappa = a.kappa

    data = generate(Path(a.gen), a.records, work)
    size = data.stat().st_size
    warm([data, kappa])
    version = kappa_version(kappa, env)

    # What the launcher itself costs, for the notes: `true` started the same way.
    floor = [run_measured(["true"], what="true") for _ in range(3)]
    floor_s = min(t for t, _, _ in floor)
    floor_kib = max(k for _, k, _ in floor)

    def settle():
        if not a.no_prefault:
            prefault(2 * size + (64 << 20))

    cp_dest = work / "cp-dest.jsonl"
    data_dir = work / "kappa-data"
    cp_cmd = ["/bin/sh", "-c",
              'cp "$1" "$2" && sync' + (' "$2"' if a.sync_mode == "file" else ""),
              "sh", str(data), str(cp_dest)]

    cp_times, prod_times, prod_rss, cat_times, cons_times, cons_rss = ([] for _ in range(6))
    prod_summary = cons_summary = ""

    # (1)+(2): durable copy vs durable produce, interleaved, fresh target each time.
    for r in range(a.repeat):
        drop_path(cp_dest)
        settle()
        t_cp, _, _ = run_measured(cp_cmd, what="cp && sync")
        cp_times.append(t_cp)
        drop_path(cp_dest)

        drop_path(data_dir)
        settle()
        with open(data, "rb") as stdin:
            t, rss, err = run_measured(
                [kappa, "--data-dir", str(data_dir), "produce", TOPIC],
                stdin=stdin, env=env, what="kappa produce", timeout=a.timeout)
        prod_times.append(t)
        prod_rss.append(rss)
        prod_summary = last_line(err)
        log(f"repeat {r + 1}/{a.repeat}: cp+sync {cp_times[-1]:.3f} s, "
            f"produce {t:.3f} s, {fmt_mib(rss)}")

    segments = segment_files(data_dir)
    if not segments:
        raise RunError(f"produce left no segment files in "
                       f"{data_dir}/topics/{TOPIC}-0/")
    seg_bytes = sum(os.path.getsize(s) for s in segments)
    warm(segments)

    # (3)+(4): read the segments vs replay the topic, page cache warm.
    for r in range(a.repeat):
        settle()
        t_cat, _, _ = run_measured(["cat", *segments], what="cat")
        cat_times.append(t_cat)
        settle()
        t, rss, err = run_measured(
            [kappa, "--data-dir", str(data_dir), "consume", TOPIC,
             "--from", "earliest"], env=env, what="kappa consume",
            timeout=a.timeout)
        cons_times.append(t)
        cons_rss.append(rss)
        cons_summary = last_line(err)
        log(f"repeat {r + 1}/{a.repeat}: cat {t_cat:.3f} s, "
            f"consume {t:.3f} s, {fmt_mib(rss)}")

    # (5) A keyed produce over many partitions against one partition: the
    # first produce into a fresh topic, then a second that appends.
    keyed = {}
    for r in range(a.repeat if a.many_partitions > 0 else 0):
        for parts in (1, a.many_partitions):
            d = work / f"kappa-keyed-{parts}"
            drop_path(d)
            subprocess.run([str(kappa), "--data-dir", str(d), "topic", "create", "keyed",
                            "--partitions", str(parts), "--config", "retention.ms=-1"],
                           env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sync_all()
            for phase in ("first", "append"):
                settle()
                with open(data, "rb") as stdin:
                    t, _, _ = run_measured(
                        [kappa, "--data-dir", str(d), "produce", "keyed", "--key-field", "user_id"],
                        stdin=stdin, env=env, what=f"kappa produce ({parts} partitions)", timeout=a.timeout)
                keyed.setdefault((parts, phase), []).append(t)
            drop_path(d)
        log(f"repeat {r + 1}/{a.repeat}: keyed produce, 1 partition "
            f"{keyed[(1, 'first')][-1]:.3f} s then {keyed[(1, 'append')][-1]:.3f} s; "
            f"{a.many_partitions} partitions {keyed[(a.many_partitions, 'first')][-1]:.3f} s "
            f"then {keyed[(a.many_partitions, 'append')][-1]:.3f} s")

    verified = None
    if not a.no_verify:
        ok, msg = verify_consume(kappa, data_dir, data, env, a.timeout)
        verified = {"ok": ok, "message": msg}
        log(("verified: " if ok else "VERIFY FAILED: ") + msg)

    if not a.keep_data:
        drop_path(data_dir)

    return {
        "kappa": kappa, "version": version, "io": a.io or "(default)",
        "records": a.records, "input_bytes": size,
        "segments": len(segments), "segment_bytes": seg_bytes,
        "repeat": a.repeat, "sync_mode": a.sync_mode,
        "cp_sync_s": min(cp_times), "produce_s": min(prod_times),
        "cat_s": min(cat_times), "consume_s": min(cons_times),
        "produce_rss_kib": max(prod_rss), "consume_rss_kib": max(cons_rss),
        "all_times": {"cp_sync": cp_times, "produce": prod_times,
                      "cat": cat_times, "consume": cons_times},
        "produce_summary": prod_summary, "consume_summary": cons_summary,
        "verify": verified, "prefault": not a.no_prefault,
        "rss_method": "own" if SUBREAPER else "includes harness",
        "launch_floor_s": floor_s, "launch_floor_rss_kib": floor_kib,
        "many_partitions": a.many_partitions,
        "keyed_s": {f"{parts}:{phase}": min(v) for (parts, phase), v in keyed.items()},
    }


def report(res):
    n, size = res["records"], res["input_bytes"]
    cp, prod, cat, cons = (res[k] for k in ("cp_sync_s", "produce_s", "cat_s", "consume_s"))

    prod_ratio, cons_ratio = prod / cp, cons / cat
    prod_rate = n / prod
    prod_ok_ratio = prod_ratio <= PRODUCE_MAX_RATIO
    prod_ok_rate = prod_rate >= PRODUCE_MIN_RATE
    cons_ok = cons_ratio <= CONSUME_MAX_RATIO
    prss_ok = res["produce_rss_kib"] <= RSS_LIMIT_KIB
    crss_ok = res["consume_rss_kib"] <= RSS_LIMIT_KIB
    verify = res["verify"]
    verify_ok = verify is None or verify["ok"]

    def yn(ok, why=None):
        return "yes" if ok else ("**NO**" + (f" ({why})" if why else ""))

    prod_why = ", ".join(w for w, bad in (("ratio", not prod_ok_ratio),
                                          ("rate", not prod_ok_rate)) if bad)
    cp_desc = "`cp FILE DEST && sync" + (" DEST`" if res["sync_mode"] == "file" else "`")
    rows = [
        (cp_desc + " (baseline)", n / cp, size / cp, cp, "", "", "", ""),
        ("`kappa produce clicks < FILE`", prod_rate, size / prod, prod,
         f"{cp:.3f}", f"{prod_ratio:.2f}×",
         f"≤ {PRODUCE_MAX_RATIO}× and ≥ {PRODUCE_MIN_RATE / 1e6:g} M rec/s",
         yn(prod_ok_ratio and prod_ok_rate, prod_why)),
        ("`cat TOPIC-0/*.log > /dev/null` (baseline)", n / cat, size / cat, cat,
         "", "", "", ""),
        ("`kappa consume clicks --from earliest > /dev/null`", n / cons,
         size / cons, cons, f"{cat:.3f}", f"{cons_ratio:.2f}×",
         f"≤ {CONSUME_MAX_RATIO:g}×", yn(cons_ok)),
    ]

    out = []
    out.append(f"## kappa log benchmark — {n} records, "
               f"{size / 1e6:.1f} MB input, best of {res['repeat']}")
    out.append("")
    out.append(f"- kappa: `{res['kappa']}`"
               + (f" — {res['version']}" if res["version"] else ""))
    out.append(f"- KAPPA_IO: {res['io']}; host: {platform.node()}, "
               f"{os.cpu_count()} CPUs, Linux {platform.release()}")
    out.append(f"- segments: {res['segments']} file(s), "
               f"{res['segment_bytes'] / 1e6:.1f} MB "
               f"({res['segment_bytes'] / size:.2f}× input)")
    out.append("")
    out.append("| command | records/s | MB/s (input bytes / s) | time s "
               "| limit (baseline) s | ratio | target | pass? |")
    out.append("|---|---:|---:|---:|---:|---:|---|---|")
    for name, rps, bps, t, lim, ratio, target, ok in rows:
        out.append(f"| {name} | {fmt_rate(rps)} | {bps / 1e6:.0f} | {t:.3f} "
                   f"| {lim} | {ratio} | {target} | {ok} |")
    out.append("")
    out.append(f"- peak RSS `kappa produce`: {fmt_mib(res['produce_rss_kib'])} "
               f"(target ≤ {fmt_mib(RSS_LIMIT_KIB)}) — pass? {yn(prss_ok)}")
    out.append(f"- peak RSS `kappa consume`: {fmt_mib(res['consume_rss_kib'])} "
               f"(target ≤ {fmt_mib(RSS_LIMIT_KIB)}) — pass? {yn(crss_ok)}")
    floor_note = (f"- method: every command above, baselines included, is timed from "
                  f"launch to exit and started the same way; `true` started so takes "
                  f"{res['launch_floor_s'] * 1e3:.1f} ms and {fmt_mib(res['launch_floor_rss_kib'])}")
    if res["prefault"]:
        floor_note += ("; before each, fresh memory of 2× the input is touched and "
                       "freed (untimed, --no-prefault to skip)")
    if res["rss_method"] != "own":
        floor_note += (" (no PR_SET_CHILD_SUBREAPER here: RSS values include "
                       "the harness's own, so they are upper bounds)")
    out.append(floor_note)
    many = res["many_partitions"]
    ks = res["keyed_s"]
    if ks:
        out.append("")
        out.append(f"Keyed produce (`--key-field user_id`), 1 partition against {many}, best of {res['repeat']}:")
        out.append("")
        out.append(f"| produce | 1 partition s | {many} partitions s | ratio | added per partition |")
        out.append("|---|---:|---:|---:|---:|")
        for phase, what in (("first", "into a new topic (creates the files)"), ("append", "appending")):
            one, lots = ks[f"1:{phase}"], ks[f"{many}:{phase}"]
            out.append(f"| {what} | {one:.3f} | {lots:.3f} | {lots / one:.1f}× "
                       f"| {(lots - one) / max(many - 1, 1) * 1e3:.2f} ms |")
        out.append("")
    if verify is not None:
        out.append(f"- consume output check: {verify['message']} — "
                   f"pass? {yn(verify['ok'])}")
    if res["produce_summary"]:
        out.append(f"- produce said: `{res['produce_summary']}`")
    if res["consume_summary"]:
        out.append(f"- consume said: `{res['consume_summary']}`")
    t = res["all_times"]
    out.append("- all runs (s): " + "; ".join(
        f"{k} " + ", ".join(f"{x:.3f}" for x in v) for k, v in t.items()))
    print("\n".join(out), flush=True)

    res["targets"] = {
        "produce_ratio": {"value": prod_ratio, "max": PRODUCE_MAX_RATIO, "pass": prod_ok_ratio},
        "produce_rate": {"value": prod_rate, "min": PRODUCE_MIN_RATE, "pass": prod_ok_rate},
        "consume_ratio": {"value": cons_ratio, "max": CONSUME_MAX_RATIO, "pass": cons_ok},
        "produce_rss_kib": {"value": res["produce_rss_kib"], "max": RSS_LIMIT_KIB, "pass": prss_ok},
        "consume_rss_kib": {"value": res["consume_rss_kib"], "max": RSS_LIMIT_KIB, "pass": crss_ok},
        "consume_output": {"pass": verify_ok},
    }
    return all(v["pass"] for v in res["targets"].values())


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    temp = a.work is None
    work = Path(tempfile.mkdtemp(prefix="kappa-bench-", dir="/tmp")) if temp \
        else Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        try:
            res = bench(a, work)
        except RunError as e:
            print(f"log_bench: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("log_bench: interrupted", file=sys.stderr)
            return 130
        all_pass = report(res)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=2)
        if a.check and not all_pass:
            print("log_bench: a target was missed (--check)", file=sys.stderr)
            return 1
        return 0
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)
        else:
            for leftover in (work / "cp-dest.jsonl",
                             work / f"clicks-{a.records}.tmp"):
                if leftover.exists():
                    leftover.unlink()
            if not a.keep_data:
                shutil.rmtree(work / "kappa-data", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
