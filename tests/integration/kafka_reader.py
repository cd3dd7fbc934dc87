#!/usr/bin/env python3
"""An independent reader and checker of Apache Kafka's on-disk log format.

Written from Kafka's documentation (the "Message Format" / RecordBatch section and
the log segment / index descriptions), not from kappa's code, so that it can judge
whether the files kappa writes are really Kafka's format.  Standard library only
(lz4 and zstd batches are decompressed with Debian's lz4 and zstd tools).

RecordBatch v2 (all integers big-endian):

    offset  size  field
    0       8     baseOffset            i64
    8       4     batchLength           i32   bytes after this field
    12      4     partitionLeaderEpoch  i32
    16      1     magic                 i8    = 2
    17      4     crc                   u32   CRC-32C (Castagnoli) of bytes 21..end
    21      2     attributes            i16   bits 0-2 compression, bit 3 timestamp
                                              type, bit 4 transactional, bit 5 control
    23      4     lastOffsetDelta       i32
    27      8     baseTimestamp         i64
    35      8     maxTimestamp          i64
    43      8     producerId            i64
    51      2     producerEpoch         i16
    53      4     baseSequence          i32
    57      4     recordCount           i32
    61      ...   records

Record: length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
headerCount varint, then per header: keyLength varint, key, valueLength varint
(-1 = null), value.  Every varint/varlong is zig-zag encoded (protobuf style).

`.index`: 8-byte entries (relative offset u32, file position u32); `.timeindex`:
12-byte entries (timestamp i64, relative offset u32).  Segment files are named
after their base offset, zero-padded to 20 digits.

Library use:   import kafka_reader; rep = kafka_reader.check_partition(dir)
Command line:  python3 kafka_reader.py --self-test
               python3 kafka_reader.py [--records] [--loose] PARTITION_DIR|FILE.log ...
"""
import gzip
import os
import re
import struct
import subprocess
import sys

BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")
BATCH_OVERHEAD = BATCH_HEADER.size  # 61
LOG_OVERHEAD = 12                   # baseOffset + batchLength
CRC_START = 21                      # attributes onwards
assert BATCH_OVERHEAD == 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 == 61
SEGMENT_NAME = re.compile(r"^(\d{20})\.(log|index|timeindex)$")


# --------------------------------------------------------------------------
# CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, table driven.
def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    t = _CRC_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# --------------------------------------------------------------------------
class FormatError(Exception):
    pass


def _read_uvarint(buf, pos, max_bytes):
    result = 0
    shift = 0
    for _ in range(max_bytes):
        if pos >= len(buf):
            raise FormatError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    raise FormatError("varint longer than %d bytes" % max_bytes)


def read_varint(buf, pos):
    """Zig-zag varint (32-bit) -> (value, new_pos)."""
    u, pos = _read_uvarint(buf, pos, 5)
    if u >= 1 << 32:
        raise FormatError("varint out of 32-bit range")
    return (u >> 1) ^ -(u & 1), pos


def read_varlong(buf, pos):
    """Zig-zag varlong (64-bit) -> (value, new_pos)."""
    u, pos = _read_uvarint(buf, pos, 10)
    if u >= 1 << 64:
        raise FormatError("varlong out of 64-bit range")
    return (u >> 1) ^ -(u & 1), pos


def encode_varint(v):
    """Zig-zag encode (used by the self-test only)."""
    u = (v << 1) ^ (v >> 63)
    u &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = u & 0x7F
        u >>= 7
        if u:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# --------------------------------------------------------------------------
class Record:
    __slots__ = ("offset", "timestamp", "key", "value", "headers", "attributes")

    def __init__(self, offset, timestamp, key, value, headers, attributes):
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
        self.attributes = attributes

    def __repr__(self):
        return "Record(offset=%d, ts=%d, key=%r, value=%r%s)" % (
            self.offset, self.timestamp, self.key,
            self.value if self.value is None or len(self.value) < 60 else self.value[:60] + b"...",
            ", headers=%r" % (self.headers,) if self.headers else "")


class Batch:
    def __init__(self, position, fields):
        (self.base_offset, self.batch_length, self.partition_leader_epoch, self.magic,
         self.crc, self.attributes, self.last_offset_delta, self.base_timestamp,
         self.max_timestamp, self.producer_id, self.producer_epoch, self.base_sequence,
         self.record_count) = fields
        self.position = position
        self.size = LOG_OVERHEAD + self.batch_length
        self.records = []

    @property
    def last_offset(self):
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self):
        return self.attributes & 0x07

    @property
    def log_append_time(self):
        return bool(self.attributes & 0x08)

    @property
    def is_control(self):
        return bool(self.attributes & 0x20)

    def __repr__(self):
        return ("Batch(pos=%d, baseOffset=%d, lastOffset=%d, count=%d, size=%d, crc=%08x)"
                % (self.position, self.base_offset, self.last_offset, self.record_count,
                   self.size, self.crc))


CODECS = {1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def snappy_raw(data):
    """Decodes one raw snappy block (the format of google/snappy's
    format_description.txt): a varint length, then literal and copy elements."""
    want, pos = 0, 0
    for shift in range(0, 35, 7):
        b = data[pos]
        pos += 1
        want |= (b & 0x7F) << shift
        if b < 0x80:
            break
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            n = tag >> 2
            if n >= 60:
                extra = n - 59
                n = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            n += 1
            if pos + n > len(data):
                raise FormatError("snappy literal overruns the block")
            out += data[pos:pos + n]
            pos += n
            continue
        if kind == 1:
            n = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            n = (tag >> 2) + 1
            off = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            n = (tag >> 2) + 1
            off = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if off == 0 or off > len(out):
            raise FormatError("snappy copy offset %d out of range" % off)
        for _ in range(n):  # may overlap itself
            out.append(out[-off])
    if len(out) != want:
        raise FormatError("snappy block decodes to %d bytes, header says %d" % (len(out), want))
    return bytes(out)


def decompress(codec, data):
    """The records area of a compressed batch, decompressed: gzip with Python's zlib,
    snappy here (xerial framing as the Java client writes it, or one raw block as
    librdkafka does), lz4 frames and zstd frames with Debian's lz4 and zstd tools."""
    if codec == 1:
        return gzip.decompress(data)
    if codec == 2:
        if data[:8] == b"\x82SNAPPY\0":
            out, pos = bytearray(), 16
            while pos < len(data):
                (n,) = struct.unpack(">i", data[pos:pos + 4])
                out += snappy_raw(data[pos + 4:pos + 4 + n])
                pos += 4 + n
            return bytes(out)
        return snappy_raw(data)
    if codec in (3, 4):
        tool = "lz4" if codec == 3 else "zstd"
        p = subprocess.run([tool, "-d", "-c", "-q"], input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise FormatError("%s -d: %s" % (tool, p.stderr.decode(errors="replace").strip()))
        return p.stdout
    raise FormatError("unknown compression codec %d" % codec)


def _parse_records(batch, data, problems, dense):
    """Decode the records area of one batch; append problems (strings)."""
    where = "batch at position %d (baseOffset %d)" % (batch.position, batch.base_offset)
    if batch.compression != 0:
        name = CODECS.get(batch.compression, "codec %d" % batch.compression)
        try:
            data = decompress(batch.compression, data)
        except Exception as e:  # noqa: BLE001 - report any decoding failure
            problems.append("%s: %s payload does not decompress: %s" % (where, name, e))
            return
    pos = 0
    recs = []
    try:
        for i in range(batch.record_count):
            length, pos = read_varint(data, pos)
            if length < 0 or pos + length > len(data):
                raise FormatError("record %d length %d overruns the batch" % (i, length))
            end = pos + length
            attrs = data[pos]
            pos += 1
            ts_delta, pos = read_varlong(data, pos)
            off_delta, pos = read_varint(data, pos)
            klen, pos = read_varint(data, pos)
            if klen < -1:
                raise FormatError("record %d key length %d" % (i, klen))
            key = None
            if klen >= 0:
                key = bytes(data[pos:pos + klen])
                pos += klen
            vlen, pos = read_varint(data, pos)
            if vlen < -1:
                raise FormatError("record %d value length %d" % (i, vlen))
            value = None
            if vlen >= 0:
                value = bytes(data[pos:pos + vlen])
                pos += vlen
            hcount, pos = read_varint(data, pos)
            if hcount < 0:
                raise FormatError("record %d header count %d" % (i, hcount))
            headers = []
            for _ in range(hcount):
                hklen, pos = read_varint(data, pos)
                if hklen < 0:
                    raise FormatError("record %d header key length %d" % (i, hklen))
                hk = bytes(data[pos:pos + hklen])
                pos += hklen
                hvlen, pos = read_varint(data, pos)
                hv = None
                if hvlen >= 0:
                    hv = bytes(data[pos:pos + hvlen])
                    pos += hvlen
                headers.append((hk, hv))
            if pos != end:
                raise FormatError("record %d: fields use %d bytes but length says %d"
                                  % (i, pos - (end - length), length))
            # LogAppendTime: every record's timestamp is the batch's append time.
            ts = batch.max_timestamp if batch.log_append_time else batch.base_timestamp + ts_delta
            recs.append(Record(batch.base_offset + off_delta, ts, key, value, headers, attrs))
    except (FormatError, IndexError) as e:
        problems.append("%s: %s" % (where, e))
        return
    if pos != len(data):
        problems.append("%s: %d trailing bytes after %d records"
                        % (where, len(data) - pos, batch.record_count))
    batch.records = recs
    if recs:
        deltas = [r.offset - batch.base_offset for r in recs]
        if deltas != sorted(set(deltas)):
            problems.append("%s: offset deltas not strictly increasing" % where)
        if deltas[-1] != batch.last_offset_delta:
            problems.append("%s: lastOffsetDelta %d but last record has delta %d"
                            % (where, batch.last_offset_delta, deltas[-1]))
        if dense and deltas != list(range(len(recs))):
            problems.append("%s: offsets not dense inside the batch" % where)
        if not batch.log_append_time:
            mx = max(r.timestamp for r in recs)
            if mx != batch.max_timestamp:
                problems.append("%s: maxTimestamp %d but records' max is %d"
                                % (where, batch.max_timestamp, mx))
    elif batch.record_count == 0:
        problems.append("%s: empty batch (recordCount 0)" % where)


def parse_log(data, dense=True):
    """Parse a whole .log file's bytes.

    Returns (batches, problems, valid_bytes).  Parsing stops at the first batch that
    is incomplete or invalid (a torn tail or corruption); valid_bytes is where that
    batch starts (== len(data) for a clean file)."""
    batches = []
    problems = []
    pos = 0
    n = len(data)
    while pos < n:
        if n - pos < BATCH_OVERHEAD:
            problems.append("position %d: %d trailing bytes, less than a batch header (torn tail?)"
                            % (pos, n - pos))
            break
        fields = BATCH_HEADER.unpack_from(data, pos)
        b = Batch(pos, fields)
        where = "batch at position %d (baseOffset %d)" % (pos, b.base_offset)
        if b.batch_length < BATCH_OVERHEAD - LOG_OVERHEAD:
            problems.append("%s: batchLength %d is too small" % (where, b.batch_length))
            break
        if pos + b.size > n:
            problems.append("%s: batchLength %d runs past end of file (%d bytes missing; torn tail?)"
                            % (where, b.batch_length, pos + b.size - n))
            break
        if b.magic != 2:
            problems.append("%s: magic %d, expected 2" % (where, b.magic))
            break
        crc = crc32c(data[pos + CRC_START:pos + b.size])
        if crc != b.crc:
            problems.append("%s: CRC-32C mismatch: stored %08x, computed %08x"
                            % (where, b.crc, crc))
            break
        if b.record_count < 0 or b.last_offset_delta < 0:
            problems.append("%s: negative recordCount/lastOffsetDelta" % where)
            break
        before = len(problems)
        _parse_records(b, data[pos + BATCH_OVERHEAD:pos + b.size], problems, dense)
        if len(problems) != before:
            break
        if batches and b.base_offset <= batches[-1].last_offset:
            problems.append("%s: offsets go backwards (previous batch ends at %d)"
                            % (where, batches[-1].last_offset))
            break
        if dense and batches and b.base_offset != batches[-1].last_offset + 1:
            problems.append("%s: offset gap (previous batch ends at %d)"
                            % (where, batches[-1].last_offset))
            break
        batches.append(b)
        pos += b.size
    return batches, problems, pos


def parse_index(data):
    """-> (entries [(relative_offset, position)], problems)."""
    problems = []
    if len(data) % 8:
        problems.append("size %d is not a multiple of 8" % len(data))
    entries = [struct.unpack_from(">II", data, i) for i in range(0, len(data) - len(data) % 8, 8)]
    return entries, problems


def parse_timeindex(data):
    """-> (entries [(timestamp, relative_offset)], problems)."""
    problems = []
    if len(data) % 12:
        problems.append("size %d is not a multiple of 12" % len(data))
    entries = [struct.unpack_from(">qI", data, i) for i in range(0, len(data) - len(data) % 12, 12)]
    return entries, problems


def _strip_padding(entries, is_zero):
    """Kafka preallocates index files and treats an all-zero entry after the first as
    the end of the index.  Returns (real_entries, padding_count, problems)."""
    for i, e in enumerate(entries):
        if i > 0 and is_zero(e):
            rest = entries[i:]
            bad = [j for j, x in enumerate(rest) if not is_zero(x)]
            probs = []
            if bad:
                probs.append("non-zero entry %d after zero padding" % (i + bad[0]))
            return entries[:i], len(rest), probs
    return entries, 0, []


class SegmentReport:
    def __init__(self, path, base):
        self.path = path
        self.base = base
        self.name = os.path.basename(path)
        self.size = 0
        self.batches = []
        self.problems = []
        self.notes = []
        self.index = []
        self.timeindex = []
        self.valid_bytes = 0

    @property
    def records(self):
        return [r for b in self.batches for r in b.records]

    @property
    def last_offset(self):
        return self.batches[-1].last_offset if self.batches else None

    def problem(self, msg):
        self.problems.append("%s: %s" % (self.name, msg))


def check_segment(log_path, sealed=True, dense=True, require_indexes=True, data=None):
    """Parse one segment (.log plus its .index / .timeindex) and check them."""
    name = os.path.basename(log_path)
    m = SEGMENT_NAME.match(name)
    base = int(m.group(1)) if m and m.group(2) == "log" else None
    rep = SegmentReport(log_path, base)
    if base is None:
        rep.problem("file name is not <20-digit base offset>.log")
    if data is None:
        with open(log_path, "rb") as f:
            data = f.read()
    rep.size = len(data)
    rep.batches, probs, rep.valid_bytes = parse_log(data, dense=dense)
    for p in probs:
        rep.problem(p)
    if base is not None and rep.batches:
        first = rep.batches[0].base_offset
        if (dense and first != base) or first < base:
            rep.problem("file name says base offset %d but first batch has baseOffset %d"
                        % (base, first))
        if rep.last_offset - base > 0xFFFFFFFF:
            rep.problem("offsets do not fit a 32-bit relative offset")
    if base is None:
        return rep
    stem = log_path[:-len(".log")]
    by_pos = {b.position: b for b in rep.batches}

    # ---- offset index
    ipath = stem + ".index"
    if os.path.exists(ipath):
        with open(ipath, "rb") as f:
            entries, probs = parse_index(f.read())
        for p in probs:
            rep.problem(".index " + p)
        entries, pad, probs = _strip_padding(entries, lambda e: e == (0, 0))
        for p in probs:
            rep.problem(".index " + p)
        if pad and sealed:
            rep.problem(".index of a sealed segment has %d zero padding entries "
                        "(Kafka trims the index when a segment is rolled)" % pad)
        elif pad:
            rep.notes.append(".index has %d preallocated zero entries" % pad)
        rep.index = entries
        prev = None
        for i, (rel, position) in enumerate(entries):
            off = base + rel
            b = by_pos.get(position)
            if b is None:
                rep.problem(".index entry %d (offset %d, position %d) does not point at the "
                            "start of a batch" % (i, off, position))
            elif not b.base_offset <= off <= b.last_offset:
                rep.problem(".index entry %d (offset %d, position %d): the batch there holds "
                            "offsets %d..%d" % (i, off, position, b.base_offset, b.last_offset))
            if prev is not None and (rel <= prev[0] or position <= prev[1]):
                rep.problem(".index entry %d (%d, %d) does not increase after (%d, %d)"
                            % (i, rel, position, prev[0], prev[1]))
            prev = (rel, position)
    elif require_indexes and rep.size > 0:
        rep.problem("missing .index file")

    # ---- time index
    tpath = stem + ".timeindex"
    if os.path.exists(tpath):
        with open(tpath, "rb") as f:
            entries, probs = parse_timeindex(f.read())
        for p in probs:
            rep.problem(".timeindex " + p)
        entries, pad, probs = _strip_padding(entries, lambda e: e == (0, 0))
        for p in probs:
            rep.problem(".timeindex " + p)
        if pad and sealed:
            rep.problem(".timeindex of a sealed segment has %d zero padding entries" % pad)
        elif pad:
            rep.notes.append(".timeindex has %d preallocated zero entries" % pad)
        rep.timeindex = entries
        # running maximum of maxTimestamp through each batch
        running = []
        mx = None
        for b in rep.batches:
            mx = b.max_timestamp if mx is None else max(mx, b.max_timestamp)
            running.append((b.base_offset, b.last_offset, mx))
        prev = None
        for i, (ts, rel) in enumerate(entries):
            off = base + rel
            if prev is not None and (ts < prev[0] or rel < prev[1]):
                rep.problem(".timeindex entry %d (ts %d, offset %d) goes backwards after "
                            "(ts %d, offset %d)" % (i, ts, off, prev[0], base + prev[1]))
            prev = (ts, rel)
            hit = [r for r in running if r[0] <= off <= r[1]]
            if not hit:
                rep.problem(".timeindex entry %d: offset %d is not in this segment" % (i, off))
            elif hit[0][2] != ts:
                rep.problem(".timeindex entry %d: timestamp %d but the largest timestamp up to "
                            "offset %d is %d" % (i, ts, off, hit[0][2]))
    elif require_indexes and rep.size > 0:
        rep.problem("missing .timeindex file")
    return rep


class PartitionReport:
    def __init__(self, path):
        self.path = path
        self.segments = []
        self.problems = []

    @property
    def records(self):
        return [r for s in self.segments for r in s.records]

    @property
    def log_files(self):
        return [s.path for s in self.segments]

    @property
    def next_offset(self):
        for s in reversed(self.segments):
            if s.batches:
                return s.last_offset + 1
        return self.segments[0].base if self.segments and self.segments[0].base is not None else 0

    @property
    def ok(self):
        return not self.problems


def check_partition(path, dense=True, require_indexes=True):
    """Check every segment of a partition directory and the offsets across them."""
    rep = PartitionReport(path)
    names = sorted(os.listdir(path))
    logs = []
    stems = set()
    for n in names:
        m = SEGMENT_NAME.match(n)
        if n.endswith(".log") and not m:
            rep.problems.append("%s: log file name is not <20-digit base offset>.log" % n)
        if m:
            if m.group(2) == "log":
                logs.append((int(m.group(1)), n))
            stems.add((m.group(1), m.group(2)))
    logs.sort()
    log_stems = {"%020d" % b for b, _ in logs}
    for stem, ext in stems:
        if ext != "log" and stem not in log_stems:
            rep.problems.append("%s.%s has no matching .log file" % (stem, ext))
    prev_last = None
    for i, (base, n) in enumerate(logs):
        sealed = i < len(logs) - 1
        seg = check_segment(os.path.join(path, n), sealed=sealed, dense=dense,
                            require_indexes=require_indexes)
        rep.segments.append(seg)
        rep.problems.extend(seg.problems)
        if not seg.batches:
            if sealed:
                rep.problems.append("%s: sealed segment holds no batches" % n)
            elif prev_last is not None and dense and base != prev_last + 1:
                rep.problems.append("%s: empty active segment should start at %d"
                                    % (n, prev_last + 1))
            continue
        first = seg.batches[0].base_offset
        if prev_last is not None:
            if first <= prev_last:
                rep.problems.append("%s: starts at offset %d, not after previous segment's %d"
                                    % (n, first, prev_last))
            elif dense and first != prev_last + 1:
                rep.problems.append("%s: offset gap: previous segment ends at %d, this starts at %d"
                                    % (n, prev_last, first))
        prev_last = seg.last_offset
    return rep


def partition_dir(data_dir, topic, partition=0):
    return os.path.join(data_dir, "topics", "%s-%d" % (topic, partition))


# --------------------------------------------------------------------------
# Self-test.  The CRC vector is the standard CRC-32C check value; the batch is a
# small RecordBatch published in a public Kafka-protocol exercise repository
# (value "Hello Kafka!", CRC 0xabfd0491), decoded field by field below.
_HELLO_BATCH = bytes.fromhex(
    "0000000000000000" "00000044" "00000000" "02" "abfd0491" "0000" "00000000"
    "00000191e05b6d8b" "00000191e05b6d8b" "0000000000000000" "0000" "00000000"
    "00000001" "24" "00" "00" "00" "01" "18" + b"Hello Kafka!".hex() + "00")


def self_test():
    failures = []

    def check(cond, msg):
        if not cond:
            failures.append(msg)

    check(crc32c(b"123456789") == 0xE3069283, "crc32c('123456789') != 0xE3069283")
    check(crc32c(b"") == 0, "crc32c('') != 0")
    check(crc32c(b"\x00" * 32) == 0x8A9136AA, "crc32c(32 zero bytes) != 0x8A9136AA")
    # zig-zag varints (values from the protobuf/Kafka encoding rules)
    for v, enc in [(0, "00"), (-1, "01"), (1, "02"), (-64, "7f"), (64, "8001"),
                   (2147483647, "feffffff0f"), (-2147483648, "ffffffff0f"),
                   (300, "d804")]:
        check(encode_varint(v).hex() == enc, "encode_varint(%d) != %s" % (v, enc))
        got, pos = read_varint(bytes.fromhex(enc), 0)
        check(got == v and pos == len(enc) // 2, "read_varint(%s) = %d" % (enc, got))
    got, _ = read_varlong(bytes.fromhex("ffffffffffffffffff01"), 0)
    check(got == -(1 << 63), "read_varlong(min long) = %d" % got)
    batches, probs, valid = parse_log(_HELLO_BATCH)
    check(not probs, "hello batch problems: %s" % probs)
    check(valid == len(_HELLO_BATCH) == 80, "hello batch valid bytes %d" % valid)
    if batches:
        b = batches[0]
        check(b.record_count == 1 and b.base_offset == 0, "hello batch header %r" % b)
        check(b.records and b.records[0].value == b"Hello Kafka!" and b.records[0].key is None,
              "hello record %r" % (b.records,))
        check(b.records and b.records[0].timestamp == 0x191E05B6D8B, "hello timestamp")
    # one flipped bit anywhere in the CRC-covered range must be detected
    for pos in (CRC_START, 40, 70, 79):
        bad = bytearray(_HELLO_BATCH)
        bad[pos] ^= 0x10
        _, probs, valid = parse_log(bytes(bad))
        check(probs and valid == 0, "flip at %d not detected" % pos)
    # a torn tail after a whole batch is reported, the whole batch kept
    batches, probs, valid = parse_log(_HELLO_BATCH + _HELLO_BATCH[:30])
    check(len(batches) == 1 and valid == 80 and probs, "torn tail handling")
    return failures


def main(argv):
    if "--self-test" in argv:
        failures = self_test()
        for f in failures:
            print("FAIL self-test: %s" % f)
        if not failures:
            print("ok self-test")
        return 1 if failures else 0
    show = "--records" in argv
    dense = "--loose" not in argv
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        print(__doc__)
        return 2
    bad = False
    for p in paths:
        if os.path.isdir(p):
            rep = check_partition(p, dense=dense)
            segs, probs = rep.segments, rep.problems
        else:
            seg = check_segment(p, dense=dense)
            segs, probs = [seg], seg.problems
        for s in segs:
            print("%s: %d bytes, %d batches, %d index entries, %d timeindex entries%s" % (
                s.path, s.size, len(s.batches), len(s.index), len(s.timeindex),
                "" if not s.notes else " (" + "; ".join(s.notes) + ")"))
            if show:
                for b in s.batches:
                    print("  %r" % b)
                    for r in b.records:
                        print("    %r" % r)
        for pr in probs:
            print("PROBLEM %s" % pr)
        bad = bad or bool(probs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
