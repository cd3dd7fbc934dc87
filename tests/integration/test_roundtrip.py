#!/usr/bin/env python3
"""produce -> consume round trips: awkward lines byte-exact, output formats."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short  # noqa: E402

AWKWARD = [
    b"",                                   # empty line = record with empty value
    b"plain",
    b"\ttab\tinside\tand at end\t",
    b"utf-8: \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87",
    b"trailing carriage return\r",
    b"\r",
    b"  leading and trailing spaces  ",
    b"",
    b"percent %s %o %% and backslash \\n \\t \\",
    b"{\"json\": \"looking\", \"n\": 1}",
    b"x" * 300_000,                        # a 300 KB line
    b"after the big one",
    b"last line without newline",
]


def test_awkward_lines_default_output(k):
    stdin = b"\n".join(AWKWARD)            # no '\n' after the last line
    k.produce("rt", stdin)
    r = k.consume("rt")
    expected = b"".join(l + b"\n" for l in AWKWARD)
    if r.out != expected:
        got = r.lines
        check(len(got) == len(AWKWARD), "expected %d records, got %d: %s"
              % (len(AWKWARD), len(got), short(r.out)))
        for i, (g, e) in enumerate(zip(got, AWKWARD)):
            check(g == e, "record %d differs: got %s, expected %s" % (i, short(g), short(e)))
        check(False, "output differs from input (byte-exact)")


def test_awkward_lines_format_value(k):
    k.produce("rt", b"\n".join(AWKWARD))
    r = k.consume("rt", "-f", r"%s\n")
    check(r.out == b"".join(l + b"\n" for l in AWKWARD),
          "-f '%%s\\n' output is not byte-exact: %s" % short(r.out))
    # and with an explicit --from earliest, same bytes
    r2 = k.consume("rt", "--from", "earliest", "-f", r"%s\n")
    check(r2.out == r.out, "--from earliest output differs from default")


def test_line_splitting_rules(k):
    # "a\n\nb\n\n": four records a, "", b, "" (an empty line is a record)
    k.produce("split", b"a\n\nb\n\n")
    check(k.values("split") == [b"a", b"", b"b", b""],
          "a\\n\\nb\\n\\n gave %r" % k.values("split"))
    # empty stdin: no record, still exit 0
    k.produce("split", b"")
    check(len(k.values("split")) == 4, "empty stdin added records")
    # a lone newline is one empty record; CRLF keeps the \r
    k.produce("split", b"\n")
    k.produce("split", b"c\r\nd\r\n")
    check(k.values("split") == [b"a", b"", b"b", b"", b"", b"c\r", b"d\r"],
          "got %r" % k.values("split"))


def test_binary_bytes_round_trip(k):
    lines = [b"nul\x00inside", b"\xff\xfe invalid utf-8 \x80", b"\x01\x02\x1b[31mansi\x1b[0m",
             bytes(range(1, 10)) + bytes(range(11, 256))]
    k.produce("bin", lines)
    r = k.consume("bin")
    check(r.out == b"".join(l + b"\n" for l in lines),
          "binary values not byte-exact: %s" % short(r.out))


def test_json_output(k):
    t0 = int(time.time() * 1000)
    vals = ["plain", "", "quote \" backslash \\ slash /", "tab\there", "\u00e9t\u00e9 \u20ac \U0001F600",
            "ctrl \x01\x1f", "cr\r"]
    k.produce("js", [v.encode() for v in vals])
    k.produce("js", ["key1:v1"], "-K", ":")
    t1 = int(time.time() * 1000)
    r = k.consume("js", "--json")
    objs = []
    for ln in r.lines:
        try:
            objs.append(json.loads(ln))
        except ValueError as e:
            check(False, "--json line is not JSON (%s): %s" % (e, short(ln)))
    check(len(objs) == len(vals) + 1, "expected %d objects, got %d" % (len(vals) + 1, len(objs)))
    for i, o in enumerate(objs):
        for f in ("topic", "partition", "offset", "timestamp", "key", "value"):
            check(f in o, "object %d lacks %r: %s" % (i, f, o))
        check(o["topic"] == "js" and o["partition"] == 0 and o["offset"] == i,
              "object %d: topic/partition/offset wrong: %s" % (i, o))
        check(isinstance(o["timestamp"], int) and t0 - 5000 <= o["timestamp"] <= t1 + 5000,
              "object %d: timestamp %r not the produce wall clock" % (i, o["timestamp"]))
    for i, v in enumerate(vals):
        check(objs[i]["value"] == v, "object %d value %r != %r" % (i, objs[i]["value"], v))
        check(objs[i]["key"] is None, "keyless record %d has key %r (want JSON null)"
              % (i, objs[i]["key"]))
    check(objs[-1]["key"] == "key1" and objs[-1]["value"] == "v1",
          "-K record in --json: %s" % objs[-1])


def test_json_output_is_valid_json_for_any_bytes(k):
    # values that are not UTF-8 (and a key that is not) must still give lines that a
    # strict JSON parser accepts (JSON text is UTF-8, RFC 8259)
    k.produce("jsb", [b"\xff\xfe not utf-8", b"ok \xc3\xa9", b"half \xe2\x82", b"\x80:v"])
    k.produce("jsb", [b"\xc0\xaf:overlong key"], "-K", ":")
    r = k.consume("jsb", "--json")
    check(len(r.lines) == 5, "expected 5 lines: %s" % short(r.out))
    for ln in r.lines:
        try:
            o = json.loads(ln.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            check(False, "--json line is not valid UTF-8 JSON (%s): %r" % (e, ln))
        check(isinstance(o, dict) and "value" in o, "not an object: %r" % ln)
    check(json.loads(r.lines[1].decode())["value"] == "ok \u00e9", "valid UTF-8 value changed")


def test_format_tokens(k):
    k.create("fmt", "--partitions", "2")
    k.produce("fmt", ["alpha:one", "beta:two:2"], "-K", ":", "--partition", "1")
    k.produce("fmt", ["nokey"], "--partition", "1")
    r = k.consume("fmt", "--partition", "1", "-f", r"%t|%p|%o|%k|%K|%S|%s\t%T\n")
    lines = r.lines
    check(len(lines) == 3, "expected 3 lines: %s" % short(r.out))
    now = int(time.time() * 1000)
    exp = [(b"fmt|1|0|alpha|5|3|one", None), (b"fmt|1|1|beta|4|5|two:2", None),
           (b"fmt|1|2||-1|5|nokey", None)]
    for ln, (prefix, _) in zip(lines, exp):
        head, sep, ts = ln.partition(b"\t")
        check(sep == b"\t", "no tab from \\t in %s" % short(ln))
        check(head == prefix, "format line %s, expected %s" % (short(head), short(prefix)))
        check(ts.isdigit() and abs(int(ts) - now) < 120_000, "%%T gave %s" % short(ts))


def test_key_delimiter_splits_first_only(k):
    k.produce("kd", ["k1:v:1", "k2::", "k3:"], "-K", ":")
    r = k.consume("kd", "-f", r"[%k][%s]\n")
    check(r.lines == [b"[k1][v:1]", b"[k2][:]", b"[k3][]"],
          "-K ':' split wrong: %r" % r.lines)
    # multi-character delimiter
    k.produce("kd2", ["a=>b=>c"], "-K", "=>")
    r = k.consume("kd2", "-f", r"[%k][%s]\n")
    check(r.lines == [b"[a][b=>c]"], "-K '=>' split wrong: %r" % r.lines)


def test_tombstones_with_Z(k):
    k.produce("tomb", ["a", "", "b"], "-Z")
    objs = [json.loads(l) for l in k.consume("tomb", "--json").lines]
    check([o["value"] for o in objs] == ["a", None, "b"],
          "-Z empty line should be a null value: %r" % [o["value"] for o in objs])
    r = k.consume("tomb", "-f", r"%S\n")
    check(r.lines == [b"1", b"-1", b"1"], "%%S of a tombstone should be -1: %r" % r.lines)
    # without -Z an empty line is an empty (non-null) value
    k.produce("notomb", ["a", "", "b"])
    objs = [json.loads(l) for l in k.consume("notomb", "--json").lines]
    check([o["value"] for o in objs] == ["a", "", "b"],
          "empty line without -Z: %r" % [o["value"] for o in objs])


def test_produce_summary_on_stderr(k):
    r = k.produce("sum", ["%d" % i for i in range(37)])
    err = r.errtext.strip()
    check(err, "produce printed no summary on stderr")
    check(len(err.splitlines()) == 1,
          "stderr is not a terminal: expected one summary line, got %r" % err)
    check("37" in err, "summary does not mention the 37 records: %r" % err)
    check(r.out == b"", "produce wrote to stdout: %s" % short(r.out))


def test_many_records_in_order(k):
    lines = [("rec-%06d-" % i + "v" * (i % 50)).encode() for i in range(20000)]
    k.produce("many", lines)
    got = k.values("many")
    check(len(got) == len(lines), "produced %d, consumed %d" % (len(lines), len(got)))
    bad = [i for i, (g, e) in enumerate(zip(got, lines)) if g != e]
    check(not bad, "first mismatch at %s" % bad[:1])
    ov = k.offsets_values("many", "--from", "19990")
    check([o for o, _ in ov] == list(range(19990, 20000)), "offsets %r" % [o for o, _ in ov])


if __name__ == "__main__":
    run_tests(globals())
