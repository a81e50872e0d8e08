#include "omni/ingest/event.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include <sodium.h>

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

int64_t EventKey(std::string_view event_id) {
  // SipHash-2-4 under a fixed, public key: the key only has to spread ids
  // evenly, as the store confirms every key hit against the stored text (a
  // collision, found or forged, costs a lookup, never an event). A fifth of
  // the BLAKE2b it replaced (~35 ns against ~250 per id on this machine),
  // which was an eighth of an import's parsing thread.
  static constexpr unsigned char kKey[crypto_shorthash_siphash24_KEYBYTES] = {
      'o', 'm', 'n', 'i', '-', 'e', 'v', 'e', 'n', 't', '-', 'k', 'e', 'y', '-', '2'};
  unsigned char digest[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(digest, reinterpret_cast<const unsigned char*>(event_id.data()), event_id.size(),
                             kKey);
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

int32_t NewString(BatchColumns& c, std::string_view s) {
  c.chars.append(s);
  c.ends.push_back(static_cast<uint32_t>(c.chars.size()));
  return static_cast<int32_t>(c.ends.size() - 1);
}

}  // namespace

void BatchPreparer::Update(Batch& batch) {
  BatchColumns& c = batch.columns;
  size_t i = batch.event_keys.size();
  if (i == 0) {
    // A new batch (or one prepared from the start again).
    c = BatchColumns();
    batch.identities_json.clear();
    batch.identities_json_end.clear();
    last_channel_id_ = last_type_id_ = -1;
  }
  const std::vector<Event>& events = batch.events;
  for (; i < events.size(); ++i) {
    const Event& e = events[i];
    batch.event_keys.push_back(EventKey(e.event_id));
    AppendIdentitiesJson(batch.identities_json, e.identities);
    batch.identities_json_end.push_back(static_cast<uint32_t>(batch.identities_json.size()));

    c.ts_ms.push_back(e.ts_ms);
    c.quantity.push_back(e.quantity.value_or(std::numeric_limits<double>::quiet_NaN()));
    c.price.push_back(e.price.value_or(std::numeric_limits<double>::quiet_NaN()));
    c.tz_offset_min.push_back(static_cast<int16_t>(std::clamp(e.tz_offset_min, -32768, 32767)));
    // Consecutive events often share a channel or a type: one string for the run.
    if (last_channel_id_ < 0 || e.channel != c.String(last_channel_id_)) {
      last_channel_id_ = NewString(c, e.channel);
    }
    c.channel.push_back(last_channel_id_);
    if (last_type_id_ < 0 || e.type != c.String(last_type_id_)) {
      last_type_id_ = NewString(c, e.type);
    }
    c.type.push_back(last_type_id_);
    c.item.push_back(e.item_id.empty() ? -1 : NewString(c, e.item_id));
    c.order.push_back(e.order_id.empty() ? -1 : NewString(c, e.order_id));
    // The snapshot keeps properties only where readers use them: consent.
    c.properties.push_back(e.type == "consent" && !e.properties_json.empty() ? NewString(c, e.properties_json) : -1);
    for (const Identity& id : e.identities) {
      c.identity_type.push_back(static_cast<uint8_t>(id.type));
      c.identity_value.push_back(NewString(c, id.value));
    }
    c.identity_end.push_back(static_cast<uint32_t>(c.identity_type.size()));
  }
}

void Batch::PrepareForStore() {
  event_keys.clear();
  BatchPreparer preparer;
  preparer.Update(*this);
}

}  // namespace omni::ingest
