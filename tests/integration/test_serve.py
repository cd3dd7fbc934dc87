#!/usr/bin/env python3
"""kappa serve as Kafka clients meet it: kcat produces (each codec), consumes (from
beginning, end, N, -N), lists metadata; what the CLI writes reaches clients at once and
what clients write the CLI reads; of 16 producers at once, every record is stored
exactly once, in each producer's order, at dense offsets; bad bytes close only their
connection; an acknowledged produce survives kill -9; SIGTERM stops it cleanly. Every
wait is bounded; the server listens on a free loopback port."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kappa_harness import check, run_tests, short  # noqa: E402

KCAT = shutil.which("kcat")


class Server:
    def __init__(self, k, *extra):
        self.k = k
        self.err_path = os.path.join(k.root, "serve-%d.err" % time.monotonic_ns())
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen(k.cmd(["serve", "--listen", "127.0.0.1:0"] + list(extra)),
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 10
        self.addr = None
        while time.monotonic() < deadline and self.addr is None:
            m = re.search(rb"clients are told ([^ )]+:\d+)", open(self.err_path, "rb").read())
            if m:
                self.addr = m.group(1).decode()
            elif self.p.poll() is not None:
                break
            else:
                time.sleep(0.02)
        check(self.addr, "kappa serve did not start: %s" % short(self.stderr()))

    def stderr(self):
        return open(self.err_path, "rb").read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise
        self.err.close()
        return rc


def kcat(*args, input=None, timeout=20):
    p = subprocess.run([KCAT] + [str(a) for a in args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p


def needs_kcat():
    if not KCAT:
        print("skip: kcat is not installed (tools/setup.sh installs it)")
        return True
    return False


def test_kcat_produce_each_codec_and_consume_back(k):
    if needs_kcat():
        return
    s = Server(k)
    try:
        meta = kcat("-b", s.addr, "-L")
        check(meta.returncode == 0 and b"broker 0 at " + s.addr.encode() in meta.stdout,
              "kcat -L: %s %s" % (short(meta.stdout), short(meta.stderr)))
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
            lines = b"".join(b"%s-%05d\n" % (codec.encode(), i) for i in range(3000))
            p = kcat("-b", s.addr, "-P", "-t", "t-" + codec, "-z", codec, "-X", "acks=all", input=lines)
            check(p.returncode == 0, "kcat -P -z %s: %s" % (codec, short(p.stderr)))
            # Acknowledged, so already durable and readable by the CLI.
            check(k.consume("t-" + codec).out == lines, "%s: kappa consume differs from what kcat sent" % codec)
            got = kcat("-b", s.addr, "-C", "-t", "t-" + codec, "-o", "beginning", "-e")
            check(got.stdout == lines, "%s: kcat -C gave %d bytes" % (codec, len(got.stdout)))
            check(k.ok("verify", "t-" + codec).rc == 0, "verify")
        last = kcat("-b", s.addr, "-C", "-t", "t-gzip", "-o", "-3", "-e").stdout
        check(last == b"gzip-02997\ngzip-02998\ngzip-02999\n", "-o -3: %r" % last)
        mid = kcat("-b", s.addr, "-C", "-t", "t-gzip", "-o", "2998", "-e").stdout
        check(mid == b"gzip-02998\ngzip-02999\n", "-o 2998: %r" % mid)
        dump = k.ok("dump", k.logs("t-gzip")[0]).text
        check("compresscodec: gzip" in dump, "kcat's gzip batches are not stored as sent")
    finally:
        check(s.stop() == 0, "serve did not exit 0 on SIGTERM")


def test_cli_and_clients_see_each_other_at_once(k):
    if needs_kcat():
        return
    k.create("live")
    s = Server(k)
    try:
        out_path = os.path.join(k.root, "live.out")
        with open(out_path, "wb") as out:
            c = subprocess.Popen([KCAT, "-b", s.addr, "-C", "-t", "live", "-o", "beginning", "-u"],
                                 stdout=out, stderr=subprocess.DEVNULL)
            try:
                time.sleep(1.0)  # the consumer is waiting in a long poll
                t0 = time.monotonic()
                k.produce("live", ["from-the-cli"])
                while time.monotonic() - t0 < 5 and b"from-the-cli" not in open(out_path, "rb").read():
                    time.sleep(0.01)
                seen = time.monotonic() - t0
                check(b"from-the-cli" in open(out_path, "rb").read(), "kcat never saw the CLI's record")
                check(seen < 2.0, "kcat saw the CLI's record only after %.2f s" % seen)
            finally:
                c.terminate()
                c.wait(timeout=5)
        p = kcat("-b", s.addr, "-P", "-t", "live", input=b"from-kcat\n")
        check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
        check(k.values("live") == [b"from-the-cli", b"from-kcat"], "CLI reads %r" % k.values("live"))
    finally:
        s.stop()


def test_kcat_group_commits_show_in_group_describe_and_resume(k):
    if needs_kcat():
        return
    k.create("g", "--partitions", 3)
    k.produce("g", ["k%d:v%d" % (i % 17, i) for i in range(600)], "-K", ":")
    s = Server(k)
    try:
        def run_group():
            # (kcat -G with -o assigns that offset itself: the committed ones are
            # used only without it, with auto.offset.reset for a new group.)
            p = kcat("-b", s.addr, "-G", "grp", "-X", "auto.offset.reset=earliest", "-e",
                     "-X", "auto.commit.interval.ms=100",
                     "-f", "%p %o %s\n", "g", timeout=40)
            return p.stdout.splitlines()
        got = run_group()
        check(len(got) == 600, "kcat -G read %d of 600 records" % len(got))
        check(sorted(int(x.split()[2][1:]) for x in got) == list(range(600)), "kcat -G skipped or repeated records")
        desc = k.ok("group", "describe", "grp", "--json").out
        import json
        rows = json.loads(desc)
        rows = rows.get("partitions", rows) if isinstance(rows, dict) else rows
        lag = sum(r["lag"] for r in rows)
        check(len(rows) == 3 and lag == 0, "group describe after kcat -G: %s" % short(desc))
        k.produce("g", ["k1:new-1", "k2:new-2"], "-K", ":")
        again = run_group()
        check(sorted(x.split()[2] for x in again) == [b"new-1", b"new-2"],
              "a second run of the group read %r, not just the 2 new records" % again)
    finally:
        s.stop()


def test_auto_create_uses_num_partitions_and_can_be_off(k):
    if needs_kcat():
        return
    k.ok("config", "set", "num.partitions=3")
    s = Server(k)
    try:
        p = kcat("-b", s.addr, "-P", "-t", "fresh", input=b"x\n")
        check(p.returncode == 0, "kcat -P to a new topic: %s" % short(p.stderr))
        check(len(k.describe("fresh")["partitions"]) == 3, "auto-created topic: %s" % k.describe("fresh"))
    finally:
        s.stop()
    s = Server(k, "--no-auto-create")
    try:
        p = kcat("-b", s.addr, "-P", "-t", "nosuch", "-X", "message.timeout.ms=2000", input=b"x\n")
        check(p.returncode != 0, "kcat -P to an unknown topic succeeded with --no-auto-create")
        check(k.run("topic", "describe", "nosuch").rc == 1, "--no-auto-create created the topic")
    finally:
        s.stop()


def _idempotent_batch(pid, epoch, seq, values):
    """A RecordBatch v2 as an idempotent producer encodes it (kafka_reader's codec)."""
    import kafka_reader as kr
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + kr.encode_varint(0) + kr.encode_varint(i) + kr.encode_varint(-1) + \
            kr.encode_varint(len(v)) + v + kr.encode_varint(0)
        recs += kr.encode_varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, 1000, 1000, pid, epoch, seq, len(values)) + recs
    crc = kr.crc32c(after_crc)
    head = struct.pack(">iBI", 0, 2, crc)  # partitionLeaderEpoch, magic, crc
    return struct.pack(">qi", 0, len(head) + len(after_crc)) + head + after_crc


def _produce_raw(addr, topic, batch, correlation=1):
    """One Produce v3 request (acks=-1) on its own connection: (error_code, base_offset)."""
    body = struct.pack(">hhi", -1, -1, 10000)  # transactional_id null, acks, timeout
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">i", 1) + struct.pack(">ii", 0, len(batch)) + batch
    header = struct.pack(">hhih", 0, 3, correlation, 4) + b"test"
    msg = header + body
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(msg)) + msg)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            check(chunk, "the server closed the connection on a Produce")
            data += chunk
    resp = data[4:]
    (corr,) = struct.unpack(">i", resp[:4])
    check(corr == correlation, "correlation id %d" % corr)
    pos = 4 + 4  # topics count
    (name_len,) = struct.unpack(">h", resp[pos:pos + 2])
    pos += 2 + name_len + 4  # name, partitions count
    _, err, base = struct.unpack(">ihq", resp[pos:pos + 14])
    return err, base


def test_idempotent_retries_are_acknowledged_once_across_a_restart(k):
    k.create("idem")
    s = Server(k)
    pid = 4242
    first = _idempotent_batch(pid, 0, 0, [b"a", b"b", b"c"])
    check(_produce_raw(s.addr, "idem", first) == (0, 0), "first batch")
    check(_produce_raw(s.addr, "idem", first) == (0, 0), "a repeated batch is not acknowledged with its first offset")
    check(k.values("idem") == [b"a", b"b", b"c"], "a repeated batch was appended again: %r" % k.values("idem"))
    err, _ = _produce_raw(s.addr, "idem", _idempotent_batch(pid, 0, 5, [b"gap"]))
    check(err == 45, "a sequence gap gives %d, not OUT_OF_ORDER_SEQUENCE_NUMBER (45)" % err)
    s.p.kill()
    s.p.wait(timeout=10)
    s.err.close()
    s = Server(k)
    try:
        # The producer's state is rebuilt from the stored batches.
        check(_produce_raw(s.addr, "idem", first) == (0, 0), "after kill -9 the retry is not recognised")
        check(_produce_raw(s.addr, "idem", _idempotent_batch(pid, 0, 3, [b"d"])) == (0, 3), "the next sequence")
        check(k.values("idem") == [b"a", b"b", b"c", b"d"], "after the restart: %r" % k.values("idem"))
        err, _ = _produce_raw(s.addr, "idem", _idempotent_batch(pid, 0, 3, [b"x", b"y"]))
        check(err == 45, "a batch overlapping what was appended gives %d" % err)
    finally:
        s.stop()


def test_bad_bytes_close_only_their_connection(k):
    if needs_kcat():
        return
    s = Server(k)
    try:
        host, port = s.addr.split(":")
        bad = [b"\x00\x00\x00\x05hello",                 # too short for a header
               b"\x7f\xff\xff\xff" + b"x" * 100,          # 2 GiB frame
               b"\xff\xff\xff\xf0abcd",                   # negative size
               struct.pack(">ihhi", 12, 999, 0, 1) + b"\x00\x00\x00\x00",  # unknown API key
               struct.pack(">ihhi", 12, 0, 1, 7) + b"\x00\x00\x00\x00",    # Produce v1: refused
               os.urandom(4096)]
        for payload in bad:
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(payload)
            sock.settimeout(5)
            try:
                data = sock.recv(100)
            except (ConnectionResetError, socket.timeout):
                data = b""
            check(data == b"", "the server answered garbage %r with %r" % (payload[:16], data))
            sock.close()
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(50)]
        p = kcat("-b", s.addr, "-P", "-t", "after", input=b"still-serving\n")
        check(p.returncode == 0, "kcat after garbage: %s" % short(p.stderr))
        check(k.values("after") == [b"still-serving"], "after: %r" % k.values("after"))
        for sock in idle:
            sock.close()
        check(b"closed the connection" in s.stderr(), "no line on stderr: %s" % short(s.stderr()))
        check(k.values("after") == [b"still-serving"], "garbage appended something")
    finally:
        s.stop()


def test_acknowledged_produce_survives_kill9(k):
    if needs_kcat():
        return
    s = Server(k)
    lines = b"".join(b"durable-%06d\n" % i for i in range(20000))
    p = kcat("-b", s.addr, "-P", "-t", "d", "-X", "acks=all", input=lines)
    check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
    s.p.kill()
    s.p.wait(timeout=10)
    s.err.close()
    check(k.consume("d").out == lines, "after kill -9, the acknowledged records are not all there")
    s2 = Server(k)
    try:
        got = kcat("-b", s2.addr, "-C", "-t", "d", "-e").stdout
        check(got == lines, "a restarted server serves %d bytes of %d" % (len(got), len(lines)))
    finally:
        s2.stop()


def test_sigterm_stops_within_ten_seconds(k):
    if needs_kcat():
        return
    s = Server(k)
    kcat("-b", s.addr, "-P", "-t", "x", input=b"a\n")
    t0 = time.monotonic()
    rc = s.stop(timeout=10)
    check(rc == 0, "exit %d on SIGTERM" % rc)
    check(time.monotonic() - t0 < 10, "took %.1f s" % (time.monotonic() - t0))


def test_max_connections_and_advertise(k):
    if needs_kcat():
        return
    s = Server(k, "--max-connections", "3", "--advertise", "localhost:0")
    try:
        meta = kcat("-b", s.addr, "-L")
        port = s.addr.split(":")[1]
        check(b"broker 0 at localhost:" + port.encode() in meta.stdout,
              "kcat -L does not show the --advertise host: %s" % short(meta.stdout))
        host, port = s.addr.split(":")
        held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(3)]
        extra = socket.create_connection((host, int(port)), timeout=5)
        extra.settimeout(5)
        try:
            data = extra.recv(10)  # b"": closed by the server
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            data = None
        check(data == b"", "the 4th connection past --max-connections 3 was not closed (%r)" % data)
        extra.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and b"--max-connections" not in s.stderr():
            time.sleep(0.02)
        check(b"--max-connections" in s.stderr(), "no line on stderr: %s" % short(s.stderr()))
        held.pop().close()
        time.sleep(0.2)
        p = kcat("-b", s.addr, "-P", "-t", "room", input=b"fits\n")
        check(p.returncode == 0 and k.values("room") == [b"fits"], "a client after one closed: %s" % short(p.stderr))
        for sock in held:
            sock.close()
    finally:
        s.stop()


def test_sixteen_concurrent_producers_each_record_once_dense_offsets(k):
    # 16 producers at once into one 4-partition topic, acks=all: kcat -P processes
    # (plain and compressed) and confluent-kafka producers (idempotent and not).
    # Every record is there exactly once, each partition's offsets are 0..n-1, and
    # each producer's records keep their send order within a partition.
    if needs_kcat():
        return
    import kafka_clients as kc
    try:
        confluent = kc.python_driver("confluent_driver.py", "confluent_kafka")
    except kc.Skip as e:
        print("note: %s; all 16 producers are kcat" % e, flush=True)
        confluent = None
    k.create("many", "--partitions", 4)
    s = Server(k)
    procs = []  # (name, Popen, expected values in send order)
    try:
        codecs = ["none", "gzip", "lz4", "zstd", "snappy", "none", "gzip", "none"]
        for j in range(16):
            name = "p%02d" % j
            if confluent and j >= 8:
                n = 400
                argv = confluent + ["--bootstrap", s.addr, "--timeout", "60", "produce", "--topic", "many",
                                    "--count", str(n), "--prefix", name + "-", "--acks", "all"]
                if j % 2:
                    argv.append("--no-idempotence")  # (idempotent is the driver's default)
                values = [b"%s-v%d" % (name.encode(), i) for i in range(n)]
                p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            else:
                n = 1000
                # keys spread each producer over the partitions; the value names it
                values = [b"%s-v%d" % (name.encode(), i) for i in range(n)]
                data = b"".join(b"%s-k%d:%s\n" % (name.encode(), i % 13, v) for i, v in enumerate(values))
                p = subprocess.Popen([KCAT, "-b", s.addr, "-P", "-t", "many", "-K:", "-z", codecs[j % 8],
                                      "-X", "acks=all", "-X", "message.timeout.ms=60000"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                p.stdin.write(data)  # (~20 KB: fits the pipe, no writer thread needed)
                p.stdin.close()
                p.stdin = None
            procs.append((name, p, values))
        deadline = time.monotonic() + 90
        for name, p, _ in procs:
            try:
                out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                for _, q, _ in procs:
                    q.kill()
                raise AssertionError("producer %s did not finish within 90 s" % name)
            check(p.returncode == 0, "producer %s exited %d: %s %s" % (name, p.returncode, short(out), short(err)))
        expected = sorted(v for _, _, vs in procs for v in vs)
        order = {v: i for _, _, vs in procs for i, v in enumerate(vs)}

        def check_log(rows, who):
            # rows: [(partition, offset, value)]
            check(sorted(v for _, _, v in rows) == expected,
                  "%s: %d records, %d distinct, expected each of %d once" % (
                      who, len(rows), len(set(v for _, _, v in rows)), len(expected)))
            parts = {}
            for p, o, v in rows:
                parts.setdefault(p, []).append((o, v))
            check(sorted(parts) == [0, 1, 2, 3], "%s: partitions %s" % (who, sorted(parts)))
            for p, rs in parts.items():
                rs.sort()
                check([o for o, _ in rs] == list(range(len(rs))),
                      "%s: partition %d offsets are not 0..%d: %s" % (who, p, len(rs) - 1,
                                                                       short(repr([o for o, _ in rs]), 300)))
                last = {}
                for o, v in rs:
                    prod = v.split(b"-")[0]
                    check(order[v] > last.get(prod, -1),
                          "%s: partition %d offset %d: %r after a later record of %s" % (who, p, o, v, prod))
                    last[prod] = order[v]

        rows = []
        for ln in k.consume("many", "-f", r"%p %o %s\n", timeout=60).lines:
            p, o, v = ln.split(b" ", 2)
            rows.append((int(p), int(o), v))
        check_log(rows, "kappa consume")
        got = kcat("-b", s.addr, "-C", "-t", "many", "-o", "beginning", "-e", "-q", "-f", r"%p %o %s\n", timeout=60)
        check(got.returncode == 0, "kcat -C: %s" % short(got.stderr))
        check_log([(int(p), int(o), v) for p, o, v in (ln.split(b" ", 2) for ln in got.stdout.splitlines())],
                  "kcat -C")
    finally:
        for _, p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        s.stop()


def test_listen_errors_name_the_address(k):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    r = k.run("serve", "--listen", "127.0.0.1:%d" % port, timeout=10)
    check(r.rc == 1 and b"127.0.0.1:%d" % port in r.err, "port in use: exit %d %s" % (r.rc, short(r.err)))
    r = k.run("serve", "--listen", "nonsense", timeout=10)
    check(r.rc == 2 and b"HOST:PORT" in r.err, "bad --listen: exit %d %s" % (r.rc, short(r.err)))
    sock.close()


if __name__ == "__main__":
    run_tests(globals())
