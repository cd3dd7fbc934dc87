// kappa/status.h — error reporting without exceptions.
//
// A Status is either OK (costs one null pointer) or carries a code and a
// message that names the thing that failed (topic, partition, offset, path)
// and, where there is one, what to do about it. Result<T> is a value or a
// non-OK Status. Both are [[nodiscard]]: an ignored error is a bug.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kappa {

class [[nodiscard]] Status {
 public:
  enum class code : int {
    ok = 0,
    not_found,   // a topic, group, file or offset that does not exist
    corruption,  // bytes on disk that fail a CRC or a structural check
    io_error,    // the operating system refused an operation
    invalid,     // a bad argument or input value (a usage error in the CLI)
    busy,        // a lock held by another process
    exists,      // creating something that is already there
  };

  Status() noexcept = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(code::not_found, msg); }
  static Status Corruption(std::string_view msg) { return Status(code::corruption, msg); }
  static Status IOError(std::string_view msg) { return Status(code::io_error, msg); }
  // An OS error: "<context>: <strerror(err)>".
  static Status FromErrno(std::string_view context, int err);
  static Status Invalid(std::string_view msg) { return Status(code::invalid, msg); }
  static Status Busy(std::string_view msg) { return Status(code::busy, msg); }
  static Status Exists(std::string_view msg) { return Status(code::exists, msg); }

  bool ok() const noexcept { return rep_ == nullptr; }
  code error_code() const noexcept { return rep_ ? rep_->c : code::ok; }
  bool is_not_found() const noexcept { return error_code() == code::not_found; }
  bool is_corruption() const noexcept { return error_code() == code::corruption; }
  bool is_invalid() const noexcept { return error_code() == code::invalid; }
  bool is_busy() const noexcept { return error_code() == code::busy; }
  bool is_exists() const noexcept { return error_code() == code::exists; }

  // The message alone (empty for OK).
  const std::string& message() const noexcept;
  // Prefixes the message with more context: "<context>: <message>".
  Status with_context(std::string_view context) const;

 private:
  struct rep {
    code c;
    std::string msg;
  };
  Status(code c, std::string_view msg) : rep_(std::make_shared<rep>(rep{c, std::string(msg)})) {}
  std::shared_ptr<const rep> rep_;
};

// A value of T, or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: REQUIRES: !status.ok()

  bool ok() const noexcept { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kappa

// Returns early from a function returning Status (or Result) on error.
#define KAPPA_RETURN_IF_ERROR(expr) \
  do {                              \
    ::kappa::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

#define KAPPA_CONCAT_INNER(a, b) a##b
#define KAPPA_CONCAT(a, b) KAPPA_CONCAT_INNER(a, b)
// KAPPA_ASSIGN_OR_RETURN(auto x, expr): x = value of expr, or return its Status.
#define KAPPA_ASSIGN_OR_RETURN(lhs, expr) KAPPA_ASSIGN_OR_RETURN_IMPL(KAPPA_CONCAT(_res_, __LINE__), lhs, expr)
#define KAPPA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
