// store — the columnar events snapshot (event_columns.h).
//
// File layout (native byte order; the file is a local cache, never shipped):
//   FileHeader (32 bytes): magic "OMNIEVC1", version, CRC of the header, and
//     the generation of the events table it was built from;
//   blocks, one per appended batch (or per 64k caught-up events):
//     BlockHeader (72 bytes, CRC-protected), then the payload: per-event
//     columns, each section 8-byte aligned:
//       seq i64, ts_ms i64, quantity f64, price f64, item i32, order i32,
//       identity_end u32 | identities i32 (CSR) | tz_offset_min i16,
//       channel u8, type u8 | types u8 of the new identities | rows u32 of
//       the consent properties | string ends u32 | characters.
//     The strings are the block's new dictionary entries (channels, types,
//     items, identities — a dictionary id is its position over all blocks in
//     order), its order ids and its consent properties.
// A block is valid when its header CRC matches and its payload lies inside
// the file; the payloads of the last kTailBlocksChecked blocks are CRC-checked
// too (a torn append can only hit the tail: blocks are written in order and
// never rewritten). Ids are range-checked at load, so a damaged file cannot
// make a reader index out of bounds.
#include "omni/store/event_columns.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "omni/store/sqlite_util.h"

namespace omni::store {
namespace {

namespace fs = std::filesystem;

constexpr char kDir[] = "columns";
constexpr char kFile[] = "events.col";
constexpr char kFileMagic[8] = {'O', 'M', 'N', 'I', 'E', 'V', 'C', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kBlockMagic = 0x314b4c42;  // "BLK1"
constexpr int kTailBlocksChecked = 2;
constexpr size_t kCatchUpRows = 65536;
constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_crc;
  int64_t generation;
  int64_t reserved;
};
static_assert(sizeof(FileHeader) == 32);

struct BlockHeader {
  uint32_t magic;
  uint32_t rows;
  int64_t first_seq;
  int64_t last_seq;
  uint64_t payload_bytes;
  uint32_t identity_refs;
  uint32_t new_channels;
  uint32_t new_types;
  uint32_t new_items;
  uint32_t new_identities;
  uint32_t orders;
  uint32_t properties;
  uint32_t chars_bytes;
  uint32_t payload_crc;
  uint32_t header_crc;
};
static_assert(sizeof(BlockHeader) == 72);

uint32_t Crc(const void* data, size_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {
    const auto chunk = static_cast<uInt>(std::min<size_t>(bytes, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

template <typename H>
uint32_t HeaderCrc(H h) {
  h.header_crc = 0;
  return Crc(&h, sizeof(h));
}

size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

// Where each section of a block's payload starts.
struct Layout {
  size_t seq, ts, quantity, price, item, order, identity_end, identities, tz, channel, type, identity_types,
      property_rows, string_ends, chars, total;
  size_t strings;
};

Layout LayoutOf(const BlockHeader& h) {
  Layout l{};
  const size_t r = h.rows;
  size_t at = 0;
  auto take = [&](size_t bytes) {
    const size_t start = at;
    at = Align8(at + bytes);
    return start;
  };
  l.strings = size_t{h.new_channels} + h.new_types + h.new_items + h.new_identities + h.orders + h.properties;
  l.seq = take(8 * r);
  l.ts = take(8 * r);
  l.quantity = take(8 * r);
  l.price = take(8 * r);
  l.item = take(4 * r);
  l.order = take(4 * r);
  l.identity_end = take(4 * r);
  l.identities = take(4 * size_t{h.identity_refs});
  l.tz = take(2 * r);
  l.channel = take(r);
  l.type = take(r);
  l.identity_types = take(h.new_identities);
  l.property_rows = take(4 * size_t{h.properties});
  l.string_ends = take(4 * l.strings);
  l.chars = take(h.chars_bytes);
  l.total = at;
  return l;
}

// Dictionaries as views, grown block by block; `base_*` counts entries that
// come before (an appender parsing only new blocks).
struct DictViews {
  size_t base_channels = 0, base_types = 0, base_items = 0, base_identities = 0;
  std::vector<std::string_view> channels, types, items, identity_values;
  std::vector<ingest::IdentityType> identity_types;
  size_t n_channels() const { return base_channels + channels.size(); }
  size_t n_types() const { return base_types + types.size(); }
  size_t n_items() const { return base_items + items.size(); }
  size_t n_identities() const { return base_identities + identity_values.size(); }
};

// Reads the header at `p` when it is whole and intact; nullopt otherwise.
std::optional<BlockHeader> ReadBlockHeader(const uint8_t* p, size_t avail, int64_t prev_last_seq) {
  if (avail < sizeof(BlockHeader)) return std::nullopt;
  BlockHeader h;
  std::memcpy(&h, p, sizeof(h));
  if (h.magic != kBlockMagic || h.header_crc != HeaderCrc(h)) return std::nullopt;
  if (h.rows == 0 || h.first_seq <= prev_last_seq || h.last_seq < h.first_seq) return std::nullopt;
  if (h.payload_bytes != LayoutOf(h).total || h.payload_bytes > avail - sizeof(BlockHeader)) return std::nullopt;
  return h;
}

// Fills `out` with views of the block at `p` (its header already read) and
// adds its dictionary entries to `dict`. False when its content is out of
// range (a damaged block).
bool ParseBlock(const uint8_t* p, const BlockHeader& h, DictViews& dict, EventColumnBlock& out) {
  const Layout l = LayoutOf(h);
  const uint8_t* b = p + sizeof(BlockHeader);
  const auto r = static_cast<size_t>(h.rows);
  out = EventColumnBlock{};
  out.rows = static_cast<int64_t>(r);
  out.seq = reinterpret_cast<const int64_t*>(b + l.seq);
  out.ts_ms = reinterpret_cast<const int64_t*>(b + l.ts);
  out.quantity = reinterpret_cast<const double*>(b + l.quantity);
  out.price = reinterpret_cast<const double*>(b + l.price);
  out.item = reinterpret_cast<const int32_t*>(b + l.item);
  out.order = reinterpret_cast<const int32_t*>(b + l.order);
  out.identity_end = reinterpret_cast<const uint32_t*>(b + l.identity_end);
  out.identities = reinterpret_cast<const int32_t*>(b + l.identities);
  out.tz_offset_min = reinterpret_cast<const int16_t*>(b + l.tz);
  out.channel = b + l.channel;
  out.type = b + l.type;
  const uint8_t* identity_types = b + l.identity_types;
  const auto* property_rows = reinterpret_cast<const uint32_t*>(b + l.property_rows);
  const auto* ends = reinterpret_cast<const uint32_t*>(b + l.string_ends);
  const char* chars = reinterpret_cast<const char*>(b + l.chars);

  // Strings, in section order.
  uint32_t prev = 0;
  for (size_t i = 0; i < l.strings; ++i) {
    if (ends[i] < prev || ends[i] > h.chars_bytes) return false;
    prev = ends[i];
  }
  size_t k = 0;
  auto next = [&]() {
    const uint32_t begin = k == 0 ? 0 : ends[k - 1];
    const std::string_view s(chars + begin, ends[k] - begin);
    ++k;
    return s;
  };
  for (uint32_t i = 0; i < h.new_channels; ++i) dict.channels.push_back(next());
  for (uint32_t i = 0; i < h.new_types; ++i) dict.types.push_back(next());
  for (uint32_t i = 0; i < h.new_items; ++i) dict.items.push_back(next());
  for (uint32_t i = 0; i < h.new_identities; ++i) {
    if (identity_types[i] >= ingest::kIdentityTypeCount) return false;
    dict.identity_types.push_back(static_cast<ingest::IdentityType>(identity_types[i]));
    dict.identity_values.push_back(next());
  }
  out.orders.reserve(h.orders);
  for (uint32_t i = 0; i < h.orders; ++i) out.orders.push_back(next());
  out.properties.reserve(h.properties);
  for (uint32_t i = 0; i < h.properties; ++i) {
    if (property_rows[i] >= r || (i > 0 && property_rows[i] <= property_rows[i - 1])) return false;
    out.properties.emplace_back(property_rows[i], next());
  }

  // Ranges (cheap, vectorisable passes).
  const auto n_items = static_cast<int64_t>(dict.n_items());
  const auto n_identities = static_cast<int64_t>(dict.n_identities());
  const auto n_orders = static_cast<int32_t>(h.orders);
  bool ok = out.seq[0] == h.first_seq && out.seq[r - 1] == h.last_seq;
  uint8_t max_channel = 0, max_type = 0;
  for (size_t i = 0; i < r; ++i) {
    ok &= out.item[i] >= -1 && out.item[i] < n_items;
    ok &= out.order[i] >= -1 && out.order[i] < n_orders;
    ok &= out.identity_end[i] <= h.identity_refs && (i == 0 || out.identity_end[i] >= out.identity_end[i - 1]);
    ok &= i == 0 || out.seq[i] > out.seq[i - 1];
    max_channel = std::max(max_channel, out.channel[i]);
    max_type = std::max(max_type, out.type[i]);
  }
  ok &= out.identity_end[r - 1] == h.identity_refs;
  ok &= max_channel < dict.n_channels() && max_type < dict.n_types();
  for (uint32_t i = 0; i < h.identity_refs; ++i) ok &= out.identities[i] >= 0 && out.identities[i] < n_identities;
  return ok;
}

// The writer's dictionaries (value -> id), for encoding new events.
struct WriterDict {
  std::vector<std::string> channels, types;
  absl::flat_hash_map<std::string, int32_t> items;
  std::array<absl::flat_hash_map<std::string, int32_t>, ingest::kIdentityTypeCount> identities;
  int32_t n_identities = 0;

  void Add(const DictViews& d) {
    for (std::string_view s : d.channels) channels.emplace_back(s);
    for (std::string_view s : d.types) types.emplace_back(s);
    items.reserve(items.size() + d.items.size());
    for (std::string_view s : d.items) items.emplace(std::string(s), static_cast<int32_t>(items.size()));
    for (size_t i = 0; i < d.identity_values.size(); ++i) {
      identities[static_cast<size_t>(d.identity_types[i])].emplace(std::string(d.identity_values[i]), n_identities++);
    }
  }
};

// Builds one block, from events read back from SQLite (Add) or from a
// committed batch's columns (AddColumns); new dictionary entries go into
// `dict` as they are met (so a block that is then not written leaves `dict`
// ahead of the file: the caller reloads). The block's strings are views:
// into the batch's columns (alive until Finish), or into copies this encoder
// keeps of the strings of events, which the caller reuses row after row.
class BlockEncoder {
 public:
  explicit BlockEncoder(WriterDict& dict) : dict_(dict) {}

  Status Add(int64_t seq, const ingest::Event& e) {
    copy_ = true;
    OMNI_ASSIGN_OR_RETURN(uint8_t channel, SmallId(dict_.channels, new_channels_, e.channel, "channels"));
    OMNI_ASSIGN_OR_RETURN(uint8_t type, SmallId(dict_.types, new_types_, e.type, "event types"));
    seq_.push_back(seq);
    ts_.push_back(e.ts_ms);
    quantity_.push_back(e.quantity.value_or(kAbsent));
    price_.push_back(e.price.value_or(kAbsent));
    item_.push_back(e.item_id.empty() ? -1 : ItemId(e.item_id));
    order_.push_back(e.order_id.empty() ? -1 : OrderIndex(e.order_id));
    for (const ingest::Identity& id : e.identities) identities_.push_back(IdentityId(id.type, id.value));
    identity_end_.push_back(static_cast<uint32_t>(identities_.size()));
    tz_.push_back(static_cast<int16_t>(std::clamp(e.tz_offset_min, -32768, 32767)));
    channel_.push_back(channel);
    type_.push_back(type);
    if (e.type == "consent" && !e.properties_json.empty()) {
      property_rows_.push_back(static_cast<uint32_t>(seq_.size() - 1));
      properties_.push_back(Keep(e.properties_json));
    }
    return Status::Ok();
  }

  // The rows `rows` (ascending indexes into `c`) as seqs first_seq, first_seq
  // + 1, ...: the same block Add would make of those events, read from the
  // arrays without building events. `c` must outlive Finish.
  Status AddColumns(const ingest::BatchColumns& c, const std::vector<uint32_t>& rows, int64_t first_seq) {
    const size_t n = rows.size();
    // Channel and type string ids are one per run of equal values, so the
    // previous row's answer is the usual one; a new run scans the few known
    // names (SmallId). (A map by string id missed on every run: each run has
    // an id of its own.)
    int32_t run_channel = -1, run_type = -1;
    uint8_t channel = 0, type = 0;
    // Identifier lookups go to dictionaries far bigger than the CPU caches:
    // the slots of the identifiers kPrefetchRows rows ahead are fetched
    // early, skipping those equal to their previous row's (IdentityId's
    // shortcut will answer them).
    constexpr size_t kPrefetchRows = 8;
    auto prefetch_row = [&](size_t k) {
      const uint32_t r = rows[k];
      const uint32_t begin = r == 0 ? 0 : c.identity_end[r - 1];
      const uint32_t prev_begin = k == 0 ? 0 : (rows[k - 1] == 0 ? 0 : c.identity_end[rows[k - 1] - 1]);
      const uint32_t prev_end = k == 0 ? 0 : c.identity_end[rows[k - 1]];
      for (uint32_t i = begin; i < c.identity_end[r]; ++i) {
        const uint32_t j = prev_begin + (i - begin);
        const std::string_view value = c.String(c.identity_value[i]);
        if (j < prev_end && c.identity_type[j] == c.identity_type[i] && c.String(c.identity_value[j]) == value) {
          continue;
        }
        dict_.identities[c.identity_type[i]].prefetch(AbslView(value));
      }
    };
    for (size_t k = 0; k < std::min(n, kPrefetchRows); ++k) prefetch_row(k);
    seq_.reserve(seq_.size() + n);
    ts_.reserve(ts_.size() + n);
    quantity_.reserve(quantity_.size() + n);
    price_.reserve(price_.size() + n);
    item_.reserve(item_.size() + n);
    order_.reserve(order_.size() + n);
    identity_end_.reserve(identity_end_.size() + n);
    tz_.reserve(tz_.size() + n);
    channel_.reserve(channel_.size() + n);
    type_.reserve(type_.size() + n);
    for (size_t k = 0; k < n; ++k) {
      const uint32_t r = rows[k];
      if (k + kPrefetchRows < n) prefetch_row(k + kPrefetchRows);
      if (c.channel[r] != run_channel) {
        OMNI_ASSIGN_OR_RETURN(channel, SmallId(dict_.channels, new_channels_, c.String(c.channel[r]), "channels"));
        run_channel = c.channel[r];
      }
      if (c.type[r] != run_type) {
        OMNI_ASSIGN_OR_RETURN(type, SmallId(dict_.types, new_types_, c.String(c.type[r]), "event types"));
        run_type = c.type[r];
      }
      seq_.push_back(first_seq + static_cast<int64_t>(k));
      ts_.push_back(c.ts_ms[r]);
      quantity_.push_back(c.quantity[r]);
      price_.push_back(c.price[r]);
      item_.push_back(c.item[r] < 0 ? -1 : ItemId(c.String(c.item[r])));
      order_.push_back(c.order[r] < 0 ? -1 : OrderIndex(c.String(c.order[r])));
      for (uint32_t i = r == 0 ? 0 : c.identity_end[r - 1]; i < c.identity_end[r]; ++i) {
        identities_.push_back(
            IdentityId(static_cast<ingest::IdentityType>(c.identity_type[i]), c.String(c.identity_value[i])));
      }
      identity_end_.push_back(static_cast<uint32_t>(identities_.size()));
      tz_.push_back(c.tz_offset_min[r]);
      channel_.push_back(channel);
      type_.push_back(type);
      if (c.properties[r] >= 0) {
        property_rows_.push_back(static_cast<uint32_t>(seq_.size() - 1));
        properties_.push_back(c.String(c.properties[r]));
      }
    }
    return Status::Ok();
  }

  size_t rows() const { return seq_.size(); }

  // The block's bytes (header + payload) in 8-byte words. Call once.
  std::vector<uint64_t> Finish() {
    BlockHeader h{};
    h.magic = kBlockMagic;
    h.rows = static_cast<uint32_t>(seq_.size());
    h.first_seq = seq_.front();
    h.last_seq = seq_.back();
    h.identity_refs = static_cast<uint32_t>(identities_.size());
    h.new_channels = static_cast<uint32_t>(new_channels_.size());
    h.new_types = static_cast<uint32_t>(new_types_.size());
    h.new_items = static_cast<uint32_t>(new_items_.size());
    h.new_identities = static_cast<uint32_t>(new_identities_.size());
    h.orders = static_cast<uint32_t>(order_list_.size());
    h.properties = static_cast<uint32_t>(properties_.size());
    std::vector<uint32_t> ends;
    ends.reserve(new_channels_.size() + new_types_.size() + new_items_.size() + new_identities_.size() +
                 order_list_.size() + properties_.size());
    // Every string of the block, in section order (measured, then copied).
    auto each_string = [&](const auto& fn) {
      for (std::string_view s : new_channels_) fn(s);
      for (std::string_view s : new_types_) fn(s);
      for (std::string_view s : new_items_) fn(s);
      for (const auto& [type, value] : new_identities_) fn(std::string_view(value));
      for (std::string_view s : order_list_) fn(s);
      for (std::string_view s : properties_) fn(s);
    };
    size_t chars = 0;
    each_string([&](std::string_view s) { ends.push_back(static_cast<uint32_t>(chars += s.size())); });
    h.chars_bytes = static_cast<uint32_t>(chars);
    const Layout l = LayoutOf(h);
    h.payload_bytes = l.total;
    std::vector<uint64_t> words((sizeof(BlockHeader) + l.total) / 8, 0);
    uint8_t* b = reinterpret_cast<uint8_t*>(words.data()) + sizeof(BlockHeader);
    auto put = [&](size_t at, const auto& v) {
      if (!v.empty()) std::memcpy(b + at, v.data(), v.size() * sizeof(v[0]));
    };
    put(l.seq, seq_);
    put(l.ts, ts_);
    put(l.quantity, quantity_);
    put(l.price, price_);
    put(l.item, item_);
    put(l.order, order_);
    put(l.identity_end, identity_end_);
    put(l.identities, identities_);
    put(l.tz, tz_);
    put(l.channel, channel_);
    put(l.type, type_);
    for (size_t i = 0; i < new_identities_.size(); ++i) b[l.identity_types + i] = new_identities_[i].first;
    put(l.property_rows, property_rows_);
    put(l.string_ends, ends);
    size_t at = l.chars;
    each_string([&](std::string_view s) {
      if (!s.empty()) std::memcpy(b + at, s.data(), s.size());
      at += s.size();
    });
    h.payload_crc = Crc(b, l.total);
    h.header_crc = HeaderCrc(h);
    std::memcpy(words.data(), &h, sizeof(h));
    return words;
  }

 private:
  // A view that outlives the caller's string: Add's events are reused, so
  // their strings are copied; AddColumns' stay valid until Finish.
  std::string_view Keep(std::string_view s) { return copy_ ? std::string_view(kept_.emplace_back(s)) : s; }

  StatusOr<uint8_t> SmallId(std::vector<std::string>& known, std::vector<std::string_view>& added,
                            std::string_view name, const char* what) {
    for (size_t i = 0; i < known.size(); ++i) {
      if (known[i] == name) return static_cast<uint8_t>(i);
    }
    if (known.size() >= 255) return FailedPrecondition(std::string("event columns: more than 255 ") + what);
    known.emplace_back(name);
    added.push_back(Keep(name));
    return static_cast<uint8_t>(known.size() - 1);
  }

  // The maps' transparent lookup takes absl's string_view (not std's in
  // every abseil build): no std::string is made unless the key is new.
  static absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

  // The order's index among this block's order ids.
  int32_t OrderIndex(std::string_view order) {
    // An order's lines mostly come one after another: one compare, no hash.
    if (last_order_ >= 0 && order == order_list_[static_cast<size_t>(last_order_)]) return last_order_;
    if (auto it = orders_.find(AbslView(order)); it != orders_.end()) return last_order_ = it->second;
    const std::string_view kept = Keep(order);
    const auto index = static_cast<int32_t>(order_list_.size());
    orders_.emplace(AbslView(kept), index);
    order_list_.push_back(kept);
    return last_order_ = index;
  }

  int32_t ItemId(std::string_view item) {
    auto [it, inserted] = dict_.items.try_emplace(AbslView(item), static_cast<int32_t>(dict_.items.size()));
    if (inserted) new_items_.push_back(Keep(item));
    return it->second;
  }

  int32_t IdentityId(ingest::IdentityType type, std::string_view value) {
    // Consecutive events mostly carry the previous one's identifiers (a
    // session, an invoice): one compare instead of a probe of a dictionary
    // far larger than the CPU caches.
    LastIdentity& last = last_identity_[static_cast<size_t>(type)];
    if (last.id >= 0 && value == last.value) return last.id;
    auto& index = dict_.identities[static_cast<size_t>(type)];
    auto [it, inserted] = index.try_emplace(AbslView(value), dict_.n_identities);
    if (inserted) {
      ++dict_.n_identities;
      new_identities_.emplace_back(static_cast<uint8_t>(type), Keep(value));
    }
    last.value.assign(value);
    last.id = it->second;
    return it->second;
  }
  struct LastIdentity {
    int32_t id = -1;  // -1: none yet
    std::string value;
  };
  std::array<LastIdentity, ingest::kIdentityTypeCount> last_identity_;

  WriterDict& dict_;
  std::vector<int64_t> seq_, ts_;
  std::vector<double> quantity_, price_;
  std::vector<int32_t> item_, order_;
  std::vector<uint32_t> identity_end_;
  std::vector<int32_t> identities_;
  std::vector<int16_t> tz_;
  std::vector<uint8_t> channel_, type_;
  std::vector<uint32_t> property_rows_;
  std::vector<std::string_view> properties_;
  std::vector<std::string_view> new_channels_, new_types_, new_items_;
  std::vector<std::pair<uint8_t, std::string_view>> new_identities_;
  absl::flat_hash_map<absl::string_view, int32_t> orders_;  // views of order_list_'s strings
  std::vector<std::string_view> order_list_;
  int32_t last_order_ = -1;  // index of the previous row's order id, -1: none
  bool copy_ = false;
  std::deque<std::string> kept_;
};

// The events-table generation (bumped by erasure); 0 before any erasure.
StatusOr<int64_t> ReadGeneration(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT generation FROM event_columns_state WHERE id = 1", -1, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return int64_t{0};  // no table yet: nothing was ever erased
  }
  rc = sqlite3_step(raw);
  int64_t generation = rc == SQLITE_ROW ? sqlite3_column_int64(raw, 0) : 0;
  sqlite3_finalize(raw);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return internal::SqliteError(db, rc, "read event columns generation");
  return generation;
}

StatusOr<int64_t> ReadGeneration(const std::string& data_dir) {
  sqlite3* db = nullptr;
  const std::string path = (fs::path(data_dir) / "omni.db").string();
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    Status st = internal::SqliteError(db, rc, "open " + path);
    sqlite3_close(db);
    return st;
  }
  StatusOr<int64_t> g = ReadGeneration(db);
  sqlite3_close(db);
  return g;
}

Status Errno(const std::string& what) { return Internal("event columns: " + what + ": " + std::strerror(errno)); }

// An open, flock()ed file that is still the one at `path` (a rename may have
// replaced it between open and lock). fd -1 with OK: missing (when !create)
// or, with LOCK_NB, busy.
struct LockedFile {
  int fd = -1;
  ~LockedFile() { Close(); }
  void Close() {
    // Unlock explicitly: a mapping of the file keeps its open file
    // description, and with it the lock, alive after close().
    if (fd >= 0) {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
    fd = -1;
  }
};

Status OpenLocked(const std::string& path, bool write, bool create, int lock, LockedFile& out) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path.c_str(), (write ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == ENOENT && !create) return Status::Ok();
      return Errno("open " + path);
    }
    if (::flock(fd, lock) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return Status::Ok();
      errno = err;
      return Errno("lock " + path);
    }
    struct stat a, b;
    if (::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      out.Close();
      out.fd = fd;
      return Status::Ok();
    }
    ::close(fd);  // replaced (or removed) meanwhile: try the new one
    if (!create && !fs::exists(path)) return Status::Ok();
  }
  return Internal("event columns: " + path + " keeps being replaced");
}

Status WriteAll(int fd, const void* data, size_t bytes, off_t at) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, p, bytes, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write");
    }
    p += n;
    at += n;
    bytes -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

FileHeader MakeFileHeader(int64_t generation) {
  FileHeader h{};
  std::memcpy(h.magic, kFileMagic, sizeof(h.magic));
  h.version = kVersion;
  h.generation = generation;
  h.header_crc = HeaderCrc(h);
  return h;
}

bool ValidFileHeader(const FileHeader& h) {
  return std::memcmp(h.magic, kFileMagic, sizeof(h.magic)) == 0 && h.version == kVersion &&
         h.header_crc == HeaderCrc(h);
}

// Replaces the file at `path` by an empty snapshot of `generation` (a new
// inode, so readers mapping the old one are unaffected) and makes `file` the
// new one, locked exclusively.
Status StartFresh(const std::string& path, int64_t generation, LockedFile& file) {
  const std::string tmp = path + ".tmp";
  LockedFile fresh;
  fresh.fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fresh.fd < 0) return Errno("create " + tmp);
  if (::flock(fresh.fd, LOCK_EX) != 0) return Errno("lock " + tmp);
  const FileHeader h = MakeFileHeader(generation);
  OMNI_RETURN_IF_ERROR(WriteAll(fresh.fd, &h, sizeof(h), 0));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
  file.Close();
  file.fd = fresh.fd;
  fresh.fd = -1;
  return Status::Ok();
}

// The valid blocks of a mapped file from `from`: their offsets and headers,
// the torn tail (payload CRC of the last blocks) excluded.
struct BlockIndex {
  std::vector<std::pair<size_t, BlockHeader>> blocks;
  size_t valid_end = 0;
};

BlockIndex IndexBlocks(const uint8_t* base, size_t size, size_t from, int64_t last_seq) {
  BlockIndex index;
  size_t at = from;
  while (at < size) {
    std::optional<BlockHeader> h = ReadBlockHeader(base + at, size - at, last_seq);
    if (!h) break;
    index.blocks.emplace_back(at, *h);
    last_seq = h->last_seq;
    at += sizeof(BlockHeader) + h->payload_bytes;
  }
  size_t keep = index.blocks.size();
  for (size_t k = 0; k < std::min<size_t>(kTailBlocksChecked, index.blocks.size()); ++k) {
    const auto& [offset, h] = index.blocks[index.blocks.size() - 1 - k];
    if (Crc(base + offset + sizeof(BlockHeader), h.payload_bytes) != h.payload_crc) {
      keep = index.blocks.size() - 1 - k;
    }
  }
  index.blocks.resize(keep);
  index.valid_end = keep == 0 ? from : index.blocks.back().first + sizeof(BlockHeader) + index.blocks.back().second.payload_bytes;
  return index;
}

}  // namespace

std::string_view EventColumnBlock::Properties(int64_t row) const {
  auto it = std::lower_bound(properties.begin(), properties.end(), static_cast<uint32_t>(row),
                             [](const auto& p, uint32_t r) { return p.first < r; });
  return it != properties.end() && it->first == row ? it->second : std::string_view();
}

// The loader shared by readers: maps, indexes and parses blocks.
class EventColumnsFile {
 public:
  // Parses the blocks of `index` (in a mapping at `base`) into `c`. Returns
  // the offset after the last block parsed cleanly.
  static size_t ParseInto(const uint8_t* base, const BlockIndex& index, DictViews& dict, EventColumns& c) {
    size_t end = sizeof(FileHeader);
    for (const auto& [offset, h] : index.blocks) {
      EventColumnBlock block;
      const std::array<size_t, 4> sizes = {dict.channels.size(), dict.types.size(), dict.items.size(),
                                           dict.identity_values.size()};
      if (!ParseBlock(base + offset, h, dict, block)) {
        dict.channels.resize(sizes[0]);
        dict.types.resize(sizes[1]);
        dict.items.resize(sizes[2]);
        dict.identity_values.resize(sizes[3]);
        dict.identity_types.resize(sizes[3]);
        break;
      }
      c.blocks_.push_back(std::move(block));
      c.rows_ += h.rows;
      c.last_seq_ = h.last_seq;
      end = offset + sizeof(BlockHeader) + h.payload_bytes;
    }
    return end;
  }

  static void Publish(DictViews& dict, EventColumns& c) {
    c.channels_ = std::move(dict.channels);
    c.types_ = std::move(dict.types);
    c.items_ = std::move(dict.items);
    c.identity_types_ = std::move(dict.identity_types);
    c.identity_values_ = std::move(dict.identity_values);
  }

  static StatusOr<std::unique_ptr<EventColumns>> Open(const std::string& data_dir, Store& store, bool persist) {
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<EventColumns> c(new EventColumns());
    const fs::path dir = fs::path(data_dir) / kDir;
    const std::string path = (dir / kFile).string();
    OMNI_ASSIGN_OR_RETURN(const int64_t generation, ReadGeneration(data_dir));
    LockedFile file;
    if (persist) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      Status st = ec ? Internal("cannot create " + dir.string() + ": " + ec.message())
                     : OpenLocked(path, /*write=*/true, /*create=*/true, LOCK_EX, file);
      if (!st.ok()) {
        // A data directory we may read but not write: the snapshot is still
        // usable, and what is missing is caught up in memory.
        spdlog::debug("event columns: not saving ({})", st.message());
        persist = false;
      }
    }
    if (!persist) {
      OMNI_RETURN_IF_ERROR(OpenLocked(path, /*write=*/false, /*create=*/false, LOCK_SH, file));
    }

    DictViews dict;
    size_t valid_end = 0;
    if (file.fd >= 0) {
      struct stat st;
      if (::fstat(file.fd, &st) != 0) return Errno("stat " + path);
      const auto size = static_cast<size_t>(st.st_size);
      FileHeader fh{};
      const bool header_ok = size >= sizeof(FileHeader) && ::pread(file.fd, &fh, sizeof(fh), 0) == sizeof(fh) &&
                             ValidFileHeader(fh) && fh.generation == generation;
      if (header_ok && size > sizeof(FileHeader)) {
        void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file.fd, 0);
        if (map == MAP_FAILED) return Errno("map " + path);
        c->map_ = map;
        c->map_bytes_ = size;
        const auto* base = static_cast<const uint8_t*>(map);
        const BlockIndex index = IndexBlocks(base, size, sizeof(FileHeader), 0);
        valid_end = ParseInto(base, index, dict, *c);
        c->stats_.rows_from_file = c->rows_;
        c->stats_.torn_tail_cut = valid_end < size;
      } else if (header_ok) {
        valid_end = sizeof(FileHeader);
      } else {
        c->stats_.rebuilt = true;
        if (persist) {
          OMNI_RETURN_IF_ERROR(StartFresh(path, generation, file));
          valid_end = sizeof(FileHeader);
        } else {
          file.Close();  // unusable: everything from SQLite, in memory
        }
      }
      if (persist && c->stats_.torn_tail_cut && ::ftruncate(file.fd, static_cast<off_t>(valid_end)) != 0) {
        return Errno("cut the torn tail of " + path);
      }
    } else {
      c->stats_.rebuilt = true;
    }

    // Catch up from SQLite: new events, or all of them.
    std::unique_ptr<WriterDict> writer;
    std::unique_ptr<BlockEncoder> encoder;
    std::vector<std::vector<uint64_t>> caught_up;
    Status encode_status;
    auto flush = [&]() {
      std::vector<uint64_t> words = encoder->Finish();
      const auto* p = reinterpret_cast<const uint8_t*>(words.data());
      const size_t bytes = words.size() * 8;
      std::optional<BlockHeader> h = ReadBlockHeader(p, bytes, c->last_seq_);
      OMNI_CHECK(h.has_value());
      auto owned = std::make_unique<uint64_t[]>(words.size());
      std::memcpy(owned.get(), words.data(), bytes);
      EventColumnBlock block;
      OMNI_CHECK(ParseBlock(reinterpret_cast<const uint8_t*>(owned.get()), *h, dict, block));
      c->blocks_.push_back(std::move(block));
      c->rows_ += h->rows;
      c->last_seq_ = h->last_seq;
      c->stats_.rows_caught_up += h->rows;
      c->owned_.push_back(std::move(owned));
      if (file.fd >= 0 && persist) caught_up.push_back(std::move(words));
      encoder = std::make_unique<BlockEncoder>(*writer);
    };
    OMNI_RETURN_IF_ERROR(store.ScanEvents(c->last_seq_, [&](int64_t seq, const ingest::Event& e) {
      if (!encoder) {
        writer = std::make_unique<WriterDict>();
        writer->Add(dict);
        encoder = std::make_unique<BlockEncoder>(*writer);
      }
      encode_status = encoder->Add(seq, e);
      if (!encode_status.ok()) return false;
      if (encoder->rows() >= kCatchUpRows) flush();
      return true;
    }));
    OMNI_RETURN_IF_ERROR(encode_status);
    if (encoder && encoder->rows() > 0) flush();

    if (!caught_up.empty()) {
      size_t at = valid_end;
      Status st;
      for (const auto& words : caught_up) {
        st = WriteAll(file.fd, words.data(), words.size() * 8, static_cast<off_t>(at));
        if (!st.ok()) break;
        at += words.size() * 8;
      }
      if (st.ok()) {
        c->stats_.persisted = true;
      } else {
        spdlog::warn("event columns: could not save {} caught-up events ({}); the next reader reads them again",
                     c->stats_.rows_caught_up, st.message());
        if (::ftruncate(file.fd, static_cast<off_t>(valid_end)) != 0) {
          spdlog::warn("event columns: could not cut {} back", path);
        }
      }
    }
    Publish(dict, *c);
    c->stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return c;
  }
};

StatusOr<std::unique_ptr<EventColumns>> EventColumns::Open(const std::string& data_dir, Store& store, bool persist) {
  return EventColumnsFile::Open(data_dir, store, persist);
}

EventColumns::~EventColumns() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
}

void EventColumns::ToEvent(const EventColumnBlock& b, int64_t row, ingest::Event& e) const {
  e = ingest::Event{};
  e.ts_ms = b.ts_ms[row];
  e.tz_offset_min = b.tz_offset_min[row];
  e.channel = channels_[b.channel[row]];
  e.type = types_[b.type[row]];
  for (int32_t id : b.IdentitiesOf(row)) e.identities.push_back({identity_type(id), std::string(identity_value(id))});
  if (b.item[row] >= 0) e.item_id = items_[static_cast<size_t>(b.item[row])];
  if (!std::isnan(b.quantity[row])) e.quantity = b.quantity[row];
  if (!std::isnan(b.price[row])) e.price = b.price[row];
  e.order_id = b.OrderId(row);
  e.properties_json = b.Properties(row);
}

// ---------------------------------------------------------------- appender

// A committed batch's accepted events for the appending thread: the batch's
// columns (moved out of it, encoded on the parsing thread) and which rows.
struct AppendJob {
  int64_t first_seq = 0;
  int64_t generation = 0;
  ingest::BatchColumns columns;
  std::vector<uint32_t> rows;  // ascending
};

struct EventColumnsAppender::State {
  std::string path;
  sqlite3* db = nullptr;
  // Appending runs on a thread of its own, in batch order, so the store's
  // single writer only hands the batch's columns over (the encoding's hash
  // look-ups cost ~20% of the import rate on its thread). The destructor
  // drains it.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<AppendJob> jobs;
  bool stopping = false;
  std::thread worker;
  LockedFile file;
  ino_t inode = 0;
  bool loaded = false;  // dict/end/last_seq describe the file up to `end`
  size_t end = 0;
  int64_t last_seq = 0;
  int64_t generation = 0;
  DictViews counts;  // only the base_* counts are used
  WriterDict dict;

  void Forget() {
    loaded = false;
    dict = WriterDict();
    counts = DictViews();
    end = 0;
    last_seq = 0;
  }

  // Brings dict/end/last_seq up to the file's current valid content (others
  // may have appended); false when the file is not usable now.
  StatusOr<bool> Sync() {
    struct stat st;
    if (::fstat(file.fd, &st) != 0) return Errno("stat " + path);
    if (!loaded || st.st_ino != inode) {
      Forget();
      inode = st.st_ino;
      FileHeader fh{};
      if (st.st_size < static_cast<off_t>(sizeof(FileHeader)) || ::pread(file.fd, &fh, sizeof(fh), 0) != sizeof(fh) ||
          !ValidFileHeader(fh)) {
        return false;
      }
      generation = fh.generation;
      end = sizeof(FileHeader);
      loaded = true;
    }
    const auto size = static_cast<size_t>(st.st_size);
    if (size == end) return true;
    if (size < end) {  // cut by a reader (torn tail): reload
      loaded = false;
      return Sync();
    }
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file.fd, 0);
    if (map == MAP_FAILED) return Errno("map " + path);
    const auto* base = static_cast<const uint8_t*>(map);
    const BlockIndex index = IndexBlocks(base, size, end, last_seq);
    DictViews delta;
    delta.base_channels = dict.channels.size();
    delta.base_types = dict.types.size();
    delta.base_items = dict.items.size();
    delta.base_identities = static_cast<size_t>(dict.n_identities);
    size_t valid = end;
    for (const auto& [offset, h] : index.blocks) {
      EventColumnBlock block;
      DictViews before_block = delta;  // small: only this sync's new entries
      if (!ParseBlock(base + offset, h, delta, block)) {
        delta = std::move(before_block);
        break;
      }
      last_seq = h.last_seq;
      valid = offset + sizeof(BlockHeader) + h.payload_bytes;
    }
    dict.Add(delta);
    ::munmap(map, size);
    end = valid;
    if (valid < size && ::ftruncate(file.fd, static_cast<off_t>(valid)) != 0) return Errno("cut " + path);
    return true;
  }
};

EventColumnsAppender::EventColumnsAppender(std::string data_dir, sqlite3* db) : s_(std::make_unique<State>()) {
  s_->path = (fs::path(data_dir) / kDir / kFile).string();
  s_->db = db;
}

EventColumnsAppender::~EventColumnsAppender() {
  {
    std::lock_guard lock(s_->mu);
    s_->stopping = true;
    s_->cv.notify_all();
  }
  if (s_->worker.joinable()) s_->worker.join();
}

void EventColumnsAppender::Drain() {
  std::unique_lock lock(s_->mu);
  s_->cv.wait(lock, [&] { return s_->jobs.empty(); });
}

uint32_t EventColumnsAppender::IndexOfId(const ingest::Batch& batch, std::string_view event_id) {
  // Only for genuine 64-bit key collisions (practically never): a scan is fine.
  for (size_t i = batch.events.size(); i-- > 0;) {
    if (batch.events[i].event_id == event_id) return static_cast<uint32_t>(i);
  }
  OMNI_CHECK(false);
  return 0;
}

namespace {

// Appends `job` to the file (the appender's state `s`); the lock is held only
// while appending, and a reader holding it (catching up) makes us skip rather
// than wait.
template <typename State>
Status AppendJobToFile(State& s, const AppendJob& job) {
  const int64_t first_seq = job.first_seq;
  const int64_t last_seq = first_seq + static_cast<int64_t>(job.rows.size()) - 1;
  if (s.file.fd < 0 || !s.loaded) {
    std::error_code ec;
    const bool exists = fs::exists(s.path, ec);
    // A snapshot is started only with the first events ever: with earlier
    // events stored and no snapshot, a reader builds it from SQLite.
    if (!exists && first_seq != 1) return Status::Ok();
    fs::create_directories(fs::path(s.path).parent_path(), ec);
    if (ec) return Internal("event columns: cannot create " + fs::path(s.path).parent_path().string());
    OMNI_RETURN_IF_ERROR(OpenLocked(s.path, true, !exists, LOCK_EX | LOCK_NB, s.file));
    if (s.file.fd < 0) return Status::Ok();
    struct stat st;
    if (!exists || (::fstat(s.file.fd, &st) == 0 && st.st_size == 0)) {
      // Created just now by us (a missing file at the first events).
      const FileHeader h = MakeFileHeader(job.generation);
      OMNI_RETURN_IF_ERROR(WriteAll(s.file.fd, &h, sizeof(h), 0));
      s.Forget();
    }
  } else {
    // Still the file at the path? (A reader may have replaced it.)
    struct stat at_path;
    if (::stat(s.path.c_str(), &at_path) != 0 || at_path.st_ino != s.inode) {
      s.file.Close();
      s.Forget();
      OMNI_RETURN_IF_ERROR(OpenLocked(s.path, true, false, LOCK_EX | LOCK_NB, s.file));
      if (s.file.fd < 0) return Status::Ok();
    } else if (::flock(s.file.fd, LOCK_EX | LOCK_NB) != 0) {
      return Status::Ok();  // a reader is catching up; it or the next one covers this batch
    }
  }
  OMNI_ASSIGN_OR_RETURN(bool usable, s.Sync());
  if (!usable || s.generation != job.generation) return Status::Ok();
  if (s.last_seq != first_seq - 1) return Status::Ok();  // a gap: another writer's batch is missing
  BlockEncoder encoder(s.dict);
  if (Status st = encoder.AddColumns(job.columns, job.rows, first_seq); !st.ok()) {
    s.Forget();
    return st;
  }
  const std::vector<uint64_t> words = encoder.Finish();
  Status st = WriteAll(s.file.fd, words.data(), words.size() * 8, static_cast<off_t>(s.end));
  if (!st.ok()) {
    (void)::ftruncate(s.file.fd, static_cast<off_t>(s.end));
    s.Forget();
    return st;
  }
  s.end += words.size() * 8;
  s.last_seq = last_seq;
  return Status::Ok();
}

}  // namespace

void EventColumnsAppender::Append(ingest::Batch& batch, std::vector<uint32_t> accepted, int64_t last_seq) {
  State& s = *s_;
  AppendJob job;
  job.first_seq = last_seq - static_cast<int64_t>(accepted.size()) + 1;
  // Read here: the store's connection belongs to this thread.
  StatusOr<int64_t> generation = ReadGeneration(s.db);
  if (!generation.ok()) {
    spdlog::warn("event columns: batch not appended ({}); the next reader catches up",
                 generation.status().message());
    return;
  }
  job.generation = *generation;
  // The batch is the caller's again when Write returns: take only its
  // columns (the store's writer prepared them), which it no longer needs.
  if (batch.columns.size() != batch.events.size()) batch.PrepareForStore();
  job.columns = std::move(batch.columns);
  batch.columns = ingest::BatchColumns();
  job.rows = std::move(accepted);
  std::unique_lock lock(s.mu);
  // At most a few batches in flight: memory stays bounded if appending is
  // slower than committing.
  s.cv.wait(lock, [&] { return s.jobs.size() < 4; });
  s.jobs.push_back(std::move(job));
  s.cv.notify_all();
  if (!s.worker.joinable()) {
    s.worker = std::thread([&s] {
      for (;;) {
        AppendJob next;
        {
          std::unique_lock wait(s.mu);
          s.cv.wait(wait, [&] { return !s.jobs.empty() || s.stopping; });
          if (s.jobs.empty()) return;
          next = std::move(s.jobs.front());
        }
        Status st = AppendJobToFile(s, next);
        if (s.file.fd >= 0) ::flock(s.file.fd, LOCK_UN);
        if (!st.ok()) spdlog::warn("event columns: batch not appended ({}); the next reader catches up", st.message());
        std::lock_guard done(s.mu);
        s.jobs.pop_front();
        s.cv.notify_all();
      }
    });
  }
}

// ---------------------------------------------------------------- erasure

Status BumpEventColumnsGeneration(Sql& sql) {
  OMNI_RETURN_IF_ERROR(sql.Execute("CREATE TABLE IF NOT EXISTS event_columns_state("
                                   "id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL)")
                           .status());
  return sql
      .Execute("INSERT INTO event_columns_state(id, generation) VALUES(1, 1) "
               "ON CONFLICT(id) DO UPDATE SET generation = generation + 1")
      .status();
}

Status DiscardEventColumns(Sql& sql) {
  std::string db_file;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT file FROM pragma_database_list WHERE name = 'main'", {},
                                 [&](const SqlRow& row) {
                                   db_file = std::string(row.Text(0));
                                   return false;
                                 }));
  if (db_file.empty()) return Status::Ok();  // in-memory database: no snapshot
  const std::string path = (fs::path(db_file).parent_path() / kDir / kFile).string();
  LockedFile file;
  OMNI_RETURN_IF_ERROR(OpenLocked(path, true, false, LOCK_EX, file));
  if (file.fd < 0) return Status::Ok();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("remove " + path);
  return Status::Ok();
}

}  // namespace omni::store
