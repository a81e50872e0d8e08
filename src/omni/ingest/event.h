// The canonical event (DESIGN.md, "The canonical event") after parsing,
// validation, normalisation and pseudonymisation, plus the batch that carries
// events, rejected records and catalogue rows from a source to a sink.
//
// Everything in an Event is safe to store: identities of the types that
// IngestConfig::hashed_identity_types names (phone and e-mail by default) hold
// the keyed hash (32 lower-case hex chars), never the raw value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"

namespace omni::ingest {

// Strong identifiers first: identity resolution ranks them in this order.
enum class IdentityType : uint8_t {
  kCustomerId = 0,
  kMemberCard,
  kPhone,
  kEmail,
  kSocialId,
  kDeviceId,
  kCookieId,
};
inline constexpr int kIdentityTypeCount = 7;

// "customer_id", "member_card", "phone", "email", "social_id", "device_id", "cookie_id".
std::string_view IdentityTypeName(IdentityType type);
std::optional<IdentityType> ParseIdentityType(std::string_view name);

struct Identity {
  IdentityType type;
  std::string value;  // normalised; the keyed-hash hex for hashed types
  bool operator==(const Identity&) const = default;
};

struct Event {
  std::string event_id;      // unique per event; derived deterministically when a format has none
  int64_t ts_ms = 0;         // UTC, milliseconds since the epoch
  int32_t tz_offset_min = 0; // the offset the source wrote (+480 for +08:00), for local-time analyses
  std::string channel;       // one of IngestConfig::channels
  std::string type;          // one of IngestConfig::event_types
  std::vector<Identity> identities;  // at least one; no two of the same type
  std::string item_id;       // empty when absent
  std::optional<double> quantity;
  std::optional<double> price;  // unit price
  std::string currency;
  std::string order_id;
  std::string store_id;
  std::string campaign_id;
  std::string properties_json;  // a JSON object as compact text, "" when absent
  int64_t line_no = 0;          // 1-based record number in the source, for explanations
};

// Why a record was rejected. Stable snake_case names: they are keys of the
// import summary's "rejected_by_reason" and of the quarantine table.
enum class RejectReason : uint8_t {
  kInvalidJson = 0,
  kInvalidUtf8,
  kOversizedRecord,
  kMissingField,       // a required field is absent or empty (field names which)
  kWrongType,          // a field has the wrong JSON type (e.g. identities not an object)
  kMissingIdentities,  // no usable identifier at all
  kInvalidIdentity,    // unknown identity type, or a phone/e-mail that cannot be normalised
  kUnknownChannel,
  kUnknownEventType,
  kBadTimestamp,
  kBadNumber,          // price / quantity not a finite number
  kNegativeQuantity,   // quantity < 0 on a purchase (refunds carry type "refund")
  kNegativePrice,
  kBadCsvRecord,       // wrong column count, unterminated quote
  kErased,             // identifiers of a customer who asked to be forgotten (set by the store)
};
inline constexpr int kRejectReasonCount = 15;
std::string_view RejectReasonName(RejectReason reason);

struct RejectedRecord {
  int64_t line_no = 0;
  RejectReason reason;
  std::string field;    // the offending field, "" when the record as a whole is bad
  std::string message;  // human-readable, names line, field and value (never raw PII)
  std::string raw;      // the record as read, truncated to 4 KiB; raw PII is masked
};

// A catalogue row (DESIGN.md: items & availability).
struct Item {
  std::string item_id;
  std::string title;
  std::string category_path;  // "Home > Kitchen > Mugs", "食品 > 饮料"
  std::string brand;
  std::optional<double> price;
  std::string attributes_json;  // JSON object text, "" when absent
};

// Whether an item is sold, and in stock, in a channel and optionally a store.
struct Availability {
  std::string item_id;
  std::string channel;   // "" = every channel
  std::string store_id;  // "" = every store of the channel
  bool sold = true;
  std::optional<int64_t> stock;  // units on hand when known; 0 = out of stock
};

// A batch's events as columns: what the store's columnar snapshot
// (store/event_columns.h) keeps of each event, written on the parsing thread
// (BatchPreparer) as plain arrays and one character arena, so the store's
// writer hands them to the snapshot's appender without copying anything and
// the appender reads them without decoding events. Strings are ids into the
// arena, one per occurrence (deduplicating here cost more than it saved: the
// appender's dictionaries do that).
struct BatchColumns {
  // Per event, in Batch::events order.
  std::vector<int64_t> ts_ms;
  std::vector<double> quantity;  // NaN = absent
  std::vector<double> price;     // NaN = absent
  std::vector<int16_t> tz_offset_min;  // clamped to int16
  std::vector<int32_t> channel, type;  // string ids (consecutive equal values share one)
  std::vector<int32_t> item, order;    // string ids, -1 = none
  std::vector<int32_t> properties;     // string id of a consent event's properties, -1 = none
  std::vector<uint32_t> identity_end;  // CSR ends into identity_type / identity_value
  // Per identity of each event.
  std::vector<uint8_t> identity_type;   // IdentityType
  std::vector<int32_t> identity_value;  // string id
  // The strings, concatenated; ends[id] is where string id ends.
  std::string chars;
  std::vector<uint32_t> ends;

  size_t size() const { return ts_ms.size(); }
  std::string_view String(int32_t id) const {
    const uint32_t begin = id == 0 ? 0 : ends[static_cast<size_t>(id) - 1];
    return std::string_view(chars).substr(begin, ends[static_cast<size_t>(id)] - begin);
  }
};

// One atomic unit from source to store: a sink commits all of it or none.
struct Batch {
  std::vector<Event> events;
  std::vector<RejectedRecord> rejected;
  std::vector<Item> items;
  std::vector<Availability> availability;
  int64_t first_line = 0;  // record numbers covered, inclusive
  int64_t last_line = 0;
  uint64_t bytes = 0;      // bytes of input covered, for progress
  // Ask the sink for BatchResult::event_outcomes (the HTTP API commits many
  // requests' events in one batch and answers each request for its own).
  bool want_event_outcomes = false;

  // Filled on the parsing thread (the import's BatchPreparer, record by
  // record, or PrepareForStore() at once), so the store's single
  // writer does little but SQLite work (it computes them itself when absent):
  // the event_id keys and the identities column text of every event, the
  // latter concatenated (identities_json_end[i] is where event i's ends) to
  // spare one allocation per event, and the snapshot's columns.
  std::vector<int64_t> event_keys;
  std::string identities_json;
  std::vector<uint32_t> identities_json_end;
  // The snapshot's columns (the store may move them out once committed).
  BatchColumns columns;

  bool empty() const {
    return events.empty() && rejected.empty() && items.empty() && availability.empty();
  }
  void PrepareForStore();
  bool prepared() const {
    return event_keys.size() == events.size() && identities_json_end.size() == events.size() &&
           columns.size() == events.size();
  }
  std::string_view IdentitiesJsonOf(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : identities_json_end[i - 1];
    return std::string_view(identities_json).substr(begin, identities_json_end[i] - begin);
  }
};

// Prepares a batch for the store (what Batch::PrepareForStore does) event by
// event: the import calls Update after each record it parses, while the new
// event's strings are still in the CPU caches, instead of walking the whole
// batch again once it is full. One batch at a time: a batch whose
// event_keys are empty starts a new one.
class BatchPreparer {
 public:
  // Prepares the events added to `batch` since the last call (all of them
  // when none is prepared). Events already prepared must not change.
  void Update(Batch& batch);

 private:
  // The string ids of the previous event's channel and type (-1 = none yet).
  int32_t last_channel_id_ = -1, last_type_id_ = -1;
};

// What a sink did with one event of a batch.
enum class EventOutcome : uint8_t { kAccepted = 0, kDuplicate, kErased };

// The store's 64-bit dedupe key of an event_id (events.event_key): SipHash-2-4
// of the id under a fixed key, read little-endian. Stored, so it never
// changes without a schema migration (store/migrations.cc, version 2).
int64_t EventKey(std::string_view event_id);

// How identities are stored: {"phone":"<hash>","member_card":"M0042"}.
void AppendIdentitiesJson(std::string& out, const std::vector<Identity>& identities);

// What a sink did with one batch.
struct BatchResult {
  int64_t accepted = 0;    // new events stored
  int64_t duplicates = 0;  // events whose event_id was already stored (or repeated in the batch)
  int64_t erased = 0;      // events dropped because their identifiers were forgotten (tombstones)
  int64_t items = 0;
  int64_t availability = 0;
  // One per Batch::events entry, in order; filled only when
  // Batch::want_event_outcomes is set.
  std::vector<EventOutcome> event_outcomes;
};

// Where batches go: the store implements this; tests use an in-memory one.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Durably commits the whole batch or nothing. `source` names the input
  // ("orders.jsonl", "-", "http") for the quarantine; rejected records are
  // stored there exactly once per (source, line_no, raw).
  virtual StatusOr<BatchResult> Write(std::string_view source, Batch& batch) = 0;
};

}  // namespace omni::ingest
