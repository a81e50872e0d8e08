// A columnar snapshot of the events table for the analytical readers (profile
// and feature builds): DATA_DIR/columns/events.col holds, per event, only what
// they read — seq, time and UTC offset, event type and channel (small
// dictionaries), item (a dictionary), quantity, price, order id (per block),
// the identities as CSR into a dictionary of (type, stored value), and the
// properties of consent events — in blocks of plain arrays a reader maps into
// memory and walks without parsing. Reading 10 million events this way takes
// well under a second where SQLite row decoding (identities JSON, strings)
// took ~20 s.
//
// It is a cache: the events table stays the truth, and the snapshot always
// equals it when a reader gets it:
//  - SqliteStore::Write appends each committed batch's accepted events
//    (EventColumnsAppender: after COMMIT it takes the batch's columns, which
//    the import's parsing thread wrote as arrays (ingest::BatchColumns), and
//    a thread of its own maps their strings to the file's dictionaries and
//    appends, in order; closing the store drains it.
//    It never fails a Write and blocks one only when 4 batches wait: when
//    it cannot append — the file is locked by a reader, another writer's batch
//    is missing in between, an I/O error — it leaves the gap to the readers);
//  - EventColumns::Open catches up from SQLite (Store::ScanEvents after the
//    snapshot's last seq) whatever is missing — a kill -9 between commit and
//    append, another process's writes, an old data directory without a
//    snapshot — and persists what it caught up;
//  - a torn tail (kill -9 or a crash mid-append) is detected (every block
//    header carries a CRC of itself, the last blocks' payloads are CRC-checked
//    at open) and cut; its events are read again from SQLite;
//  - erasure (identity/erasure.cc) deletes events: it bumps the generation in
//    the store's `event_columns_state` table in the same transaction and then
//    removes the file. A snapshot of another generation is never used (it is
//    rebuilt from SQLite), so a forgotten customer's events cannot come back
//    from it even after a crash between the two steps.
// Concurrency: every change to the file happens under an exclusive flock();
// files are only ever appended to, cut after their last valid block, or
// replaced by rename(), so a reader that validated a block can use its
// mapping for as long as it likes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "omni/common/status.h"
#include "omni/ingest/event.h"
#include "omni/store/sql.h"
#include "omni/store/store.h"

namespace omni::store {

// One block of consecutive events (in seq order), as views. Dictionary ids
// (channel, type, item, identities) index EventColumns' dictionaries.
struct EventColumnBlock {
  int64_t rows = 0;
  const int64_t* seq = nullptr;
  const int64_t* ts_ms = nullptr;
  const double* quantity = nullptr;  // NaN = absent (ingest rejects non-finite numbers)
  const double* price = nullptr;     // NaN = absent
  const int32_t* item = nullptr;     // -1 = no item
  const int32_t* order = nullptr;    // -1 = no order id; else index into `orders`
  const uint32_t* identity_end = nullptr;  // CSR ends into `identities`
  const int32_t* identities = nullptr;
  const int16_t* tz_offset_min = nullptr;
  const uint8_t* channel = nullptr;
  const uint8_t* type = nullptr;
  std::vector<std::string_view> orders;  // this block's order ids
  // (row, properties JSON) of consent events, by row.
  std::vector<std::pair<uint32_t, std::string_view>> properties;

  std::span<const int32_t> IdentitiesOf(int64_t row) const {
    const uint32_t begin = row == 0 ? 0 : identity_end[row - 1];
    return {identities + begin, identity_end[row] - begin};
  }
  std::string_view OrderId(int64_t row) const {
    return order[row] < 0 ? std::string_view() : orders[static_cast<size_t>(order[row])];
  }
  std::string_view Properties(int64_t row) const;
};

struct EventColumnsOpenStats {
  int64_t rows_from_file = 0;
  int64_t rows_caught_up = 0;  // read from SQLite at this open
  bool rebuilt = false;        // the file was missing, of another generation, or unreadable
  bool torn_tail_cut = false;
  bool persisted = false;      // caught-up rows were written to the file
  double seconds = 0;
};

class EventColumns {
 public:
  // Opens DATA_DIR/columns/events.col (creating it when missing), catches up
  // from `store` and, when `persist`, writes what it caught up. `store` must
  // be the store of DATA_DIR.
  static StatusOr<std::unique_ptr<EventColumns>> Open(const std::string& data_dir, Store& store,
                                                      bool persist = true);
  ~EventColumns();
  EventColumns(const EventColumns&) = delete;
  EventColumns& operator=(const EventColumns&) = delete;

  int64_t rows() const { return rows_; }
  int64_t last_seq() const { return last_seq_; }
  const std::vector<EventColumnBlock>& blocks() const { return blocks_; }
  const std::vector<std::string_view>& channels() const { return channels_; }
  const std::vector<std::string_view>& types() const { return types_; }
  const std::vector<std::string_view>& items() const { return items_; }
  int32_t identity_count() const { return static_cast<int32_t>(identity_values_.size()); }
  ingest::IdentityType identity_type(int32_t id) const { return identity_types_[static_cast<size_t>(id)]; }
  std::string_view identity_value(int32_t id) const { return identity_values_[static_cast<size_t>(id)]; }
  const EventColumnsOpenStats& open_stats() const { return stats_; }

  // The event as ScanEvents gives it, with the fields the snapshot keeps
  // (event_id, currency, store_id, campaign_id and line_no are empty / 0;
  // properties only on consent events). For tests and exports.
  void ToEvent(const EventColumnBlock& block, int64_t row, ingest::Event& out) const;

 private:
  friend class EventColumnsFile;
  EventColumns() = default;

  int64_t rows_ = 0;
  int64_t last_seq_ = 0;
  std::vector<EventColumnBlock> blocks_;
  std::vector<std::string_view> channels_, types_, items_;
  std::vector<ingest::IdentityType> identity_types_;
  std::vector<std::string_view> identity_values_;
  // What the views point into.
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  std::vector<std::unique_ptr<uint64_t[]>> owned_;
  EventColumnsOpenStats stats_;
};

// SqliteStore::Write's hook: appends a committed batch's accepted events.
class EventColumnsAppender {
 public:
  // `db` is the store's connection (for the generation); it must outlive this.
  EventColumnsAppender(std::string data_dir, sqlite3* db);
  ~EventColumnsAppender();

  // After COMMIT: the accepted events of `batch` are the events at
  // `accepted_index` (any order), holding seqs last_seq - n + 1 .. last_seq in
  // index order. Takes the batch's columns (Batch::PrepareForStore; made here
  // when missing) and leaves the rest of it alone. Never fails the caller:
  // problems are logged and leave the gap for EventColumns::Open.
  // Returns once every batch handed over so far is appended or skipped.
  void Drain();

  template <typename IndexMap, typename CollidedMap>
  void AfterCommit(ingest::Batch& batch, const IndexMap& first_by_key, const CollidedMap& collided,
                   int64_t last_seq) {
    if (first_by_key.empty() && collided.empty()) return;
    // Index order without sorting: flag, then collect.
    std::vector<uint8_t> flag(batch.events.size(), 0);
    for (const auto& [key, index] : first_by_key) flag[index] = 1;
    for (const auto& [id, seq] : collided) flag[IndexOfId(batch, id)] = 1;
    std::vector<uint32_t> accepted;
    accepted.reserve(first_by_key.size() + collided.size());
    for (size_t i = 0; i < flag.size(); ++i) {
      if (flag[i]) accepted.push_back(static_cast<uint32_t>(i));
    }
    Append(batch, std::move(accepted), last_seq);
  }

 private:
  static uint32_t IndexOfId(const ingest::Batch& batch, std::string_view event_id);
  // `accepted` in index order.
  void Append(ingest::Batch& batch, std::vector<uint32_t> accepted, int64_t last_seq);

  struct State;
  std::unique_ptr<State> s_;
};

// Erasure, inside the transaction that deletes events: bumps the generation
// so no snapshot taken before is used again.
Status BumpEventColumnsGeneration(Sql& sql);
// Erasure, after that commit: removes the snapshot file of the database
// `sql` is connected to (under the lock, so no reader is mid-open).
Status DiscardEventColumns(Sql& sql);

}  // namespace omni::store
