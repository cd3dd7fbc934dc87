#include "log/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "io/file.h"
#include "kappa/log/format.h"
#include "log/segment_name.h"

namespace kappa {

size_t readable_batch_limit(uint32_t max_message_bytes) { return std::max<size_t>(max_message_bytes, 2u << 20) * 4; }

Result<std::vector<int64_t>> list_segments(const std::string& dir) {
  KAPPA_ASSIGN_OR_RETURN(auto names, list_dir(dir));
  std::vector<int64_t> bases;
  for (const auto& n : names)
    if (auto b = parse_segment_name(n, format::kLogSuffix)) bases.push_back(*b);
  std::sort(bases.begin(), bases.end());
  return bases;
}

Status read_small_file(const std::string& path, std::string* out, size_t limit) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  KAPPA_ASSIGN_OR_RETURN(uint64_t size, file_size(fd->get(), path));
  if (size > limit) return Status::Corruption(path + " is " + std::to_string(size) + " bytes, larger than plausible");
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t r = ::pread(fd->get(), out->data() + done, size - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::FromErrno(path, errno);
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  out->resize(done);
  return Status::OK();
}

Status rewrite_file(const std::string& path, const std::string& bytes, bool sync) {
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(path, O_RDWR | O_CREAT));
  KAPPA_RETURN_IF_ERROR(truncate_file(fd.get(), 0, path));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::pwrite(fd.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::FromErrno(path, errno);
    done += static_cast<size_t>(w);
  }
  if (sync && ::fdatasync(fd.get()) != 0) return Status::FromErrno("fdatasync " + path, errno);
  return Status::OK();
}

Result<scan_stop> scan_segment(io_backend& io, int fd, uint64_t position, size_t max_batch_bytes,
                               const batch_fn& on_batch) {
  constexpr size_t kChunk = 1 << 20;
  std::vector<char> buf(kChunk);
  uint64_t buf_pos = position;  // file position of buf[0]
  size_t len = 0, cur = 0;
  bool eof = false;
  for (;;) {
    batch_header h;
    std::string why;
    batch_state st = check_batch(buf.data() + cur, len - cur, max_batch_bytes, &h, &why);
    if (st == batch_state::ok) {
      if (!on_batch(h, buf.data() + cur, buf_pos + cur)) return scan_stop{batch_state::ok, buf_pos + cur, "stopped"};
      cur += h.total_size();
      continue;
    }
    if (st == batch_state::corrupt) return scan_stop{st, buf_pos + cur, why};
    // Incomplete: slide the partial batch to the front and read more.
    if (eof) return scan_stop{len == cur ? batch_state::ok : batch_state::incomplete, buf_pos + cur, ""};
    std::memmove(buf.data(), buf.data() + cur, len - cur);
    buf_pos += cur;
    len -= cur;
    cur = 0;
    if (len >= format::kLogOverhead) {
      // The length field is in and bounded by check_batch: make room for it.
      size_t need = batch_total_size(buf.data());
      if (need > buf.size()) buf.resize(need);
    }
    if (len == buf.size()) buf.resize(buf.size() * 2);
    KAPPA_ASSIGN_OR_RETURN(size_t got, io.read(fd, buf.data() + len, buf.size() - len, buf_pos + len));
    if (got == 0) eof = true;
    len += got;
  }
}

void index_builder::add(const batch_header& h, uint64_t position) {
  if (h.max_timestamp > max_timestamp) {
    max_timestamp = h.max_timestamp;
    offset_of_max = h.last_offset();
  }
  if (bytes_since_entry > format::kIndexIntervalBytes) {
    index->append(h.last_offset(), static_cast<uint32_t>(position));
    times->maybe_append(max_timestamp, offset_of_max);
    bytes_since_entry = 0;
  }
  bytes_since_entry += h.total_size();
}

Status rebuild_indexes(io_backend& io, const std::string& dir, int64_t base, size_t max_batch_bytes,
                       offset_index* index, time_index* times, bool sealed) {
  std::string log_path = segment_path(dir, base, format::kLogSuffix);
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(log_path, O_RDONLY));
  *index = offset_index(base);
  *times = time_index(base);
  index_builder b{index, times};
  auto stop = scan_segment(io, fd.get(), 0, max_batch_bytes, [&](const batch_header& h, const char*, uint64_t pos) {
    b.add(h, pos);
    return true;
  });
  if (!stop.ok()) return stop.status();
  if (sealed) b.seal();
  KAPPA_RETURN_IF_ERROR(rewrite_file(segment_path(dir, base, format::kIndexSuffix), index->encode(), true));
  KAPPA_RETURN_IF_ERROR(rewrite_file(segment_path(dir, base, format::kTimeIndexSuffix), times->encode(), true));
  return Status::OK();
}

Result<int64_t> segment_next_offset(io_backend& io, const std::string& dir, int64_t base, size_t max_batch_bytes,
                                    const std::string& index_path) {
  uint64_t start = 0;
  std::string ib;
  std::string ipath = index_path.empty() ? segment_path(dir, base, format::kIndexSuffix) : index_path;
  if (read_small_file(ipath, &ib, 64u << 20).ok()) {
    bool consistent;
    auto idx = offset_index::decode(base, ib, UINT32_MAX, &consistent);
    if (!idx.empty()) start = idx.entries().back().position;
  }
  std::string log = segment_path(dir, base, format::kLogSuffix);
  KAPPA_ASSIGN_OR_RETURN(unique_fd fd, open_file(log, O_RDONLY));
  int64_t next = base;
  auto scan = [&](uint64_t from) {
    return scan_segment(io, fd.get(), from, max_batch_bytes, [&](const batch_header& h, const char*, uint64_t) {
      next = h.last_offset() + 1;
      return true;
    });
  };
  KAPPA_ASSIGN_OR_RETURN(scan_stop stop, scan(start));
  if (stop.state != batch_state::ok && start > 0) {  // the index lied: scan it all
    KAPPA_ASSIGN_OR_RETURN(stop, scan(0));
  }
  return next;
}

}  // namespace kappa
