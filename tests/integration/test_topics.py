#!/usr/bin/env python3
"""Topic admin: create/list/describe/alter/delete (+ --json), auto-create, --no-create,
topic-name rules enforced before anything touches the file system."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short, tree  # noqa: E402


def listed(k, json_mode=False):
    if not json_mode:
        r = k.ok("topic", "list")
        return [ln.split()[0] for ln in r.text.splitlines() if ln.strip()]
    r = k.ok("topic", "list", "--json")
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        raise AssertionError("topic list --json is not JSON (%s): %s" % (e, short(r.out)))
    if isinstance(doc, dict):
        doc = doc.get("topics", doc)
    names = []
    for x in doc:
        names.append(x if isinstance(x, str) else x.get("name", x.get("topic")))
    return names


def test_create_list_describe(k):
    k.create("orders", "--partitions", "3", "--config", "segment.bytes=4096",
             "--config", "retention.ms=-1")
    k.create("audit.log_v2-x")
    check(sorted(listed(k)) == ["audit.log_v2-x", "orders"], "topic list: %r" % listed(k))
    check(sorted(listed(k, True)) == ["audit.log_v2-x", "orders"], "topic list --json: %r"
          % listed(k, True))
    d = k.describe("orders")
    check(d["name"] == "orders", "name %r" % d.get("name"))
    cfg = d["config"]
    check(str(cfg.get("segment.bytes")) == "4096", "segment.bytes %r" % cfg.get("segment.bytes"))
    check(str(cfg.get("retention.ms")) == "-1", "retention.ms %r" % cfg.get("retention.ms"))
    check([p["partition"] for p in d["partitions"]] == [0, 1, 2], "partitions %r"
          % d["partitions"])
    for p in d["partitions"]:
        check(p["log_start_offset"] == 0 and p["log_end_offset"] == 0,
              "empty partition offsets %r" % p)
        for f in ("segments", "bytes", "oldest_timestamp", "newest_timestamp"):
            check(f in p, "partition entry lacks %r: %r" % (f, p))
    r = k.ok("topic", "describe", "orders")
    check("orders" in r.text and "segment.bytes" in r.text, "plain describe: %s" % short(r.out))


def test_default_configs(k):
    k.create("defaults")
    cfg = k.describe("defaults")["config"]
    want = {"segment.bytes": "1073741824", "retention.ms": "604800000",
            "retention.bytes": "-1", "cleanup.policy": "delete"}
    for key, v in want.items():
        check(str(cfg.get(key)) == v, "default %s = %r, want %s" % (key, cfg.get(key), v))
    for key in ("segment.ms", "delete.retention.ms", "min.compaction.lag.ms",
                "min.cleanable.dirty.ratio", "max.message.bytes"):
        check(key in cfg, "describe --json config lacks effective %r: %r" % (key, sorted(cfg)))


def test_alter(k):
    k.create("alt")
    k.ok("topic", "alter", "alt", "--config", "retention.ms=1234")
    check(str(k.describe("alt")["config"]["retention.ms"]) == "1234", "alter retention.ms")
    k.ok("topic", "alter", "alt", "--config", "segment.bytes=4096")
    for piece in range(4):
        k.produce("alt", [("a%d-%03d-" % (piece, i) + "y" * 60) for i in range(50)])
    check(len(k.logs("alt")) >= 2, "altered segment.bytes not applied to later appends")
    r = k.run("topic", "alter", "nosuch", "--config", "retention.ms=1")
    check(r.rc in (1, 2) and "nosuch" in r.errtext, "alter of a missing topic: %s" % r.describe())
    r = k.run("topic", "alter", "alt", "--config", "retention.ms=soon")
    check(r.rc == 2, "alter with a bad value should be a usage error: %s" % r.describe())
    check(str(k.describe("alt")["config"]["retention.ms"]) == "1234", "bad alter changed config")


def test_delete(k):
    k.produce("gone", ["1", "2", "3"])
    k.produce("kept", ["k"])
    check(os.path.isdir(k.pdir("gone")), "setup: partition dir missing")
    k.ok("topic", "delete", "gone")
    check("gone" not in listed(k), "deleted topic still listed")
    check(not os.path.exists(k.pdir("gone")), "partition directory left behind")
    r = k.run("consume", "gone")
    check(r.rc == 1 and "gone" in r.errtext, "consume of a deleted topic: %s" % r.describe())
    check(k.values("kept") == [b"k"], "other topic damaged")
    k.produce("gone", ["fresh"])
    check(k.offsets_values("gone") == [(0, b"fresh")], "recreated topic must start empty at 0")
    r = k.run("topic", "delete", "never-was")
    check(r.rc == 1 and "never-was" in r.errtext, "delete of a missing topic: %s" % r.describe())


def test_create_existing_refused(k):
    k.create("dup", "--partitions", "2")
    r = k.run("topic", "create", "dup")
    check(r.rc in (1, 2) and "dup" in r.errtext, "second create: %s" % r.describe())
    check(len(k.describe("dup")["partitions"]) == 2, "second create changed the topic")


def test_auto_create_and_no_create(k):
    k.produce("auto", ["x"])
    check("auto" in listed(k), "produce did not auto-create the topic")
    d = k.describe("auto")
    check(len(d["partitions"]) == 1, "auto-created partitions %r" % d["partitions"])
    check(str(d["config"].get("segment.bytes")) == "1073741824", "auto-create defaults")
    r = k.run("produce", "manual", "--no-create", input=b"y\n")
    check(r.rc == 1, "--no-create on a missing topic should exit 1: %s" % r.describe())
    check("manual" in r.errtext, "message should name the topic: %r" % r.errtext)
    check("manual" not in listed(k), "--no-create created the topic")
    check(not os.path.exists(k.pdir("manual")), "--no-create made a partition directory")
    k.create("manual")
    k.produce("manual", ["ok"], "--no-create")
    check(k.values("manual") == [b"ok"], "--no-create on an existing topic")


def test_describe_missing_topic(k):
    k.create("exists")
    r = k.run("topic", "describe", "missing-one", "--json")
    check(r.rc == 1 and "missing-one" in r.errtext, "describe missing: %s" % r.describe())
    r = k.run("consume", "missing-two")
    check(r.rc == 1 and "missing-two" in r.errtext, "consume missing: %s" % r.describe())
    check("missing-two" not in listed(k), "consume created a topic")


BAD_NAMES = ["", ".", "..", "a/b", "../escape", "..\\x", "/abs", "sp ace", "tab\tname",
             "x" * 250, "caf\u00e9", "semi;colon", "star*", "new\nline", "dollar$"]


def rule_in(err):
    return any(s in err for s in ("249", "A-Z", "a-z", "[", "letters", "'.'", '"."', ".."))


def test_invalid_names_refused_without_touching_disk(k):
    # 1: fresh: the data dir must not even be created
    for name in BAD_NAMES:
        for args in (["topic", "create", name], ["produce", name], ["consume", name],
                     ["topic", "describe", name], ["topic", "delete", name]):
            before = tree(k.root)
            r = k.run(*args, input=b"v\n")
            check(r.rc in (1, 2), "%r accepted by %s: %s" % (name, args[:2], r.describe()))
            check(r.errtext.strip(), "%r: no message on stderr" % name)
            if args[0] == "topic" and args[1] == "create" or args[0] == "produce":
                check(rule_in(r.errtext), "%r: message does not state the name rule: %r"
                      % (name, r.errtext))
            after = tree(k.root)
            check(after == before, "%r via %s touched the file system: new %r"
                  % (name, args[:2], sorted((after or set()) - (before or set()))[:5]))
    check(not os.path.exists(k.data), "invalid names created the data dir")


def test_invalid_names_in_existing_data_dir(k):
    k.produce("good", ["1"])
    before = tree(k.root)
    for name in BAD_NAMES:
        r = k.run("produce", name, input=b"v\n")
        check(r.rc in (1, 2), "%r accepted: %s" % (name, r.describe()))
        r = k.run("topic", "create", name, "--partitions", "2")
        check(r.rc in (1, 2), "%r accepted by create: %s" % (name, r.describe()))
    after = tree(k.root)
    # LMDB may rewrite its files, but no new path may appear
    check(after == before, "new paths after refused names: %r" % sorted(after - before)[:5])
    check(listed(k) == ["good"], "topic list after refused names: %r" % listed(k))


def test_name_length_limit(k):
    ok_name = "n" * 249
    k.create(ok_name)
    k.produce(ok_name, ["long"])
    check(k.values(ok_name) == [b"long"], "249-char topic name should work")
    r = k.run("topic", "create", "n" * 250)
    check(r.rc in (1, 2), "250-char name accepted: %s" % r.describe())
    for name in ("a", "A.b_c-9", "...", ".hidden", "9"):
        r = k.run("topic", "create", name)
        check(r.rc == 0, "legal name %r refused: %s" % (name, r.describe()))


def test_compacted_topic_refuses_keyless_records(k):
    k.create("cmp", "--config", "cleanup.policy=compact")
    r = k.run("produce", "cmp", input=b"no-key\n")
    check(r.rc != 0, "a keyless produce to a compacted topic must fail, got rc=%d" % r.rc)
    check(b"compact" in r.err and b"cmp" in r.err, "message should name the topic and compaction: %r" % r.err)
    check(k.values("cmp") == [], "nothing may be stored")
    k.produce("cmp", [b"k1:v1"], "-K", ":")
    check(k.consume("cmp", "-f", r"%k=%s\n").lines == [b"k1=v1"], "keyed records are accepted")


if __name__ == "__main__":
    run_tests(globals())
