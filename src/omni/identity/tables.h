// The identity stage's own tables in the store's database (store::Sql,
// module "identity"), and the customer-key format. Internal to the module:
// other stages read resolution through CustomerDirectory (identity.h).
//
// identifiers      one row per identifier ever seen.
//   id               first-seen number (1, 2, ...; never reused, even after
//                    an erasure deletes the row): customer keys derive from it.
//   type, value      identity type name and stored value (the keyed hash for
//                    hashed types), UNIQUE together.
//   first_seq        events.seq of the first event that carried it.
//   shared           1 when the guards found it used by several persons; it
//                    then links nothing and belongs to no customer.
//   shared_reason    why ("seen with 3 distinct customer_id (limit 1)").
//   pinned_shared    1 when it stays shared for good: it was shared when a
//                    person who used it was erased (their links are gone).
//   blocked          1 when split off by hand (`omni customers split`).
//   customer_key     "C000000123"; NULL for shared and blocked identifiers.
// identity_links   one row per pair of identifiers seen in one event (a < b,
//                  identifiers.id): first_seq / first_event_id name the event
//                  that first linked them, events counts supporting events.
// identity_refusals links the exclusive-type guard refused (two customer_ids
//                  would have met): holder_a / holder_b are the exclusive
//                  identifiers on each side. Recomputed on every run.
// customer_key_aliases  old_key -> new_key for customers that merged into an
//                  older one, so a key stored elsewhere (a segment export, a
//                  CRM) still resolves. new_key is always a live key.
// identity_log     audit trail: merges, splits, shared flags, refusals,
//                  blocks, erasures. Identifiers are named by id, never by
//                  value, so the log holds no personal data.
// identity_state   one row: watermark (the last events.seq processed),
//                  next_id, generation (bumped by every write, so a run
//                  that loaded stale state notices before it writes), and
//                  the configuration fingerprint and totals of the stored
//                  partition (settled_config, totals; '' when unknown).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/store/sql.h"

namespace omni::identity::internal {

// Creates or upgrades the tables above.
Status MigrateIdentityTables(store::Sql& sql);

// Inside a transaction, around a bulk load (a first resolution of millions
// of events): building an index once over sorted data is several times
// faster than maintaining it row by row with random keys.
Status DropSecondaryIndexes(store::Sql& sql, bool identifiers, bool links);
Status CreateSecondaryIndexes(store::Sql& sql, bool identifiers, bool links);

struct IdentityState {
  int64_t watermark = 0;
  int64_t next_id = 1;
  int64_t generation = 0;
  int64_t updated_at_ms = 0;  // wall clock of the last write
  // IdentityConfig::Fingerprint() of the run that computed the stored
  // partition, and that partition's totals (resolver.cc). A writer that
  // changes the identity tables without recomputing the partition (erasure)
  // clears settled_config, so the next run recomputes.
  std::string settled_config;
  std::string totals;
};
StatusOr<IdentityState> ReadIdentityState(store::Sql& sql);
// Inside a transaction: writes the state with generation + 1 and
// updated_at_ms = now; `written` (optional) receives the state as written.
Status WriteIdentityState(store::Sql& sql, const IdentityState& state, IdentityState* written = nullptr);

// Inserts rows into one table with multi-row VALUES statements (64 rows per
// statement): at millions of rows the per-statement overhead, not SQLite's
// B-tree work, is what a row-at-a-time loop pays for.
class BulkInsert {
 public:
  // `head` is "INSERT INTO t(a, b, c)"; `columns` the number of values per row.
  BulkInsert(store::Sql& sql, std::string head, int columns);
  // Appends one row's values (exactly `columns` of them); may execute.
  Status Add(std::initializer_list<store::SqlValue> row);
  Status Flush();
  int64_t rows() const { return rows_; }

 private:
  std::string Statement(int rows) const;
  static constexpr int kRowsPerStatement = 64;
  store::Sql& sql_;
  std::string head_;
  int columns_;
  std::string full_;  // the statement for kRowsPerStatement rows
  std::vector<store::SqlValue> pending_;
  int64_t rows_ = 0;
};

// Appends one audit row.
Status AppendLog(store::Sql& sql, std::string_view action, std::string_view customer_key,
                 std::string_view detail);

int64_t NowMs();

}  // namespace omni::identity::internal
