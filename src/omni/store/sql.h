// Generic SQL for the stages after the store (identity, profiles, segments,
// models' registry) to keep their own tables in the same database, without
// knowing which engine is underneath. Use portable SQL (SQLite and
// PostgreSQL both accept it): ?-placeholders are rewritten by a PostgreSQL
// backend; INSERT ... ON CONFLICT ... DO UPDATE, no engine-specific functions.
//
// Statements are prepared once per distinct SQL text and reused, so calling
// Execute() in a loop for a bulk insert inside InTransaction() is the fast
// path (hundreds of thousands of rows per second on SQLite).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "omni/common/status.h"

namespace omni::store {

// Bytes stored as a BLOB (not text: no encoding, and tools show them as bytes).
struct SqlBlob {
  std::string bytes;
};

// NULL, integer, real, text (UTF-8) or blob. A blob reads back through
// SqlRow::Text as its bytes.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string, SqlBlob>;

// One result row; valid only inside the Query() callback.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual int columns() const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
};

class Sql {
 public:
  virtual ~Sql() = default;
  // Runs a statement that returns no rows. Returns rows changed.
  virtual StatusOr<int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  // Runs a query; `row` returns false to stop early.
  virtual Status Query(std::string_view sql, const std::vector<SqlValue>& params,
                       const std::function<bool(const SqlRow&)>& row) = 0;
  // Runs `body` in one write transaction (BEGIN IMMEDIATE on SQLite: it waits
  // for other writers, up to the busy timeout). Commits when body returns OK,
  // rolls back otherwise and returns body's status. Not re-entrant.
  virtual Status InTransaction(const std::function<Status()>& body) = 0;
  // Brings `module`'s tables up to date: applies steps[v..] where v is the
  // module's recorded version, each step in its own transaction with the
  // version bump. Refuses a database whose module version is newer than
  // steps.size() (written by a newer omni).
  virtual Status Migrate(std::string_view module, const std::vector<std::string>& steps) = 0;
};

}  // namespace omni::store
