// RFM scoring: recency, frequency and monetary value turned into 1–5 scores
// by quintile, and the 5x5x5 grid folded into the named customer groups a
// marketer works with (champions, at risk, ...).
//
// QUINTILE SCORES WITH TIES. A score is the quintile of the customer's rank,
// where tied values share the lowest rank of their block (rank "min"):
//
//   score = 1 + floor(5 * (customers with a strictly worse value) / n)
//
// so equal values always get equal scores, the worst value always scores 1,
// and a value scores 5 only when at least 80% of customers are strictly worse.
// In pandas: `1 + np.floor(5 * (s.rank(method="min") - 1) / len(s))` (for
// recency, rank the negated days: fewer days since the last purchase is
// better). When many customers share a value — most customers of most
// retailers ordered exactly once — the scores skip: frequency 1 scores 1 and
// frequency 2 may score 4, because a second order really does put a customer
// in the top 40%. Splitting ties arbitrarily (pandas' qcut on
// rank(method="first")) would give two identical customers different scores,
// which no marketer can explain.
//
// NAMED GROUPS. Looked up on R and the combined FM score,
// FM = ceil((F + M) / 2), as in the widely used segment map (Putler's RFM
// segments; the same map in R's `rfm` package vignette and many Python
// tutorials), made into a partition so every buyer gets exactly one group:
//
//            FM=1         FM=2                 FM=3                 FM=4             FM=5
//   R=5   new_customers  potential_loyalists  potential_loyalists  champions        champions
//   R=4   promising      potential_loyalists  potential_loyalists  loyal_customers  loyal_customers
//   R=3   about_to_sleep about_to_sleep       need_attention       loyal_customers  loyal_customers
//   R=2   hibernating    hibernating          at_risk              at_risk          cant_lose_them
//   R=1   lost           lost                 at_risk              at_risk          cant_lose_them
//
// Customers without a purchase have no scores and no group.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace omni::profile {

// Score 1..5 per value as described above. `higher_is_better` false ranks
// the values reversed (recency in days). NaN values score 0 (no score) and do
// not count in n.
std::vector<uint8_t> QuintileScores(std::span<const double> values, bool higher_is_better);

enum class RfmGroup : uint8_t {
  kNone = 0,  // no purchase
  kChampions,
  kLoyalCustomers,
  kPotentialLoyalists,
  kNewCustomers,
  kPromising,
  kNeedAttention,
  kAboutToSleep,
  kAtRisk,
  kCantLoseThem,
  kHibernating,
  kLost,
};
inline constexpr int kRfmGroupCount = 12;

// "champions", "loyal_customers", ... ("" for kNone).
std::string_view RfmGroupName(RfmGroup group);
// A sentence for the marketer ("bought recently, buy often and spend the most").
std::string_view RfmGroupDescription(RfmGroup group);

// ceil((f + m) / 2); 0 when either is 0.
int FmScore(int f, int m);
// The table above; kNone when any score is outside 1..5.
RfmGroup RfmGroupOf(int r, int f, int m);

}  // namespace omni::profile
