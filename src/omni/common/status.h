// Errors as values. Anything a user's input or data can cause is reported as a
// Status (or StatusOr<T>), never as a crash or an exception; broken invariants
// (bugs) use OMNI_CHECK, which aborts with the failed expression.
//
// The codes are few on purpose: the command line maps them to exit codes and
// the HTTP server to status codes, each in one place.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace omni {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input: a record, a flag, an expression
  kNotFound,            // unknown customer, item, model, file
  kAlreadyExists,
  kFailedPrecondition,  // e.g. "run omni profiles build first"
  kResourceExhausted,   // too large for memory, over a limit
  kUnavailable,         // database busy or locked beyond the timeout
  kUnimplemented,       // "not available yet"
  kInternal,            // I/O or library failure we cannot attribute to input
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: line 3: field ts: ..." — for logs and the CLI.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Holds either a value or a non-OK status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Internal("StatusOr constructed from an OK status without a value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { Check(); return *value_; }
  const T& value() const& { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void Check() const {
    if (!value_) {
      std::fprintf(stderr, "StatusOr::value() on error: %s\n", status_.ToString().c_str());
      std::abort();
    }
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace omni

#define OMNI_CONCAT_INNER(a, b) a##b
#define OMNI_CONCAT(a, b) OMNI_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define OMNI_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::omni::Status omni_status_ = (expr);     \
    if (!omni_status_.ok()) return omni_status_; \
  } while (0)

// `OMNI_ASSIGN_OR_RETURN(auto x, Fn());` — unwraps a StatusOr or returns its status.
#define OMNI_ASSIGN_OR_RETURN(lhs, expr) \
  OMNI_ASSIGN_OR_RETURN_IMPL(OMNI_CONCAT(omni_statusor_, __LINE__), lhs, expr)
#define OMNI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

// Invariant checks: a failure is a bug in omni, not bad input.
#define OMNI_CHECK(cond)                                                               \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
