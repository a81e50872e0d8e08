#include "omni/store/sqlite_sql.h"

#include <sqlite3.h>

#include <filesystem>
#include <unordered_map>

#include "omni/store/sqlite_util.h"

namespace omni::store {
namespace {

using internal::Exec;
using internal::SqliteError;

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int columns() const override { return sqlite3_column_count(s_); }
  bool IsNull(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_, col); }
  double Double(int col) const override { return sqlite3_column_double(s_, col); }
  std::string_view Text(int col) const override {
    const unsigned char* p = sqlite3_column_text(s_, col);
    if (!p) return {};
    return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col))};
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteSql final : public Sql {
 public:
  explicit SqliteSql(sqlite3* db) : db_(db) {}
  ~SqliteSql() override {
    for (auto& [text, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  StatusOr<int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params) override {
    OMNI_ASSIGN_OR_RETURN(sqlite3_stmt * s, Bind(sql, params));
    int rc = sqlite3_step(s);
    while (rc == SQLITE_ROW) rc = sqlite3_step(s);  // e.g. INSERT ... RETURNING
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "execute: " + std::string(sql.substr(0, 80)));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Status Query(std::string_view sql, const std::vector<SqlValue>& params,
               const std::function<bool(const SqlRow&)>& row) override {
    OMNI_ASSIGN_OR_RETURN(sqlite3_stmt * s, Bind(sql, params));
    SqliteRow r(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (!row(r)) {
        rc = SQLITE_DONE;
        break;
      }
    }
    sqlite3_reset(s);  // never keep a read snapshot open between calls
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "query: " + std::string(sql.substr(0, 80)));
    return Status::Ok();
  }

  Status InTransaction(const std::function<Status()>& body) override {
    OMNI_CHECK(!in_transaction_);
    OMNI_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin transaction"));
    in_transaction_ = true;
    Status st = body();
    in_transaction_ = false;
    if (!st.ok()) {
      Exec(db_, "ROLLBACK", "rollback").ok();  // the body's error is the one to report
      return st;
    }
    Status commit = Exec(db_, "COMMIT", "commit");
    if (!commit.ok()) Exec(db_, "ROLLBACK", "rollback").ok();
    return commit;
  }

  Status Migrate(std::string_view module, const std::vector<std::string>& steps) override {
    OMNI_RETURN_IF_ERROR(Exec(db_,
                              "CREATE TABLE IF NOT EXISTS module_versions("
                              "module TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                              "create module_versions"));
    int64_t version = 0;
    OMNI_RETURN_IF_ERROR(Query("SELECT version FROM module_versions WHERE module = ?", {std::string(module)},
                               [&](const SqlRow& r) {
                                 version = r.Int(0);
                                 return false;
                               }));
    if (version > static_cast<int64_t>(steps.size())) {
      return FailedPrecondition("store: the " + std::string(module) + " tables are at version " +
                                std::to_string(version) + ", newer than this omni knows (" +
                                std::to_string(steps.size()) + "): upgrade omni");
    }
    for (size_t v = static_cast<size_t>(version); v < steps.size(); ++v) {
      OMNI_RETURN_IF_ERROR(InTransaction([&]() -> Status {
        // Re-check under the write lock: another process may have migrated.
        int64_t current = 0;
        OMNI_RETURN_IF_ERROR(Query("SELECT version FROM module_versions WHERE module = ?",
                                   {std::string(module)}, [&](const SqlRow& r) {
                                     current = r.Int(0);
                                     return false;
                                   }));
        if (current > static_cast<int64_t>(v)) return Status::Ok();
        OMNI_RETURN_IF_ERROR(Exec(db_, steps[v].c_str(),
                                  "migrate " + std::string(module) + " to version " + std::to_string(v + 1)));
        return Execute(
                   "INSERT INTO module_versions(module, version) VALUES (?, ?) "
                   "ON CONFLICT(module) DO UPDATE SET version = excluded.version",
                   {std::string(module), static_cast<int64_t>(v + 1)})
            .status();
      }));
    }
    return Status::Ok();
  }

 private:
  StatusOr<sqlite3_stmt*> Bind(std::string_view sql, const std::vector<SqlValue>& params) {
    auto it = cache_.find(sql);  // no copy of the text per call: inserts run it per row
    sqlite3_stmt* s = nullptr;
    if (it == cache_.end()) {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                                  nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare: " + std::string(sql.substr(0, 80)));
      cache_.emplace(std::string(sql), s);
    } else {
      s = it->second;
    }
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(s)) {
      return InvalidArgument("store: " + std::to_string(params.size()) + " parameters for " +
                             std::to_string(sqlite3_bind_parameter_count(s)) + " placeholders in: " +
                             std::string(sql.substr(0, 80)));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::monostate>(v)) {
        sqlite3_bind_null(s, idx);
      } else if (auto* n = std::get_if<int64_t>(&v)) {
        sqlite3_bind_int64(s, idx, *n);
      } else if (auto* d = std::get_if<double>(&v)) {
        sqlite3_bind_double(s, idx, *d);
      } else if (auto* t = std::get_if<std::string>(&v)) {
        // STATIC (no copy): Execute and Query step and reset the statement
        // before they return, while `params` is alive, and every later use
        // binds every parameter again first.
        sqlite3_bind_text(s, idx, t->data(), static_cast<int>(t->size()), SQLITE_STATIC);
      } else {
        const std::string& b = std::get<SqlBlob>(v).bytes;
        sqlite3_bind_blob(s, idx, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
      }
    }
    return s;
  }

  sqlite3* db_;
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> cache_;
  bool in_transaction_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<Sql>> OpenSqliteSql(const std::string& data_dir, const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Internal("store: cannot create " + data_dir + ": " + ec.message());
  std::string path = (std::filesystem::path(data_dir) / "omni.db").string();
  internal::ConfigureSqliteOnce();
  sqlite3* db = nullptr;
  int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "open " + path);
    sqlite3_close(db);
    return st;
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  auto sql = std::make_unique<SqliteSql>(db);
  if (!options.read_only) {
    OMNI_RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL", "set WAL"));
    OMNI_RETURN_IF_ERROR(Exec(db,
                              options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                              "set synchronous"));
  }
  OMNI_RETURN_IF_ERROR(Exec(db, "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY", "set cache"));
  return std::unique_ptr<Sql>(std::move(sql));
}

}  // namespace omni::store
