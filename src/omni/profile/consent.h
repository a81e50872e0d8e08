// Consent per channel (PIPL / GDPR): whether marketing may reach a customer
// on a channel. A consent event carries
//   {"type":"consent","properties":{"channel":"sms","granted":true}}
// and the latest one per channel wins (by event time; on equal times the one
// stored later, because it is the later correction). A customer with no
// consent event for a channel has not consented to it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/profile/profile.h"

namespace omni::profile {

struct ConsentChange {
  std::string channel;
  bool granted = false;
};

// Reads a consent event's properties object. nullopt when it is not valid
// JSON, lacks a non-empty string "channel" or a boolean "granted" (such events
// are counted by the profile build, not guessed at).
std::optional<ConsentChange> ParseConsentProperties(std::string_view properties_json);

// Applies one change to a customer's consent list (latest wins, see above).
// Events must be applied in storage order for the tie rule to hold.
void ApplyConsent(std::vector<ConsentState>& consent, std::string_view channel, bool granted, int64_t ts_ms);

}  // namespace omni::profile
