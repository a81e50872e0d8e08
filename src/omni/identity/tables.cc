#include "omni/identity/tables.h"

#include <chrono>
#include <vector>

namespace omni::identity::internal {
namespace {

// Each step is applied once, in order (store::Sql::Migrate). Never edit a
// released step; append a new one.
const std::vector<std::string>& Steps() {
  static const std::vector<std::string> kSteps = {
      R"sql(
CREATE TABLE identifiers(
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  value TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  shared INTEGER NOT NULL DEFAULT 0,
  shared_reason TEXT,
  pinned_shared INTEGER NOT NULL DEFAULT 0,
  blocked INTEGER NOT NULL DEFAULT 0,
  customer_key TEXT
);
CREATE UNIQUE INDEX identifiers_value ON identifiers(type, value);
CREATE INDEX identifiers_customer ON identifiers(customer_key);

CREATE TABLE identity_links(
  a INTEGER NOT NULL,
  b INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  first_event_id TEXT NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY(a, b)
) WITHOUT ROWID;
CREATE INDEX identity_links_b ON identity_links(b);

CREATE TABLE identity_refusals(
  a INTEGER NOT NULL,
  b INTEGER NOT NULL,
  holder_a INTEGER NOT NULL,
  holder_b INTEGER NOT NULL,
  PRIMARY KEY(a, b)
);

CREATE TABLE customer_key_aliases(
  old_key TEXT PRIMARY KEY,
  new_key TEXT NOT NULL,
  merged_at_ms INTEGER NOT NULL
);
CREATE INDEX customer_key_aliases_new ON customer_key_aliases(new_key);

CREATE TABLE identity_log(
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  action TEXT NOT NULL,
  customer_key TEXT,
  detail TEXT
);

CREATE TABLE identity_state(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  watermark INTEGER NOT NULL,
  next_id INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
INSERT INTO identity_state(id, watermark, next_id, generation, updated_at_ms) VALUES (1, 0, 1, 0, 0);
)sql",
      // What the stored partition was computed with and what it holds, so a
      // run with no new events and the same configuration can skip loading
      // the graph (resolver.cc). '' = unknown: the next run recomputes.
      R"sql(
ALTER TABLE identity_state ADD COLUMN settled_config TEXT NOT NULL DEFAULT '';
ALTER TABLE identity_state ADD COLUMN totals TEXT NOT NULL DEFAULT '';
)sql",
  };
  return kSteps;
}

}  // namespace

Status DropSecondaryIndexes(store::Sql& sql, bool identifiers, bool links) {
  if (identifiers) {
    OMNI_RETURN_IF_ERROR(sql.Execute("DROP INDEX IF EXISTS identifiers_value").status());
    OMNI_RETURN_IF_ERROR(sql.Execute("DROP INDEX IF EXISTS identifiers_customer").status());
  }
  if (links) OMNI_RETURN_IF_ERROR(sql.Execute("DROP INDEX IF EXISTS identity_links_b").status());
  return Status::Ok();
}

Status CreateSecondaryIndexes(store::Sql& sql, bool identifiers, bool links) {
  // The same definitions as in the migration step above.
  if (identifiers) {
    OMNI_RETURN_IF_ERROR(
        sql.Execute("CREATE UNIQUE INDEX IF NOT EXISTS identifiers_value ON identifiers(type, value)")
            .status());
    OMNI_RETURN_IF_ERROR(
        sql.Execute("CREATE INDEX IF NOT EXISTS identifiers_customer ON identifiers(customer_key)").status());
  }
  if (links) {
    OMNI_RETURN_IF_ERROR(
        sql.Execute("CREATE INDEX IF NOT EXISTS identity_links_b ON identity_links(b)").status());
  }
  return Status::Ok();
}

Status MigrateIdentityTables(store::Sql& sql) { return sql.Migrate("identity", Steps()); }

StatusOr<IdentityState> ReadIdentityState(store::Sql& sql) {
  IdentityState state;
  bool found = false;
  OMNI_RETURN_IF_ERROR(sql.Query(
      "SELECT watermark, next_id, generation, settled_config, totals, updated_at_ms FROM identity_state "
      "WHERE id = 1",
      {},
      [&](const store::SqlRow& row) {
        state.watermark = row.Int(0);
        state.next_id = row.Int(1);
        state.generation = row.Int(2);
        state.settled_config = std::string(row.Text(3));
        state.totals = std::string(row.Text(4));
        state.updated_at_ms = row.Int(5);
        found = true;
        return false;
      }));
  if (!found) return Internal("identity: the identity_state row is missing");
  return state;
}

Status WriteIdentityState(store::Sql& sql, const IdentityState& state, IdentityState* written) {
  IdentityState next = state;
  next.generation = state.generation + 1;
  next.updated_at_ms = NowMs();
  OMNI_RETURN_IF_ERROR(sql.Execute("UPDATE identity_state SET watermark = ?, next_id = ?, generation = ?, "
                                   "updated_at_ms = ?, settled_config = ?, totals = ? WHERE id = 1",
                                   {next.watermark, next.next_id, next.generation, next.updated_at_ms,
                                    next.settled_config, next.totals})
                           .status());
  if (written) *written = std::move(next);
  return Status::Ok();
}

BulkInsert::BulkInsert(store::Sql& sql, std::string head, int columns)
    : sql_(sql), head_(std::move(head)), columns_(columns) {
  full_ = Statement(kRowsPerStatement);
  pending_.reserve(static_cast<size_t>(kRowsPerStatement * columns_));
}

std::string BulkInsert::Statement(int rows) const {
  std::string row = "(";
  for (int c = 0; c < columns_; ++c) row += c == 0 ? "?" : ", ?";
  row += ")";
  std::string sql = head_ + " VALUES ";
  for (int r = 0; r < rows; ++r) {
    if (r > 0) sql += ", ";
    sql += row;
  }
  return sql;
}

Status BulkInsert::Add(std::initializer_list<store::SqlValue> row) {
  OMNI_CHECK(static_cast<int>(row.size()) == columns_);
  pending_.insert(pending_.end(), row.begin(), row.end());
  ++rows_;
  if (pending_.size() == static_cast<size_t>(kRowsPerStatement * columns_)) {
    OMNI_RETURN_IF_ERROR(sql_.Execute(full_, pending_).status());
    pending_.clear();
  }
  return Status::Ok();
}

Status BulkInsert::Flush() {
  if (pending_.empty()) return Status::Ok();
  const int rows = static_cast<int>(pending_.size()) / columns_;
  OMNI_RETURN_IF_ERROR(sql_.Execute(Statement(rows), pending_).status());
  pending_.clear();
  return Status::Ok();
}

Status AppendLog(store::Sql& sql, std::string_view action, std::string_view customer_key,
                 std::string_view detail) {
  store::SqlValue key;
  if (!customer_key.empty()) key = std::string(customer_key);
  return sql
      .Execute("INSERT INTO identity_log(at_ms, action, customer_key, detail) VALUES (?, ?, ?, ?)",
               {NowMs(), std::string(action), key, std::string(detail)})
      .status();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace omni::identity::internal
