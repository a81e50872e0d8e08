// Thin helpers over the SQLite C API shared by the store's files: errors as
// Status values naming what failed, an owning statement handle, and binders
// that map omni's "empty means absent" to SQL NULL.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "omni/common/status.h"

namespace omni::store::internal {

// "store: <what>: <sqlite3_errmsg> (<code name>)". SQLITE_BUSY/LOCKED (another
// writer held the lock past busy_timeout) map to kUnavailable, a full disk to
// kResourceExhausted, a read-only file to kFailedPrecondition; the rest are
// kInternal.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// Process-wide SQLite settings, applied once before the first connection:
// memory statistics off. With them on (SQLite's default) every allocation
// inside SQLite takes a global mutex to count bytes, which on the import path
// is a few percent of the writer's CPU for numbers omni never reads. Call
// before sqlite3_open_v2; later calls are no-ops.
void ConfigureSqliteOnce();

// Runs one or more statements that return no rows.
Status Exec(sqlite3* db, const char* sql, std::string_view what);

// Owns a prepared statement; finalises it on destruction.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // `persistent`: the statement is kept for the connection's lifetime and
  // reused (SQLITE_PREPARE_PERSISTENT keeps it out of the lookaside pool).
  static StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql, bool persistent = false);

  sqlite3_stmt* get() const { return stmt_; }
  // Reset for reuse; bindings are overwritten by the next use.
  void Reset() { sqlite3_reset(stmt_); }

 private:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a reused statement when it goes out of scope, on every return path,
// so it never holds a read snapshot open between calls.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : stmt_(s.get()) {}
  ~ResetOnExit() { sqlite3_reset(stmt_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// SQLITE_STATIC: the caller keeps `text` alive until the statement is stepped
// and reset (or rebound), which the store's write loop guarantees; it saves a
// copy of every string on the hot path.
inline void BindText(sqlite3_stmt* s, int i, std::string_view text) {
  sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
// "" (absent) is stored as NULL.
inline void BindTextOrNull(sqlite3_stmt* s, int i, std::string_view text) {
  if (text.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    BindText(s, i, text);
  }
}
inline void BindDoubleOrNull(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  if (v) {
    sqlite3_bind_double(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}
inline void BindInt64OrNull(sqlite3_stmt* s, int i, const std::optional<int64_t>& v) {
  if (v) {
    sqlite3_bind_int64(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}

// NULL reads as "".
inline std::string_view ColumnView(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s, i))};
}
inline std::string ColumnString(sqlite3_stmt* s, int i) { return std::string(ColumnView(s, i)); }
inline std::optional<double> ColumnOptionalDouble(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(s, i);
}
inline std::optional<int64_t> ColumnOptionalInt64(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}

}  // namespace omni::store::internal
