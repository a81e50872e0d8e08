// store — the embedded SQLite store.
//
// Layout: DATA_DIR/omni.db in WAL mode (readers never block the writer, and
// with synchronous=NORMAL a commit survives kill -9; FULL adds power-loss
// safety), one transaction per batch, prepared statements reused for every
// row. The schema and its migrations are in migrations.cc.
//
// Dedupe (what makes re-importing a file idempotent). event_id must be unique,
// but a unique index is what the insert rate cannot afford: on this machine
// (REFERENCES.md, "SQLite insert rates") a rowid table with no index takes
// ~490k rows/s, a unique index on a random 64-bit hash drops that to ~135k,
// and a unique text event_id with the usual indexes to ~50k. Random keys
// scatter inserts over the whole B-tree; arrival-ordered keys only touch its
// right edge. So events keeps a single B-tree, the rowid seq, appended at its
// right edge (even a per-row ts_ms index cost ~30%, so time is summarised per
// batch in event_blocks instead; see migrations.cc), and the uniqueness check
// moves into the writer's memory:
//
//   event_key = ingest::EventKey(event_id) (SipHash-2-4, 8 bytes), stored in
//     the row.
//   seq_by_key_: event_key -> seq, built from "SELECT seq, event_key" on the
//     first Write() with events (lazily: readers and catalogue imports never
//     pay for it) and, at the start of every later one, topped up with rows
//     seq > last_seen_seq_ that other Store objects or processes appended.
//     That refresh runs after BEGIN IMMEDIATE, i.e. under SQLite's single
//     write lock, so nobody can append between the refresh and our inserts:
//     the check is exact across processes, not best-effort.
//   A key hit is confirmed against the stored text (SELECT event_id by seq, a
//     rowid lookup), so a 64-bit collision can never drop a genuine event.
//     When the texts differ the new event is stored and its full id goes into
//     collided_seq_by_id_, a map by event_id string consulted on every key
//     hit; with 2^-64 per pair it stays empty in practice (~3e-8 expected
//     collisions at 1e6 events, ~3e-4 at 1e8) but keeps correctness exact.
//   A new key goes into seq_by_key_ at once, with the seq its event is about
//     to get: one probe per event decides and records it, and repeats inside
//     the batch are found there too (a seq from first_seq on is this batch's,
//     compared against the batch's own event). A failed batch is rolled back
//     in SQLite and its keys are taken out again (Staged::new_keys), so
//     memory never holds an uncommitted event.
//
// Cost: 17 bytes per flat_hash_map slot at 1.1-2.3 slots per event, i.e.
// 20-40 bytes per stored event (200-400 MB at 10 million), and the first
// Write() of a process reads every event row once to build the index.
//
// Measured (DISABLED_WriteThroughput in sqlite_store_test.cc: typical events
// of ~170 bytes stored, 50k per batch, best of 4-5 runs on the shared 2-core
// machine, whose REFERENCES 8-column figure the same runs reproduce at
// 490-620k): Write() 300-420k new events/s at 1M events, ~316k at 3M, against
// 300-530k for bare SQLite inserts of the same rows in the same runs (the
// writer added ~0.3 us/event of BLAKE2b, since moved to the parsing thread
// and replaced by SipHash, and ~0.2 us of index probes);
// 0.7-0.9M events/s when all are duplicates; the index builds at ~2.5M
// rows/s. With a per-row ts_ms index Write() measured ~225k.
//
// Erasure: tombstones(identity_type, value) is mirrored in memory (topped up by
// rowid at each Write(), like the index); an event carrying any forgotten
// identifier is not stored and is counted in BatchResult::erased.
#include "omni/store/sqlite_store.h"

#include <simdjson.h>
#include <sodium.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "omni/common/json_escape.h"
#include "omni/store/migrations.h"

namespace omni::store {

using internal::BindDoubleOrNull;
using internal::BindInt64OrNull;
using internal::BindText;
using internal::BindTextOrNull;
using internal::ColumnOptionalDouble;
using internal::ColumnOptionalInt64;
using internal::ColumnString;
using internal::ColumnView;
using internal::Exec;
using internal::ResetOnExit;
using internal::SqliteError;
using internal::Statement;

namespace {

constexpr char kDatabaseFile[] = "omni.db";

// How many events ahead the write loop prefetches index slots: enough to
// cover a memory access at ~0.5 us per event of SQLite work.
constexpr size_t kPrefetchDistance = 8;

// a == b for the short texts of an event row, without a call into memcmp
// (~20 ns a call, a tenth of the writer's time at six compares a row).
inline bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  size_t n = a.size();
  for (; n >= 8; n -= 8, p += 8, q += 8) {
    uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, q, 8);
    if (x != y) return false;
  }
  for (; n > 0; --n) {
    if (*p++ != *q++) return false;
  }
  return true;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Steps a statement that returns no rows.
Status StepDone(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    Status status = SqliteError(db, rc, what);
    sqlite3_reset(stmt);
    return status;
  }
  sqlite3_reset(stmt);
  return Status::Ok();
}

// Parses the identities column back. `scratch` keeps simdjson's padding.
Status ParseIdentitiesJson(simdjson::ondemand::parser& parser, std::string& scratch,
                           std::string_view json, int64_t seq, std::vector<ingest::Identity>& out) {
  out.clear();
  if (json.empty()) return Status::Ok();
  auto corrupt = [seq](std::string_view why) {
    return Internal("store: events seq " + std::to_string(seq) +
                    ": identities column: " + std::string(why));
  };
  scratch.assign(json);
  scratch.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(scratch.data(), scratch.size(), scratch.capacity()).get(doc) ||
      doc.get_object().get(object)) {
    return corrupt("not a JSON object");
  }
  for (auto field : object) {
    std::string_view key;
    std::string_view value;
    if (field.unescaped_key().get(key)) return corrupt("bad key");
    std::optional<ingest::IdentityType> type = ingest::ParseIdentityType(key);
    if (!type) return corrupt("unknown identity type \"" + std::string(key) + "\"");
    if (field.value().get_string().get(value)) return corrupt("value is not a string");
    out.push_back({*type, std::string(value)});
  }
  return Status::Ok();
}

}  // namespace

struct SqliteStore::Staged {
  // The keys this batch put into seq_by_key_, with the index of their event
  // in batch.events, in insertion (= seq) order: taken out again if the
  // batch fails; the snapshot's appender reads the indexes.
  std::vector<std::pair<int64_t, size_t>> new_keys;
  // batch.events index of each seq this batch hands out, from first_seq on.
  std::vector<uint32_t> index_of_seq;
  int64_t first_seq = 0;
  // Ids whose key was already taken by a different id; views into the batch.
  absl::flat_hash_map<std::string_view, int64_t> collided;
  int64_t max_seq = 0;
};

StatusOr<std::unique_ptr<Store>> Store::OpenSqlite(const std::string& data_dir,
                                                   const StoreOptions& options) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(data_dir, options));
  return std::unique_ptr<Store>(std::move(store));
}

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir,
                                                         const StoreOptions& options) {
  // Picks libsodium's fastest BLAKE2b; idempotent and thread-safe.
  if (sodium_init() < 0) return Internal("store: libsodium failed to initialise");

  namespace fs = std::filesystem;
  const fs::path path = fs::path(data_dir) / kDatabaseFile;
  std::error_code ec;
  if (options.read_only) {
    if (!fs::exists(path, ec)) {
      return NotFound("store: no database at " + path.string() + " (import some data first)");
    }
  } else {
    fs::create_directories(data_dir, ec);
    if (ec) {
      return FailedPrecondition("store: cannot create data directory " + data_dir + ": " +
                                ec.message());
    }
  }

  // NOMUTEX: one thread uses a SqliteStore at a time (sqlite_store.h), so
  // SQLite's per-call connection mutex would be pure overhead.
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  internal::ConfigureSqliteOnce();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteError(db, rc, "open " + path.string());
    sqlite3_close(db);
    return status;
  }
  // From here the store owns db and closes it on every return path.
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, options));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);

  if (!options.read_only) {
    // page_size only takes effect on a new, empty file. 8 KiB pages waste
    // less per page on ~170-byte event rows than 4 KiB (a 5-10% smaller
    // file). 32 KiB: a quarter of the pages to allocate, write to the WAL
    // (two write calls per frame) and checkpoint for the same rows; on Online
    // Retail the writer thread measured ~8% less CPU and the checkpointer
    // ~35% less than with 8 KiB (64 KiB: no better).
    OMNI_RETURN_IF_ERROR(Exec(db, "PRAGMA page_size=32768", "set page_size"));
    Statement journal;
    OMNI_ASSIGN_OR_RETURN(journal, Statement::Prepare(db, "PRAGMA journal_mode=WAL"));
    rc = sqlite3_step(journal.get());
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "set journal_mode=WAL on " + path.string());
    if (ColumnView(journal.get(), 0) != "wal") {
      return FailedPrecondition(
          "store: " + path.string() + " cannot use WAL mode (journal_mode is " +
          ColumnString(journal.get(), 0) + "); is it on a network file system?");
    }
  }
  OMNI_RETURN_IF_ERROR(
      Exec(db, options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
           "set synchronous"));
  // 64 MiB page cache and 1 GiB of mmap: the append path and the index load
  // read pages without copying, and a scan of a few GB stays cheap.
  OMNI_RETURN_IF_ERROR(Exec(db,
                            "PRAGMA cache_size=-65536;"
                            "PRAGMA mmap_size=1073741824;"
                            "PRAGMA temp_store=MEMORY;"
                            "PRAGMA foreign_keys=OFF;",
                            "set pragmas"));

  if (options.read_only) {
    OMNI_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db));
    if (version < OldestReadableSchemaVersion() || version > LatestSchemaVersion()) {
      return FailedPrecondition(
          "store: " + path.string() + " has schema version " + std::to_string(version) +
          ", this omni needs " + std::to_string(LatestSchemaVersion()) +
          (version > LatestSchemaVersion() ? "; upgrade omni"
                                           : "; open it read-write once to migrate"));
    }
  } else {
    OMNI_RETURN_IF_ERROR(ApplyMigrations(db, Migrations()));
  }
  OMNI_RETURN_IF_ERROR(store->Prepare());
  if (!options.read_only) {
    // Checkpoints off the writer's thread (wal_checkpointer.h). Without the
    // second connection (a strange file system, no more descriptors) SQLite's
    // own autocheckpoint stays on: slower, equally correct.
    auto checkpointer = internal::WalCheckpointer::Start(db, path.string());
    if (checkpointer.ok()) store->checkpointer_ = std::move(checkpointer).value();
  }
  if (!options.read_only) store->columns_ = std::make_unique<EventColumnsAppender>(data_dir, db);
  return store;
}

SqliteStore::SqliteStore(sqlite3* db, const StoreOptions& options) : db_(db), options_(options) {}

SqliteStore::~SqliteStore() {
  // Snapshot appends still queued are written out first (they do not use the
  // connection). The checkpoint connection goes next, so the writer's close is the last
  // one and folds the WAL back into omni.db as it always did.
  columns_.reset();
  checkpointer_.reset();
  // The statement members are finalised after this body runs; close_v2 defers
  // the actual close until the last of them is gone.
  sqlite3_close_v2(db_);
}

Status SqliteStore::Prepare() {
  // One statement inserting kEventsPerInsert rows: SQLite's per-statement cost
  // (step, halt, reset) is a good part of a narrow insert, so grouping rows
  // lifts the single writer's rate.
  //
  // OR FAIL rather than the default ABORT: with ABORT a statement that writes
  // several rows must be undoable on its own, so SQLite opens a statement
  // journal and copies every page the statement touches into it (the
  // rightmost leaf, 8 KiB, every 16 rows) before changing it. A failure
  // here fails the whole batch, which is rolled back anyway, so the
  // statement-level undo bought nothing.
  std::string insert_group_sql =
      "INSERT OR FAIL INTO events(seq, event_key, event_id, ts_ms, tz_offset_min, channel, type, "
      "identities, item_id, quantity, price, currency, order_id, store_id, campaign_id, "
      "properties, import_id, line_no) VALUES";
  for (int r = 0; r < kEventsPerInsert; ++r) {
    insert_group_sql += r == 0 ? "(" : ",(";
    for (int c = 1; c <= kEventColumns; ++c) {
      insert_group_sql += "?" + std::to_string(r * kEventColumns + c) + (c < kEventColumns ? "," : ")");
    }
  }
  struct {
    Statement* stmt;
    const char* sql;
  } const statements[] = {
      {&insert_event_,
       "INSERT OR FAIL INTO events(seq, event_key, event_id, ts_ms, tz_offset_min, channel, type, "
       "identities, item_id, quantity, price, currency, order_id, store_id, campaign_id, "
       "properties, import_id, line_no) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"},
      {&insert_events_group_, insert_group_sql.c_str()},
      {&event_id_by_seq_, "SELECT event_id FROM events WHERE seq = ?1"},
      {&new_event_keys_, "SELECT seq, event_key FROM events WHERE seq > ?1 ORDER BY seq"},
      {&new_tombstones_,
       "SELECT rowid, identity_type, value FROM tombstones WHERE rowid > ?1 ORDER BY rowid"},
      {&last_block_, "SELECT last_seq FROM event_blocks ORDER BY first_seq DESC LIMIT 1"},
      {&insert_block_,
       "INSERT INTO event_blocks(first_seq, last_seq, min_ts_ms, max_ts_ms) "
       "VALUES(?1, ?2, ?3, ?4)"},
      {&insert_quarantine_,
       "INSERT OR IGNORE INTO quarantine(source, line_no, raw_hash, reason, field, message, raw, "
       "quarantined_at_ms, import_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
      {&upsert_item_,
       "INSERT INTO items(item_id, title, category_path, brand, price, attributes, updated_at_ms) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(item_id) DO UPDATE SET "
       "title = excluded.title, category_path = excluded.category_path, brand = excluded.brand, "
       "price = excluded.price, attributes = excluded.attributes, "
       "updated_at_ms = excluded.updated_at_ms"},
      {&upsert_availability_,
       "INSERT INTO availability(item_id, channel, store_id, sold, stock, updated_at_ms) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(item_id, channel, store_id) DO UPDATE SET "
       "sold = excluded.sold, stock = excluded.stock, updated_at_ms = excluded.updated_at_ms"},
      {&get_item_,
       "SELECT item_id, title, category_path, brand, price, attributes FROM items "
       "WHERE item_id = ?1"},
  };
  for (const auto& s : statements) {
    OMNI_ASSIGN_OR_RETURN(*s.stmt, Statement::Prepare(db_, s.sql, /*persistent=*/true));
  }
  return Status::Ok();
}

int64_t SqliteStore::Hash64(std::string_view text) {
  // Stored in quarantine.raw_hash since schema version 1: it must not change.
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                     nullptr, 0);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | digest[i];  // little-endian on every host
  return static_cast<int64_t>(v);
}

Status SqliteStore::CheckWritable() const {
  if (options_.read_only) return FailedPrecondition("store: opened read-only");
  return Status::Ok();
}

Status SqliteStore::FailPoint(std::string_view point) const {
  if (!options_.fail_point) return Status::Ok();
  return options_.fail_point(point);
}

StatusOr<ingest::BatchResult> SqliteStore::Write(std::string_view source, ingest::Batch& batch) {
  OMNI_RETURN_IF_ERROR(CheckWritable());
  // IMMEDIATE takes the write lock now (waiting up to busy_timeout), so the
  // index refresh below sees every row any other writer will ever commit
  // before ours.
  OMNI_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin batch"));
  Staged staged;
  StatusOr<ingest::BatchResult> result = WriteInTransaction(source, batch, staged);
  Status status = result.status();
  if (status.ok()) status = Exec(db_, "COMMIT", "commit batch");
  if (!status.ok()) {
    // Harmless "no transaction is active" when SQLite already rolled back.
    (void)Exec(db_, "ROLLBACK", "rollback batch");
    for (const auto& [key, index] : staged.new_keys) seq_by_key_.erase(key);
    return status;
  }
  // Committed: the keys are in the index already; the collided ids join theirs.
  for (const auto& [id, seq] : staged.collided) collided_seq_by_id_.emplace(std::string(id), seq);
  last_seen_seq_ = std::max(last_seen_seq_, staged.max_seq);
  if (columns_) columns_->AfterCommit(batch, staged.new_keys, staged.collided, staged.max_seq);
  return result;
}

StatusOr<ingest::BatchResult> SqliteStore::WriteInTransaction(std::string_view source,
                                                              ingest::Batch& batch,
                                                              Staged& staged) {
  // A catalogue-only batch needs neither (and must not pay the index load).
  if (!batch.events.empty()) {
    OMNI_RETURN_IF_ERROR(RefreshEventIndex());
    OMNI_RETURN_IF_ERROR(RefreshTombstones());
  }

  pending_count_ = 0;  // nothing queued survives a failed batch
  group_bound_.ForgetTexts();
  int64_t high_seq = 0;  // the highest seq ever handed out (see migrations.cc)
  {
    ResetOnExit reset(last_block_);
    int rc = sqlite3_step(last_block_.get());
    if (rc == SQLITE_ROW) {
      high_seq = sqlite3_column_int64(last_block_.get(), 0);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db_, rc, "read the last event block");
    }
  }
  const int64_t first_seq = std::max(high_seq, last_seen_seq_) + 1;
  int64_t next_seq = first_seq;

  // Keys first, so the loop below can prefetch the index slots it is about to
  // probe: at millions of events the index is far bigger than the CPU caches
  // and each probe would otherwise wait on memory.
  const std::vector<ingest::Event>& events = batch.events;
  // The import pipeline computes keys and identities text on the parsing
  // thread; other callers (tests, a single HTTP batch) get them here.
  if (!batch.prepared()) batch.PrepareForStore();
  const std::vector<int64_t>& batch_keys = batch.event_keys;

  ingest::BatchResult result;
  if (batch.want_event_outcomes) {
    result.event_outcomes.assign(events.size(), ingest::EventOutcome::kAccepted);
  }
  staged.new_keys.reserve(events.size());
  staged.index_of_seq.reserve(events.size());
  staged.first_seq = first_seq;
  int64_t min_ts = std::numeric_limits<int64_t>::max();
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + kPrefetchDistance < events.size())
      seq_by_key_.prefetch(batch_keys[i + kPrefetchDistance]);
    const ingest::Event& event = events[i];
    if (IsErased(event)) {
      ++result.erased;
      if (batch.want_event_outcomes) result.event_outcomes[i] = ingest::EventOutcome::kErased;
      continue;
    }
    const int64_t key = batch_keys[i];
    OMNI_ASSIGN_OR_RETURN(Seen seen, Classify(key, event.event_id, next_seq, batch, staged));
    if (seen == Seen::kDuplicate) {
      ++result.duplicates;
      if (batch.want_event_outcomes) result.event_outcomes[i] = ingest::EventOutcome::kDuplicate;
      continue;
    }
    const int64_t seq = next_seq++;
    // Recorded before the insert, so a failing insert still takes its key out.
    if (seen == Seen::kNew) {
      staged.new_keys.emplace_back(key, i);
    } else {
      staged.collided.emplace(event.event_id, seq);
    }
    staged.index_of_seq.push_back(static_cast<uint32_t>(i));
    OMNI_RETURN_IF_ERROR(InsertEvent(seq, key, event, batch.IdentitiesJsonOf(i), seq == first_seq));
    staged.max_seq = seq;
    min_ts = std::min(min_ts, event.ts_ms);
    max_ts = std::max(max_ts, event.ts_ms);
    ++result.accepted;
  }
  OMNI_RETURN_IF_ERROR(FlushEvents());
  // Only the batch's first event carries its seq; SQLite numbers the rest
  // max(seq) + 1, which is the same seq (see InsertEvent). Checked, so a
  // mismatch can never store rows under seqs the snapshot does not expect.
  if (result.accepted > 0 && sqlite3_last_insert_rowid(db_) != staged.max_seq) {
    return Internal("store: events were stored up to seq " + std::to_string(sqlite3_last_insert_rowid(db_)) +
                    ", expected " + std::to_string(staged.max_seq));
  }
  OMNI_RETURN_IF_ERROR(FailPoint("after_events"));
  if (result.accepted > 0) {
    sqlite3_stmt* s = insert_block_.get();
    sqlite3_bind_int64(s, 1, first_seq);
    sqlite3_bind_int64(s, 2, staged.max_seq);
    sqlite3_bind_int64(s, 3, min_ts);
    sqlite3_bind_int64(s, 4, max_ts);
    OMNI_RETURN_IF_ERROR(StepDone(db_, s, "record event block"));
  }

  const int64_t now_ms = NowMs();
  for (const ingest::RejectedRecord& record : batch.rejected) {
    OMNI_RETURN_IF_ERROR(InsertRejected(source, record, now_ms));
  }
  for (const ingest::Item& item : batch.items) {
    OMNI_RETURN_IF_ERROR(UpsertItem(item, now_ms));
    ++result.items;
  }
  for (const ingest::Availability& availability : batch.availability) {
    OMNI_RETURN_IF_ERROR(UpsertAvailability(availability, now_ms));
    ++result.availability;
  }
  OMNI_RETURN_IF_ERROR(FailPoint("before_commit"));
  return result;
}

Status SqliteStore::RefreshEventIndex() {
  if (!event_index_loaded_) {
    // Size the map once for what is there (seq ~ row count) plus headroom,
    // instead of rehashing its way up through millions of rows.
    Statement max_seq;
    OMNI_ASSIGN_OR_RETURN(max_seq, Statement::Prepare(db_, "SELECT max(seq) FROM events"));
    if (sqlite3_step(max_seq.get()) == SQLITE_ROW) {
      seq_by_key_.reserve(static_cast<size_t>(sqlite3_column_int64(max_seq.get(), 0)) + 65536);
    }
  }
  sqlite3_stmt* stmt = new_event_keys_.get();
  ResetOnExit reset(new_event_keys_);
  sqlite3_bind_int64(stmt, 1, last_seen_seq_);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const int64_t seq = sqlite3_column_int64(stmt, 0);
    const int64_t key = sqlite3_column_int64(stmt, 1);
    auto [it, inserted] = seq_by_key_.try_emplace(key, seq);
    if (!inserted && it->second != seq) {
      // The other writer stored a second id with this key: remember it by id.
      ResetOnExit reset_lookup(event_id_by_seq_);
      sqlite3_bind_int64(event_id_by_seq_.get(), 1, seq);
      int lookup_rc = sqlite3_step(event_id_by_seq_.get());
      if (lookup_rc != SQLITE_ROW)
        return SqliteError(db_, lookup_rc, "read event_id of a colliding key");
      collided_seq_by_id_.emplace(ColumnString(event_id_by_seq_.get(), 0), seq);
    }
    last_seen_seq_ = seq;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "load event index");
  event_index_loaded_ = true;
  return Status::Ok();
}

Status SqliteStore::RefreshTombstones() {
  sqlite3_stmt* stmt = new_tombstones_.get();
  ResetOnExit reset(new_tombstones_);
  sqlite3_bind_int64(stmt, 1, last_tombstone_rowid_);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    last_tombstone_rowid_ = sqlite3_column_int64(stmt, 0);
    // A type this build does not know cannot occur in its events.
    if (auto type = ingest::ParseIdentityType(ColumnView(stmt, 1))) {
      tombstones_[static_cast<size_t>(*type)].insert(ColumnString(stmt, 2));
      has_tombstones_ = true;
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "load tombstones");
  return Status::Ok();
}

bool SqliteStore::IsErased(const ingest::Event& event) const {
  if (!has_tombstones_) return false;
  for (const ingest::Identity& identity : event.identities) {
    if (tombstones_[static_cast<size_t>(identity.type)].contains(identity.value)) return true;
  }
  return false;
}

StatusOr<SqliteStore::Seen> SqliteStore::Classify(int64_t key, const std::string& event_id, int64_t next_seq,
                                                  const ingest::Batch& batch, const Staged& staged) {
  // The usual case, an unseen key, is decided and recorded by this one probe
  // (the caller takes the key out again if the batch fails).
  auto [it, inserted] = seq_by_key_.try_emplace(key, next_seq);
  if (inserted) return Seen::kNew;
  const int64_t seq = it->second;
  if (seq >= staged.first_seq) {
    // This batch's: its event is in memory.
    const size_t index = staged.index_of_seq[static_cast<size_t>(seq - staged.first_seq)];
    if (batch.events[index].event_id == event_id) return Seen::kDuplicate;
  } else {
    OMNI_ASSIGN_OR_RETURN(bool same, StoredEventIdEquals(seq, event_id));
    if (same) return Seen::kDuplicate;
  }
  // The key belongs to another id: a genuine 64-bit collision (or a row
  // erased since). The id may still be one stored, or met in this batch,
  // under its own name.
  if (!collided_seq_by_id_.empty() && collided_seq_by_id_.contains(event_id)) return Seen::kDuplicate;
  if (!staged.collided.empty() && staged.collided.contains(std::string_view(event_id))) return Seen::kDuplicate;
  return Seen::kNewCollided;
}

StatusOr<bool> SqliteStore::StoredEventIdEquals(int64_t seq, std::string_view event_id) {
  sqlite3_stmt* stmt = event_id_by_seq_.get();
  ResetOnExit reset(event_id_by_seq_);
  sqlite3_bind_int64(stmt, 1, seq);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return false;  // row deleted since (erasure): not a duplicate
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read stored event_id");
  return ColumnView(stmt, 0) == event_id;
}

void SqliteStore::BindEvent(sqlite3_stmt* s, int base, const PendingEvent& p, GroupBindings* bound) {
  const ingest::Event& e = *p.event;
  // With `bound` (the group statement), a parameter that already holds the
  // value is skipped; text compares by content, the views pointing into
  // earlier events of this batch (SQLITE_STATIC bindings, alive until
  // Write() returns). Without it every parameter is bound.
  auto slot = [&](int i) -> BoundValue* { return bound != nullptr ? &bound->value[static_cast<size_t>(i)] : nullptr; };
  auto null_at = [&](int i) {
    BoundValue* v = slot(i);
    if (v != nullptr) {
      if (v->kind == BoundValue::kNull) return;
      v->kind = BoundValue::kNull;
    }
    sqlite3_bind_null(s, i);
  };
  auto int_at = [&](int i, int64_t x, bool repeats) {
    BoundValue* v = slot(i);
    if (v != nullptr) {
      if (repeats && v->kind == BoundValue::kInt && v->bits == x) return;
      v->kind = BoundValue::kInt;
      v->bits = x;
    }
    sqlite3_bind_int64(s, i, x);
  };
  auto double_or_null = [&](int i, const std::optional<double>& x) {
    if (!x) return null_at(i);
    BoundValue* v = slot(i);
    int64_t bits;
    std::memcpy(&bits, &*x, sizeof bits);
    if (v != nullptr) {
      if (v->kind == BoundValue::kDouble && v->bits == bits) return;
      v->kind = BoundValue::kDouble;
      v->bits = bits;
    }
    sqlite3_bind_double(s, i, *x);
  };
  // `repeats`: worth comparing (the same slot 16 events earlier often held
  // the same text); otherwise bound straight away.
  auto text_at = [&](int i, std::string_view text, bool repeats) {
    BoundValue* v = slot(i);
    if (v != nullptr) {
      if (repeats && v->kind == BoundValue::kText && SameText(v->text, text)) return;
      v->kind = BoundValue::kText;
      v->text = text;
    }
    BindText(s, i, text);
  };
  auto text_or_null = [&](int i, std::string_view text, bool repeats) {
    if (text.empty()) return null_at(i);
    text_at(i, text, repeats);
  };
  if (p.explicit_seq) {
    int_at(base + 1, p.seq, false);
  } else {
    null_at(base + 1);
  }
  int_at(base + 2, p.key, false);
  text_at(base + 3, e.event_id, false);
  int_at(base + 4, e.ts_ms, true);
  int_at(base + 5, e.tz_offset_min, true);
  text_or_null(base + 6, e.channel, true);
  text_or_null(base + 7, e.type, true);
  text_at(base + 8, p.identities_json, true);
  text_or_null(base + 9, e.item_id, false);
  double_or_null(base + 10, e.quantity);
  double_or_null(base + 11, e.price);
  text_or_null(base + 12, e.currency, true);
  text_or_null(base + 13, e.order_id, true);
  text_or_null(base + 14, e.store_id, true);
  text_or_null(base + 15, e.campaign_id, true);
  text_or_null(base + 16, e.properties_json, true);
  if (current_import_id_ > 0) {
    int_at(base + 17, current_import_id_, true);
  } else {
    null_at(base + 17);
  }
  int_at(base + 18, e.line_no, false);
}

Status SqliteStore::InsertEvent(int64_t seq, int64_t key, const ingest::Event& e,
                                std::string_view identities_json, bool explicit_seq) {
  pending_[pending_count_++] = PendingEvent{&e, seq, key, identities_json, explicit_seq};
  if (pending_count_ < kEventsPerInsert) return Status::Ok();
  sqlite3_stmt* s = insert_events_group_.get();
  for (int r = 0; r < kEventsPerInsert; ++r) BindEvent(s, r * kEventColumns, pending_[r], &group_bound_);
  pending_count_ = 0;
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return Status::Ok();
  return SqliteError(db_, rc,
                     "insert events from \"" + pending_[0].event->event_id + "\" (line " +
                         std::to_string(pending_[0].event->line_no) + ")");
}

Status SqliteStore::FlushEvents() {
  sqlite3_stmt* s = insert_event_.get();
  const int n = pending_count_;
  pending_count_ = 0;
  for (int r = 0; r < n; ++r) {
    BindEvent(s, 0, pending_[r], nullptr);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      return SqliteError(db_, rc,
                         "insert event \"" + pending_[r].event->event_id + "\" (line " +
                             std::to_string(pending_[r].event->line_no) + ")");
    }
  }
  return Status::Ok();
}

Status SqliteStore::InsertRejected(std::string_view source, const ingest::RejectedRecord& r,
                                   int64_t now_ms) {
  sqlite3_stmt* s = insert_quarantine_.get();
  BindText(s, 1, source);
  sqlite3_bind_int64(s, 2, r.line_no);
  sqlite3_bind_int64(s, 3, Hash64(r.raw));
  BindText(s, 4, ingest::RejectReasonName(r.reason));
  BindTextOrNull(s, 5, r.field);
  BindTextOrNull(s, 6, r.message);
  BindText(s, 7, r.raw);
  sqlite3_bind_int64(s, 8, now_ms);
  BindInt64OrNull(
      s, 9, current_import_id_ > 0 ? std::optional<int64_t>(current_import_id_) : std::nullopt);
  return StepDone(db_, s, "quarantine line " + std::to_string(r.line_no));
}

Status SqliteStore::UpsertItem(const ingest::Item& item, int64_t now_ms) {
  // The sources validate ids; an empty one here is a bug upstream, and storing
  // it would make an item nobody can address.
  if (item.item_id.empty()) return InvalidArgument("store: item with an empty item_id");
  sqlite3_stmt* s = upsert_item_.get();
  BindText(s, 1, item.item_id);
  BindTextOrNull(s, 2, item.title);
  BindTextOrNull(s, 3, item.category_path);
  BindTextOrNull(s, 4, item.brand);
  BindDoubleOrNull(s, 5, item.price);
  BindTextOrNull(s, 6, item.attributes_json);
  sqlite3_bind_int64(s, 7, now_ms);
  return StepDone(db_, s, "upsert item \"" + item.item_id + "\"");
}

Status SqliteStore::UpsertAvailability(const ingest::Availability& a, int64_t now_ms) {
  if (a.item_id.empty()) return InvalidArgument("store: availability row with an empty item_id");
  sqlite3_stmt* s = upsert_availability_.get();
  // "" (every channel / store) is part of the key, so it is stored as '', not NULL.
  BindText(s, 1, a.item_id);
  BindText(s, 2, a.channel);
  BindText(s, 3, a.store_id);
  sqlite3_bind_int(s, 4, a.sold ? 1 : 0);
  BindInt64OrNull(s, 5, a.stock);
  sqlite3_bind_int64(s, 6, now_ms);
  return StepDone(db_, s, "upsert availability of \"" + a.item_id + "\"");
}

StatusOr<int64_t> SqliteStore::BeginImport(std::string_view source, std::string_view format) {
  OMNI_RETURN_IF_ERROR(CheckWritable());
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "INSERT INTO imports(source, format, started_at_ms, status) "
                         "VALUES(?1, ?2, ?3, 'running')"));
  BindText(stmt.get(), 1, source);
  BindTextOrNull(stmt.get(), 2, format);
  sqlite3_bind_int64(stmt.get(), 3, NowMs());
  OMNI_RETURN_IF_ERROR(StepDone(db_, stmt.get(), "record import start"));
  current_import_id_ = sqlite3_last_insert_rowid(db_);
  return current_import_id_;
}

Status SqliteStore::FinishImport(int64_t import_id, const ImportRun& counts) {
  OMNI_RETURN_IF_ERROR(CheckWritable());
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "UPDATE imports SET finished_at_ms = ?1, accepted = ?2, "
                         "duplicates = ?3, rejected = ?4, status = ?5 WHERE id = ?6"));
  sqlite3_bind_int64(stmt.get(), 1, counts.finished_at_ms != 0 ? counts.finished_at_ms : NowMs());
  sqlite3_bind_int64(stmt.get(), 2, counts.accepted);
  sqlite3_bind_int64(stmt.get(), 3, counts.duplicates);
  sqlite3_bind_int64(stmt.get(), 4, counts.rejected);
  BindText(stmt.get(), 5, counts.status.empty() ? std::string_view("done") : counts.status);
  sqlite3_bind_int64(stmt.get(), 6, import_id);
  OMNI_RETURN_IF_ERROR(StepDone(db_, stmt.get(), "record import finish"));
  if (current_import_id_ == import_id) current_import_id_ = 0;
  if (sqlite3_changes(db_) == 0) {
    return NotFound("store: no import with id " + std::to_string(import_id));
  }
  return Status::Ok();
}

StatusOr<std::vector<ImportRun>> SqliteStore::ListImports(int64_t limit) {
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "SELECT id, source, format, started_at_ms, finished_at_ms, accepted, "
                         "duplicates, rejected, status FROM imports ORDER BY id DESC LIMIT ?1"));
  sqlite3_bind_int64(stmt.get(), 1, limit);
  std::vector<ImportRun> runs;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = stmt.get();
    ImportRun& run = runs.emplace_back();
    run.id = sqlite3_column_int64(s, 0);
    run.source = ColumnString(s, 1);
    run.format = ColumnString(s, 2);
    run.started_at_ms = sqlite3_column_int64(s, 3);
    run.finished_at_ms = sqlite3_column_int64(s, 4);  // NULL reads as 0
    run.accepted = sqlite3_column_int64(s, 5);
    run.duplicates = sqlite3_column_int64(s, 6);
    run.rejected = sqlite3_column_int64(s, 7);
    run.status = ColumnString(s, 8);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "list imports");
  return runs;
}

StatusOr<std::vector<QuarantineEntry>> SqliteStore::ListQuarantine(int64_t limit, int64_t offset,
                                                                   std::string_view reason) {
  // Two statements rather than "?1 = '' OR reason = ?1", which would keep the
  // planner off the (reason, id) index.
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_, reason.empty()
                                  ? "SELECT id, source, line_no, reason, field, message, raw, "
                                    "quarantined_at_ms FROM quarantine "
                                    "ORDER BY id DESC LIMIT ?1 OFFSET ?2"
                                  : "SELECT id, source, line_no, reason, field, message, raw, "
                                    "quarantined_at_ms FROM quarantine WHERE reason = ?3 "
                                    "ORDER BY id DESC LIMIT ?1 OFFSET ?2"));
  sqlite3_bind_int64(stmt.get(), 1, limit);
  sqlite3_bind_int64(stmt.get(), 2, offset);
  if (!reason.empty()) BindText(stmt.get(), 3, reason);
  std::vector<QuarantineEntry> entries;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = stmt.get();
    QuarantineEntry& q = entries.emplace_back();
    q.id = sqlite3_column_int64(s, 0);
    q.source = ColumnString(s, 1);
    q.line_no = sqlite3_column_int64(s, 2);
    q.reason = ColumnString(s, 3);
    q.field = ColumnString(s, 4);
    q.message = ColumnString(s, 5);
    q.raw = ColumnString(s, 6);
    q.quarantined_at_ms = sqlite3_column_int64(s, 7);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "list quarantine");
  return entries;
}

StatusOr<std::vector<std::pair<std::string, int64_t>>> SqliteStore::QuarantineCounts() {
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(
          db_, "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason"));
  std::vector<std::pair<std::string, int64_t>> counts;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    counts.emplace_back(ColumnString(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "count quarantine");
  return counts;
}

StatusOr<StoreStats> SqliteStore::Stats() {
  // One statement = one read snapshot, so the numbers agree with each other.
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(
          db_,
          "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine), "
          "(SELECT count(*) FROM items), (SELECT count(*) FROM availability), "
          "(SELECT count(*) FROM imports), (SELECT max(version) FROM schema_version), "
          "(SELECT min(min_ts_ms) FROM event_blocks), "
          "(SELECT max(max_ts_ms) FROM event_blocks)"));
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read stats");
  sqlite3_stmt* s = stmt.get();
  StoreStats stats;
  stats.events = sqlite3_column_int64(s, 0);
  stats.quarantined = sqlite3_column_int64(s, 1);
  stats.items = sqlite3_column_int64(s, 2);
  stats.availability = sqlite3_column_int64(s, 3);
  stats.imports = sqlite3_column_int64(s, 4);
  stats.schema_version = sqlite3_column_int(s, 5);
  // From the block summary, not a scan: exact unless events were deleted,
  // then still bounds. NULL (no blocks) reads as 0.
  if (stats.events > 0) {
    stats.min_ts_ms = sqlite3_column_int64(s, 6);
    stats.max_ts_ms = sqlite3_column_int64(s, 7);
  }
  return stats;
}

StatusOr<std::pair<int64_t, int64_t>> SqliteStore::EventTimeBounds() {
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_, "SELECT min(min_ts_ms), max(max_ts_ms) FROM event_blocks"));
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read event time bounds");
  // NULL (no blocks) reads as 0.
  return std::pair<int64_t, int64_t>(sqlite3_column_int64(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1));
}

Status SqliteStore::ScanEvents(int64_t after_seq,
                               const std::function<bool(int64_t seq, const ingest::Event&)>& fn) {
  // A statement of its own (not a cached one), so fn may call back into the
  // store's point lookups.
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "SELECT seq, event_id, ts_ms, tz_offset_min, channel, type, identities, "
                         "item_id, quantity, price, currency, order_id, store_id, campaign_id, "
                         "properties, line_no FROM events WHERE seq > ?1 ORDER BY seq"));
  sqlite3_bind_int64(stmt.get(), 1, after_seq);
  simdjson::ondemand::parser parser;
  std::string scratch;
  ingest::Event e;  // reused: its strings keep their capacity across rows
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = stmt.get();
    const int64_t seq = sqlite3_column_int64(s, 0);
    e.event_id.assign(ColumnView(s, 1));
    e.ts_ms = sqlite3_column_int64(s, 2);
    e.tz_offset_min = sqlite3_column_int(s, 3);
    e.channel.assign(ColumnView(s, 4));
    e.type.assign(ColumnView(s, 5));
    OMNI_RETURN_IF_ERROR(ParseIdentitiesJson(parser, scratch, ColumnView(s, 6), seq, e.identities));
    e.item_id.assign(ColumnView(s, 7));
    e.quantity = ColumnOptionalDouble(s, 8);
    e.price = ColumnOptionalDouble(s, 9);
    e.currency.assign(ColumnView(s, 10));
    e.order_id.assign(ColumnView(s, 11));
    e.store_id.assign(ColumnView(s, 12));
    e.campaign_id.assign(ColumnView(s, 13));
    e.properties_json.assign(ColumnView(s, 14));
    e.line_no = sqlite3_column_int64(s, 15);
    if (!fn(seq, e)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "scan events");
  return Status::Ok();
}

namespace {

void ReadItem(sqlite3_stmt* s, ingest::Item& item) {
  item.item_id = ColumnString(s, 0);
  item.title = ColumnString(s, 1);
  item.category_path = ColumnString(s, 2);
  item.brand = ColumnString(s, 3);
  item.price = ColumnOptionalDouble(s, 4);
  item.attributes_json = ColumnString(s, 5);
}

}  // namespace

StatusOr<std::optional<ingest::Item>> SqliteStore::GetItem(std::string_view item_id) {
  sqlite3_stmt* s = get_item_.get();
  ResetOnExit reset(get_item_);
  BindText(s, 1, item_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<ingest::Item>();
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "get item \"" + std::string(item_id) + "\"");
  ingest::Item item;
  ReadItem(s, item);
  return std::optional<ingest::Item>(std::move(item));
}

Status SqliteStore::ScanItems(const std::function<bool(const ingest::Item&)>& fn) {
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "SELECT item_id, title, category_path, brand, price, attributes "
                         "FROM items ORDER BY item_id"));
  ingest::Item item;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    ReadItem(stmt.get(), item);
    if (!fn(item)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "scan items");
  return Status::Ok();
}

Status SqliteStore::ScanAvailability(const std::function<bool(const ingest::Availability&)>& fn) {
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "SELECT item_id, channel, store_id, sold, stock FROM availability "
                         "ORDER BY item_id, channel, store_id"));
  ingest::Availability a;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = stmt.get();
    a.item_id = ColumnString(s, 0);
    a.channel = ColumnString(s, 1);
    a.store_id = ColumnString(s, 2);
    a.sold = sqlite3_column_int(s, 3) != 0;
    a.stock = ColumnOptionalInt64(s, 4);
    if (!fn(a)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "scan availability");
  return Status::Ok();
}

void SqliteStore::FinishSnapshotAppends() {
  if (columns_) columns_->Drain();
}

Status SqliteStore::AddTombstones(const std::vector<ingest::Identity>& identities) {
  OMNI_RETURN_IF_ERROR(CheckWritable());
  OMNI_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_,
                         "INSERT OR IGNORE INTO tombstones(identity_type, value) VALUES(?1, ?2)"));
  OMNI_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin tombstones"));
  Status status;
  for (const ingest::Identity& identity : identities) {
    BindText(stmt.get(), 1, ingest::IdentityTypeName(identity.type));
    BindText(stmt.get(), 2, identity.value);
    status = StepDone(db_, stmt.get(), "add tombstone");
    if (!status.ok()) break;
  }
  if (status.ok()) status = Exec(db_, "COMMIT", "commit tombstones");
  if (!status.ok()) {
    (void)Exec(db_, "ROLLBACK", "rollback tombstones");
    return status;
  }
  // The in-memory set picks them up by rowid at the next Write(), as it does
  // for other processes' tombstones.
  return Status::Ok();
}

}  // namespace omni::store
