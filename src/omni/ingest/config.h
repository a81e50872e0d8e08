// What ingestion accepts: the channel and event-type vocabularies, limits, and
// which identity types are pseudonymised. Defaults follow DESIGN.md;
// DATA_DIR/config.json may override them (LoadIngestConfig in config.cc).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/event.h"

namespace omni::ingest {

struct IngestConfig {
  std::vector<std::string> channels = {"web",    "app", "miniprogram", "store",     "social",
                                       "email",  "sms", "kiosk",       "callcenter"};
  std::vector<std::string> event_types = {
      "view",   "search",        "add_to_cart", "purchase", "refund", "click",
      "impression", "open",      "coupon_redeem", "store_visit", "signup", "consent"};
  // Types beyond the list above are accepted when they start with this prefix
  // ("custom:" lets a retailer send "custom:wishlist" without reconfiguring).
  std::string custom_type_prefix = "custom:";
  // A record longer than this is rejected as oversized_record, not parsed.
  size_t max_record_bytes = 64 * 1024;
  // Identity types whose values are replaced by a keyed hash before storage.
  std::vector<IdentityType> hashed_identity_types = {IdentityType::kPhone, IdentityType::kEmail};
  // Region for phone numbers written without a country code (ISO 3166 alpha-2).
  std::string default_phone_region = "CN";
  // 32-byte key for the keyed BLAKE2b hash of PII. Never logged, never stored
  // in the database; see pii.h for how it is created and loaded.
  std::array<unsigned char, 32> pii_key{};

  bool IsChannel(std::string_view c) const;
  bool IsEventType(std::string_view t) const;
  bool IsHashed(IdentityType t) const;
};

}  // namespace omni::ingest
