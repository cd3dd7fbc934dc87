"""Tiny shared helpers for kappa's integration tests (standard library only).

Every test function takes one argument, a `Kappa` bound to a fresh temporary data
directory (not yet created), and raises AssertionError (via `check`) on failure.
`run_tests(globals())` runs a script's `test_*` functions in file order, prints
"ok NAME" / "FAIL NAME: reason" per test and exits 1 if any failed.

Environment:
  KAPPA_BIN   the binary under test (default /work/main/build/kappa)
  KAPPA_IO    uring|posix, inherited by every kappa process
  KAPPA_TEST_KEEP=1  keep the temp dirs of failed tests (their path is printed)
  KAPPA_TEST_ONLY=name[,name]  run only these tests
  KAPPA_TEST_TIMES=1 print each passing test's duration
  KAPPA_TEST_TIMEOUT=S  per-command timeout in seconds (default 20)
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KAPPA_BIN = os.environ.get("KAPPA_BIN", os.path.join(REPO, "build", "kappa"))
# The project's own click generator (tools/gen_clicks.py).
GEN_CLICKS = os.environ.get("KAPPA_GEN_CLICKS", os.path.join(REPO, "tools", "gen_clicks.py"))
DEFAULT_TIMEOUT = float(os.environ.get("KAPPA_TEST_TIMEOUT", "20"))

if HERE not in sys.path:
    sys.path.insert(0, HERE)

# Signs that the process crashed instead of reporting an error.
_CRASH_MARKERS = [
    re.compile(rb"AddressSanitizer|LeakSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer"),
    re.compile(rb"\.(?:cc|cpp|cxx|h|hpp):\d+:\d+: runtime error:"),
    re.compile(rb"terminate called"),
    re.compile(rb"Traceback \(most recent call last\)"),
]


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def short(b, n=300):
    """Printable, shortened bytes/str for failure messages."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "backslashreplace")
    b = b.replace("\n", "\\n")
    return b if len(b) <= n else b[:n] + "...(%d chars)" % len(b)


class Result:
    def __init__(self, args, rc, out, err, elapsed):
        self.args = args
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed

    @property
    def lines(self):
        """stdout split into lines (bytes, without the '\\n')."""
        if not self.out:
            return []
        parts = self.out.split(b"\n")
        if parts[-1] == b"":
            parts.pop()
        return parts

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def errtext(self):
        return self.err.decode("utf-8", "replace")

    def describe(self):
        return "`kappa %s` -> rc=%s, stdout=%s, stderr=%s" % (
            " ".join(self.args), self.rc, short(self.out, 200), short(self.err, 400))

    def expect(self, rc, what=""):
        check(self.rc == rc, "%sexpected exit %s: %s" % (what + ": " if what else "", rc,
                                                          self.describe()))
        return self


def check_no_crash(args, rc, err):
    check(rc is None or rc >= 0, "`kappa %s` killed by signal %d; stderr=%s"
          % (" ".join(args), -rc if rc else 0, short(err, 600)))
    for m in _CRASH_MARKERS:
        check(not m.search(err or b""), "`kappa %s` crashed: %s" % (" ".join(args), short(err, 800)))


class Kappa:
    """A kappa binary bound to one temporary data directory."""

    def __init__(self, root):
        self.root = root                              # temp dir owned by this test
        self.data = os.path.join(root, "data")        # --data-dir (created by kappa)
        self.bin = KAPPA_BIN
        self.procs = []

    # ---- processes
    def cmd(self, args, data_dir=True):
        return [self.bin] + (["--data-dir", self.data] if data_dir else []) + list(args)

    def run(self, *args, input=b"", timeout=DEFAULT_TIMEOUT, data_dir=True, env=None, cwd=None):
        args = [str(a) for a in args]
        if isinstance(input, str):
            input = input.encode()
        t0 = time.monotonic()
        try:
            p = subprocess.run(self.cmd(args, data_dir), input=input, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout, env=env,
                               cwd=cwd or self.root)
        except subprocess.TimeoutExpired as e:
            raise TestFailure("`kappa %s` did not finish in %ss; stderr=%s"
                              % (" ".join(args), timeout, short(e.stderr or b"")))
        r = Result(args, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
        check_no_crash(args, p.returncode, p.stderr)
        return r

    def ok(self, *args, **kw):
        return self.run(*args, **kw).expect(0)

    def spawn(self, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE):
        """Start kappa in the background; killed at the end of the test."""
        p = subprocess.Popen(self.cmd([str(a) for a in args]), stdin=stdin, stdout=stdout,
                             stderr=stderr, cwd=self.root)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdin, p.stdout, p.stderr):
                try:
                    if f:
                        f.close()
                except OSError:
                    pass

    # ---- verbs
    def produce(self, topic, lines, *extra, rc=0, timeout=DEFAULT_TIMEOUT):
        """Produce `lines` (list of bytes/str joined with '\\n' plus a final '\\n', or raw
        bytes used as-is).  Checks the exit code when rc is not None."""
        r = self.run("produce", topic, *extra, input=to_stdin(lines), timeout=timeout)
        if rc is not None:
            r.expect(rc, "produce")
        return r

    def consume(self, topic, *extra, rc=0, timeout=DEFAULT_TIMEOUT):
        r = self.run("consume", topic, *extra, timeout=timeout)
        if rc is not None:
            r.expect(rc, "consume")
        return r

    def values(self, topic, *extra):
        return self.consume(topic, *extra).lines

    def offsets_values(self, topic, *extra):
        """[(offset, value)] via -f '%o %s\\n'."""
        out = []
        for ln in self.consume(topic, "-f", r"%o %s\n", *extra).lines:
            o, _, v = ln.partition(b" ")
            out.append((int(o), v))
        return out

    def create(self, topic, *extra):
        return self.ok("topic", "create", topic, *extra)

    def describe(self, topic):
        r = self.ok("topic", "describe", topic, "--json")
        try:
            return json.loads(r.out)
        except ValueError as e:
            raise TestFailure("topic describe --json is not JSON (%s): %s" % (e, short(r.out)))

    # ---- files
    def pdir(self, topic, partition=0):
        return os.path.join(self.data, "topics", "%s-%d" % (topic, partition))

    def logs(self, topic, partition=0):
        """Sorted paths of the partition's .log files."""
        d = self.pdir(topic, partition)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".log"))

    def reader_check(self, topic, partition=0, **kw):
        import kafka_reader
        return kafka_reader.check_partition(self.pdir(topic, partition), **kw)


def to_stdin(lines):
    if isinstance(lines, (bytes, bytearray)):
        return bytes(lines)
    if isinstance(lines, str):
        return lines.encode()
    bl = [l.encode() if isinstance(l, str) else l for l in lines]
    return b"".join(l + b"\n" for l in bl)


def b(s):
    return s.encode() if isinstance(s, str) else s


def tree(path):
    """Set of all paths (relative) under path, or None if it does not exist."""
    if not os.path.exists(path):
        return None
    out = set()
    for dp, dns, fns in os.walk(path):
        for n in dns + fns:
            out.add(os.path.relpath(os.path.join(dp, n), path))
    return out


def gen_clicks(n, *extra):
    p = subprocess.run([sys.executable, GEN_CLICKS, str(n)] + [str(e) for e in extra],
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.split(b"\n")[:-1]


class LineReader:
    """Reads a pipe line by line in a thread; lines land in a queue with arrival times."""

    def __init__(self, pipe):
        self.q = queue.Queue()
        self.pipe = pipe
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            for line in iter(self.pipe.readline, b""):
                self.q.put((time.monotonic(), line))
        except (ValueError, OSError):
            pass
        self.q.put((time.monotonic(), None))

    def get(self, timeout):
        """-> (arrival_time, line bytes incl. '\\n') or None on timeout; line None = EOF."""
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def collect(self, n, timeout):
        """Up to n lines (without '\\n') within timeout seconds."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            item = self.get(max(0.0, deadline - time.monotonic()))
            if item is None or item[1] is None:
                break
            out.append(item[1].rstrip(b"\n"))
        return out


def feed(p, data, close=False):
    """Write to a spawned process's stdin; a dead process becomes a test failure."""
    try:
        if data:
            p.stdin.write(data)
            p.stdin.flush()
        if close:
            p.stdin.close()
    except (BrokenPipeError, ValueError):
        rc = p.poll()
        err = b""
        if rc is not None and p.stderr:
            try:
                err = p.stderr.read()
            except (OSError, ValueError):
                pass
        raise TestFailure("kappa (pid %d) stopped reading stdin (exit %s): %s"
                          % (p.pid, rc, short(err)))


def stop(p, sig=signal.SIGINT, timeout=10):
    """Send sig, wait; returns the exit code."""
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise TestFailure("process %d did not exit %ss after signal %d" % (p.pid, timeout, sig))


def run_tests(namespace):
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    only = os.environ.get("KAPPA_TEST_ONLY")
    if only:
        wanted = set(only.split(","))
        tests = [(n, f) for n, f in tests if n in wanted or n[5:] in wanted]
    try:
        subprocess.run([KAPPA_BIN, "--version"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        print("FAIL setup: cannot run kappa binary %s (set KAPPA_BIN): %s" % (KAPPA_BIN, e))
        sys.exit(1)
    failed = 0
    for name, fn in tests:
        root = tempfile.mkdtemp(prefix="kappa-it-%s-" % name[5:])
        k = Kappa(root)
        t0 = time.monotonic()
        ok = False
        try:
            fn(k)
            ok = True
            if os.environ.get("KAPPA_TEST_TIMES"):
                print("ok %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            else:
                print("ok %s" % name, flush=True)
        except TestFailure as e:
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001 - a test bug is still a failure
            tb = traceback.format_exc().strip().splitlines()
            print("FAIL %s: %s: %s [%s]" % (name, type(e).__name__, e, " | ".join(tb[-3:])),
                  flush=True)
        finally:
            k.cleanup()
            if not ok:
                failed += 1
            if ok or not os.environ.get("KAPPA_TEST_KEEP"):
                shutil.rmtree(root, ignore_errors=True)
            else:
                print("  (kept %s)" % root)
    sys.exit(1 if failed else 0)
