#include "omni/store/sqlite_util.h"

#include <mutex>

namespace omni::store::internal {

void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // SQLITE_MISUSE when SQLite was already initialised (another library in
    // the process opened a connection first): harmless, statistics stay on.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = "store: ";
  message.append(what);
  message += ": ";
  // Callers build the Status right after the failing call, before anything
  // (a ROLLBACK) can overwrite the connection's message.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message) + " (another process holds the database lock)");
    case SQLITE_FULL:
      return ResourceExhausted(std::move(message));
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return FailedPrecondition(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // sqlite3_errmsg() still holds the same text
  if (rc != SQLITE_OK) return SqliteError(db, rc, what);
  return Status::Ok();
}

StatusOr<Statement> Statement::Prepare(sqlite3* db, std::string_view sql, bool persistent) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, "prepare \"" + std::string(sql.substr(0, 60)) + "\"");
  }
  return Statement(stmt);
}

}  // namespace omni::store::internal
