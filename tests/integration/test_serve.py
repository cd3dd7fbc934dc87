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
from kappa_harness import TestFailure, check, run_tests, short  # noqa: E402

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
        for codec in ["gzip", "zstd"]:  # zstd only since Produce v7 is advertised
            dump = k.ok("dump", k.logs("t-" + codec)[0]).text
            check("compresscodec: " + codec in dump, "kcat's %s batches are not stored as sent" % codec)
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


def test_cli_and_server_write_one_partition_in_turns(k):
    """kappa serve holds a partition's writer lock only for a round: `kappa produce`
    waits for that instead of failing, and a client's produce waits (parked) while a
    `kappa produce` holds the partition, then lands after it."""
    if needs_kcat():
        return
    k.create("turns")
    s = Server(k)
    try:
        feeder = subprocess.Popen([KCAT, "-b", s.addr, "-P", "-t", "turns", "-p", "0",
                                   "-X", "request.required.acks=-1", "-X", "linger.ms=1"],
                                  stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        cli_values = []
        try:
            for i in range(2000):
                feeder.stdin.write(b"kcat-%d\n" % i)
                if i % 100 == 99:
                    feeder.stdin.flush()
                    batch = [b"cli-%d-%d" % (i, j) for j in range(20)]
                    r = k.produce("turns", batch, rc=None)
                    check(r.rc == 0, "kappa produce while the server writes: exit %d %s" % (r.rc, short(r.err)))
                    cli_values += batch
            feeder.stdin.close()
            check(feeder.wait(timeout=30) == 0, "kcat -P: %s" % short(feeder.stderr.read()))
        finally:
            if feeder.poll() is None:
                feeder.kill()
                feeder.wait()
        # A `kappa produce` that keeps the partition (its stdin open): the client's
        # produce waits for it and lands after its records.
        holder = k.spawn("produce", "turns")
        holder.stdin.write(b"held-1\n")
        holder.stdin.flush()
        time.sleep(0.5)  # it has the lock
        t0 = time.monotonic()
        waiter = subprocess.Popen([KCAT, "-b", s.addr, "-P", "-t", "turns", "-p", "0",
                                   "-X", "request.required.acks=-1"],
                                  stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        waiter.stdin.write(b"while-held\n")
        waiter.stdin.close()
        time.sleep(1.0)
        check(waiter.poll() is None, "kcat's produce finished while kappa produce held the partition")
        holder.stdin.write(b"held-2\n")
        holder.stdin.close()
        check(holder.wait(timeout=10) == 0, "kappa produce: %s" % short(holder.stderr.read()))
        check(waiter.wait(timeout=15) == 0, "kcat -P after the holder left: %s" % short(waiter.stderr.read()))
        check(time.monotonic() - t0 < 10, "the parked produce took %.1f s" % (time.monotonic() - t0))
        pairs = k.offsets_values("turns")
        check([o for o, _ in pairs] == list(range(len(pairs))), "offsets are not dense")
        got = [v for _, v in pairs]
        expect = set([b"kcat-%d" % i for i in range(2000)] + cli_values + [b"held-1", b"held-2", b"while-held"])
        check(len(got) == len(expect) and set(got) == expect,
              "%d records, %d expected; missing %r extra %r" % (len(got), len(expect),
                                                                sorted(expect - set(got))[:5],
                                                                [v for v in got if v not in expect][:5]))
        check(got[-3:] == [b"held-1", b"held-2", b"while-held"], "order at the end: %r" % got[-3:])
        check(got.index(b"kcat-0") < got.index(b"kcat-1999"), "kcat's records out of order")
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


def test_live_members_show_in_group_describe_and_block_reset(k):
    """A group kcat -G is in: `group describe` lists its live member, `group reset`
    and `group delete` refuse naming it; once it leaves, reset moves the group. A
    second server on the same data dir is refused; after kill -9 no member is shown."""
    if needs_kcat():
        return
    import json
    k.create("m", "--partitions", 2)
    k.produce("m", ["v%d" % i for i in range(10)])
    s = Server(k)
    consumer = None
    try:
        second = k.run("serve", "--listen", "127.0.0.1:0", timeout=10)
        check(second.rc == 1 and b"already served by pid %d" % s.p.pid in second.err,
              "a second server on the data dir: exit %d %s" % (second.rc, short(second.err)))
        consumer = subprocess.Popen([KCAT, "-b", s.addr, "-G", "live-grp", "-X", "auto.offset.reset=earliest",
                                     "-X", "auto.commit.interval.ms=100", "-X", "client.id=member-one", "m"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Until it is a settled member: it has read and committed both partitions.
        deadline = time.monotonic() + 20
        members, settled = [], False
        while time.monotonic() < deadline and not settled:
            r = k.run("group", "describe", "live-grp", "--json")
            if r.rc == 0:
                d = json.loads(r.out)
                members = d.get("members", [])
                settled = members and len(d["partitions"]) == 2 and sum(p["lag"] for p in d["partitions"]) == 0
            time.sleep(0.2)
        check(len(members) == 1 and members[0]["client_id"] == "member-one",
              "group describe never listed the live member: %s" % short(r.out + r.err))
        text = k.ok("group", "describe", "live-grp").out
        check(b"member-one" in text and members[0]["member_id"].encode() in text,
              "the text form does not list the member: %s" % short(text))
        for verb in (["reset", "live-grp", "--topic", "m", "--to", "earliest"], ["delete", "live-grp"]):
            r = k.run("group", *verb)
            check(r.rc == 1 and members[0]["member_id"].encode() in r.err and b"live member" in r.err,
                  "group %s of a live group: exit %d %s" % (verb[0], r.rc, short(r.err)))
        consumer.terminate()  # kcat leaves the group on SIGTERM
        consumer.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and json.loads(k.ok("group", "describe", "live-grp", "--json").out)["members"]:
            time.sleep(0.1)
        r = k.run("group", "reset", "live-grp", "--topic", "m", "--to", "earliest")
        check(r.rc == 0, "reset once the member left: exit %d %s" % (r.rc, short(r.err)))
        # A member again, then the server killed: nothing it published is shown.
        consumer = subprocess.Popen([KCAT, "-b", s.addr, "-G", "live-grp", "m"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not json.loads(
                k.ok("group", "describe", "live-grp", "--json").out)["members"]:
            time.sleep(0.2)
        s.stop(signal.SIGKILL)
        desc = json.loads(k.ok("group", "describe", "live-grp", "--json").out)
        check(desc["members"] == [], "members shown after the server died: %r" % desc["members"])
        k.ok("group", "reset", "live-grp", "--topic", "m", "--to", "latest")
    finally:
        if consumer and consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        if s.p.poll() is None:
            s.stop()


def _job_version(k, job, n):
    import json
    vs = json.loads(k.ok("job", "status", job, "--json").out)["versions"]
    return vs[n - 1] if len(vs) >= n else None


def _wait_job(k, job, n, pid, what, timeout=60):
    """Until version n of the job runs in process pid and has no lag."""
    deadline = time.monotonic() + timeout
    v = None
    while time.monotonic() < deadline:
        v = _job_version(k, job, n)
        if v and v["running"] and v["pid"] == pid and v["lag"] == 0:
            return v
        time.sleep(0.1)
    check(False, "%s: job %s v%d never ran caught up in pid %d: %r" % (what, job, n, pid, v))


def test_jobs_run_in_the_server_exactly_once_and_follow_cutover(k):
    """serve --jobs runs each job's serving version, following what clients produce;
    kill -9 of the server and a restart leave the output exactly as an uninterrupted
    `kappa job run --follow` of the same input writes it; a cutover moves the server to
    the new version."""
    if needs_kcat():
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from kappa_harness import gen_clicks
    from test_sessionize import read_topic, same_records
    opts = ["--key-field", "user_id", "--time-field", "timestamp_ms", "--gap", "30s",
            "--max-out-of-orderness", "5s", "--count-by", "event_type", "--checkpoint-interval", "50ms"]
    k.create("clicks", "--partitions", 2, "--config", "retention.ms=-1")
    lines = gen_clicks(9000, "--users", 500, "--seed", 3, "--rate", 50)
    k.produce("clicks", lines[:3000], "--key-field", "user_id", "--timestamp-field", "timestamp_ms")
    k.ok("job", "create", "web", "--sessionize", "--input", "clicks", "--output", "sessions", *opts)
    s = Server(k, "--jobs")
    try:
        _wait_job(k, "web", 1, s.p.pid, "first start")
        # Clients produce; the job follows. Then kill -9 in the middle of more input.
        p = kcat("-b", s.addr, "-P", "-t", "clicks", "-X", "request.required.acks=-1",
                 input=b"\n".join(lines[3000:6000]) + b"\n", timeout=60)
        check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
        _wait_job(k, "web", 1, s.p.pid, "after kcat's records")
        p = kcat("-b", s.addr, "-P", "-t", "clicks", "-X", "request.required.acks=-1",
                 input=b"\n".join(lines[6000:]) + b"\n", timeout=60)
        check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
        s.stop(signal.SIGKILL)
        s = Server(k, "--jobs")
        _wait_job(k, "web", 1, s.p.pid, "after kill -9 and a restart")
        check(s.stop() == 0, "serve --jobs did not stop cleanly on SIGTERM: %s" % short(s.stderr()))
        check(not _job_version(k, "web", 1)["running"], "the job still runs after the server stopped")
        # The same input through an uninterrupted following run.
        k.ok("job", "create", "ref", "--sessionize", "--input", "clicks", "--output", "ref", *opts)
        ref = k.spawn("job", "run", "ref", "--follow", stdin=subprocess.DEVNULL)
        _wait_job(k, "ref", 1, ref.pid, "reference run")
        ref.send_signal(signal.SIGTERM)
        check(ref.wait(timeout=20) == 0, "the reference run did not stop cleanly")
        got, want = read_topic(k, "sessions.v1"), read_topic(k, "ref.v1")
        check(len(want) > 100, "the reference run wrote only %d sessions" % len(want))
        same_records(got, want, "serve --jobs output after kill -9 and the uninterrupted run's")
        # Cutover: reprocess into v2 (the CLI) while the server serves v1, then cut over.
        k.ok("job", "delete", "ref")
        s = Server(k, "--jobs")
        _wait_job(k, "web", 1, s.p.pid, "restart")
        k.ok("job", "reprocess", "web", "--set", "gap=20s", timeout=120)
        k.ok("job", "cutover", "web")
        _wait_job(k, "web", 2, s.p.pid, "after the cutover")
        check(not _job_version(k, "web", 1)["running"], "v1 still runs after the cutover")
        check(b"version 2 serves now" in s.stderr(), "the server did not say why v1 stopped: %s" % short(s.stderr()))
    finally:
        if s.p.poll() is None:
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


def _request(addr, api_key, version, body, correlation=1):
    """One request on its own connection; the response body (after the correlation id)."""
    header = struct.pack(">hhih", api_key, version, correlation, 4) + b"test"
    msg = header + body
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(msg)) + msg)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            check(chunk, "the server closed the connection on API %d v%d" % (api_key, version))
            data += chunk
    (corr,) = struct.unpack(">i", data[4:8])
    check(corr == correlation, "correlation id %d" % corr)
    return data[8:]


def _produce_raw(addr, topic, batch, correlation=1, version=3, log_start=False, append_time=False):
    """One Produce request (acks=-1) on its own connection: (error_code, base_offset), and
    the log_start_offset of v5+ with log_start=True, or log_append_time_ms with
    append_time=True."""
    body = struct.pack(">hhi", -1, -1, 10000)  # transactional_id null, acks, timeout
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">i", 1) + struct.pack(">ii", 0, len(batch)) + batch
    resp = _request(addr, 0, version, body, correlation)
    pos = 4  # topics count
    (name_len,) = struct.unpack(">h", resp[pos:pos + 2])
    pos += 2 + name_len + 4  # name, partitions count
    _, err, base, log_append_time = struct.unpack(">ihqq", resp[pos:pos + 22])
    pos += 22
    if append_time:
        return err, base, log_append_time
    if not log_start:
        return err, base
    check(version >= 5, "log_start_offset needs Produce v5")
    (start,) = struct.unpack(">q", resp[pos:pos + 8])
    check(len(resp) == pos + 8 + 4, "Produce v%d response is %d bytes" % (version, len(resp)))
    return err, base, start


def _fetch_raw(addr, topic, offset, version, session_id=0, session_epoch=-1, max_bytes=1 << 20):
    """One Fetch (v4-10) of partition 0 from `offset`, without waiting: (top-level error,
    session id, [(partition, error, high watermark, log start, records)])."""
    body = struct.pack(">iiii", -1, 0, 1, max_bytes) + b"\x00"  # replica, max wait, min/max bytes, isolation
    if version >= 7:
        body += struct.pack(">ii", session_id, session_epoch)
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode() + struct.pack(">ii", 1, 0)
    if version >= 9:
        body += struct.pack(">i", -1)  # current leader epoch: unknown
    body += struct.pack(">q", offset)
    if version >= 5:
        body += struct.pack(">q", -1)  # log start offset (followers only)
    body += struct.pack(">i", max_bytes)
    if version >= 7:
        body += struct.pack(">i", 0)  # no forgotten topics
    resp = _request(addr, 1, version, body)
    pos, err, sid = 4, 0, 0  # throttle_time_ms
    if version >= 7:
        err, sid = struct.unpack(">hi", resp[pos:pos + 6])
        pos += 6
    parts = []
    (ntopics,) = struct.unpack(">i", resp[pos:pos + 4])
    pos += 4
    for _ in range(ntopics):
        (name_len,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2 + name_len
        (nparts,) = struct.unpack(">i", resp[pos:pos + 4])
        pos += 4
        for _ in range(nparts):
            p, perr, hw, _lso = struct.unpack(">ihqq", resp[pos:pos + 22])
            pos += 22
            start = -1
            if version >= 5:
                (start,) = struct.unpack(">q", resp[pos:pos + 8])
                pos += 8
            (naborted,) = struct.unpack(">i", resp[pos:pos + 4])
            pos += 4 + 16 * max(naborted, 0)
            (n,) = struct.unpack(">i", resp[pos:pos + 4])
            pos += 4
            recs = resp[pos:pos + max(n, 0)]
            pos += max(n, 0)
            parts.append((p, perr, hw, start, recs))
    check(pos == len(resp), "Fetch v%d response: %d bytes left over" % (version, len(resp) - pos))
    return err, sid, parts


def test_zstd_needs_produce_v7_and_fetch_is_sessionless(k):
    if needs_kcat():
        return
    s = Server(k)
    try:
        # (librdkafka sends a batch uncompressed when zstd would not make it smaller, as
        # for a lone small first record: the lines compress well and the first zstd
        # batch is the one replayed.)
        lines = b"".join(b"zstd-%03d-%s\n" % (i, b"x" * 60) for i in range(100))
        p = kcat("-b", s.addr, "-P", "-t", "zs", "-z", "zstd", "-X", "acks=all", input=lines)
        check(p.returncode == 0, "kcat -P -z zstd: %s" % short(p.stderr))
        seg, pos, batch = open(k.logs("zs")[0], "rb").read(), 0, None
        while batch is None and pos + 61 <= len(seg):
            base, length = struct.unpack(">qi", seg[pos:pos + 12])
            (attributes,) = struct.unpack(">h", seg[pos + 21:pos + 23])
            if attributes & 7 == 4:
                batch, count = seg[pos:pos + 12 + length], struct.unpack(">i", seg[pos + 57:pos + 61])[0]
            pos += 12 + length
        check(batch is not None, "kcat stored no zstd batch")
        # Kafka's rule: zstd only in Produce v7+; below, refused and nothing appended.
        k.create("zs2")
        for v in (3, 4, 5, 6):
            err, _ = _produce_raw(s.addr, "zs2", batch, version=v)
            check(err == 76, "zstd in Produce v%d gives %d, not UNSUPPORTED_COMPRESSION_TYPE (76)" % (v, err))
        check(k.values("zs2") == [], "a refused zstd batch was appended: %r" % k.values("zs2")[:3])
        check(b"zstd needs v7" in s.stderr(), "no line on stderr for the refused zstd batch: %s"
              % short(s.stderr()))
        check(_produce_raw(s.addr, "zs2", batch, version=7, log_start=True) == (0, 0, 0), "zstd in Produce v7")
        check(_produce_raw(s.addr, "zs2", batch, version=5, log_start=True)[1:] == (-1, -1),
              "a refused Produce v5 answers base offset and log start offset -1")
        check(k.values("zs2") == k.values("zs")[base:base + count], "the v7 zstd batch did not round-trip")
        # Fetch: every version 4-10 serves the stored zstd batch (as Kafka does at
        # compression.type=producer); v5+ tells the log start offset.
        for v in range(4, 11):
            err, sid, parts = _fetch_raw(s.addr, "zs", 0, v)
            check(err == 0 and sid == 0, "Fetch v%d: error %d, session %d" % (v, err, sid))
            check(len(parts) == 1 and parts[0][:3] == (0, 0, 100), "Fetch v%d: %r" % (v, parts))
            check(parts[0][3] == (0 if v >= 5 else -1), "Fetch v%d log start offset %d" % (v, parts[0][3]))
            check(batch in parts[0][4], "Fetch v%d did not return the stored zstd batch" % v)
        # Sessions: a full fetch (epoch 0 or -1) never opens one (session id 0); an
        # incremental one (epoch > 0) finds none: error 70 and no partitions.
        err, sid, parts = _fetch_raw(s.addr, "zs", 0, 10, session_id=0, session_epoch=0)
        check((err, sid, len(parts)) == (0, 0, 1), "a full fetch opening a session: %d %d %r" % (err, sid, parts))
        for sess, epoch in ((0, 1), (12345, 3)):
            err, sid, parts = _fetch_raw(s.addr, "zs", 0, 10, session_id=sess, session_epoch=epoch)
            check((err, sid, parts) == (70, 0, []), "an incremental fetch (session %d epoch %d): %d %d %r"
                  % (sess, epoch, err, sid, parts))
        # Produce v8 and Fetch v11 are past the table: the connection closes, as for Produce v2.
        for key, v in ((0, 8), (1, 11), (0, 2), (1, 3)):
            try:
                _request(s.addr, key, v, b"\x00" * 16)
                check(False, "API %d v%d was answered" % (key, v))
            except (TestFailure, OSError):
                pass
        meta = kcat("-b", s.addr, "-L")
        check(meta.returncode == 0, "serve stopped answering")
    finally:
        check(s.stop() == 0, "serve did not exit 0 on SIGTERM")


def _batches(records):
    """[(base offset, last offset, bytes)] of the whole batches in a record set."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        (delta,) = struct.unpack(">i", records[pos + 23:pos + 27])
        out.append((base, base + delta, records[pos:pos + 12 + length]))
        pos += 12 + length
    check(pos == len(records), "a record set ends in %d bytes of a partial batch" % (len(records) - pos))
    return out


def test_fetch_serves_the_stored_batches_across_segments(k):
    """Fetch sends the records from the segment files (sendfile): every response holds
    whole stored batches byte for byte, in every version, across segment boundaries
    and size limits, and kcat reads every record."""
    if needs_kcat():
        return
    k.create("big", "--config", "segment.bytes=1048576")
    lines = [b"rec-%06d-%s" % (i, b"v" * (i % 700)) for i in range(20000)]
    k.produce("big", lines)
    stored = b"".join(open(p, "rb").read() for p in k.logs("big"))
    check(len(k.logs("big")) >= 5 and len(stored) > 5 << 20,
          "%d bytes in %d segments: want several MB in several" % (len(stored), len(k.logs("big"))))
    batches = _batches(stored)
    s = Server(k)
    try:
        for v, max_bytes in ((4, 1 << 20), (10, 1 << 20), (7, 3000), (10, 300 << 10)):
            got, offset = b"", 0
            for _ in range(len(batches) + 1):
                err, _, parts = _fetch_raw(s.addr, "big", offset, v, max_bytes=max_bytes)
                check(err == 0 and len(parts) == 1 and parts[0][1] == 0, "Fetch v%d: %r" % (v, parts))
                recs = parts[0][4]
                if not recs:
                    break
                check(len(recs) <= max_bytes or len(_batches(recs)) == 1,
                      "Fetch v%d gave %d bytes over max_bytes %d" % (v, len(recs), max_bytes))
                got += recs
                offset = _batches(recs)[-1][1] + 1
            check(got == stored, "Fetch v%d max_bytes %d: %d bytes, not the %d stored%s" % (
                v, max_bytes, len(got), len(stored),
                "" if len(got) != len(stored) else " (different bytes)"))
        # From the middle of a batch in the middle of a segment: from that batch on.
        mid = batches[len(batches) // 2]
        err, _, parts = _fetch_raw(s.addr, "big", mid[0] + (mid[1] - mid[0]) // 2, 10)
        check(parts[0][4] == stored[stored.index(mid[2]):][:len(parts[0][4])] and parts[0][4].startswith(mid[2]),
              "a fetch from the middle of a batch does not start at its stored bytes")
        got = kcat("-b", s.addr, "-C", "-t", "big", "-o", "beginning", "-e", "-q", "-f", "%s\\n", timeout=60)
        check(got.returncode == 0, "kcat -C: %s" % short(got.stderr))
        check(got.stdout.splitlines() == lines, "kcat read %d records, not the %d produced"
              % (len(got.stdout.splitlines()), len(lines)))
    finally:
        check(s.stop() == 0, "serve did not exit 0 on SIGTERM")


def test_fetch_below_a_moved_log_start_is_out_of_range(k):
    """Retention passing a consumer's position while the server runs: a fetch below the
    new log start gets OFFSET_OUT_OF_RANGE (as from Kafka), not the records after the
    gap, so the consumer (kappa mirror --from, a client with auto.offset.reset=error)
    learns what it missed, even right after the server last read the log start."""
    if needs_kcat():
        return
    k.create("r", "--config", "segment.bytes=1024", "--config", "retention.ms=-1")
    s = Server(k)
    try:
        lines = b"".join(b"%d\n" % i for i in range(300))
        p = kcat("-b", s.addr, "-P", "-t", "r", "-X", "batch.num.messages=1", input=lines)
        check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
        first = kcat("-b", s.addr, "-C", "-t", "r", "-o", "0", "-c", "2", "-e").stdout
        check(first == b"0\n1\n", "the first records: %r" % first)
        k.ok("topic", "alter", "r", "--config", "retention.bytes=2048")
        k.ok("maintain", "r")
        start = int(re.search(rb"\n0 +(\d+) +300 ", k.ok("topic", "describe", "r").out).group(1))
        check(start > 10, "retention removed nothing (log start %d)" % start)
        got = kcat("-b", s.addr, "-C", "-t", "r", "-o", "5", "-c", "1", "-e", "-X", "auto.offset.reset=error")
        check(b"Offset out of range" in got.stderr and got.stdout == b"",
              "fetch at 5 below log start %d: %r %s" % (start, got.stdout, short(got.stderr)))
        got = kcat("-b", s.addr, "-C", "-t", "r", "-o", str(start), "-c", "1", "-e")
        check(got.stdout == b"%d\n" % start, "fetch at the log start: %r" % got.stdout)
    finally:
        check(s.stop() == 0, "serve did not exit 0")


def test_fetch_from_a_file_cut_short_closes_the_connection(k):
    """A fetch response sent from a segment file that shrinks under it (what a torn-tail
    repair does) cannot be finished: the connection closes with a line naming the file,
    the client sees less than the frame promised, and the server goes on."""
    if needs_kcat():
        return
    k.create("cut", "--config", "segment.bytes=67108864")
    k.produce("cut", [b"%06d-%s" % (i, b"c" * 1000) for i in range(8000)])
    (log,) = k.logs("cut")
    size = os.path.getsize(log)
    s = Server(k)
    try:
        body = struct.pack(">iiii", -1, 0, 1, 64 << 20) + b"\x00" + struct.pack(">ii", 0, -1)
        body += struct.pack(">ih", 1, 3) + b"cut" + struct.pack(">iiiqqi", 1, 0, -1, 0, -1, 64 << 20)
        body += struct.pack(">i", 0)
        msg = struct.pack(">hhih", 1, 10, 1, 4) + b"test" + body
        host, port = s.addr.split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server fills its buffers soon
        sock.settimeout(20)
        sock.connect((host, int(port)))
        sock.sendall(struct.pack(">i", len(msg)) + msg)
        data = sock.recv(65536)
        time.sleep(0.3)
        os.truncate(log, 4096)
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        sock.close()
        (frame,) = struct.unpack(">i", data[:4])
        check(frame > size, "the response frame is %d bytes for a %d-byte segment" % (frame, size))
        check(len(data) < 4 + frame, "got the whole %d-byte frame from a file cut to 4096 bytes" % frame)
        err = s.stderr()
        check(b"cut short" in err and os.path.basename(log).encode() in err,
              "no line naming the cut segment: %s" % short(err))
        check(kcat("-b", s.addr, "-L").returncode == 0, "serve stopped answering")
    finally:
        check(s.stop() == 0, "serve did not exit 0 on SIGTERM")


def test_refused_produces_append_nothing_and_admin_defaults(k):
    """SPEC section 8 as a raw client meets it: a bad CRC gets CORRUPT_MESSAGE, a batch
    over max.message.bytes MESSAGE_TOO_LARGE, an invalid topic name
    INVALID_TOPIC_EXCEPTION, and none of them appends anything; OffsetCommit from a
    client that is no member (assign()) is stored while the group has no members;
    CreateTopics with -1 partitions and replication takes the data dir's defaults."""
    k.create("small", "--config", "max.message.bytes=200")
    k.ok("config", "set", "num.partitions=3")
    s = Server(k)
    try:
        good = _idempotent_batch(-1, -1, -1, [b"ok"])
        bad = bytearray(good)
        bad[-2] ^= 0xFF  # a record byte: the CRC no longer matches
        check(_produce_raw(s.addr, "small", bytes(bad))[0] == 2, "a bad CRC is not CORRUPT_MESSAGE")
        big = _idempotent_batch(-1, -1, -1, [b"x" * 400])
        check(_produce_raw(s.addr, "small", big)[0] == 10, "an oversized batch is not MESSAGE_TOO_LARGE")
        check(_produce_raw(s.addr, "bad/name", good)[0] == 17, "a bad topic name is not INVALID_TOPIC_EXCEPTION")
        check(_produce_raw(s.addr, "small", good) == (0, 0), "the good batch is not appended at offset 0")
        check(k.values("small") == [b"ok"], "the refused batches left records: %r" % k.values("small"))
        check(b"refused a produce to topic small partition 0" in s.stderr(), "no stderr line for a refused produce")
        # OffsetCommit v2 from no member: generation -1, empty member id, no retention.
        body = struct.pack(">h", 8) + b"assigner" + struct.pack(">ih", -1, 0) + struct.pack(">q", -1)
        body += struct.pack(">i", 1) + struct.pack(">h", 5) + b"small"
        body += struct.pack(">i", 1) + struct.pack(">iqh", 0, 1, -1)  # partition, offset, null metadata
        resp = _request(s.addr, 8, 2, body)
        check(resp[-2:] == b"\x00\x00", "OffsetCommit from an assign() client: error %r" % resp[-2:])
        import json
        rows = json.loads(k.ok("group", "describe", "assigner", "--json").out)["partitions"]
        check([(r["topic"], r["partition"], r["committed_offset"]) for r in rows] == [("small", 0, 1)],
              "the assign() commit as the CLI sees it: %r" % rows)
        # CreateTopics v1: -1 partitions and replication mean the defaults; 3 replicas are refused.
        def create(name, replication):
            body = struct.pack(">i", 1) + struct.pack(">h", len(name)) + name.encode()
            body += struct.pack(">ih", -1, replication) + struct.pack(">ii", 0, 0)  # no assignments, no configs
            body += struct.pack(">ib", 10000, 0)  # timeout, validate_only
            resp = _request(s.addr, 19, 1, body)
            pos = 4 + 2 + len(name)
            return struct.unpack(">h", resp[pos:pos + 2])[0]
        check(create("defaults", -1) == 0, "CreateTopics with -1/-1 refused")
        check(len(k.describe("defaults")["partitions"]) == 3, "CreateTopics -1 did not take num.partitions=3")
        check(create("replicated", 3) == 38, "replication factor 3 is not INVALID_REPLICATION_FACTOR")
    finally:
        s.stop()


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


def test_log_append_time_topics_stamp_what_clients_send(k):
    """message.timestamp.type=LogAppendTime as a Kafka broker applies it: a client's batch
    is stored stamped with the append time (whatever timestamps it carries) and the
    ProduceResponse says which (log_append_time_ms, -1 for CreateTime topics), so
    librdkafka reports TIMESTAMP_LOG_APPEND_TIME; consumers (kcat, kappa consume) read
    that time; a `topic alter` applies to the server's next batch; CreateTopics and
    DescribeConfigs carry the config."""
    import kafka_clients as kc
    now_ms = lambda: int(time.time() * 1000)  # noqa: E731
    y2001 = 978307200000
    k.create("lat", "--config", "message.timestamp.type=LogAppendTime")
    k.create("ct", "--config", "retention.ms=-1")  # its 1970 and 2001 records stay
    s = Server(k)
    try:
        def stamps(topic):
            return [tuple(map(int, ln.split())) for ln in k.consume(topic, "-f", r"%o %T\n").lines]

        batch = _idempotent_batch(-1, -1, -1, [b"a", b"b"])  # records at timestamp 1000 (1970)
        before = now_ms()
        err, base, t = _produce_raw(s.addr, "lat", batch, append_time=True)
        after = now_ms()
        check(err == 0 and before <= t <= after, "LogAppendTime produce: error %d, log_append_time %d not in "
              "[%d, %d]" % (err, t, before, after))
        check(stamps("lat") == [(0, t), (1, t)], "stored %r, answered %d" % (stamps("lat"), t))
        check(k.reader_check("lat").ok, "the stamped batch: %s" % k.reader_check("lat").problems[:3])
        err, base, t = _produce_raw(s.addr, "ct", batch, append_time=True)
        check(err == 0 and t == -1, "CreateTime produce: error %d, log_append_time %d (want -1)" % (err, t))
        check(stamps("ct") == [(0, 1000), (1, 1000)], "CreateTime keeps the client's: %r" % stamps("ct"))

        def create(name, value):  # CreateTopics v1 with the config
            body = struct.pack(">i", 1) + struct.pack(">h", len(name)) + name.encode()
            body += struct.pack(">ihi", 1, 1, 0)  # partitions, replication, no assignments
            key = b"message.timestamp.type"
            body += struct.pack(">ih", 1, len(key)) + key + struct.pack(">h", len(value)) + value.encode()
            body += struct.pack(">ib", 10000, 0)  # timeout, validate_only
            resp = _request(s.addr, 19, 1, body)
            pos = 4 + 2 + len(name)
            return struct.unpack(">h", resp[pos:pos + 2])[0]
        check(create("by-client", "LogAppendTime") == 0, "CreateTopics with message.timestamp.type refused")
        check(k.describe("by-client")["config"]["message.timestamp.type"] == "LogAppendTime", "CreateTopics config")
        check(create("bad-type", "Sometime") == 40, "a bad message.timestamp.type is not INVALID_CONFIG")

        try:
            confluent = kc.python_driver("confluent_driver.py", "confluent_kafka")
        except kc.Skip as e:
            print("note: %s; no confluent-kafka round trip" % e, flush=True)
            confluent = None
        if confluent:
            def produce(topic, prefix):
                r = kc.run_driver(confluent + ["--bootstrap", s.addr, "produce", "--topic", topic, "--count", "20",
                                               "--prefix", prefix, "--timestamp", str(y2001)], timeout=60)
                return r.expect_ok("confluent produce to %s" % topic).of("delivered")

            before = now_ms()
            got = produce("lat", "c-")
            after = now_ms()
            check(all(d["timestamp_type"] == "log_append_time" and before <= d["timestamp"] <= after for d in got),
                  "confluent delivery reports: %r" % got[:3])
            stored = dict(stamps("lat"))
            check(all(stored[d["offset"]] == d["timestamp"] for d in got), "delivery reports and the log differ")
            got = produce("ct", "c-")
            check(all(d["timestamp_type"] == "create_time" and d["timestamp"] == y2001 for d in got),
                  "CreateTime delivery reports: %r" % got[:3])
            k.ok("topic", "alter", "ct", "--config", "message.timestamp.type=LogAppendTime")
            got = produce("ct", "after-alter-")
            check(all(d["timestamp_type"] == "log_append_time" and d["timestamp"] >= after for d in got),
                  "after topic alter, the server still stamps CreateTime: %r" % got[:3])
            r = kc.run_driver(confluent + ["--bootstrap", s.addr, "admin", "describe_configs:lat"], timeout=30)
            cfg = r.expect_ok("describe_configs").of("admin")[0]["result"]
            check(cfg.get("message.timestamp.type") == "LogAppendTime", "DescribeConfigs: %r" % cfg)

        if KCAT:
            # What kappa produce stamped, and kcat's own gzip batches, as librdkafka reads them.
            n = len(stamps("lat"))
            lines = ['{"ts":%d}' % (y2001 + i) for i in range(5)]
            before = now_ms()
            k.produce("lat", lines, "--timestamp-field", "ts")
            p = kcat("-b", s.addr, "-P", "-t", "lat", "-z", "gzip", "-X", "acks=all",
                     input=b"".join(b"kcat-%03d-%s\n" % (i, b"z" * 50) for i in range(100)))
            after = now_ms()
            check(p.returncode == 0, "kcat -P: %s" % short(p.stderr))
            got = kcat("-b", s.addr, "-C", "-t", "lat", "-o", str(n), "-e", "-f", "%o %T\n")
            seen = [tuple(map(int, ln.split())) for ln in got.stdout.decode().splitlines()]
            check(len(seen) == 105 and all(before <= t <= after for _, t in seen),
                  "kcat -C -f %%T of stamped batches: %d, first %r (window [%d, %d])"
                  % (len(seen), seen[:3], before, after))
            check(seen == stamps("lat")[n:], "kcat and kappa consume disagree")
            check("compresscodec: gzip" in k.ok("dump", k.logs("lat")[-1]).text, "kcat's batch is not gzip")
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
