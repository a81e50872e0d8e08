#include "omni/profile/clv_holdout.h"

#include <cmath>

#include <gtest/gtest.h>

namespace omni::profile {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kStart = 1'700'000'000'000 / kDay * kDay;  // a UTC midnight

TEST(ClvHoldoutTest, CountsPurchaseDaysAfterTheCalibrationDay) {
  PurchaseHistory h;
  // Customer 0: days 0, 5 (calibration), 10 twice, 11, 40 (after the holdout).
  for (int64_t d : {0, 5, 10, 10, 11, 40}) h.ts_ms.push_back(kStart + d * kDay + 3600'000);
  h.offsets.push_back(6);
  // Customer 1: day 3 only, nothing later.
  h.ts_ms.push_back(kStart + 3 * kDay);
  h.offsets.push_back(7);
  // Customer 2: first purchase in the holdout: not a calibration customer.
  h.ts_ms.push_back(kStart + 12 * kDay);
  h.offsets.push_back(8);
  h.amount.assign(8, 10.0);
  RfmOptions o;
  o.calibration_end_ms = kStart + 7 * kDay + 5;  // any time on day 7
  o.unit = TimeUnit::kDay;
  auto summary = BuildRfmSummary(h, o);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->size(), 2u);
  const int64_t holdout_end = kStart + 30 * kDay;
  auto actual = HoldoutPurchaseDays(h, *summary, o, holdout_end);
  EXPECT_EQ(actual, (std::vector<double>{2, 0}));  // days 10 and 11
  EXPECT_DOUBLE_EQ(HoldoutHorizon(o, holdout_end), 23);
  o.unit = TimeUnit::kWeek;
  EXPECT_DOUBLE_EQ(HoldoutHorizon(o, holdout_end), 23.0 / 7);
}

TEST(ClvHoldoutTest, BucketsTotalsAndErrors) {
  const BgNbdParams p{0.243, 4.414, 0.793, 2.426};  // CDNOW, weeks
  RfmSummary s;
  s.x = {0, 1, 2, 9};
  s.t_x = {0, 10, 20, 30};
  s.T = {38, 38, 38, 38};
  std::vector<double> actual = {0, 1, 0, 4};
  auto r = EvaluateHoldout(p, s, actual, 39);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->customers, 4);
  EXPECT_DOUBLE_EQ(r->actual_total, 5);
  double predicted = 0, abs_err = 0;
  for (size_t i = 0; i < 4; ++i) {
    const double e = BgNbdExpectedPurchases(p, 39, s.x[i], s.t_x[i], s.T[i]);
    predicted += e;
    abs_err += std::abs(e - actual[i]);
  }
  EXPECT_NEAR(r->predicted_total, predicted, 1e-9);
  EXPECT_NEAR(r->mae, abs_err / 4, 1e-9);
  EXPECT_GT(r->correlation, 0.5);
  ASSERT_EQ(r->buckets.size(), 8u);
  EXPECT_EQ(r->buckets[7].label, "7+");
  EXPECT_EQ(r->buckets[7].customers, 1);  // x = 9
  EXPECT_DOUBLE_EQ(r->buckets[7].actual_mean, 4);
  EXPECT_EQ(r->buckets[3].customers, 0);
  EXPECT_FALSE(EvaluateHoldout(p, s, std::vector<double>{1}, 39).ok());
  EXPECT_FALSE(EvaluateHoldout(p, s, actual, 0).ok());
}

}  // namespace
}  // namespace omni::profile
