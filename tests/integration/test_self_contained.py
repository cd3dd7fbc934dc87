#!/usr/bin/env python3
"""A fresh clone runs on its own: nothing in the repository reaches outside it.

The workspace this project grew in keeps reference material in a folder beside the
repository; a user's clone has no such folder. So no tracked file may name it, and the
project's own click generator (tools/gen_clicks.py), which tests, benchmarks, the demo
and the README use instead, must work with the flags they pass.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import GEN_CLICKS, REPO, check, gen_clicks, run_tests  # noqa: E402

SIBLING = "sha" + "red"  # spelled in two pieces so this file does not match itself
# The folder named relative to the repository ("../" + SIBLING), or a path built
# from the parent folder and SIBLING as a quoted string (Path / or os.path.join).
OUTSIDE = re.compile(r"\.\./%s\b|[\"']%s[\"']" % (SIBLING, SIBLING))


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True).stdout
        return [os.path.join(REPO, p) for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk it
        files = []
        for dp, dns, fns in os.walk(REPO):
            dns[:] = [d for d in dns if d != ".git" and not d.startswith("build")]
            files += [os.path.join(dp, f) for f in fns]
        return files


def test_no_file_reaches_outside_the_repository(_k):
    files = tracked_files()
    check(len(files) > 50, "found only %d files under %s" % (len(files), REPO))
    hits = []
    for path in files:
        try:
            text = open(path, "rb").read().decode("utf-8", "replace")
        except OSError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append("%s:%d: %s" % (os.path.relpath(path, REPO), n, line.strip()))
    check(not hits, "files refer to a folder beside the repository, which a fresh clone "
          "does not have; use the project's own files instead:\n  " + "\n  ".join(hits))


def test_the_harness_uses_the_projects_generator(_k):
    check(os.path.realpath(GEN_CLICKS) == os.path.realpath(os.path.join(REPO, "tools", "gen_clicks.py")),
          "tests generate clicks with %s, not tools/gen_clicks.py" % GEN_CLICKS)


def test_generator_fields_flags_and_determinism(_k):
    lines = gen_clicks(3000, "--users", 50, "--seed", 3, "--jitter-ms", 5000, "--late-frac", 0.01,
                       "--start-ms", 1_600_000_000_000, "--rate", 100)
    check(len(lines) == 3000, "asked for 3000 events, got %d" % len(lines))
    events = [json.loads(l) for l in lines]
    check(all(list(e) == ["user_id", "product_id", "event_type", "timestamp_ms"] for e in events),
          "fields differ from user_id, product_id, event_type, timestamp_ms: %r" % events[0])
    users = {e["user_id"] for e in events}
    check(users <= {"u%d" % i for i in range(50)} and len(users) > 20, "users: %r" % sorted(users)[:5])
    check({e["event_type"] for e in events} == {"view", "add_to_cart", "purchase"}, "event types")
    # Event time advances 10 ms per event at --rate 100; jitter moves an event back
    # by at most 5 s, and 1 % are one to four hours late.
    late = 0
    for i, e in enumerate(events):
        nominal = 1_600_000_000_000 + 10 * (i + 1)
        behind = nominal - e["timestamp_ms"]
        check(0 <= behind <= 4 * 3_600_000, "event %d is %d ms behind" % (i, behind))
        late += behind >= 3_600_000
    check(5 <= late <= 80, "%d of 3000 events are hours late, expected about 30" % late)
    check(sum(1 for i in range(len(events) - 1)
              if events[i + 1]["timestamp_ms"] < events[i]["timestamp_ms"]) > 100,
          "hardly any event arrives out of order")
    again = gen_clicks(3000, "--users", 50, "--seed", 3, "--jitter-ms", 5000, "--late-frac", 0.01,
                       "--start-ms", 1_600_000_000_000, "--rate", 100)
    check(again == lines, "the same arguments gave different output")
    check(gen_clicks(3000, "--users", 50, "--seed", 4) != lines, "another seed gave the same output")


def test_generator_refuses_bad_arguments(_k):
    p = subprocess.run([sys.executable, GEN_CLICKS, "10", "--users", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(p.returncode == 2 and b"--users" in p.stderr, "--users 0: exit %d, %r" % (p.returncode, p.stderr))


if __name__ == "__main__":
    run_tests(globals())
