#include "log/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "util/big_endian.h"

namespace kappa {

namespace {

constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeader = 16;        // magic, version, compatible version
constexpr size_t kXerialBlock = 32u << 10;  // the Java client's block size
constexpr int32_t kXerialVersion = 1;

Status bad(codec c, const std::string& why) {
  return Status::Corruption(std::string("cannot decompress a ") + codec_name(static_cast<int>(c)) + " batch: " + why);
}
Status too_large(codec c, size_t limit) {
  return bad(c, "it decompresses to more than " + std::to_string(limit) + " bytes");
}

// Grows *out so that `need` bytes fit at `at`, refusing past the limit.
bool make_room(std::vector<char>* out, size_t at, size_t need, size_t limit) {
  if (need > limit || at > limit - need) return false;
  if (out->size() < at + need + kDecompressPadding) out->resize(at + need + kDecompressPadding);
  return true;
}

// Room for the next piece of output: up to `chunk` bytes, less near the
// limit; 0 once the limit is reached.
size_t next_room(size_t n, size_t got, size_t limit) {
  return std::min<size_t>(std::max<size_t>(n * 4, 64u << 10), limit - std::min(limit, got));
}

Status finish(std::vector<char>* out, size_t got, size_t* size) {
  if (out->size() < got + kDecompressPadding) out->resize(got + kDecompressPadding);
  std::memset(out->data() + got, 0, kDecompressPadding);
  *size = got;
  return Status::OK();
}

Status gzip_decompress(const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* size) {
  z_stream z{};
  // 15 + 32: a gzip or a zlib header, whichever it is.
  if (inflateInit2(&z, 15 + 32) != Z_OK) return bad(codec::gzip, "zlib failed to start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
  z.avail_in = static_cast<uInt>(n);
  size_t got = 0;
  Status st;
  for (;;) {
    size_t want = std::min<size_t>(next_room(n, got, limit), UINT32_MAX);
    if (want == 0) {
      st = too_large(codec::gzip, limit);
      break;
    }
    (void)make_room(out, got, want, limit);  // within the limit: got + want <= limit
    z.next_out = reinterpret_cast<Bytef*>(out->data() + got);
    z.avail_out = static_cast<uInt>(want);
    int rc = inflate(&z, Z_NO_FLUSH);
    got += want - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK) continue;
    st = bad(codec::gzip, rc == Z_BUF_ERROR && z.avail_in == 0 ? std::string("the stream is truncated")
                                                               : std::string(z.msg ? z.msg : "invalid data"));
    break;
  }
  inflateEnd(&z);
  KAPPA_RETURN_IF_ERROR(st);
  return finish(out, got, size);
}

Status snappy_raw_append(const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* got) {
  size_t len = 0;
  if (!snappy::GetUncompressedLength(p, n, &len)) return bad(codec::snappy, "a block has no valid length");
  if (!make_room(out, *got, len, limit)) return too_large(codec::snappy, limit);
  if (!snappy::RawUncompress(p, n, out->data() + *got)) return bad(codec::snappy, "a block is damaged");
  *got += len;
  return Status::OK();
}

Status snappy_decompress(const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* size) {
  size_t got = 0;
  if (n >= kXerialHeader && std::memcmp(p, kXerialMagic, sizeof kXerialMagic) == 0) {
    const char* q = p + kXerialHeader;
    const char* end = p + n;
    while (q < end) {
      if (end - q < 4) return bad(codec::snappy, "a block length is truncated");
      uint32_t len = be::load32(q);
      q += 4;
      if (len > static_cast<size_t>(end - q)) return bad(codec::snappy, "a block runs past the batch");
      KAPPA_RETURN_IF_ERROR(snappy_raw_append(q, len, limit, out, &got));
      q += len;
    }
  } else {
    KAPPA_RETURN_IF_ERROR(snappy_raw_append(p, n, limit, out, &got));
  }
  return finish(out, got, size);
}

Status lz4_decompress(const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* size) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return bad(codec::lz4, "lz4 failed to start");
  size_t got = 0, in = 0;
  Status st;
  for (;;) {
    size_t want = next_room(n, got, limit);
    if (want == 0) {
      st = too_large(codec::lz4, limit);
      break;
    }
    (void)make_room(out, got, want, limit);  // within the limit: got + want <= limit
    size_t dst = want, src = n - in;
    size_t hint = LZ4F_decompress(ctx, out->data() + got, &dst, p + in, &src, nullptr);
    if (LZ4F_isError(hint)) {
      st = bad(codec::lz4, LZ4F_getErrorName(hint));
      break;
    }
    got += dst;
    in += src;
    if (hint == 0) break;  // the frame is complete
    if (in == n && dst < want) {
      st = bad(codec::lz4, "the frame is truncated");
      break;
    }
  }
  LZ4F_freeDecompressionContext(ctx);
  KAPPA_RETURN_IF_ERROR(st);
  return finish(out, got, size);
}

Status zstd_decompress(const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* size) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (!ds) return bad(codec::zstd, "zstd failed to start");
  ZSTD_inBuffer in{p, n, 0};
  size_t got = 0;
  Status st;
  for (;;) {
    size_t want = next_room(n, got, limit);
    if (want == 0) {
      st = too_large(codec::zstd, limit);
      break;
    }
    (void)make_room(out, got, want, limit);  // within the limit: got + want <= limit
    ZSTD_outBuffer o{out->data() + got, want, 0};
    size_t rc = ZSTD_decompressStream(ds, &o, &in);
    if (ZSTD_isError(rc)) {
      st = bad(codec::zstd, ZSTD_getErrorName(rc));
      break;
    }
    got += o.pos;
    if (rc == 0) break;  // the frame is complete
    if (in.pos == in.size && o.pos < want) {
      st = bad(codec::zstd, "the frame is truncated");
      break;
    }
  }
  ZSTD_freeDStream(ds);
  KAPPA_RETURN_IF_ERROR(st);
  return finish(out, got, size);
}

}  // namespace

const char* codec_name(int bits) {
  switch (bits) {
    case 0: return "none";
    case 1: return "gzip";
    case 2: return "snappy";
    case 3: return "lz4";
    case 4: return "zstd";
    default: return "unknown";
  }
}

Result<codec> parse_codec(std::string_view name) {
  for (int c = 0; c <= 4; c++)
    if (name == codec_name(c)) return static_cast<codec>(c);
  return Status::Invalid("unknown compression codec '" + std::string(name) + "': use none, gzip, snappy, lz4 or zstd");
}

Status compress(codec c, const char* p, size_t n, std::vector<char>* out) {
  size_t at = out->size();
  switch (c) {
    case codec::none: out->insert(out->end(), p, p + n); return Status::OK();
    case codec::gzip: {
      z_stream z{};
      // 15 + 16: a gzip header and trailer, as the Java client writes.
      if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return Status::IOError("gzip: zlib failed to start");
      out->resize(at + deflateBound(&z, static_cast<uLong>(n)) + 32);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
      z.avail_in = static_cast<uInt>(n);
      z.next_out = reinterpret_cast<Bytef*>(out->data() + at);
      z.avail_out = static_cast<uInt>(out->size() - at);
      int rc = deflate(&z, Z_FINISH);
      size_t produced = z.total_out;
      deflateEnd(&z);
      if (rc != Z_STREAM_END) return Status::IOError("gzip: deflate did not finish");
      out->resize(at + produced);
      return Status::OK();
    }
    case codec::snappy: {
      out->resize(at + kXerialHeader);
      std::memcpy(out->data() + at, kXerialMagic, sizeof kXerialMagic);
      be::store32(out->data() + at + 8, kXerialVersion);
      be::store32(out->data() + at + 12, kXerialVersion);
      for (size_t off = 0; off < n; off += kXerialBlock) {
        size_t len = std::min(kXerialBlock, n - off);
        size_t pos = out->size();
        out->resize(pos + 4 + snappy::MaxCompressedLength(len));
        size_t produced = 0;
        snappy::RawCompress(p + off, len, out->data() + pos + 4, &produced);
        be::store32(out->data() + pos, static_cast<uint32_t>(produced));
        out->resize(pos + 4 + produced);
      }
      return Status::OK();
    }
    case codec::lz4: {
      LZ4F_preferences_t prefs{};
      prefs.frameInfo.blockSizeID = LZ4F_max64KB;
      prefs.frameInfo.blockMode = LZ4F_blockIndependent;
      out->resize(at + LZ4F_compressFrameBound(n, &prefs));
      size_t produced = LZ4F_compressFrame(out->data() + at, out->size() - at, p, n, &prefs);
      if (LZ4F_isError(produced)) return Status::IOError(std::string("lz4: ") + LZ4F_getErrorName(produced));
      out->resize(at + produced);
      return Status::OK();
    }
    case codec::zstd: {
      out->resize(at + ZSTD_compressBound(n));
      size_t produced = ZSTD_compress(out->data() + at, out->size() - at, p, n, ZSTD_CLEVEL_DEFAULT);
      if (ZSTD_isError(produced)) return Status::IOError(std::string("zstd: ") + ZSTD_getErrorName(produced));
      out->resize(at + produced);
      return Status::OK();
    }
  }
  return Status::Invalid("unknown compression codec");
}

Status decompress(codec c, const char* p, size_t n, size_t limit, std::vector<char>* out, size_t* size) {
  switch (c) {
    case codec::none:
      if (!make_room(out, 0, n, limit)) return too_large(c, limit);
      std::memcpy(out->data(), p, n);
      return finish(out, n, size);
    case codec::gzip: return gzip_decompress(p, n, limit, out, size);
    case codec::snappy: return snappy_decompress(p, n, limit, out, size);
    case codec::lz4: return lz4_decompress(p, n, limit, out, size);
    case codec::zstd: return zstd_decompress(p, n, limit, out, size);
  }
  return Status::Corruption("unknown compression codec " + std::to_string(static_cast<int>(c)));
}

}  // namespace kappa
