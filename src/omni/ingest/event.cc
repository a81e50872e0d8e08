#include "omni/ingest/event.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include <sodium.h>

#include "absl/container/flat_hash_map.h"

#include "omni/common/json_escape.h"

namespace omni::ingest {
namespace {

constexpr std::array<std::string_view, kIdentityTypeCount> kIdentityNames = {
    "customer_id", "member_card", "phone", "email", "social_id", "device_id", "cookie_id"};

constexpr std::array<std::string_view, kRejectReasonCount> kReasonNames = {
    "invalid_json",      "invalid_utf8",     "oversized_record", "missing_field",
    "wrong_type",        "missing_identities", "invalid_identity", "unknown_channel",
    "unknown_event_type", "bad_timestamp",   "bad_number",       "negative_quantity",
    "negative_price",    "bad_csv_record",   "erased"};

}  // namespace

std::string_view IdentityTypeName(IdentityType type) {
  return kIdentityNames[static_cast<size_t>(type)];
}

std::optional<IdentityType> ParseIdentityType(std::string_view name) {
  for (size_t i = 0; i < kIdentityNames.size(); ++i) {
    if (kIdentityNames[i] == name) return static_cast<IdentityType>(i);
  }
  return std::nullopt;
}

std::string_view RejectReasonName(RejectReason reason) {
  return kReasonNames[static_cast<size_t>(reason)];
}

void Event::Clear() {
  // Every field: a new one must be reset here too (the size check is a reminder).
  static_assert(sizeof(Event) == 9 * sizeof(std::string) + sizeof(std::vector<Identity>) +
                                     2 * sizeof(std::optional<double>) + 3 * sizeof(int64_t),
                "Event changed: update Event::Clear");
  event_id.clear();
  ts_ms = 0;
  tz_offset_min = 0;
  channel.clear();
  type.clear();
  identities.clear();
  item_id.clear();
  quantity.reset();
  price.reset();
  currency.clear();
  order_id.clear();
  store_id.clear();
  campaign_id.clear();
  properties_json.clear();
  line_no = 0;
}

Event& Batch::NewEvent() {
  if (spare_events.empty()) return events.emplace_back();
  Event& event = events.emplace_back(std::move(spare_events.back()));
  spare_events.pop_back();
  for (Identity& identity : event.identities) spare_identities.push_back(std::move(identity));
  event.Clear();
  return event;
}

Identity& Batch::NewIdentity(Event& event) {
  if (spare_identities.empty()) return event.identities.emplace_back();
  Identity& identity = event.identities.emplace_back(std::move(spare_identities.back()));
  spare_identities.pop_back();
  identity.value.clear();
  return identity;
}

int64_t EventKey(std::string_view event_id) {
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(event_id.data()),
                     event_id.size(), nullptr, 0);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | digest[i];  // little-endian on every host
  return static_cast<int64_t>(v);
}

namespace {

// True when `s` holds a byte a JSON string must escape: '"', '\\' or a
// control character. Eight bytes at a time: the "has a byte below n" word
// tests are exact about whether such a byte exists.
bool NeedsJsonEscape(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  auto below = [](uint64_t w, uint64_t n) { return (w - kOnes * n) & ~w & kHighs; };
  uint64_t found = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    found |= below(w, 0x20) | below(w ^ (kOnes * '"'), 1) | below(w ^ (kOnes * '\\'), 1);
  }
  if (found != 0) return true;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return true;
  }
  return false;
}

}  // namespace

void AppendIdentitiesJson(std::string& out, const std::vector<Identity>& identities) {
  out.push_back('{');
  for (size_t i = 0; i < identities.size(); ++i) {
    if (i > 0) out.push_back(',');
    const std::string_view name = IdentityTypeName(identities[i].type);
    const std::string_view value = identities[i].value;
    if (NeedsJsonEscape(value)) {
      out.push_back('"');
      out.append(name);
      out += "\":";
      AppendJsonString(out, value);
      continue;
    }
    // The usual case (ids, hashes): "name":"value" in one piece, which is
    // what AppendJsonString writes for such a value.
    const size_t at = out.size();
    out.resize(at + name.size() + value.size() + 5);
    char* p = out.data() + at;
    *p++ = '"';
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = '"';
    *p++ = ':';
    *p++ = '"';
    if (!value.empty()) std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p = '"';
  }
  out.push_back('}');
}

namespace {

// Fills BatchColumns. Keys are views into the batch's events, which stay put
// while it runs; each distinct string is copied into the columns once.
class ColumnsEncoder {
 public:
  ColumnsEncoder(BatchColumns& c, size_t events) : c_(c) {
    c_ = BatchColumns();
    c_.ts_ms.reserve(events);
    c_.quantity.reserve(events);
    c_.price.reserve(events);
    c_.tz_offset_min.reserve(events);
    c_.channel.reserve(events);
    c_.type.reserve(events);
    c_.item.reserve(events);
    c_.order.reserve(events);
    c_.properties.reserve(events);
    c_.identity_end.reserve(events);
    c_.identities.reserve(events * 3);
    strings_.reserve(events / 4 + 64);
  }

  void Add(const Event& e) {
    c_.ts_ms.push_back(e.ts_ms);
    c_.quantity.push_back(e.quantity.value_or(std::numeric_limits<double>::quiet_NaN()));
    c_.price.push_back(e.price.value_or(std::numeric_limits<double>::quiet_NaN()));
    c_.tz_offset_min.push_back(static_cast<int16_t>(std::clamp(e.tz_offset_min, -32768, 32767)));
    // Consecutive events often share a channel or a type: skip the look-up.
    if (last_channel_id_ < 0 || e.channel != last_channel_) {
      last_channel_ = e.channel;
      last_channel_id_ = String(e.channel);
    }
    c_.channel.push_back(last_channel_id_);
    if (last_type_id_ < 0 || e.type != last_type_) {
      last_type_ = e.type;
      last_type_id_ = String(e.type);
    }
    c_.type.push_back(last_type_id_);
    c_.item.push_back(e.item_id.empty() ? -1 : String(e.item_id));
    c_.order.push_back(e.order_id.empty() ? -1 : String(e.order_id));
    // The snapshot keeps properties only where readers use them: consent.
    c_.properties.push_back(e.type == "consent" && !e.properties_json.empty() ? String(e.properties_json) : -1);
    for (const Identity& id : e.identities) {
      auto& index = identities_[static_cast<size_t>(id.type)];
      auto [it, inserted] = index.try_emplace(View(id.value), static_cast<int32_t>(c_.identity_type.size()));
      if (inserted) {
        c_.identity_type.push_back(static_cast<uint8_t>(id.type));
        c_.identity_value.push_back(NewString(id.value));
      }
      c_.identities.push_back(it->second);
    }
    c_.identity_end.push_back(static_cast<uint32_t>(c_.identities.size()));
  }

 private:
  // Keys are absl's string_view, for absl's hash (with std::string_view
  // this abseil falls back to std::hash, which costs more).
  static absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

  int32_t String(std::string_view s) {
    auto [it, inserted] = strings_.try_emplace(View(s), 0);
    if (inserted) it->second = NewString(s);
    return it->second;
  }
  int32_t NewString(std::string_view s) {
    c_.chars.append(s);
    c_.ends.push_back(static_cast<uint32_t>(c_.chars.size()));
    return static_cast<int32_t>(c_.ends.size() - 1);
  }

  BatchColumns& c_;
  absl::flat_hash_map<absl::string_view, int32_t> strings_;
  std::array<absl::flat_hash_map<absl::string_view, int32_t>, kIdentityTypeCount> identities_;
  std::string_view last_channel_, last_type_;  // views into the batch's events
  int32_t last_channel_id_ = -1, last_type_id_ = -1;
};

}  // namespace

void Batch::PrepareForStore() {
  event_keys.resize(events.size());
  identities_json.clear();
  identities_json.reserve(events.size() * 64);
  identities_json_end.resize(events.size());
  ColumnsEncoder encoder(columns, events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    event_keys[i] = EventKey(events[i].event_id);
    AppendIdentitiesJson(identities_json, events[i].identities);
    identities_json_end[i] = static_cast<uint32_t>(identities_json.size());
    encoder.Add(events[i]);
  }
}

}  // namespace omni::ingest
