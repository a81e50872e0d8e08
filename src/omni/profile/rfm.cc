#include "omni/profile/rfm.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace omni::profile {

std::vector<uint8_t> QuintileScores(std::span<const double> values, bool higher_is_better) {
  std::vector<uint8_t> scores(values.size(), 0);
  std::vector<uint32_t> order;
  order.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isnan(values[i])) order.push_back(static_cast<uint32_t>(i));
  }
  // Worst first: then "strictly worse" is the position where a tie block starts.
  if (higher_is_better) {
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return values[a] < values[b]; });
  } else {
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return values[a] > values[b]; });
  }
  const size_t n = order.size();
  size_t block_start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && values[order[i]] != values[order[i - 1]]) block_start = i;
    // Integer arithmetic: floor(5 * worse / n) without rounding surprises.
    scores[order[i]] = static_cast<uint8_t>(1 + (5 * block_start) / n);
  }
  return scores;
}

std::string_view RfmGroupName(RfmGroup group) {
  switch (group) {
    case RfmGroup::kNone: return "";
    case RfmGroup::kChampions: return "champions";
    case RfmGroup::kLoyalCustomers: return "loyal_customers";
    case RfmGroup::kPotentialLoyalists: return "potential_loyalists";
    case RfmGroup::kNewCustomers: return "new_customers";
    case RfmGroup::kPromising: return "promising";
    case RfmGroup::kNeedAttention: return "need_attention";
    case RfmGroup::kAboutToSleep: return "about_to_sleep";
    case RfmGroup::kAtRisk: return "at_risk";
    case RfmGroup::kCantLoseThem: return "cant_lose_them";
    case RfmGroup::kHibernating: return "hibernating";
    case RfmGroup::kLost: return "lost";
  }
  return "";
}

std::string_view RfmGroupDescription(RfmGroup group) {
  switch (group) {
    case RfmGroup::kNone: return "no purchase yet";
    case RfmGroup::kChampions: return "bought recently, buy often and spend the most";
    case RfmGroup::kLoyalCustomers: return "buy regularly and spend well; still fairly recent";
    case RfmGroup::kPotentialLoyalists: return "recent customers with average frequency and spend";
    case RfmGroup::kNewCustomers: return "bought very recently, for the first time or little";
    case RfmGroup::kPromising: return "recent shoppers who have not spent much yet";
    case RfmGroup::kNeedAttention: return "average recency, frequency and spend; slipping";
    case RfmGroup::kAboutToSleep: return "below-average recency and frequency; will be lost without a nudge";
    case RfmGroup::kAtRisk: return "spent a fair amount and bought often, but long ago";
    case RfmGroup::kCantLoseThem: return "were among the best customers and have not come back";
    case RfmGroup::kHibernating: return "last purchase long ago, low frequency and spend";
    case RfmGroup::kLost: return "lowest recency, frequency and spend";
  }
  return "";
}

int FmScore(int f, int m) {
  if (f < 1 || m < 1) return 0;
  return (f + m + 1) / 2;
}

RfmGroup RfmGroupOf(int r, int f, int m) {
  if (r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5) return RfmGroup::kNone;
  using G = RfmGroup;
  // [R - 1][FM - 1]; the table of rfm.h, row R=1 first.
  static constexpr RfmGroup kMap[5][5] = {
      {G::kLost, G::kLost, G::kAtRisk, G::kAtRisk, G::kCantLoseThem},
      {G::kHibernating, G::kHibernating, G::kAtRisk, G::kAtRisk, G::kCantLoseThem},
      {G::kAboutToSleep, G::kAboutToSleep, G::kNeedAttention, G::kLoyalCustomers, G::kLoyalCustomers},
      {G::kPromising, G::kPotentialLoyalists, G::kPotentialLoyalists, G::kLoyalCustomers, G::kLoyalCustomers},
      {G::kNewCustomers, G::kPotentialLoyalists, G::kPotentialLoyalists, G::kChampions, G::kChampions},
  };
  return kMap[r - 1][FmScore(f, m) - 1];
}

}  // namespace omni::profile
