#include "omni/profile/event_source.h"

#include <algorithm>
#include <string>
#include <thread>

namespace omni::profile {

ColumnAttribution::ColumnAttribution(const store::EventColumns& columns,
                                     const identity::CustomerDirectory& directory,
                                     const std::vector<ingest::IdentityType>& strong_types) {
  identity::IdentityConfig config;
  config.strong = strong_types;
  std::array<uint8_t, ingest::kIdentityTypeCount> rank{}, strong{};
  for (int t = 0; t < ingest::kIdentityTypeCount; ++t) {
    const auto type = static_cast<ingest::IdentityType>(t);
    rank[static_cast<size_t>(t)] = static_cast<uint8_t>(config.Rank(type));
    strong[static_cast<size_t>(t)] = config.IsStrong(type) ? 1 : 0;
  }
  const auto n = static_cast<size_t>(columns.identity_count());
  entries_.resize(n);
  // The directory is immutable once loaded (identity.h), so two threads may
  // look up at once; each hashes its half of the identifiers.
  auto fill = [&](size_t begin, size_t end) {
    ingest::Identity identity;
    for (size_t i = begin; i < end; ++i) {
      const auto id = static_cast<int32_t>(i);
      identity.type = columns.identity_type(id);
      identity.value.assign(columns.identity_value(id));
      const std::optional<int32_t> c = directory.CustomerOf(identity);
      const auto t = static_cast<size_t>(identity.type);
      entries_[i] = Entry{c && *c >= 0 && *c < directory.customer_count() ? *c : -1, rank[t], strong[t]};
    }
  };
  if (n < 100'000) {
    fill(0, n);
    return;
  }
  std::thread other(fill, n / 2, n);
  fill(0, n / 2);
  other.join();
}

}  // namespace omni::profile
