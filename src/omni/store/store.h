// The store: append-only events, quarantine, catalogue and availability,
// import runs. SQLite (WAL, one writer, batched transactions, prepared
// statements, schema version table with migrations) is the embedded default;
// PostgreSQL comes later behind this same interface.
//
// Durability contract: when Write() returns OK, the batch is committed and
// survives a kill -9 of the process (WAL; synchronous=NORMAL survives process
// crashes, FULL also survives power loss — StoreOptions::synchronous_full).
// A batch is all-or-nothing: events, quarantine rows and catalogue rows of one
// batch commit in one transaction.
//
// Idempotency: event_id is unique. Dedupe is done in the writer under the
// write lock against an in-memory index of event-id hashes (loaded by the
// first Write() and refreshed from rows other processes appended), so the hot
// path keeps one arrival-ordered B-tree (the rowid; time is summarised per
// batch). See sqlite_store.cc and docs/ARCHITECTURE.md, "store".
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/event.h"

namespace omni::store {

struct StoreOptions {
  bool synchronous_full = false;  // fsync every commit (power-loss safe); slower
  int busy_timeout_ms = 10000;    // wait this long for another writer's lock
  bool read_only = false;
  // Tests only: called at named points inside Write()'s transaction
  // ("after_events", "before_commit"); a non-OK return aborts the batch as a
  // real failure would, so tests can prove a failed batch leaves nothing.
  std::function<Status(std::string_view point)> fail_point;
};

struct QuarantineEntry {
  int64_t id = 0;
  std::string source;
  int64_t line_no = 0;
  std::string reason;  // RejectReasonName()
  std::string field;
  std::string message;
  std::string raw;
  int64_t quarantined_at_ms = 0;
};

struct ImportRun {
  int64_t id = 0;
  std::string source;
  std::string format;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;  // 0 while running or when the process died
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;
  std::string status;  // "running", "done", "failed: <message>"
};

struct StoreStats {
  int64_t events = 0;
  int64_t quarantined = 0;
  int64_t items = 0;
  int64_t availability = 0;
  int64_t imports = 0;
  int schema_version = 0;
  int64_t min_ts_ms = 0;  // 0 when there are no events
  int64_t max_ts_ms = 0;
};

class Store : public ingest::EventSink {
 public:
  // Opens (creating and migrating as needed) DATA_DIR/omni.db.
  static StatusOr<std::unique_ptr<Store>> OpenSqlite(const std::string& data_dir,
                                                     const StoreOptions& options = {});

  ~Store() override = default;

  // ingest::EventSink: commits events (deduped on event_id), rejected records
  // (into quarantine, once per source+line+raw), items (upsert) and
  // availability (upsert) in one transaction.
  StatusOr<ingest::BatchResult> Write(std::string_view source, ingest::Batch& batch) override = 0;

  // Records a running import and returns its id. Until FinishImport, this
  // Store object's Write()s tag their events and quarantine rows with the id.
  virtual StatusOr<int64_t> BeginImport(std::string_view source, std::string_view format) = 0;
  // Stores counts.accepted/duplicates/rejected/status (status "" = "done") and
  // the finish time (counts.finished_at_ms, or now when 0).
  virtual Status FinishImport(int64_t import_id, const ImportRun& counts) = 0;
  // Newest first; limit < 0 = all.
  virtual StatusOr<std::vector<ImportRun>> ListImports(int64_t limit) = 0;

  // Newest first; reason "" = all reasons; limit < 0 = all.
  virtual StatusOr<std::vector<QuarantineEntry>> ListQuarantine(int64_t limit, int64_t offset,
                                                                std::string_view reason) = 0;
  // Counts of quarantined records by reason name.
  virtual StatusOr<std::vector<std::pair<std::string, int64_t>>> QuarantineCounts() = 0;

  virtual StatusOr<StoreStats> Stats() = 0;
  // The first and last event time of the stored events (Stats' min_ts_ms and
  // max_ts_ms; 0 and 0 when none) from the block summary alone: Stats also
  // counts rows, a scan of the whole events table (a fifth of a second at
  // 10M events), which callers that only need the time span skip.
  virtual StatusOr<std::pair<int64_t, int64_t>> EventTimeBounds() = 0;

  // Streams stored events with sequence number > after_seq in storage
  // (arrival) order; `fn` returns false to stop. Later stages (identity,
  // profiles, models) read incrementally from a remembered sequence number.
  virtual Status ScanEvents(int64_t after_seq,
                            const std::function<bool(int64_t seq, const ingest::Event&)>& fn) = 0;

  virtual StatusOr<std::optional<ingest::Item>> GetItem(std::string_view item_id) = 0;
  virtual Status ScanItems(const std::function<bool(const ingest::Item&)>& fn) = 0;
  virtual Status ScanAvailability(const std::function<bool(const ingest::Availability&)>& fn) = 0;

  // Forgets identifiers (a customer's erasure request): from the next Write()
  // on, in this and every other process, events carrying any of them are not
  // stored and are counted in BatchResult::erased. Values must be in stored
  // form (normalised; the keyed hash for hashed types). Events already stored
  // are not touched here; purging them belongs to identity resolution.
  virtual Status AddTombstones(const std::vector<ingest::Identity>& identities) = 0;

  // Waits until every batch this object committed has been appended to the
  // columnar events snapshot (or skipped), which happens on a thread of its
  // own after COMMIT. Erasure calls it before removing the snapshot file: a
  // batch committed earlier must not write the person's events into a new one.
  virtual void FinishSnapshotAppends() {}
};

}  // namespace omni::store
