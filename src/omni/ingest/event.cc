#include "omni/ingest/event.h"

#include <array>

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

}  // namespace omni::ingest
