#!/usr/bin/env python3
"""kappa compare (SPEC section 6): two outputs key by key, as a user validates a reprocessed
version before cutover. Identical sessionize runs agree; planted differences (a changed
value, a removed key, an added key) are named with their kind; value sequences are compared
in (partition, offset) order and framed per value; --key, --sample (deterministic bottom-k),
--json, --max-diffs, aliases, and the usage and runtime errors."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, gen_clicks, run_tests, short  # noqa: E402

SANITIZED = os.environ.get("KAPPA_SANITIZED", "0") not in ("", "0")
CLICKS = 2000 if SANITIZED else 5000

SUMMARY = re.compile(
    r"^compare (?P<a>\S+)(?: \(via alias (?P<alias_a>\S+)\))? (?P<b>\S+)(?: \(via alias (?P<alias_b>\S+)\))?: "
    r"(?:(?P<sampled>\d+) of (?P<total>\d+) keys? sampled|(?P<keys>\d+) keys? compared): "
    r"(?P<agree>\d+) agree, (?P<differ>\d+) differ"
    r"(?: \((?P<only_a>\d+) only in \S+, (?P<only_b>\d+) only in \S+, (?P<different>\d+) with different records\))?"
    r"; records: (?P<ra>\d+) vs (?P<rb>\d+)$")
BLOCK = re.compile(r'^key ("(?:[^"\\]|\\.)*"|\(null key\)): (.*)$')


def clicks_topic(k):
    k.create("clicks", "--partitions", 2)
    k.produce("clicks", gen_clicks(CLICKS), "--key-field", "user_id", "--timestamp-field", "timestamp_ms")


def sessionize(k, output, gap="30m"):
    k.ok("sessionize", "--input", "clicks", "--output", output, "--key-field", "user_id",
         "--time-field", "timestamp_ms", "--gap", gap, "--flush-at-end")


def records(k, topic):
    """[(key, value)] of a topic in (partition, offset) order."""
    out = []
    for ln in k.consume(topic, "-f", r"%p\t%o\t%k\t%s\n").lines:
        p, o, key, val = ln.split(b"\t", 3)
        out.append((int(p), int(o), key.decode(), val.decode()))
    out.sort()
    return [(key, val) for _, _, key, val in out]


def compare(k, *args):
    return k.run("compare", *args)


def summary(r):
    """The summary line's numbers (the last line of stdout)."""
    lines = r.text.splitlines()
    check(lines, "compare printed nothing: " + r.describe())
    m = SUMMARY.match(lines[-1])
    check(m, "unexpected summary line %r: %s" % (lines[-1], r.describe()))
    return {n: (int(v) if v and v.isdigit() else v) for n, v in m.groupdict().items()}


def blocks(r):
    """{printed key: (first line's text, [indented lines])} of the per-key blocks."""
    out, cur = {}, None
    for ln in r.text.splitlines()[:-1]:
        m = BLOCK.match(ln)
        if m:
            cur = m.group(1)
            check(cur not in out, "key %s printed twice: %s" % (cur, r.describe()))
            out[cur] = (m.group(2), [])
        elif ln.startswith("  ") and cur is not None:
            out[cur][1].append(ln[2:])
        elif not ln.startswith("... and "):
            check(False, "unexpected line %r: %s" % (ln, r.describe()))
    return out


def q(key):
    return json.dumps(key)


def test_help_documents_every_option(k):
    r = k.ok("compare", "--help")
    for opt in ("--sample", "--key", "--max-diffs", "--json", "topic_a", "topic_b"):
        check(opt in r.text, "compare --help does not document %s: %s" % (opt, short(r.out, 2000)))
    check("headers" in r.text and "timestamps" in r.text,
          "compare --help should say offsets/timestamps/headers are not compared: " + short(r.out, 2000))


def test_identical_outputs_agree(k):
    clicks_topic(k)
    sessionize(k, "s1")
    sessionize(k, "s2")
    keys = set(k.consume("s1", "-f", r"%k\n").lines)
    n_records = len(k.values("s1"))
    check(len(keys) > 100 and n_records >= len(keys), "sessionize wrote too little: %d keys" % len(keys))
    r = compare(k, "s1", "s2").expect(0, "identical outputs")
    s = summary(r)
    check(s["a"] == "s1" and s["b"] == "s2", "summary names the wrong topics: " + r.describe())
    check(s["keys"] == len(keys) and s["agree"] == len(keys) and s["differ"] == 0,
          "expected %d keys, all agreeing: %s" % (len(keys), r.describe()))
    check(s["ra"] == n_records and s["rb"] == n_records, "record counts: " + r.describe())
    check(len(r.lines) == 1, "agreeing topics should print only the summary: " + r.describe())
    # Order of the arguments does not matter.
    compare(k, "s2", "s1").expect(0, "identical outputs, swapped")


def planted(k):
    """s1 from sessionize, s3 = s1 with one value changed, one key removed, one added."""
    clicks_topic(k)
    sessionize(k, "s1")
    recs = records(k, "s1")
    keys = sorted({key for key, _ in recs})
    changed, removed, added = keys[3], keys[7], "zz-added"
    lines, changed_values = [], 0
    for key, val in recs:
        if key == removed:
            continue
        if key == changed and changed_values == 0:
            val = val.replace('"count":', '"count":1000', 1)
            changed_values += 1
        lines.append("%s\t%s" % (key, val))
    lines.append(added + "\t" + '{"key":"zz-added","planted":true}')
    k.produce("s3", lines, "-K", "\t")
    return recs, keys, changed, removed, added


def test_planted_difference_names_exactly_those_keys(k):
    recs, keys, changed, removed, added = planted(k)
    r = compare(k, "s1", "s3").expect(1, "planted differences")
    b = blocks(r)
    check(set(b) == {q(changed), q(removed), q(added)},
          "expected blocks for %s, %s, %s: %s" % (changed, removed, added, r.describe()))
    n_removed = sum(1 for key, _ in recs if key == removed)
    n_changed = sum(1 for key, _ in recs if key == changed)
    check(b[q(removed)][0] == "only in s1 (%d record%s)" % (n_removed, "" if n_removed == 1 else "s"),
          "removed key: %r" % (b[q(removed)],))
    check(b[q(added)][0] == "only in s3 (1 record)", "added key: %r" % (b[q(added)],))
    text, detail = b[q(changed)]
    check(text == "%d record%s in s1, %d in s3; first difference at record 1:"
          % (n_changed, "" if n_changed == 1 else "s", n_changed), "changed key: %r" % text)
    old = next(val for key, val in recs if key == changed)
    check(detail == ["s1: " + old, "s3: " + old.replace('"count":', '"count":1000', 1)],
          "changed key's values: %r" % detail)
    s = summary(r)
    check((s["keys"], s["agree"], s["differ"], s["only_a"], s["only_b"], s["different"])
          == (len(keys) + 1, len(keys) - 2, 3, 1, 1, 1), "summary counts: " + r.describe())
    check(s["ra"] == len(recs) and s["rb"] == len(recs) - n_removed + 1, "record counts: " + r.describe())
    # Keys come out in key order.
    printed = [ln.split(":")[0] for ln in r.text.splitlines() if ln.startswith("key ")]
    check(printed == sorted(printed), "blocks not in key order: %r" % printed)


def test_different_gaps_differ(k):
    clicks_topic(k)
    sessionize(k, "s1", "30m")
    sessionize(k, "s2", "20m")
    n_keys = len(set(k.consume("s1", "-f", r"%k\n").lines))
    r = compare(k, "s1", "s2").expect(1, "30m against 20m")
    s = summary(r)
    # Every session's window_end is last event + gap: all keys differ.
    check(s["differ"] == n_keys and s["different"] == n_keys and s["agree"] == 0,
          "expected all %d keys to differ: %s" % (n_keys, r.describe()))
    b = blocks(r)
    check(len(b) == 10, "--max-diffs defaults to 10 blocks, got %d: %s" % (len(b), r.describe()))
    check("... and %d more keys differ" % (n_keys - 10) in r.text, "missing '... and N more': " + r.describe())
    for text, detail in b.values():
        check("first difference at record" in text and len(detail) == 2
              and detail[0].startswith("s1: {") and detail[1].startswith("s2: {"), "block: %r" % ((text, detail),))
    r3 = compare(k, "s1", "s2", "--max-diffs", 3).expect(1)
    check(len(blocks(r3)) == 3 and "... and %d more keys differ" % (n_keys - 3) in r3.text,
          "--max-diffs 3: " + r3.describe())
    r0 = compare(k, "s1", "s2", "--max-diffs", 0).expect(1)
    check(len(blocks(r0)) == n_keys and "more keys differ" not in r0.text, "--max-diffs 0 shows all")


def test_value_sequences_order_framing_and_null_keys(k):
    k.create("a", "--partitions", 2)
    k.create("b", "--partitions", 1)
    # Key m spans a's two partitions: compared partition 0 first, then 1.
    k.produce("a", ["m\t1", "m\t2", "seq\tv1", "seq\tv2", "seq\tv3", "tail\tp", "tail\tq",
                    "fr\tab", "fr\tc", "empty\t", "same\tx"], "-K", "\t", "--partition", 0)
    k.produce("a", ["m\t3"], "-K", "\t", "--partition", 1)
    k.produce("a", ["keyless-1", "keyless-2"], "--partition", 0)
    k.produce("b", ["m\t1", "m\t2", "m\t3", "seq\tv1", "seq\tX", "seq\tv3", "seq\tv4", "tail\tp",
                    "fr\ta", "fr\tbc", "same\tx"], "-K", "\t")
    k.produce("b", ["empty\t"], "-K", "\t", "-Z")  # a null value, not an empty one
    k.produce("b", ["keyless-1", "keyless-2"])
    r = compare(k, "a", "b", "--max-diffs", 0).expect(1)
    b = blocks(r)
    check(set(b) == {q("seq"), q("tail"), q("fr"), q("empty")},
          "expected seq, tail, fr, empty to differ (m, same and the null key agree): " + r.describe())
    check(b[q("seq")] == ("3 records in a, 4 in b; first difference at record 2:", ["a: v2", "b: X"]),
          "seq: %r" % (b[q("seq")],))
    check(b[q("tail")] == ("2 records in a, 1 in b; first difference at record 2:", ["a: q", "b: (none)"]),
          "tail: %r" % (b[q("tail")],))
    check(b[q("fr")] == ("2 records in a, 2 in b; first difference at record 1:", ["a: ab", "b: a"]),
          'values are framed: ["ab","c"] is not ["a","bc"]: %r' % (b[q("fr")],))
    check(b[q("empty")] == ("1 record in a, 1 in b; first difference at record 1:", ["a: ", "b: (null)"]),
          "empty vs null value: %r" % (b[q("empty")],))
    s = summary(r)
    check((s["keys"], s["agree"], s["different"]) == (7, 3, 4), "summary: " + r.describe())
    # The null key is a key of its own; reordering a key's values is a difference.
    k.produce("b", ["keyless-3"])
    k.produce("b", ["m\t2"], "-K", "\t")
    r = compare(k, "a", "b").expect(1)
    b = blocks(r)
    check(b.get("(null key)") == ("2 records in a, 3 in b; first difference at record 3:",
                                  ["a: (none)", "b: keyless-3"]), "null key: %r" % (b.get("(null key)"),))
    check(b.get(q("m"), ("",))[0] == "3 records in a, 4 in b; first difference at record 4:",
          "m: %r" % (b.get(q("m")),))


def test_key_option(k):
    recs, keys, changed, removed, added = planted(k)
    sessionize(k, "s2")
    agreeing = keys[0]
    vals = [val for key, val in recs if key == agreeing]
    r = compare(k, "s1", "s2", "--key", agreeing).expect(0, "an agreeing key")
    lines = r.text.splitlines()
    check(lines[:-2] == ["s1: " + v for v in vals] + ["s2: " + v for v in vals],
          "--key prints the key's values from both sides: " + r.describe())
    s = summary(r)
    check((s["keys"], s["agree"], s["differ"], s["ra"], s["rb"]) == (1, 1, 0, len(vals), len(vals)),
          "--key summary: " + r.describe())
    r = compare(k, "s1", "s3", "--key", changed).expect(1, "a differing key")
    check("first difference at record 1" in r.text, "--key on a changed key: " + r.describe())
    check(summary(r)["different"] == 1, "--key summary of a changed key: " + r.describe())
    r = compare(k, "s1", "s3", "--key", added).expect(1, "a key only in s3")
    check(summary(r)["only_b"] == 1 and "only in s3" in r.text, "--key on an added key: " + r.describe())
    r = compare(k, "s1", "s2", "--key", "no-such-user").expect(1, "a key in neither")
    check("no-such-user" in r.errtext and "neither" in r.errtext, "key in neither: " + r.describe())


def sampled_keys(r):
    return set(blocks(r))


def test_sample_is_deterministic_bottom_k(k):
    clicks_topic(k)
    sessionize(k, "s1", "30m")
    sessionize(k, "s2", "20m")
    sessionize(k, "s3", "30m")
    n_keys = len(set(k.consume("s1", "-f", r"%k\n").lines))
    r1 = compare(k, "s1", "s2", "--sample", 7).expect(1)
    s = summary(r1)
    check((s["sampled"], s["total"], s["differ"]) == (7, n_keys, 7), "--sample 7: " + r1.describe())
    keys7 = sampled_keys(r1)
    check(len(keys7) == 7, "7 sampled keys should all be shown: " + r1.describe())
    r2 = compare(k, "s1", "s2", "--sample", 7).expect(1)
    check(r2.out == r1.out, "two runs sampled different keys: %s / %s" % (r1.describe(), r2.describe()))
    check(sampled_keys(compare(k, "s2", "s1", "--sample", 7).expect(1)) == keys7,
          "the sample must not depend on which side is which")
    # Bottom-k: the 4 smallest hashes are among the 7 smallest.
    keys4 = sampled_keys(compare(k, "s1", "s2", "--sample", 4).expect(1))
    check(len(keys4) == 4 and keys4 <= keys7, "--sample 4 %r is not within --sample 7 %r" % (keys4, keys7))
    r = compare(k, "s1", "s3", "--sample", 7).expect(0, "sampled agreeing topics")
    s = summary(r)
    check((s["sampled"], s["total"], s["agree"]) == (7, n_keys, 7), "--sample on agreeing topics: " + r.describe())
    r = compare(k, "s1", "s3", "--sample", n_keys + 50).expect(0)
    s = summary(r)
    check((s["sampled"], s["total"]) == (n_keys, n_keys), "--sample above the key count: " + r.describe())


def test_json_summary(k):
    recs, keys, changed, removed, added = planted(k)
    r = compare(k, "s1", "s3", "--json").expect(1)
    try:
        j = json.loads(r.out)
    except ValueError as e:
        raise AssertionError("compare --json is not one JSON object (%s): %s" % (e, r.describe()))
    n_removed = sum(1 for key, _ in recs if key == removed)
    want = {"a": "s1", "b": "s3", "keys": len(keys) + 1, "agree": len(keys) - 2, "differ": 3, "only_in_a": 1,
            "only_in_b": 1, "different": 1, "records_a": len(recs), "records_b": len(recs) - n_removed + 1}
    check({f: j.get(f) for f in want} == want, "compare --json: %r, expected %r" % (j, want))
    check({d["key"]: d["kind"] for d in j["diffs"]}
          == {changed: "different", removed: "only_in_a", added: "only_in_b"}, "--json diffs: %r" % j["diffs"])
    sessionize(k, "s2")
    j = json.loads(compare(k, "s1", "s2", "--json").expect(0).out)
    check(j["differ"] == 0 and j["agree"] == len(keys) and j["diffs"] == [], "--json of agreeing topics: %r" % j)


def test_missing_topic(k):
    k.produce("s1", ["a\t1"], "-K", "\t")
    for args in (("s1", "nope"), ("nope", "s1")):
        r = compare(k, *args).expect(1, "a missing topic")
        check("nope" in r.errtext and r.out == b"", "the error should name the missing topic: " + r.describe())


def test_usage_errors(k):
    k.produce("s1", ["a\t1"], "-K", "\t")
    for args in (("--sample", 0), ("--sample", -3), ("--sample", 3, "--key", "a"), ("--max-diffs", -1)):
        r = compare(k, "s1", "s1", *args).expect(2, "usage error %r" % (args,))
        check(r.out == b"", "a usage error prints nothing on stdout: " + r.describe())
    compare(k, "s1").expect(2, "one topic only")


def test_alias_is_named(k):
    if k.run("alias", "--help").rc != 0:
        print("  (skipped: this kappa has no `alias` verb)")
        return
    clicks_topic(k)
    sessionize(k, "s1")
    sessionize(k, "s2")
    k.ok("alias", "set", "s", "s1")
    r = compare(k, "s", "s2").expect(0, "through an alias")
    s = summary(r)
    check((s["a"], s["alias_a"], s["b"], s["alias_b"]) == ("s1", "s", "s2", None),
          "the summary should say 'via alias s': " + r.describe())
    j = json.loads(compare(k, "s2", "s", "--json").expect(0).out)
    check(j["b"] == "s1" and j["alias_b"] == "s" and j["alias_a"] is None, "--json aliases: %r" % j)
    r = compare(k, "s1", "s2")
    check("via alias" not in r.text, "no alias, no 'via alias': " + r.describe())


run_tests(globals())
