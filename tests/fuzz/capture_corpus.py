#!/usr/bin/env python3
"""Regenerates tests/fuzz/corpus/: real Kafka clients' request frames, recorded by a
small TCP proxy between the clients and `kappa serve`.

    tests/fuzz/capture_corpus.py [--kappa build/kappa] [--out tests/fuzz/corpus]
                                 [--per-kind 2] [--max-bytes 16384]

Starts `kappa serve` on a fresh data directory, advertising the proxy's address (so
every connection a client opens goes through the proxy), then runs the clients' round
trips of tests/integration/kafka_clients.py through it: kcat (-L, -P with each codec,
-C, -Q, -G), confluent-kafka-python (idempotent producer, group consumer, AdminClient),
kafka-python (negotiating, and at the fixed 0.11 versions), kafkajs and sarama (a
client that is not installed is skipped).  Each request the clients send is one file:
the frame with its 4-byte size prefix stripped, which is what tests/fuzz/request_fuzz.cc
takes as one request (and what tests/fuzz/corpus_replay.cc checks decodes).  Files are
named API-vVERSION-CLIENT-N; at most --per-kind distinct frames are kept for each
(API, version, client) (3 x as many Produce frames: kcat's codecs), frames over
--max-bytes are left out, and the old corpus files are replaced.
"""
import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

API_NAMES = {
    0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit",
    9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
    13: "leave_group", 14: "sync_group", 15: "describe_groups", 16: "list_groups",
    18: "api_versions", 19: "create_topics", 20: "delete_topics", 22: "init_producer_id",
    32: "describe_configs",
}


class Recorder:
    """Collects frames under the label of the client running now."""

    def __init__(self, per_kind, max_bytes):
        self.label = "setup"
        self.per_kind = per_kind
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.kept = {}      # (api, version, label) -> [frame]
        self.seen = set()   # sha256 of frames kept
        self.total = 0

    def frame(self, frame):
        if len(frame) < 4:
            return
        api = int.from_bytes(frame[0:2], "big", signed=True)
        version = int.from_bytes(frame[2:4], "big", signed=True)
        with self.lock:
            self.total += 1
            if len(frame) > self.max_bytes:
                return
            key = (api, version, self.label)
            frames = self.kept.setdefault(key, [])
            h = hashlib.sha256(frame[8:]).digest()  # ignore the correlation id
            # Produce: more, so that each codec kcat sends (one run each) is kept.
            limit = self.per_kind * 3 if api == 0 else self.per_kind
            if len(frames) >= limit or h in self.seen:
                return
            self.seen.add(h)
            frames.append(frame)

    def write(self, out):
        n = 0
        size = 0
        for (api, version, label), frames in sorted(self.kept.items()):
            name = API_NAMES.get(api, "api%d" % api)
            for i, f in enumerate(frames):
                with open(os.path.join(out, "%s-v%d-%s-%d" % (name, version, label, i)), "wb") as fh:
                    fh.write(f)
                n += 1
                size += len(f)
        return n, size


class Proxy:
    """Accepts on a loopback port; each connection is piped to `upstream`, and the
    client-to-server bytes are cut into frames for the recorder."""

    def __init__(self, recorder):
        self.recorder = recorder
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.upstream = None
        self.closed = False

    def start(self, upstream):
        self.upstream = upstream
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                host, port = self.upstream.rsplit(":", 1)
                s = socket.create_connection((host, int(port)), timeout=10)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, False), daemon=True).start()

    def _pipe(self, src, dst, record):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if record:
                    buf += data
                    while len(buf) >= 4:
                        n = int.from_bytes(buf[:4], "big")
                        if len(buf) < 4 + n:
                            break
                        self.recorder.frame(buf[4:4 + n])
                        buf = buf[4 + n:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kappa", default=os.path.join(REPO, "build", "kappa"))
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--max-bytes", type=int, default=16384)
    args = ap.parse_args()
    os.environ["KAPPA_BIN"] = os.path.abspath(args.kappa)
    import kafka_clients as kc  # noqa: E402 (reads KAPPA_BIN)

    rec = Recorder(args.per_kind, args.max_bytes)
    proxy = Proxy(rec)
    root = tempfile.mkdtemp(prefix="kappa-corpus-")
    data = os.path.join(root, "data")
    err_path = os.path.join(root, "serve.err")
    kappa = os.path.abspath(args.kappa)
    # (kappa serve prints only the advertised address: listen on a port found free.)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % free.getsockname()[1]
    free.close()
    server = subprocess.Popen([kappa, "--data-dir", data, "serve", "--listen", addr,
                               "--advertise", "127.0.0.1:%d" % proxy.port],
                              stdout=subprocess.DEVNULL, stderr=open(err_path, "wb"))
    try:
        started = False
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline and server.poll() is None:
            started = b"clients are told" in open(err_path, "rb").read()
            if not started:
                time.sleep(0.02)
        if not started:
            sys.exit("capture_corpus: kappa serve did not start: %s" % open(err_path, "rb").read()[-500:])
        proxy.start(addr)

        def create(name, parts):
            subprocess.run([kappa, "--data-dir", data, "topic", "create", name, "--partitions", str(parts)],
                           check=True, stdout=subprocess.DEVNULL, timeout=30)

        broker = kc.Broker("127.0.0.1:%d" % proxy.port, name="kappa serve", create_topic=create)
        runs = [
            ("kcat", kc.kcat_roundtrip, ("kc",), {}),
            ("confluent", kc.confluent_roundtrip, ("ck",), {}),
            ("kafkapython", kc.kafkapython_roundtrip, ("kp",), {}),
            ("kafkapython011", kc.kafkapython_roundtrip, ("kp11",), {"api_version": "0.11.0"}),
            ("kafkajs", kc.kafkajs_roundtrip, ("kj",), {}),
            ("sarama", kc.sarama_roundtrip, ("sa",), {}),
        ]
        failed = []
        for label, fn, a, kw in runs:
            rec.label = label
            t0 = time.monotonic()
            try:
                fn(broker, *a, **kw)
                print("capture_corpus: %s done in %.1fs" % (label, time.monotonic() - t0), flush=True)
            except kc.Skip as e:
                print("capture_corpus: skip %s: %s" % (label, e), flush=True)
            except AssertionError as e:
                # The frames it sent are still real requests; say so and carry on.
                failed.append(label)
                print("capture_corpus: %s's round trip failed (frames kept): %s" % (label, e), flush=True)
            time.sleep(0.5)  # the last responses and closing requests go through
    finally:
        proxy.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)

    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if not f.startswith("."):
            os.remove(os.path.join(args.out, f))
    n, size = rec.write(args.out)
    print("capture_corpus: %d frames seen, %d kept in %s (%d bytes)" % (rec.total, n, args.out, size))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
