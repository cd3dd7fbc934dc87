#!/usr/bin/env python3
"""Consumer groups: commit/resume, describe lag, reset, list, delete."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import LineReader, check, run_tests, short, stop  # noqa: E402

BASE = 1_660_000_000_000


def entries(obj, topic, ctx=None):
    """All dicts carrying 'committed_offset' for `topic` anywhere in a JSON document;
    the topic may be a field of the entry ("topic"), of an enclosing topic object
    ("topic" or "name" next to "partitions"), or a dict key."""
    out = []
    if isinstance(obj, dict):
        t = ctx
        if isinstance(obj.get("topic"), str):
            t = obj["topic"]
        elif isinstance(obj.get("name"), str) and "partitions" in obj:
            t = obj["name"]
        if "committed_offset" in obj and t == topic:
            out.append(obj)
        for key, v in obj.items():
            out += entries(v, topic, key if key == topic else t)
    elif isinstance(obj, list):
        for v in obj:
            out += entries(v, topic, ctx)
    return out


def group_json(k, g):
    r = k.ok("group", "describe", g, "--json")
    try:
        return json.loads(r.out)
    except ValueError as e:
        raise AssertionError("group describe --json is not JSON (%s): %s" % (e, short(r.out)))


def part_entry(k, g, topic, partition=0):
    es = [e for e in entries(group_json(k, g), topic) if e.get("partition") == partition]
    check(len(es) == 1, "group describe --json: want one entry for %s/%d, got %r"
          % (topic, partition, es))
    return es[0]


def produce_n(k, topic, n, start=0):
    lines = ['{"ts":%d,"i":%d}' % (BASE + 1000 * i, i) for i in range(start, start + n)]
    k.produce(topic, lines, "--timestamp-field", "ts")
    return [x.encode() for x in lines]


def test_group_commit_and_resume_without_loss_or_dup(k):
    recs = produce_n(k, "g", 10)
    a = k.values("g", "--group", "grp", "--count", "4")
    b = k.values("g", "--group", "grp", "--count", "4")
    c = k.values("g", "--group", "grp")
    d = k.values("g", "--group", "grp")
    check(a == recs[:4], "first --count 4: %r" % a)
    check(b == recs[4:8], "second --count 4 should resume at 4: %r" % b)
    check(c == recs[8:], "third run should print the rest: %r" % c)
    check(d == [], "fourth run should print nothing: %r" % d)
    more = produce_n(k, "g", 3, start=10)
    check(k.values("g", "--group", "grp") == more, "new records after catching up")
    # another group is independent
    check(k.values("g", "--group", "other", "--count", "2") == recs[:2], "second group")


def test_group_describe_lag(k):
    produce_n(k, "lag", 10)
    k.values("lag", "--group", "lg", "--count", "4")
    e = part_entry(k, "lg", "lag")
    check(e["committed_offset"] == 4, "committed_offset %r, want 4" % e)
    check(e["log_end_offset"] == 10, "log_end_offset %r, want 10" % e)
    check(e["lag"] == 6, "lag %r, want 6" % e)
    time_keys = [key for key in e if "lag" in key and key != "lag"]
    check(time_keys, "no lag-in-time field next to 'lag': %r" % e)
    tk = time_keys[0]
    # the unconsumed records are from 2022: behind by years
    check(isinstance(e[tk], int) and e[tk] >= 5000, "%s = %r while 6 records behind" % (tk, e[tk]))
    r = k.ok("group", "describe", "lg")
    check("lag" in r.text and "6" in r.text, "plain describe lacks the lag: %s" % short(r.out))
    k.values("lag", "--group", "lg")
    e = part_entry(k, "lg", "lag")
    check(e["committed_offset"] == 10 and e["lag"] == 0, "after catching up: %r" % e)
    check(e[tk] == 0, "%s = %r with no lag" % (tk, e[tk]))


def test_group_list_and_delete(k):
    produce_n(k, "gl", 5)
    k.values("gl", "--group", "alpha", "--count", "2")
    k.values("gl", "--group", "beta", "--count", "3")
    r = k.ok("group", "list")
    names = r.text.split()
    check("alpha" in names and "beta" in names, "group list: %r" % r.text)
    k.ok("group", "delete", "alpha")
    names = k.ok("group", "list").text.split()
    check("alpha" not in names and "beta" in names, "after delete: %r" % names)
    # a deleted group starts again from --from (default earliest)
    check(len(k.values("gl", "--group", "alpha")) == 5, "deleted group should restart at 0")
    check(k.values("gl", "--group", "beta") == k.values("gl")[3:], "beta unaffected")


def test_group_reset(k):
    recs = produce_n(k, "rs", 10)
    k.values("rs", "--group", "rg")                       # all consumed
    k.ok("group", "reset", "rg", "--topic", "rs", "--to", "earliest")
    check(k.values("rs", "--group", "rg", "--count", "2") == recs[:2], "reset to earliest")
    k.ok("group", "reset", "rg", "--topic", "rs", "--to", "6")
    check(part_entry(k, "rg", "rs")["committed_offset"] == 6, "reset --to 6 not shown")
    check(k.values("rs", "--group", "rg") == recs[6:], "reset to 6")
    k.ok("group", "reset", "rg", "--topic", "rs", "--to", "@%d" % (BASE + 2500))
    check(k.values("rs", "--group", "rg", "--count", "1") == recs[3:4], "reset to @ts")
    k.ok("group", "reset", "rg", "--topic", "rs", "--to", "latest")
    check(k.values("rs", "--group", "rg") == [], "reset to latest")
    e = part_entry(k, "rg", "rs")
    check(e["committed_offset"] == 10 and e["lag"] == 0, "after reset to latest: %r" % e)
    # reset for a group that never consumed sets a position too
    k.ok("group", "reset", "fresh", "--topic", "rs", "--to", "8")
    check(k.values("rs", "--group", "fresh") == recs[8:], "reset of a new group")


def test_group_ignores_from_once_committed(k):
    recs = produce_n(k, "gf", 6)
    check(k.values("gf", "--group", "nf", "--from", "latest") == [], "new group --from latest")
    more = produce_n(k, "gf", 2, start=6)
    check(k.values("gf", "--group", "nf", "--from", "earliest") == more,
          "committed offsets must win over --from")
    check(k.values("gf", "--group", "n2", "--from", "4") == recs[4:] + more,
          "new group --from 4")


def test_group_follow_commits_at_exit(k):
    recs = produce_n(k, "gx", 10)
    f = k.spawn("consume", "gx", "--group", "fg", "--follow", stdin=subprocess.DEVNULL)
    lr = LineReader(f.stdout)
    first = lr.collect(10, 10)
    check(first == recs, "follow with group printed %r" % first[:3])
    stop(f, signal.SIGINT)
    rest = [item[1].rstrip(b"\n") for item in iter(lambda: lr.get(1), None) if item[1]]
    check(rest == [], "printed after SIGINT: %r" % rest)
    e = part_entry(k, "fg", "gx")
    check(e["committed_offset"] == 10, "SIGINT exit should commit what was printed: %r" % e)
    more = produce_n(k, "gx", 3, start=10)
    check(k.values("gx", "--group", "fg") == more, "resume after SIGINT")


def test_group_kill9_never_loses(k):
    recs = produce_n(k, "gk", 20)
    f = k.spawn("consume", "gk", "--group", "kg", "--follow", stdin=subprocess.DEVNULL)
    lr = LineReader(f.stdout)
    first = lr.collect(20, 10)
    check(first == recs, "first run printed %d records" % len(first))
    time.sleep(0.2)
    f.kill()
    f.wait()
    second = k.values("gk", "--group", "kg")
    # at-least-once after kill -9: the second run is a suffix of the log (no loss, no reorder)
    check(second == recs[len(recs) - len(second):],
          "after kill -9, resume must continue from a committed offset <= printed: %r" % second[:3])


def test_group_describe_survives_a_deleted_topic(k):
    produce_n(k, "gone", 3)
    k.values("gone", "--group", "gd")
    k.ok("topic", "delete", "gone")
    e = part_entry(k, "gd", "gone")
    check(e["committed_offset"] == 3, "committed offset kept after topic delete: %r" % e)
    check(e["log_end_offset"] == -1 and e["lag"] == 0, "a deleted topic has no end and no lag: %r" % e)


if __name__ == "__main__":
    run_tests(globals())
