// The embedded store: Store on one SQLite file, DATA_DIR/omni.db, in WAL mode.
// How dedupe works and why is explained at the top of sqlite_store.cc.
//
// Threads and processes: a SqliteStore object is used by one thread at a time
// (its connection and prepared statements are not shared). Any number of
// objects, in this and other processes, may open the same directory: readers
// never block, and writers take turns on SQLite's write lock (Write() waits
// up to StoreOptions::busy_timeout_ms, then fails with kUnavailable). Do not
// call Write() from inside a Scan*() callback of the same object.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "omni/store/event_columns.h"
#include "omni/store/sqlite_util.h"
#include "omni/store/store.h"
#include "omni/store/wal_checkpointer.h"

namespace omni::store {

class SqliteStore final : public Store {
 public:
  // Creates data_dir when missing (unless read_only), opens or creates
  // omni.db and brings its schema up to date. A read-only open needs an
  // existing, up-to-date file (kNotFound / kFailedPrecondition otherwise); a
  // file from a newer omni is refused with kFailedPrecondition.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir,
                                                     const StoreOptions& options);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  StatusOr<ingest::BatchResult> Write(std::string_view source, ingest::Batch& batch) override;

  StatusOr<int64_t> BeginImport(std::string_view source, std::string_view format) override;
  Status FinishImport(int64_t import_id, const ImportRun& counts) override;
  StatusOr<std::vector<ImportRun>> ListImports(int64_t limit) override;

  StatusOr<std::vector<QuarantineEntry>> ListQuarantine(int64_t limit, int64_t offset,
                                                        std::string_view reason) override;
  StatusOr<std::vector<std::pair<std::string, int64_t>>> QuarantineCounts() override;

  StatusOr<StoreStats> Stats() override;
  StatusOr<std::pair<int64_t, int64_t>> EventTimeBounds() override;

  Status ScanEvents(int64_t after_seq,
                    const std::function<bool(int64_t seq, const ingest::Event&)>& fn) override;

  StatusOr<std::optional<ingest::Item>> GetItem(std::string_view item_id) override;
  Status ScanItems(const std::function<bool(const ingest::Item&)>& fn) override;
  Status ScanAvailability(const std::function<bool(const ingest::Availability&)>& fn) override;

  Status AddTombstones(const std::vector<ingest::Identity>& identities) override;
  void FinishSnapshotAppends() override;

  // quarantine.raw_hash of a rejected record's raw text: the first 8 bytes
  // of the unkeyed BLAKE2b-128, read little-endian as int64. (Event ids are
  // keyed by ingest::EventKey.)
  static int64_t Hash64(std::string_view text);

 private:
  // What one batch adds to the in-memory index; applied only after COMMIT
  // succeeds so a rolled-back batch leaves the index as it was.
  struct Staged;

  SqliteStore(sqlite3* db, const StoreOptions& options);
  Status Prepare();
  Status CheckWritable() const;

  StatusOr<ingest::BatchResult> WriteInTransaction(std::string_view source, ingest::Batch& batch,
                                                   Staged& staged);
  // Adds rows other writers (or, on the first call, everyone) appended since
  // last_seen_seq_ to the index. Runs under the write lock.
  Status RefreshEventIndex();
  Status RefreshTombstones();
  bool IsErased(const ingest::Event& event) const;
  // What an event is against the stored events and the batch so far: new
  // (its key unseen: then added to seq_by_key_ with next_seq), new although
  // its key is taken by a different id (a 64-bit collision), or a duplicate
  // of a stored or earlier event.
  enum class Seen { kNew, kNewCollided, kDuplicate };
  StatusOr<Seen> Classify(int64_t key, const std::string& event_id, int64_t next_seq, const ingest::Batch& batch,
                          const Staged& staged);
  // Whether the stored row `seq` has this event_id (false when the row is gone).
  StatusOr<bool> StoredEventIdEquals(int64_t seq, std::string_view event_id);
  // Events are inserted kEventsPerInsert rows per statement: InsertEvent
  // queues (the event must outlive the flush), FlushEvents writes the rest.
  static constexpr int kEventsPerInsert = 16;
  static constexpr int kEventColumns = 18;
  struct PendingEvent {
    const ingest::Event* event = nullptr;
    int64_t seq = 0;
    int64_t key = 0;
    std::string_view identities_json;
    bool explicit_seq = true;
  };
  // With explicit_seq false the row is stored with a NULL seq, which SQLite
  // turns into max(seq) + 1 by walking the table's right edge; an explicit
  // seq costs a full B-tree search (a uniqueness check) per row instead. The
  // first event of a batch carries its seq, which is above every stored one
  // (the writer holds the write lock), so the rest come out as seq + 1, ...
  Status InsertEvent(int64_t seq, int64_t key, const ingest::Event& event, std::string_view identities_json,
                     bool explicit_seq);
  Status FlushEvents();
  // What insert_events_group_'s parameters hold since its last run, by
  // parameter number: bindings outlive sqlite3_reset, and a bind call costs
  // ~90-180 instructions, so a value equal to the one already bound (NULLs,
  // the import id, a constant UTC offset, an invoice's time, currency and
  // order id) is left as it is.
  struct BoundValue {
    enum Kind : uint8_t { kUnknown, kNull, kInt, kDouble, kText } kind = kUnknown;
    int64_t bits = 0;       // kInt: the value; kDouble: its bits
    std::string_view text;  // kText: a view into an event of the batch being written
  };
  struct GroupBindings {
    static constexpr size_t kParameters = kEventsPerInsert * kEventColumns + 1;  // numbered from 1
    std::array<BoundValue, kParameters> value;
    // When a batch starts: its text views point into the previous batch.
    void ForgetTexts() {
      for (BoundValue& v : value) {
        if (v.kind == BoundValue::kText) v.kind = BoundValue::kUnknown;
      }
    }
  };
  GroupBindings group_bound_;
  void BindEvent(sqlite3_stmt* stmt, int base, const PendingEvent& pending, GroupBindings* bound);
  PendingEvent pending_[kEventsPerInsert];
  int pending_count_ = 0;
  Status InsertRejected(std::string_view source, const ingest::RejectedRecord& record,
                        int64_t now_ms);
  Status UpsertItem(const ingest::Item& item, int64_t now_ms);
  Status UpsertAvailability(const ingest::Availability& availability, int64_t now_ms);
  Status FailPoint(std::string_view point) const;

  sqlite3* db_;
  StoreOptions options_;
  int64_t current_import_id_ = 0;  // 0 = none; see BeginImport

  // Hot-path statements, prepared once.
  internal::Statement insert_event_;
  internal::Statement insert_events_group_;
  internal::Statement event_id_by_seq_;
  internal::Statement new_event_keys_;
  internal::Statement new_tombstones_;
  internal::Statement last_block_;
  internal::Statement insert_block_;
  internal::Statement insert_quarantine_;
  internal::Statement upsert_item_;
  internal::Statement upsert_availability_;
  internal::Statement get_item_;

  // Dedupe index (see sqlite_store.cc): event_key -> seq of the first stored
  // event with that key, plus the rare ids whose key was already taken by a
  // different id (a genuine 64-bit collision), by full id.
  bool event_index_loaded_ = false;
  int64_t last_seen_seq_ = 0;
  absl::flat_hash_map<int64_t, int64_t> seq_by_key_;
  absl::flat_hash_map<std::string, int64_t> collided_seq_by_id_;

  // Forgotten identifiers by type, refreshed from the table by rowid.
  std::array<absl::flat_hash_set<std::string>, ingest::kIdentityTypeCount> tombstones_;
  bool has_tombstones_ = false;
  int64_t last_tombstone_rowid_ = 0;

  // Writable stores only: runs WAL checkpoints on its own thread.
  std::unique_ptr<internal::WalCheckpointer> checkpointer_;

  // The columnar snapshot's append hook (event_columns.h); null when read-only.
  std::unique_ptr<EventColumnsAppender> columns_;
};

}  // namespace omni::store
