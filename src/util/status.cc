#include "kappa/status.h"

#include <cstring>

namespace kappa {

Status Status::FromErrno(std::string_view context, int err) {
  std::string m(context);
  m += ": ";
  m += std::strerror(err);
  if (err == ENOSPC) m += " (free disk space or lower retention, then retry)";
  return Status(err == ENOENT ? code::not_found : code::io_error, m);
}

const std::string& Status::message() const noexcept {
  static const std::string kEmpty;
  return rep_ ? rep_->msg : kEmpty;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += rep_->msg;
  return Status(rep_->c, m);
}

}  // namespace kappa
