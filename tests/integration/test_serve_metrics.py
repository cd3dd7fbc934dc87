#!/usr/bin/env python3
"""kappa serve --metrics: the Prometheus page counts exactly what clients did through the
server (records and bytes in and out per topic, requests and latency per API,
connections), reads groups' and jobs' lag from the data dir at scrape time, escapes label
values, parses as strict Prometheus text, and answers other paths and bad requests with
404, 405 and 400. The metrics address is read from the server's stderr."""
import json
import math
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short  # noqa: E402
from test_serve import Server, kcat, needs_kcat  # noqa: E402

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metrics_addr(s):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(rb"metrics at http://([^/\s]+)/metrics", s.stderr())
        if m:
            return m.group(1).decode()
        time.sleep(0.02)
    check(False, "no 'metrics at' line on stderr: %s" % short(s.stderr()))


def parse_labels(text, line):
    """`a="x",b="y\\"z"` -> {"a": "x", "b": 'y"z'}; strict about escapes and commas."""
    labels, i = {}, 0
    while i < len(text):
        m = re.match(r"([^=]*)=\"", text[i:])
        check(m and LABEL_NAME.match(m.group(1)), "bad label name in %r" % line)
        name, i, value = m.group(1), i + m.end(), []
        while True:
            check(i < len(text), "unterminated label value in %r" % line)
            c = text[i]
            if c == "\\":
                check(i + 1 < len(text) and text[i + 1] in "\\\"n", "bad escape in %r" % line)
                value.append({"\\": "\\", "\"": "\"", "n": "\n"}[text[i + 1]])
                i += 2
            elif c == "\"":
                i += 1
                break
            else:
                check(c != "\n", "raw newline in a label value: %r" % line)
                value.append(c)
                i += 1
        check(name not in labels, "label %s twice in %r" % (name, line))
        labels[name] = "".join(value)
        if i < len(text):
            check(text[i] == ",", "labels not separated by a comma in %r" % line)
            i += 1
    return labels


def parse(page):
    """Strict Prometheus text 0.0.4: returns {family: {"type", "help", "samples": [(name, labels, value)]}}."""
    check(page.endswith("\n"), "the page does not end with a newline")
    families, current = {}, None
    for line in page.split("\n")[:-1]:
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) (\S+) (.+)\Z", line)
            check(m, "bad comment line %r" % line)
            kind, name, rest = m.groups()
            check(NAME.match(name) and name.startswith("kappa_"), "bad metric name %r" % name)
            f = families.setdefault(name, {"samples": []})
            check(kind.lower() not in f, "two %s lines for %s" % (kind, name))
            if kind == "TYPE":
                check(rest in ("counter", "gauge", "histogram"), "bad type %r" % line)
                check(not f["samples"], "TYPE after samples of %s" % name)
            f[kind.lower()] = rest
            current = name
            continue
        m = re.match(r"([^{\s]+)(?:\{(.*)\})? (\S+)\Z", line)
        check(m, "bad sample line %r" % line)
        name, labels, value = m.group(1), parse_labels(m.group(2) or "", line), m.group(3)
        check(NAME.match(name), "bad sample name %r" % name)
        check(current is not None, "sample %s before any HELP or TYPE" % name)
        v = float(value)  # raises on anything that is not a number, +Inf, -Inf or NaN
        family = name
        if current and families[current].get("type") == "histogram" and name != current:
            check(any(name == current + s for s in HISTOGRAM_SUFFIXES), "%s inside histogram %s" % (name, current))
            family = current
        check(family == current, "sample %s outside its family's block (%s)" % (name, current))
        if families[family]["type"] == "counter":
            check(name.endswith("_total"), "counter %s does not end in _total" % name)
        families[family]["samples"].append((name, labels, v))
    for name, f in families.items():
        check("help" in f and "type" in f, "%s lacks HELP or TYPE" % name)
    return families


def scrape(addr):
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=10) as r:
        check(r.status == 200, "status %d" % r.status)
        ctype = r.headers.get("Content-Type", "")
        check(ctype.startswith("text/plain; version=0.0.4"), "Content-Type %r" % ctype)
        return parse(r.read().decode("utf-8"))


def values(fams, name, **want):
    """Samples of `name` (a family or a histogram's series) whose labels include `want`."""
    fam = fams.get(name) or fams.get(re.sub(r"_(bucket|sum|count)\Z", "", name))
    check(fam is not None, "no metric %s" % name)
    return [(labels, v) for n, labels, v in fam["samples"]
            if n == name and all(labels.get(k) == str(x) for k, x in want.items())]


def one(fams, name, **want):
    got = values(fams, name, **want)
    check(len(got) == 1, "%s%r: %d samples" % (name, want, len(got)))
    return got[0][1]


def raw_http(addr, data):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        sock.sendall(data)
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        sock.close()


def check_histograms(fams):
    """Buckets rise with le, end at +Inf, and +Inf == _count == kappa_requests_total."""
    for labels, count in values(fams, "kappa_request_duration_seconds_count"):
        api = labels["api"]
        buckets = [(float(lb["le"]), v) for lb, v in values(fams, "kappa_request_duration_seconds_bucket", api=api)]
        check(buckets and math.isinf(buckets[-1][0]), "%s: the last bucket is not +Inf" % api)
        check(all(a[0] < b[0] and a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
              "%s: buckets not monotone: %r" % (api, buckets))
        check(buckets[-1][1] == count, "%s: +Inf bucket %s != count %s" % (api, buckets[-1][1], count))
        check(count == one(fams, "kappa_requests_total", api=api), "%s: _count != kappa_requests_total" % api)
        s = one(fams, "kappa_request_duration_seconds_sum", api=api)
        check(s >= 0 and (count > 0 or s == 0), "%s: sum %s with count %s" % (api, s, count))


def test_metrics_count_what_clients_do(k):
    if needs_kcat():
        return
    k.create("m", "--partitions", 2)
    k.create("g", "--partitions", 3)
    k.produce("g", ["k%d:v%d" % (i % 11, i) for i in range(300)], "-K", ":")
    s = Server(k, "--metrics", "127.0.0.1:0")
    try:
        addr = metrics_addr(s)
        fams = scrape(addr)
        check(one(fams, "kappa_connections") == 0, "connections before any client")
        check(values(fams, "kappa_records_in_total") == [], "records counted before any produce")
        # 50 records beside the server (kappa produce writes the log itself), then 120
        # through it: only those count as records in.
        k.produce("m", ["cli-%d" % i for i in range(50)])
        lines = b"".join(b"r%03d\n" % i for i in range(120))
        p = kcat("-b", s.addr, "-P", "-t", "m", "-X", "acks=all", "-X", "linger.ms=50", input=lines)
        check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
        c = kcat("-b", s.addr, "-C", "-t", "m", "-o", "beginning", "-e", "-f", "%s\n")
        check(c.returncode == 0 and len(c.stdout.splitlines()) == 170, "kcat -C read %d of 170: %s"
              % (len(c.stdout.splitlines()), short(c.stderr)))
        # A group (name with characters to escape) reads g, then 7 more arrive beside the server.
        group = 'we"ird\\grp'
        g = kcat("-b", s.addr, "-G", group, "-X", "auto.offset.reset=earliest", "-e",
                 "-X", "auto.commit.interval.ms=100", "-f", "%s\n", "g", timeout=40)
        check(len(g.stdout.splitlines()) == 300, "kcat -G read %d of 300: %s"
              % (len(g.stdout.splitlines()), short(g.stderr)))
        k.produce("g", ["k%d:late%d" % (i, i) for i in range(7)], "-K", ":")
        time.sleep(1.2)  # the unconsumed records are over a second old at the scrape
        held = [socket.create_connection(tuple([s.addr.split(":")[0], int(s.addr.split(":")[1])]), timeout=5)
                for _ in range(2)]
        try:
            deadline = time.monotonic() + 10
            while True:  # the kcat connections' closes reach the server's loop
                fams = scrape(addr)
                if one(fams, "kappa_connections") == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            check(one(fams, "kappa_connections") == 2, "kappa_connections %s with 2 held open"
                  % one(fams, "kappa_connections"))
        finally:
            for sock in held:
                sock.close()
        check(one(fams, "kappa_connections_accepted_total") >= 5, "accepted_total %s"
              % one(fams, "kappa_connections_accepted_total"))
        check(one(fams, "kappa_connections_refused_total") == 0, "refused_total")
        check(one(fams, "kappa_records_in_total", topic="m") == 120,
              "records in for m: %s, not the 120 produced through the server"
              % one(fams, "kappa_records_in_total", topic="m"))
        check(one(fams, "kappa_bytes_in_total", topic="m") > 120 * 4, "bytes in for m")
        check(all(v == 0 for _, v in values(fams, "kappa_records_in_total", topic="g")),
              "g was never produced through the server")
        out_m = one(fams, "kappa_records_out_total", topic="m")
        check(out_m == 170, "records out for m: %s, not the 170 kcat -C read once" % out_m)
        check(one(fams, "kappa_bytes_out_total", topic="m") > 0, "bytes out for m")
        check(one(fams, "kappa_records_out_total", topic="g") >= 300, "records out for g")
        for api in ["Produce", "Fetch", "Metadata", "ApiVersions", "JoinGroup", "OffsetCommit"]:
            check(one(fams, "kappa_requests_total", api=api) > 0, "no %s requests counted" % api)
        check(one(fams, "kappa_requests_total", api="DeleteTopics") == 0, "DeleteTopics counted")
        check_histograms(fams)
        lag = values(fams, "kappa_group_lag_records", group=group, topic="g")
        check(len(lag) == 3 and sum(v for _, v in lag) == 7, "group lag %r, not 7 over 3 partitions" % lag)
        for labels, v in lag:
            secs = one(fams, "kappa_group_lag_seconds", group=group, topic="g", partition=labels["partition"])
            check((v > 0 and 1.0 <= secs < 120) or (v == 0 and secs == 0),
                  "partition %s: lag %s records, %s seconds" % (labels["partition"], v, secs))
        start = one(fams, "kappa_start_time_seconds")
        check(abs(start - time.time()) < 600, "start time %s" % start)
        check(one(fams, "kappa_scrape_errors") == 0, "scrape errors")
    finally:
        rc = s.stop()
    check(rc == 0, "exit %d" % rc)


def test_other_paths_and_bad_requests(k):
    s = Server(k, "--metrics", "127.0.0.1:0")
    try:
        addr = metrics_addr(s)
        try:
            urllib.request.urlopen("http://%s/" % addr, timeout=10)
            check(False, "/ answered 200")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "/: %d" % e.code)
        for req, status in [(b"GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
                            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", b"405"),
                            (b"nonsense\r\n\r\n", b"400"),
                            (b"GET /metrics HTTP/9.9\r\n\r\n", b"400"),
                            (b"GET  /metrics HTTP/1.1\r\n\r\n", b"400"),
                            (b"GET /metrics HTTP/1.1\r\nX: " + b"y" * 20000 + b"\r\n\r\n", b"400"),
                            (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", b"200")]:
            got = raw_http(addr, req)
            check(got.startswith(b"HTTP/1.1 " + status + b" "), "%r -> %r" % (short(req, 60), short(got, 80)))
        head = raw_http(addr, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n"), "HEAD: %r" % short(head, 200))
        # A client that connects and says nothing does not stop the page for others.
        host, port = addr.rsplit(":", 1)
        idle = socket.create_connection((host, int(port)), timeout=5)
        partial = socket.create_connection((host, int(port)), timeout=5)
        partial.sendall(b"GET /metr")
        try:
            fams = scrape(addr)
            check("kappa_requests_total" in fams, "no page beside idle connections")
        finally:
            idle.close()
            partial.close()
        # The Kafka listener is unaffected.
        if not needs_kcat():
            p = kcat("-b", s.addr, "-L")
            check(p.returncode == 0, "kcat -L after the HTTP errors: %s" % short(p.stderr))
    finally:
        rc = s.stop()
    check(rc == 0, "exit %d" % rc)


def test_job_lag_and_watermark(k):
    k.create("ev", "--partitions", 1)
    t0 = 1700000000000
    events = [json.dumps({"user": "u%d" % (i % 3), "ts": t0 + i * 1000}) for i in range(20)]
    k.produce("ev", events, "--timestamp-field", "ts")
    k.ok("job", "create", "sess", "--sessionize", "--input", "ev", "--key-field", "user", "--time-field", "ts",
         "--gap", "30s")
    k.ok("job", "run", "sess")
    k.produce("ev", [json.dumps({"user": "u9", "ts": t0 + 10 ** 6 + i}) for i in range(5)],
              "--timestamp-field", "ts")
    s = Server(k, "--metrics", "127.0.0.1:0")
    try:
        fams = scrape(metrics_addr(s))
        check(one(fams, "kappa_job_serving_version", job="sess") == 1, "serving version")
        lag = one(fams, "kappa_job_lag_records", job="sess", version=1, topic="ev", partition=0)
        check(lag == 5, "job lag %s, not the 5 records produced after its run" % lag)
        wm = one(fams, "kappa_job_watermark_timestamp_seconds", job="sess", version=1, topic="ev", partition=0)
        status = json.loads(k.ok("job", "status", "sess", "--json").out)
        want = status["versions"][0]["partitions"][0]["watermark"]
        check(want is not None and abs(wm - want / 1000) < 1e-6, "watermark %s, job status says %s ms" % (wm, want))
        # The job's own group is in the catalog too, with the same lag.
        glag = values(fams, "kappa_group_lag_records", topic="ev")
        check(all(v in (0, 5) for _, v in glag), "group lag of the job's group %r" % glag)
    finally:
        rc = s.stop()
    check(rc == 0, "exit %d" % rc)


def test_metrics_address_errors_name_it(k):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    try:
        r = k.run("serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:%d" % port, timeout=10)
        check(r.rc == 1 and b"--metrics" in r.err and b"127.0.0.1:%d" % port in r.err,
              "metrics port in use: exit %d %s" % (r.rc, short(r.err)))
        r = k.run("serve", "--listen", "127.0.0.1:0", "--metrics", "nonsense", timeout=10)
        check(r.rc == 2 and b"--metrics" in r.err and b"nonsense" in r.err,
              "bad --metrics: exit %d %s" % (r.rc, short(r.err)))
    finally:
        sock.close()


if __name__ == "__main__":
    run_tests(globals())
