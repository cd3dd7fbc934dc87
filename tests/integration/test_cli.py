#!/usr/bin/env python3
"""Command line: usage errors exit 2, --help everywhere exits 0, data-dir resolution."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short  # noqa: E402

CORE_VERBS = [
    [], ["topic"], ["topic", "create"], ["topic", "list"], ["topic", "describe"],
    ["topic", "alter"], ["topic", "delete"], ["produce"], ["consume"], ["group"],
    ["group", "list"], ["group", "describe"], ["group", "reset"], ["group", "delete"],
    ["verify"], ["dump"],
]
# Verbs of later milestones (maintain, config, sessionize, job, compare, alias)
# get their --help tests with their issues.


def help_ok(k, verbs):
    for v in verbs:
        r = k.run(*(v + ["--help"]))
        check(r.rc == 0, "`kappa %s --help` exit %s: %s" % (" ".join(v), r.rc, short(r.err)))
        check(len(r.out.strip()) > 20, "`kappa %s --help` printed no help on stdout"
              % " ".join(v))
        if v:
            check(v[-1] in r.text, "`kappa %s --help` does not mention %r (verb not implemented?)"
                  % (" ".join(v), v[-1]))
    check(not os.path.exists(k.data), "--help created the data dir")


def test_help_on_core_verbs(k):
    help_ok(k, CORE_VERBS)
    r = k.run("consume", "--help")
    for flag in ("--from", "--partition", "--group", "--count", "--follow", "--json",
                 "--skip-corrupt"):
        check(flag in r.text, "consume --help does not document %s" % flag)
    r = k.run("produce", "--help")
    for flag in ("-K", "--key-field", "--timestamp-field", "--partition", "-Z", "--on-error",
                 "--linger-ms", "--no-create"):
        check(flag in r.text, "produce --help does not document %s" % flag)


USAGE_ERRORS = [
    ["frobnicate"],
    ["produce"],
    ["produce", "t", "--bogus-flag"],
    ["produce", "t", "--partition", "x"],
    ["produce", "t", "--partition", "-1"],
    ["produce", "t", "--on-error", "explode"],
    ["produce", "t", "--on-error", "dead-letter:"],
    ["produce", "t", "--linger-ms", "soon"],
    ["produce", "t", "-K"],
    ["consume"],
    ["consume", "t", "--bogus-flag"],
    ["consume", "t", "--from", "banana"],
    ["consume", "t", "--from", "@notanumber"],
    ["consume", "t", "--from", "12abc"],
    ["consume", "t", "--partition", "abc"],
    ["consume", "t", "--partition", "-1"],
    ["consume", "t", "--count", "many"],
    ["consume", "t", "--count", "-3"],
    ["topic", "create"],
    ["topic", "create", "n", "--partitions", "0"],
    ["topic", "create", "n", "--partitions", "two"],
    ["topic", "create", "n", "--config", "novalue"],
    ["topic", "create", "n", "--config", "segment.bytes=abc"],
    ["topic", "create", "n", "--config", "cleanup.policy=shred"],
    ["topic", "bogus"],
    ["group", "reset", "g", "--topic", "t", "--to", "sideways"],
    ["group", "reset", "g", "--topic", "t"],
    ["group", "describe"],
    ["dump"],
]


def test_usage_errors_exit_2(k):
    k.produce("t", ["existing"])
    for args in USAGE_ERRORS:
        r = k.run(*args, input=b"line\n")
        check(r.rc == 2, "`kappa %s` should be a usage error (exit 2): rc=%s stderr=%s"
              % (" ".join(args), r.rc, short(r.err)))
        check(r.err.strip(), "`kappa %s`: no message on stderr" % " ".join(args))
    check(k.values("t") == [b"existing"], "a refused produce wrote records")
    names = k.ok("topic", "list").text.split()
    check("n" not in names, "a refused topic create made topic 'n'")


def test_usage_error_on_new_topic_creates_nothing(k):
    r = k.run("produce", "fresh", "--bogus", input=b"x\n")
    check(r.rc == 2, "rc %s" % r.rc)
    check(not os.path.exists(k.pdir("fresh")), "refused produce created the partition")


def test_data_dir_before_or_after_verb(k):
    r = k.run("produce", "dd", "--data-dir", k.data, input=b"after-verb\n", data_dir=False)
    check(r.rc == 0, "--data-dir after the verb: %s" % r.describe())
    check(k.values("dd") == [b"after-verb"], "--data-dir after verb wrote elsewhere")
    r = k.run("consume", "dd", "--data-dir", k.data, data_dir=False)
    check(r.lines == [b"after-verb"], "consume with --data-dir after the verb")


def test_data_dir_from_env_and_default(k):
    env_dir = os.path.join(k.root, "from-env")
    env = dict(os.environ, KAPPA_DATA_DIR=env_dir)
    k.run("produce", "e", input=b"env\n", data_dir=False, env=env).expect(0)
    check(os.path.isdir(os.path.join(env_dir, "topics", "e-0")),
          "$KAPPA_DATA_DIR not used: %r" % os.listdir(k.root))
    check(os.path.isdir(os.path.join(env_dir, "meta")), "no meta/ in the data dir")
    env = dict(os.environ)
    env.pop("KAPPA_DATA_DIR", None)
    cwd = os.path.join(k.root, "cwd")
    os.mkdir(cwd)
    k.run("produce", "d", input=b"default\n", data_dir=False, env=env, cwd=cwd).expect(0)
    check(os.path.isdir(os.path.join(cwd, "kappa-data", "topics", "d-0")),
          "default ./kappa-data not used")
    r = k.run("consume", "d", data_dir=False, env=env, cwd=cwd)
    check(r.lines == [b"default"], "consume from ./kappa-data")


def test_errors_name_the_thing_without_crashing(k):
    r = k.run("dump", os.path.join(k.root, "nope.log"))
    check(r.rc == 1 and "nope.log" in r.errtext, "dump of a missing file: %s" % r.describe())
    bogus = os.path.join(k.root, "00000000000000000000.log")
    with open(bogus, "wb") as f:
        f.write(b"this is not a kafka log segment at all" * 3)
    r = k.run("dump", bogus)
    both = (r.text + r.errtext).lower()
    check(r.rc in (0, 1) and any(w in both for w in ("invalid", "incomplete", "corrupt", "torn",
                                                     "bad", "position 0")),
          "dump of garbage must say the bytes are not a valid batch: %s" % r.describe())
    r = k.run("group", "describe", "no-such-group")
    check(r.rc in (0, 1), "describe of an unknown group: %s" % r.describe())


if __name__ == "__main__":
    run_tests(globals())
