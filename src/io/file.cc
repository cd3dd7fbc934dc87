#include "io/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

namespace kappa {

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<unique_fd> open_file(const std::string& path, int flags, int mode) {
  int fd;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(path, errno);
  return unique_fd(fd);
}

Result<uint64_t> file_size(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(path, errno);
  return static_cast<uint64_t>(st.st_size);
}

Status truncate_file(int fd, uint64_t size, const std::string& path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return Status::FromErrno("truncate " + path, errno);
  return Status::OK();
}

Status sync_dir(const std::string& path) {
  auto fd = open_file(path, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  if (::fsync(fd->get()) != 0) return Status::FromErrno("fsync " + path, errno);
  return Status::OK();
}

Status make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("cannot create directory " + path + ": " + ec.message());
  return Status::OK();
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return Status::FromErrno(path, errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("cannot remove " + path + ": " + ec.message());
  return Status::OK();
}

Status remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("unlink " + path, errno);
  return Status::OK();
}

Status rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return Status::FromErrno("rename " + from + " to " + to, errno);
  return Status::OK();
}

Status copy_file_synced(const std::string& from, const std::string& to) {
  KAPPA_ASSIGN_OR_RETURN(unique_fd in, open_file(from, O_RDONLY));
  KAPPA_ASSIGN_OR_RETURN(unique_fd out, open_file(to, O_WRONLY | O_CREAT | O_TRUNC));
  KAPPA_ASSIGN_OR_RETURN(uint64_t size, file_size(in.get(), from));
  uint64_t done = 0;
  // copy_file_range lets the kernel (or the file system) move the bytes;
  // across file systems it may refuse, and read/write does it instead.
  while (done < size) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, size - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  if (done < size) {
    std::vector<char> buf(1 << 20);
    while (done < size) {
      ssize_t r = ::pread(in.get(), buf.data(), buf.size(), static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::FromErrno("read " + from, errno);
      if (r == 0) break;
      for (ssize_t w = 0; w < r;) {
        ssize_t k = ::pwrite(out.get(), buf.data() + w, static_cast<size_t>(r - w), static_cast<off_t>(done + w));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return Status::FromErrno("write " + to, errno);
        w += k;
      }
      done += static_cast<uint64_t>(r);
    }
  }
  if (::fdatasync(out.get()) != 0) return Status::FromErrno("fdatasync " + to, errno);
  return Status::OK();
}

Result<int64_t> file_mtime_ms(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(path, errno);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

}  // namespace kappa
