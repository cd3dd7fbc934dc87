"""Real Kafka clients against a Kafka-protocol broker: the shared side of the client tests.

The round trips here take only a bootstrap address ("HOST:PORT") and a `Broker` saying
what that broker is expected to answer, so the same code runs against librdkafka's mock
cluster (test_clients_mock.py) and against `kappa serve`.  Each client is a separate
program (tests/clients/*_driver.*, kcat) that prints JSON lines; every run is bounded by
a timeout.  A client that is not installed raises `Skip` (tools/setup.sh installs all).

Environment (meson sets the first two):
  KAPPA_MOCK_CLUSTER    tests/clients/mock_cluster (librdkafka's mock cluster)
  KAPPA_SARAMA_DRIVER   tests/clients/sarama_driver (Go, Debian's sarama)
  KAPPA_CLIENT_PYTHON   a python3 that imports confluent_kafka and kafka (default: this
                        interpreter, else /usr/bin/python3, where Debian installs them)
  KAPPA_CLIENT_DEBUG=1  print every driver's command line and stderr
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

from kappa_harness import REPO, LineReader, TestFailure, check, short

CLIENTS = os.path.join(REPO, "tests", "clients")
BUILD_CLIENTS = os.path.join(REPO, "build", "tests", "clients")
DEBUG = os.environ.get("KAPPA_CLIENT_DEBUG") == "1"


class Skip(Exception):
    """The client (or helper) is not installed here."""


class Broker:
    """What a broker under test answers, beyond produce/fetch/groups that every one must.

    admin: CreateTopics, DeleteTopics, DescribeConfigs, ListGroups and DescribeGroups
      (librdkafka 2.0.2's mock has none of them).
    offsets_for_times: ListOffsets by timestamp (the mock answers -1, "no such offset").
    kafkajs_followers: a kafkajs member that is not the group's leader gets its assignment
      (librdkafka 2.0.2's mock answers its SyncGroup v3 with an error, so there the group
      test kills its only member and checks that a new one takes over instead).
    create_topic: a function(name, partitions) that makes a topic exist before a test
      uses it (None: create it with the clients' admin calls).
    """

    def __init__(self, bootstrap, admin=True, offsets_for_times=True, create_topic=None,
                 name="broker", kafkajs_followers=True):
        self.bootstrap = bootstrap
        self.kafkajs_followers = kafkajs_followers
        self.admin = admin
        self.offsets_for_times = offsets_for_times
        self._create_topic = create_topic
        self.name = name

    def create_topic(self, name, partitions):
        if self._create_topic:
            self._create_topic(name, partitions)
        else:
            r = run_driver(python_driver("confluent_driver.py", "confluent_kafka") +
                           ["--bootstrap", self.bootstrap, "admin",
                            "create_topics:%s:%d" % (name, partitions)], timeout=30)
            r.expect_ok("create topic %s" % name)


# ---------------------------------------------------------------- running drivers

class DriverRun:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.events = parse_events(out)

    def describe(self):
        return "`%s` -> rc=%s in %.1fs, stdout=%s, stderr=%s" % (
            " ".join(self.argv), self.rc, self.elapsed, short(self.out, 1500), short(self.err, 600))

    def expect_ok(self, what):
        check(self.rc == 0, "%s failed: %s" % (what, self.describe()))
        return self

    def of(self, event):
        return [e for e in self.events if e.get("event") == event]


def parse_events(out):
    events = []
    for line in out.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return events


def run_driver(argv, timeout=30, input=None, env=None):
    if DEBUG:
        print("  $ " + " ".join(argv), flush=True)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, input=input,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise TestFailure("`%s` did not finish in %ss; stdout=%s stderr=%s"
                          % (" ".join(argv), timeout, short(e.stdout or b"", 800),
                             short(e.stderr or b"", 400)))
    r = DriverRun(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    if DEBUG and p.stderr:
        print("  stderr: " + short(p.stderr, 2000), flush=True)
    return r


class Spawned:
    """A driver running in the background (a group member); killed by stop()/kill()."""

    def __init__(self, argv):
        if DEBUG:
            print("  $ %s &" % " ".join(argv), flush=True)
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = LineReader(self.p.stdout)
        self.events = []

    def wait_for(self, pred, timeout, what):
        """Reads events until pred(event) is true; returns that event."""
        deadline = time.monotonic() + timeout
        for e in self.events:
            if pred(e):
                return e
        while True:
            left = deadline - time.monotonic()
            item = self.reader.get(max(0.0, left)) if left > 0 else None
            if item is None or item[1] is None:
                raise TestFailure("%s: not seen in %ss (exit %s); events=%s; stderr=%s" % (
                    what, timeout, self.p.poll(), short(json.dumps(self.events), 1500),
                    short(self._stderr(), 600)))
            evs = parse_events(item[1])
            self.events += evs
            for e in evs:
                if pred(e):
                    return e

    def _stderr(self):
        if self.p.poll() is None:
            return b""
        try:
            return self.p.stderr.read() or b""
        except (OSError, ValueError):
            return b""

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)

    def stop(self, timeout=15):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("`%s` did not stop %ss after SIGTERM" % (" ".join(self.argv), timeout))
        # drain what it printed while stopping
        while True:
            item = self.reader.get(2)
            if item is None or item[1] is None:
                break
            self.events += parse_events(item[1])


# ---------------------------------------------------------------- finding the clients

_pythons = {}


def client_python(module):
    """A python3 that can import `module` (Debian installs the clients for /usr/bin/python3)."""
    if module in _pythons:
        return _pythons[module]
    cands = [os.environ.get("KAPPA_CLIENT_PYTHON"), sys.executable, "/usr/bin/python3"]
    for py in cands:
        if py and os.path.exists(py):
            try:
                ok = subprocess.run([py, "-c", "import " + module], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=30).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            if ok:
                _pythons[module] = py
                return py
    _pythons[module] = None
    return None


def python_driver(script, module):
    py = client_python(module)
    if not py:
        raise Skip("python module %s is not installed (tools/setup.sh installs it)" % module)
    return [py, os.path.join(CLIENTS, script)]


def built(env_name, name):
    p = os.environ.get(env_name) or os.path.join(BUILD_CLIENTS, name)
    if not os.path.exists(p):
        raise Skip("%s is not built (%s; needs its toolchain, see tools/setup.sh)" % (name, p))
    return p


def kcat_bin():
    p = shutil.which("kcat") or shutil.which("kafkacat")
    if not p:
        raise Skip("kcat is not installed (tools/setup.sh installs it)")
    return p


def kafkajs_driver():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise Skip("node is not installed (tools/setup.sh installs it)")
    if not os.path.exists(os.path.join(CLIENTS, "node_modules", "kafkajs", "package.json")):
        raise Skip("kafkajs is not installed in tests/clients/node_modules (tools/setup.sh)")
    return [node, os.path.join(CLIENTS, "kafkajs_driver.js")]


def sarama_driver():
    return [built("KAPPA_SARAMA_DRIVER", "sarama_driver")]


# ---------------------------------------------------------------- librdkafka's mock cluster

# kappa serve's advertised ranges (src/wire/api_versions.cc), as far as librdkafka
# 2.0.2's mock implements them: {API key: (min, max)}.  A mock that advertises these
# gets from each negotiating client the versions kappa serve will get, except Metadata
# (the mock stops at v2, kappa advertises 0-4) and ApiVersions (mock 0-2, kappa 0-4).
KAPPA_RANGES_ON_MOCK = {
    0: (0, 7),    # Produce (0 advertised so that librdkafka < 2.11.1 compresses; 7 for zstd)
    1: (4, 10),   # Fetch (10 for zstd)
    2: (1, 2),    # ListOffsets
    8: (2, 2),    # OffsetCommit
    9: (1, 3),    # OffsetFetch
    10: (0, 0),   # FindCoordinator
    11: (0, 2),   # JoinGroup
    12: (0, 1),   # Heartbeat
    13: (0, 1),   # LeaveGroup
    14: (0, 1),   # SyncGroup
    22: (0, 1),   # InitProducerId
}


class MockCluster:
    """tests/clients/mock_cluster: one mock broker on a loopback port."""

    def __init__(self, brokers=1, debug_log=None):
        """debug_log: a file that gets the mock's "mock" debug log (each request received,
        with its API version): see requests_seen()."""
        self.exe = built("KAPPA_MOCK_CLUSTER", "mock_cluster")
        argv = [self.exe, "--brokers", str(brokers)]
        self.debug_log = debug_log
        err = subprocess.DEVNULL
        if debug_log:
            argv += ["--debug", "mock"]
            err = open(debug_log, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        if debug_log:
            err.close()
        self.reader = LineReader(self.p.stdout)
        item = self.reader.get(10)
        check(item is not None and item[1], "mock_cluster printed no bootstrap address")
        self.bootstrap = item[1].decode().strip()
        check(self.bootstrap.startswith("127.0.0.1:"), "mock bootstrap %r" % self.bootstrap)

    def requests_seen(self):
        """{API name: sorted versions} of the requests the mock received (needs debug_log)."""
        seen = {}
        try:
            text = open(self.debug_log, "rb").read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return seen
        for m in re.finditer(r"Received (\w+?)Request ?V(\d+) from", text):
            seen.setdefault(m.group(1), set()).add(int(m.group(2)))
        return {k: sorted(v) for k, v in seen.items()}

    def command(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()
        item = self.reader.get(10)
        check(item is not None and item[1] is not None, "mock_cluster: no answer to %r" % line)
        answer = item[1].decode().strip()
        check(answer == "ok", "mock_cluster: %r -> %r" % (line, answer))

    def advertise(self, ranges):
        """Changes the advertised versions: {API key: (min, max)}, e.g. KAPPA_RANGES_ON_MOCK."""
        for key, (lo, hi) in sorted(ranges.items()):
            self.command("apiversion %d %d %d" % (key, lo, hi))

    def topic(self, name, partitions):
        self.command("topic %s %d" % (name, partitions))

    def broker(self):
        return Broker(self.bootstrap, admin=False, offsets_for_times=False,
                      create_topic=self.topic, name="librdkafka mock cluster",
                      kafkajs_followers=False)

    def close(self):
        if self.p.poll() is None:
            try:
                self.command("quit")
                self.p.wait(timeout=10)
            except (TestFailure, OSError, ValueError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- checks

def records(n, prefix=""):
    return [("%sk%d" % (prefix, i), "%sv%d" % (prefix, i)) for i in range(n)]


def by_partition(events):
    """{partition: [(offset, key, value)] in arrival order}."""
    out = {}
    for e in events:
        out.setdefault(e["partition"], []).append((e["offset"], e["key"], e["value"]))
    return out


def check_delivered(run, n, prefix, what):
    """Every record acknowledged once, offsets increasing per partition in send order."""
    d = run.of("delivered")
    check([(e["key"], e["value"]) for e in d] == records(n, prefix),
          "%s: delivered %s, expected %d records in order: %s" % (what, short(json.dumps(d), 600), n,
                                                                  run.describe()))
    for p, rs in by_partition(d).items():
        offs = [o for o, _, _ in rs]
        check(all(b > a for a, b in zip(offs, offs[1:])) and offs[0] >= 0,
              "%s: partition %d offsets not increasing in send order: %r" % (what, p, offs))
    return d


def check_consumed_match(delivered, consumed, what, exact=True):
    """Consumed records per partition equal the delivered ones (offsets, keys, values,
    order); with exact=False, consumed may hold more (earlier runs) but must contain them."""
    dp, cp = by_partition(delivered), by_partition(consumed)
    for p, rs in dp.items():
        got = cp.get(p, [])
        if not exact:
            want = set(rs)
            got = [r for r in got if r in want]
        check(got == rs, "%s: partition %d consumed %s, produced %s" % (
            what, p, short(repr(got), 500), short(repr(rs), 500)))
    if exact:
        extra = set(cp) - set(dp)
        check(not extra, "%s: consumed from partitions %s nothing was produced to" % (what, extra))


# ---------------------------------------------------------------- kcat

def kcat(broker, *args, input=None, timeout=20):
    argv = [kcat_bin(), "-b", broker.bootstrap] + [str(a) for a in args]
    return run_driver(argv, timeout=timeout, input=input)


def kcat_metadata(broker):
    r = kcat(broker, "-L", "-J").expect_ok("kcat -L")
    try:
        return json.loads(r.out)
    except ValueError:
        raise TestFailure("kcat -L -J is not JSON: %s" % r.describe())


def kcat_produce(broker, topic, recs, codec="none", partition=None):
    data = "".join("%s:%s\n" % kv for kv in recs).encode()
    args = ["-P", "-t", topic, "-K:", "-z", codec]
    if partition is not None:
        args += ["-p", partition]
    kcat(broker, *args, input=data).expect_ok("kcat -P -z %s" % codec)


def kcat_consume(broker, topic, offset, partition=0, extra=()):
    """[(offset, key, value, ts)] from -C -e -o OFFSET."""
    r = kcat(broker, "-C", "-t", topic, "-p", partition, "-o", offset, "-e", "-q", "-J",
             *extra).expect_ok("kcat -C -o %s" % offset)
    out = []
    for e in r.events:
        out.append((e["offset"], e.get("key"), e.get("payload"), e.get("ts")))
    return out


def kcat_offsets_for_times(broker, topic, partition, ts):
    r = kcat(broker, "-Q", "-t", "%s:%d:%d" % (topic, partition, ts), "-J").expect_ok("kcat -Q")
    check(r.events, "kcat -Q printed no JSON: %s" % r.describe())
    return r.events[0][topic][str(partition)]["offset"]


def kcat_roundtrip(broker, topic):
    """-L, -P with every codec, -C with each kind of -o, -Q, -G."""
    broker.create_topic(topic, 1)
    md = kcat_metadata(broker)
    check(md.get("brokers"), "kcat -L: no brokers: %r" % md)
    names = {t["topic"]: t for t in md.get("topics", [])}
    check(topic in names and len(names[topic]["partitions"]) == 1,
          "kcat -L: topic %s with 1 partition missing: %s" % (topic, short(json.dumps(md), 600)))
    sent = []
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        recs = records(3, codec + "-")
        kcat_produce(broker, topic, recs, codec=codec, partition=0)
        sent += recs
    all_ = kcat_consume(broker, topic, "beginning")
    check([(k, v) for _, k, v, _ in all_] == sent,
          "kcat -o beginning: %s, produced %s" % (short(repr(all_), 600), short(repr(sent), 300)))
    check([o for o, _, _, _ in all_] == list(range(len(sent))),
          "kcat offsets %r" % [o for o, _, _, _ in all_])
    check(kcat_consume(broker, topic, "end") == [], "kcat -o end -e returned records")
    check(kcat_consume(broker, topic, 10) == all_[10:], "kcat -o 10")
    check(kcat_consume(broker, topic, -4) == all_[-4:], "kcat -o -4")
    # Records a clearly later timestamp, then -o s@TS and -Q for it.
    time.sleep(0.05)
    late = records(2, "late-")
    time.sleep(max(0.0, (all_[-1][3] + 20) / 1000.0 - time.time()))
    kcat_produce(broker, topic, late, partition=0)
    tail = kcat_consume(broker, topic, len(sent))
    check([(k, v) for _, k, v, _ in tail] == late, "kcat: late records %r" % tail)
    ts = tail[0][3]
    check(ts > all_[-1][3], "late record's timestamp %d not after %d" % (ts, all_[-1][3]))
    by_time = kcat_consume(broker, topic, "s@%d" % ts)
    q = kcat_offsets_for_times(broker, topic, 0, ts)
    if broker.offsets_for_times:
        check(by_time == tail, "kcat -o s@%d: %r, expected %r" % (ts, by_time, tail))
        check(q == len(sent), "kcat -Q %d -> %r, expected %d" % (ts, q, len(sent)))
    else:
        # a broker without the time index answers "no offset" (-1): nothing is read
        check(by_time in ([], tail), "kcat -o s@%d: %r" % (ts, by_time))
        check(q in (-1, len(sent)), "kcat -Q -> %r" % q)
    # -G: a group member consumes everything once, committing; a second run reads nothing.
    group = topic + "-kcat-group"
    # (librdkafka's mock keeps a member that left until its session times out, and a new
    # member's join waits for it: hence the short session.)
    r = kcat(broker, "-G", group, topic, "-e", "-q", "-J", "-X", "auto.offset.reset=earliest",
             "-X", "enable.auto.commit=true", "-X", "auto.commit.interval.ms=100",
             "-X", "session.timeout.ms=6000", timeout=30).expect_ok("kcat -G")
    got = [(e["offset"], e.get("key"), e.get("payload"), e.get("ts")) for e in r.events]
    check(got == all_ + tail, "kcat -G consumed %s" % short(repr(got), 600))
    r2 = kcat(broker, "-G", group, topic, "-e", "-q", "-J", "-X", "auto.offset.reset=earliest",
              timeout=30).expect_ok("kcat -G again")
    check(r2.events == [], "kcat -G again re-read committed records: %s" % r2.describe())


# ---------------------------------------------------------------- confluent-kafka-python

def confluent(broker, *args, timeout=30):
    argv = python_driver("confluent_driver.py", "confluent_kafka") + [
        "--bootstrap", broker.bootstrap, "--timeout", str(timeout - 5)] + [str(a) for a in args]
    return run_driver(argv, timeout=timeout)


def confluent_roundtrip(broker, topic, n=20):
    """Idempotent, acks=all producer of N keyed records; a group consumes them all."""
    broker.create_topic(topic, 3)
    r = confluent(broker, "produce", "--topic", topic, "--count", n).expect_ok("confluent produce")
    d = check_delivered(r, n, "", "confluent-kafka idempotent producer")
    g = confluent(broker, "group", "--topic", topic, "--group", topic + "-g", "--count", n)
    g.expect_ok("confluent group consumer")
    check(g.of("assigned") and g.of("assigned")[0]["partitions"] == [0, 1, 2],
          "confluent group: assignment %s" % g.of("assigned"))
    check_consumed_match(d, g.of("record"), "confluent group consumer")
    ends = {p: rs[-1][0] + 1 for p, rs in by_partition(d).items()}
    fetched = {e["partition"]: e["offset"] for e in g.of("fetched_offset")}
    for p, end in ends.items():
        check(fetched.get(p) == end, "confluent: committed offset of partition %d is %r, "
              "expected %d" % (p, fetched.get(p), end))
    # AdminClient
    calls = ["list_topics"]
    if broker.admin:
        calls = ["create_topics:%s-admin:2" % topic, "list_topics",
                 "describe_configs:%s" % topic, "list_groups",
                 "delete_topics:%s-admin" % topic]
    a = confluent(broker, "admin", *calls).expect_ok("confluent admin")
    res = {e["call"]: e["result"] for e in a.of("admin")}
    check(res["list_topics"].get(topic) == 3, "confluent list_topics: %r" % res["list_topics"])
    if broker.admin:
        check(topic + "-g" in res["list_groups"], "confluent list_groups: %r" % res["list_groups"])
        check(isinstance(res["describe_configs"], dict) and res["describe_configs"],
              "confluent describe_configs: %r" % res["describe_configs"])
    else:
        # ListGroups is refused by the client itself, at once, when it is not advertised
        a = confluent(broker, "admin", "list_groups")
        check(a.rc != 0 and "not supported" in a.out.decode(), "confluent list_groups on a broker "
              "without ListGroups: %s" % a.describe())


# ---------------------------------------------------------------- kafka-python

def kafkapython(broker, *args, timeout=30, api_version="auto"):
    argv = python_driver("kafkapython_driver.py", "kafka") + [
        "--bootstrap", broker.bootstrap, "--timeout", str(timeout - 5),
        "--api-version", api_version] + [str(a) for a in args]
    return run_driver(argv, timeout=timeout)


def kafkapython_roundtrip(broker, topic, n=20, api_version="auto"):
    """KafkaProducer sends N; a KafkaConsumer group reads, commits; admin calls answer."""
    broker.create_topic(topic, 2)
    r = kafkapython(broker, "produce", "--topic", topic, "--count", n, api_version=api_version)
    r.expect_ok("kafka-python produce")
    d = check_delivered(r, n, "", "kafka-python producer")
    g = kafkapython(broker, "group", "--topic", topic, "--group", topic + "-g", "--count", n,
                    api_version=api_version).expect_ok("kafka-python group consumer")
    check(g.of("assigned") and g.of("assigned")[-1]["partitions"] == [0, 1],
          "kafka-python group: assignment %s" % g.of("assigned"))
    check_consumed_match(d, g.of("record"), "kafka-python group consumer")
    ends = {p: rs[-1][0] + 1 for p, rs in by_partition(d).items()}
    fetched = {e["partition"]: e["offset"] for e in g.of("fetched_offset")}
    for p, end in ends.items():
        check(fetched.get(p) == end, "kafka-python: committed offset of partition %d is %r, "
              "expected %d" % (p, fetched.get(p), end))
    calls = ["create_topics:%s-admin:2" % topic, "list_consumer_groups",
             "describe_consumer_groups:%s-g" % topic]
    a = kafkapython(broker, "admin", *calls, api_version=api_version)
    if broker.admin:
        a.expect_ok("kafka-python admin")
        res = {e["call"]: e["result"] for e in a.of("admin")}
        check(topic + "-g" in res["list_consumer_groups"], "kafka-python list_consumer_groups: %r"
              % res["list_consumer_groups"])
        check(res["describe_consumer_groups"][0]["group"] == topic + "-g",
              "kafka-python describe_consumer_groups: %r" % res["describe_consumer_groups"])
    else:
        # every call is refused client-side: the broker does not advertise the API
        check(len(a.of("admin")) == 3 and all(not e["ok"] and "IncompatibleBrokerVersion" in e["error"]
                                              for e in a.of("admin")),
              "kafka-python admin on a broker without the admin APIs: %s" % a.describe())


# ---------------------------------------------------------------- kafkajs

def kafkajs(broker, *args, timeout=30):
    argv = kafkajs_driver() + ["--bootstrap", broker.bootstrap, "--timeout", str(timeout - 5)] + [
        str(a) for a in args]
    return run_driver(argv, timeout=timeout)


def kafkajs_member(broker, topic, group, timeout=60, count=None):
    argv = kafkajs_driver() + ["--bootstrap", broker.bootstrap, "--timeout", str(timeout),
                               "member", "--topic", topic, "--group", group]
    if count is not None:
        argv += ["--count", str(count)]
    return Spawned(argv)


def kafkajs_roundtrip(broker, topic, n=20):
    """producer.send; a group of two member processes, one killed; admin calls."""
    broker.create_topic(topic, 4)
    r = kafkajs(broker, "produce", "--topic", topic, "--count", n).expect_ok("kafkajs produce")
    d = check_delivered(r, n, "", "kafkajs producer")
    group = topic + "-g"
    if not broker.kafkajs_followers:
        _kafkajs_takeover(broker, topic, group, d, n)
        d2 = []
    else:
        d2 = _kafkajs_group_of_two(broker, topic, group, d, n)
    calls = ["list_topics", "fetch_topic_offsets:%s" % topic]
    if broker.admin:
        calls += ["create_topics:%s-admin:2" % topic, "describe_groups:%s" % group]
    ad = kafkajs(broker, "admin", *calls).expect_ok("kafkajs admin")
    res = {e["call"]: e["result"] for e in ad.of("admin")}
    check(topic in res["list_topics"], "kafkajs listTopics: %r" % res["list_topics"])
    ends = {p: 0 for p in range(4)}
    for e in d + d2:
        ends[e["partition"]] = max(ends[e["partition"]], e["offset"] + 1)
    check([(x["partition"], x["high"]) for x in res["fetch_topic_offsets"]] == sorted(ends.items()),
          "kafkajs fetchTopicOffsets %r, expected high %r" % (res["fetch_topic_offsets"], ends))
    if broker.admin:
        check(res["describe_groups"][0]["group"] == group, "kafkajs describeGroups %r"
              % res["describe_groups"])


def _records_seen(member):
    return {(x["partition"], x["offset"]) for x in member.events if x["event"] == "record"}


def _kafkajs_takeover(broker, topic, group, d, n):
    """One member consumes everything and is killed; a new member takes the partitions
    over once the dead one's session times out, and resumes from the committed offsets."""
    a = kafkajs_member(broker, topic, group)
    b = None
    try:
        a.wait_for(lambda e: e["event"] == "assigned" and e["partitions"] == [0, 1, 2, 3], 20,
                   "kafkajs member gets all 4 partitions")
        want = {(e["partition"], e["offset"]) for e in d}
        a.wait_for(lambda e: want <= _records_seen(a), 20, "kafkajs member consumes every record")
        check_consumed_match(d, [x for x in a.events if x["event"] == "record"], "kafkajs member")
        time.sleep(0.5)  # its last commit
        a.kill()
        b = kafkajs_member(broker, topic, group)
        b.wait_for(lambda e: e["event"] == "assigned" and e["partitions"] == [0, 1, 2, 3], 30,
                   "new kafkajs member takes over all 4 partitions")
        r2 = kafkajs(broker, "produce", "--topic", topic, "--count", 4, "--prefix", "after-")
        d2 = check_delivered(r2.expect_ok("kafkajs produce after the takeover"), 4, "after-",
                             "kafkajs producer (after)")
        want2 = {(e["partition"], e["offset"]) for e in d2}
        b.wait_for(lambda e: want2 <= _records_seen(b), 20, "new member consumes the new records")
        check(not (_records_seen(b) & want), "the new kafkajs member re-read committed records")
        d.extend(d2)
        b.stop()
    finally:
        a.kill()
        if b:
            b.kill()


def _kafkajs_group_of_two(broker, topic, group, d, n):
    a = kafkajs_member(broker, topic, group)
    b = None
    try:
        a.wait_for(lambda e: e["event"] == "assigned" and e["partitions"] == [0, 1, 2, 3], 20,
                   "first kafkajs member gets all 4 partitions")
        b = kafkajs_member(broker, topic, group)
        # after the rebalance each holds two partitions
        eb = b.wait_for(lambda e: e["event"] == "assigned" and len(e["partitions"]) == 2, 25,
                        "second kafkajs member gets 2 partitions")
        ea = a.wait_for(lambda e: e["event"] == "assigned" and len(e["partitions"]) == 2, 25,
                        "first kafkajs member is rebalanced to 2 partitions")
        check(sorted(ea["partitions"] + eb["partitions"]) == [0, 1, 2, 3],
              "kafkajs members' assignments overlap: %r %r" % (ea, eb))
        # b is killed (no LeaveGroup): a gets everything back once b's session times out
        b.kill()
        a.wait_for(lambda e: e["event"] == "assigned" and e["partitions"] == [0, 1, 2, 3], 30,
                   "surviving kafkajs member gets all 4 partitions back")
        r2 = kafkajs(broker, "produce", "--topic", topic, "--count", n, "--prefix", "after-")
        r2.expect_ok("kafkajs produce after the rebalance")
        d2 = check_delivered(r2, n, "after-", "kafkajs producer (after)")
        want = {(e["partition"], e["offset"]) for e in d + d2}
        a.wait_for(lambda e: want <= {(x["partition"], x["offset"]) for x in a.events
                                      if x["event"] == "record"}, 30,
                   "surviving kafkajs member consumes every record")
        # every record of the second batch exactly as produced, per partition
        check_consumed_match(d2, [x for x in a.events if x["event"] == "record"],
                             "kafkajs survivor", exact=False)
        a.stop()
        return d2
    finally:
        a.kill()
        if b:
            b.kill()


# ---------------------------------------------------------------- sarama

def sarama(broker, *args, timeout=30, version="0.11.0.0"):
    argv = sarama_driver() + ["--bootstrap", broker.bootstrap, "--timeout", str(timeout - 5),
                              "--version", version] + [str(a) for a in args]
    return run_driver(argv, timeout=timeout)


def sarama_roundtrip(broker, topic, n=20, version="0.11.0.0"):
    """SyncProducer sends N; a partition consumer and a consumer group read them back."""
    broker.create_topic(topic, 2)
    r = sarama(broker, "produce", "--topic", topic, "--count", n, version=version)
    d = check_delivered(r.expect_ok("sarama produce"), n, "", "sarama producer")
    per = by_partition(d)
    for p, rs in per.items():
        c = sarama(broker, "consume", "--topic", topic, "--partition", p, "--count", len(rs),
                   "--offset", "oldest", version=version).expect_ok("sarama consume")
        check_consumed_match([e for e in d if e["partition"] == p], c.of("record"),
                             "sarama partition consumer")
    g = sarama(broker, "group", "--topic", topic, "--group", topic + "-g", "--count", n,
               version=version).expect_ok("sarama consumer group")
    check(g.of("assigned") and sorted(g.of("assigned")[0]["partitions"]) == [0, 1],
          "sarama group: assignment %s" % g.of("assigned"))
    check_consumed_match(d, g.of("record"), "sarama consumer group")
    md = sarama(broker, "metadata", version=version).expect_ok("sarama metadata")
    check({"event": "topic", "topic": topic, "partitions": 2} in md.events,
          "sarama metadata: %s" % md.describe())


# ---------------------------------------------------------------- zstd

# zstd needs Produce v7 and Fetch v10 advertised (KIP-110): below them librdkafka sends
# its batches uncompressed and the Java producer fails. kcat's zstd is in kcat_roundtrip.

def confluent_zstd_roundtrip(broker, topic, n=50):
    """An idempotent producer with compression.codec=zstd; a group reads it all back."""
    broker.create_topic(topic, 1)
    r = confluent(broker, "produce", "--topic", topic, "--count", n, "--compression", "zstd")
    d = check_delivered(r.expect_ok("confluent zstd produce"), n, "", "confluent-kafka zstd producer")
    g = confluent(broker, "group", "--topic", topic, "--group", topic + "-g", "--count", n)
    check_consumed_match(d, g.expect_ok("confluent group consumer").of("record"),
                         "confluent group consumer of zstd batches")


def kafkapython_zstd_roundtrip(broker, topic, n=50):
    """kafka-python 2.0.2 compresses with zstd only for a broker it takes for 2.1 or later
    (then it sends Produce v7); its consumer reads the batches with Fetch v4, which Kafka
    serves zstd at compression.type=producer. Needs the python module zstandard."""
    py = client_python("kafka")
    if py is None:
        raise Skip("python module kafka is not installed (tools/setup.sh installs it)")
    if subprocess.run([py, "-c", "import zstandard"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        raise Skip("kafka-python's zstd codec needs the python module zstandard (Debian "
                   "python3-zstandard; tools/setup.sh installs it), which %s cannot import" % py)
    broker.create_topic(topic, 1)
    r = kafkapython(broker, "produce", "--topic", topic, "--count", n, "--compression", "zstd")
    r.expect_ok("kafka-python zstd produce")
    guessed = r.of("api_version")
    check(guessed and tuple(guessed[0]["version"]) >= (2, 1),
          "kafka-python took the broker for %s: zstd needs 2.1" % (guessed and guessed[0]["version"]))
    d = check_delivered(r, n, "", "kafka-python zstd producer")
    g = kafkapython(broker, "group", "--topic", topic, "--group", topic + "-g", "--count", n)
    check_consumed_match(d, g.expect_ok("kafka-python group consumer").of("record"),
                         "kafka-python group consumer of zstd batches")


def sarama_zstd(broker, topic, n=20):
    """Debian's sarama 1.22 has no Produce v7: at Version 2.1 it puts zstd batches in
    Produce v3, which Kafka refuses (UNSUPPORTED_COMPRESSION_TYPE, 76) and so does kappa
    serve. Its Fetch v4 consumer reads zstd batches another client wrote."""
    broker.create_topic(topic, 1)
    r = sarama(broker, "produce", "--topic", topic, "--count", 1, "--compression", "zstd",
               version="2.1.0")
    check(r.rc != 0 and "does not support the compression type" in r.out.decode(),
          "sarama's zstd in Produce v3 was not refused with UNSUPPORTED_COMPRESSION_TYPE: %s"
          % r.describe())
    recs = records(n, "zstd-")
    kcat_produce(broker, topic, recs, codec="zstd", partition=0)
    c = sarama(broker, "consume", "--topic", topic, "--partition", 0, "--count", n,
               "--offset", "oldest").expect_ok("sarama consume of zstd batches")
    got = [(e["key"], e["value"]) for e in c.of("record")]
    check(got == recs, "sarama read %s of kcat's zstd batches" % short(repr(got), 300))
