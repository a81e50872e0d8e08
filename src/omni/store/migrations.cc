// Schema of omni.db, version 2 (migration 2 changed what event_key holds).
//
// events        append-only, one row per accepted event.
//   seq           arrival order (the rowid). The writer hands out seqs after
//                 the last event_blocks range, so a seq is never reused even if
//                 the newest rows are deleted later (erasure): later stages
//                 read "seq > the last one I saw" and must not miss a row.
//   event_key     ingest::EventKey(event_id): SipHash-2-4 under a fixed key
//                 as int64 (version 1 stored the first 8 bytes of BLAKE2b;
//                 version 2 rewrote them), the dedupe key the writer keeps
//                 in memory. Deliberately NOT
//                 indexed, nor is event_id: a unique index on a random key
//                 costs ~3.5x the insert rate (REFERENCES.md, SQLite table);
//                 see sqlite_store.cc, "Dedupe".
//   identities    compact JSON object, {"phone":"<hash>","member_card":"M0042"}.
//   text columns  NULL when the event's field is empty; quantity and price
//                 NULL when absent.
//   import_id     imports.id of the run that stored it, NULL outside one.
//   No index at all besides the rowid: see event_blocks.
// event_blocks  one row per committed batch: its seq range and the min/max
//               ts_ms of its events. A block-range summary (like PostgreSQL's
//               BRIN) instead of a per-row index on ts_ms: events arrive
//               mostly in time order, so a time range maps to few seq ranges,
//               at one insert per batch. A per-row ts_ms index, even appended
//               near its right edge, measured ~25-35% off the insert rate of
//               this table on this machine. Rows are never deleted, so the
//               last block also remembers the highest seq ever handed out,
//               and after an erasure min/max remain valid bounds.
// quarantine    rejected records, once per (source, line_no, raw_hash);
//               raw_hash is the 8-byte BLAKE2b of the raw text, so re-importing
//               a file does not duplicate rows (INSERT OR IGNORE). Small, so
//               its unique index does not matter for speed.
// items         catalogue, upserted whole by item_id.
// availability  (item_id, channel, store_id) -> sold, stock; "" means every
//               channel / every store, as in ingest::Availability.
// imports       one row per import run, with its counts and status.
// tombstones    forgotten identifiers (type name, stored value); events that
//               carry one are dropped by the writer.
//
// No foreign keys: import_id is informational, and FK checks would cost on
// the hot path for nothing the writer does not already guarantee.
#include "omni/store/migrations.h"

#include <string>

#include "omni/ingest/event.h"
#include "omni/store/sqlite_util.h"

namespace omni::store {
namespace {

using internal::Exec;
using internal::SqliteError;
using internal::Statement;

constexpr Migration kMigrations[] = {
    {1,
     "initial schema: events, event_blocks, quarantine, items, availability, imports, tombstones",
     R"sql(
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  event_key INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  tz_offset_min INTEGER,
  channel TEXT,
  type TEXT,
  identities TEXT,
  item_id TEXT,
  quantity REAL,
  price REAL,
  currency TEXT,
  order_id TEXT,
  store_id TEXT,
  campaign_id TEXT,
  properties TEXT,
  import_id INTEGER,
  line_no INTEGER
);

CREATE TABLE event_blocks(
  first_seq INTEGER PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  min_ts_ms INTEGER NOT NULL,
  max_ts_ms INTEGER NOT NULL
);

CREATE TABLE quarantine(
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  raw_hash INTEGER NOT NULL,
  reason TEXT NOT NULL,
  field TEXT,
  message TEXT,
  raw TEXT,
  quarantined_at_ms INTEGER NOT NULL,
  import_id INTEGER,
  UNIQUE(source, line_no, raw_hash)
);
CREATE INDEX quarantine_reason ON quarantine(reason, id);

CREATE TABLE items(
  item_id TEXT PRIMARY KEY,
  title TEXT,
  category_path TEXT,
  brand TEXT,
  price REAL,
  attributes TEXT,
  updated_at_ms INTEGER NOT NULL
);

CREATE TABLE availability(
  item_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  store_id TEXT NOT NULL,
  sold INTEGER NOT NULL,
  stock INTEGER,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY(item_id, channel, store_id)
);

CREATE TABLE imports(
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  format TEXT,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER,
  accepted INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL
);

CREATE TABLE tombstones(
  identity_type TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(identity_type, value)
);
)sql"},
    // The parsing thread computed BLAKE2b twice per derived event id (the id's
    // record hash, then the key of the id); the key is now the five times
    // cheaper SipHash. omni_event_key() is ingest::EventKey, registered on
    // the connection by ApplyMigrations. One pass over the table, once.
    {2, "event_key becomes SipHash-2-4 of event_id",
     "UPDATE events SET event_key = omni_event_key(event_id);"},
};

void EventKeyFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int bytes = sqlite3_value_bytes(argv[0]);
  sqlite3_result_int64(ctx, ingest::EventKey(std::string_view(text == nullptr ? "" : text,
                                                              static_cast<size_t>(bytes))));
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

// Version 2 only rewrote event_key, which only the writer reads. Raise this
// with any step that changes what readers see.
int OldestReadableSchemaVersion() { return 1; }

StatusOr<int> ReadSchemaVersion(sqlite3* db) {
  OMNI_ASSIGN_OR_RETURN(
      Statement exists,
      Statement::Prepare(
          db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"));
  int rc = sqlite3_step(exists.get());
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read schema_version");
  OMNI_ASSIGN_OR_RETURN(Statement select,
                        Statement::Prepare(db, "SELECT max(version) FROM schema_version"));
  rc = sqlite3_step(select.get());
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read schema_version");
  return static_cast<int>(sqlite3_column_int64(select.get(), 0));
}

Status ApplyMigrations(sqlite3* db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    OMNI_CHECK(migrations[i].version == static_cast<int>(i) + 1);  // ordered, no gaps
  }
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  auto too_new = [&](int version) {
    return FailedPrecondition("store: omni.db has schema version " + std::to_string(version) +
                              ", newer than this build of omni understands (" +
                              std::to_string(latest) + "); upgrade omni");
  };

  // The common case, an up-to-date file, must not take the write lock: another
  // process may be in the middle of a long import.
  OMNI_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db));
  if (version == latest) return Status::Ok();
  if (version > latest) return too_new(version);

  // What the shipped steps call besides SQL (harmless for test lists).
  int rc = sqlite3_create_function_v2(db, "omni_event_key", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, nullptr,
                                      EventKeyFunction, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "register omni_event_key");

  for (const Migration& m : migrations) {
    OMNI_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin migration"));
    // The version table itself is created by the first step's transaction.
    Status status = Exec(db,
                         "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
                         "INSERT INTO schema_version(version) SELECT 0"
                         "  WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
                         "create schema_version");
    // Re-read under the lock: another process may have migrated meanwhile.
    StatusOr<int> current = status.ok() ? ReadSchemaVersion(db) : StatusOr<int>(status);
    if (status.ok()) status = current.status();
    if (status.ok() && *current > latest) status = too_new(*current);
    if (status.ok() && *current < m.version) {
      std::string sql(m.sql);
      sql += "\nUPDATE schema_version SET version = " + std::to_string(m.version) + ";";
      status = Exec(db, sql.c_str(),
                    "migrate to schema version " + std::to_string(m.version) + " (" +
                        std::string(m.description) + ")");
    }
    if (!status.ok()) {
      (void)Exec(db, "ROLLBACK", "rollback migration");  // the first error is the one to report
      return status;
    }
    OMNI_RETURN_IF_ERROR(Exec(db, "COMMIT", "commit migration"));
  }
  return Status::Ok();
}

}  // namespace omni::store
