#include "omni/profile/consent.h"

#include <simdjson.h>

namespace omni::profile {

std::optional<ConsentChange> ParseConsentProperties(std::string_view properties_json) {
  if (properties_json.empty()) return std::nullopt;
  // One parser per thread, reused: a parser allocates its buffers on first use.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(properties_json.data(), properties_json.size()).get(doc)) return std::nullopt;
  std::string_view channel;
  bool granted = false;
  if (doc["channel"].get(channel) || channel.empty()) return std::nullopt;
  if (doc["granted"].get(granted)) return std::nullopt;
  return ConsentChange{std::string(channel), granted};
}

void ApplyConsent(std::vector<ConsentState>& consent, std::string_view channel, bool granted, int64_t ts_ms) {
  for (ConsentState& c : consent) {
    if (c.channel != channel) continue;
    if (ts_ms >= c.ts_ms) {  // equal: the later-stored event is the correction
      c.granted = granted;
      c.ts_ms = ts_ms;
    }
    return;
  }
  consent.push_back(ConsentState{std::string(channel), granted, ts_ms});
}

}  // namespace omni::profile
