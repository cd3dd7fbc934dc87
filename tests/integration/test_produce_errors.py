#!/usr/bin/env python3
"""Lines that cannot supply a requested key or timestamp: --on-error fail|skip|dead-letter."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests  # noqa: E402

GOOD = ['{"user_id":"u%d","timestamp_ms":%d,"n":%d}' % (i, 1_700_000_000_000 + i, i)
        for i in range(8)]


def names_line(err, n):
    return re.search(r"line\W{0,3}%d(?![0-9])|:%d:" % (n, n), err, re.I) is not None


def test_malformed_json_fails_with_line_number(k):
    lines = GOOD[:3] + ['{"user_id": "u99", "broken'] + GOOD[3:]
    r = k.produce("kf", lines, "--key-field", "user_id", rc=None)
    check(r.rc == 1, "malformed JSON under --key-field should exit 1: %s" % r.describe())
    check(names_line(r.errtext, 4), "stderr does not name line 4: %r" % r.errtext)
    got = k.consume("kf", "-f", r"%k %s\n").lines
    check(got == [("u%d " % i).encode() + GOOD[i].encode() for i in range(3)],
          "the 3 records before the bad line must be durable, nothing after: %r" % got)


def test_missing_key_field_fails(k):
    lines = GOOD[:2] + ['{"other":"x"}'] + GOOD[2:4]
    r = k.produce("mk", lines, "--key-field", "user_id", rc=None)
    check(r.rc == 1, "missing key field should exit 1: %s" % r.describe())
    check(names_line(r.errtext, 3), "stderr does not name line 3: %r" % r.errtext)
    check("user_id" in r.errtext, "stderr does not name the field: %r" % r.errtext)
    check(k.values("mk") == [g.encode() for g in GOOD[:2]], "earlier records not kept")


def test_bad_timestamp_field_fails(k):
    lines = GOOD[:5] + ['{"user_id":"u1","timestamp_ms":"yesterday"}'] + GOOD[5:]
    r = k.produce("ts", lines, "--timestamp-field", "timestamp_ms", rc=None)
    check(r.rc == 1, "non-integer timestamp should exit 1: %s" % r.describe())
    check(names_line(r.errtext, 6), "stderr does not name line 6: %r" % r.errtext)
    got = k.consume("ts", "-f", r"%T %s\n").lines
    check(got == [("%d " % (1_700_000_000_000 + i)).encode() + GOOD[i].encode() for i in range(5)],
          "earlier records (with their timestamps) not kept: %r" % got[:2])


def test_negative_timestamp_refused(k):
    # Kafka's ProducerRecord: "Invalid timestamp: -5. Timestamp should always be
    # non-negative or null." (-1 means "no timestamp" in the log format)
    lines = GOOD[:2] + ['{"user_id":"u1","timestamp_ms":-5}'] + GOOD[2:]
    r = k.produce("negts", lines, "--timestamp-field", "timestamp_ms", rc=None)
    check(r.rc == 1, "a negative timestamp should be a bad line (exit 1): %s" % r.describe())
    check(names_line(r.errtext, 3), "stderr does not name line 3: %r" % r.errtext)
    check(k.values("negts") == [g.encode() for g in GOOD[:2]], "earlier records not kept")


def test_on_error_skip(k):
    bad = ['not json at all', '{"user_id": ', '{"no_key": 1}']
    lines = GOOD[:2] + [bad[0]] + GOOD[2:4] + bad[1:] + GOOD[4:]
    r = k.produce("sk", lines, "--key-field", "user_id", "--on-error", "skip")
    err = r.errtext
    check("skip" in err.lower(), "skipped lines not reported on stderr: %r" % err)
    check(re.search(r"(?<![0-9])3(?![0-9])", err), "skip count 3 not reported: %r" % err)
    got = k.consume("sk", "-f", r"%k|%s\n").lines
    want = [("u%d|" % i).encode() + GOOD[i].encode() for i in range(8)]
    check(got == want, "--on-error skip should keep exactly the good lines in order: %r" % got)


def test_on_error_dead_letter(k):
    bad = ['not json at all', '{"user_id": ', '{"no_key": 1}\r']
    lines = GOOD[:2] + [bad[0]] + GOOD[2:4] + bad[1:] + GOOD[4:]
    r = k.produce("dl", lines, "--key-field", "user_id", "--on-error", "dead-letter:dl.bad")
    check(r.rc == 0, "dead-letter run: %s" % r.describe())
    check(k.values("dl") == [g.encode() for g in GOOD], "good lines in main topic: %r"
          % k.values("dl"))
    check(k.values("dl.bad") == [x.encode() for x in bad],
          "dead-letter topic should hold the bad lines unchanged: %r" % k.values("dl.bad"))
    # the dead letters are well-formed Kafka records; a line-number header, if the
    # product writes one, must carry the right number (input lines 3, 6, 7)
    rep = k.reader_check("dl.bad")
    check(rep.ok, "dead-letter files: %s" % rep.problems[:3])
    for rec, line_no in zip(rep.records, (3, 6, 7)):
        for hk, hv in rec.headers:
            if b"line" in hk.lower():
                check(hv == str(line_no).encode(), "dead letter of line %d has header %r=%r"
                      % (line_no, hk, hv))


def test_dead_letter_of_bad_timestamps(k):
    lines = GOOD[:1] + ['{"user_id":"x","timestamp_ms":12.5e}'] + GOOD[1:2]
    k.produce("dlt", lines, "--timestamp-field", "timestamp_ms", "--on-error", "dead-letter:dlt-bad")
    check(k.values("dlt") == [g.encode() for g in GOOD[:2]], "main topic %r" % k.values("dlt"))
    check(k.values("dlt-bad") == [lines[1].encode()], "dead letters %r" % k.values("dlt-bad"))


def test_key_field_value_is_whole_line(k):
    lines = ['{"a":1,"user_id":"deep","nested":{"user_id":"no"}}',
             '  {"user_id" : "spaced" }  ',
             '{"user_id":"esc\\"aped\\u00e9"}']
    k.produce("whole", lines, "--key-field", "user_id")
    objs = [json.loads(x) for x in k.consume("whole", "--json").lines]
    check([o["value"] for o in objs] == lines, "value must stay the whole line: %r" % objs)
    check([o["key"] for o in objs] == ["deep", "spaced", 'esc"aped\u00e9'],
          "keys from the top-level field: %r" % [o["key"] for o in objs])


if __name__ == "__main__":
    run_tests(globals())
