#include "omni/ingest/event.h"

#include <array>

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
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(event_id.data()),
                     event_id.size(), nullptr, 0);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | digest[i];  // little-endian on every host
  return static_cast<int64_t>(v);
}

void AppendIdentitiesJson(std::string& out, const std::vector<Identity>& identities) {
  out.push_back('{');
  for (size_t i = 0; i < identities.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    out.append(IdentityTypeName(identities[i].type));
    out += "\":";
    AppendJsonString(out, identities[i].value);
  }
  out.push_back('}');
}

void Batch::PrepareForStore() {
  event_keys.resize(events.size());
  identities_json.clear();
  identities_json_end.resize(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    event_keys[i] = EventKey(events[i].event_id);
    AppendIdentitiesJson(identities_json, events[i].identities);
    identities_json_end[i] = static_cast<uint32_t>(identities_json.size());
  }
}

}  // namespace omni::ingest
