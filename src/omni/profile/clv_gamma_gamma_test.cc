#include "omni/profile/clv.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "omni/profile/testdata/cdnow_fixture.h"

namespace omni::profile {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Gamma-Gamma on the 946 CDNOW sample customers with repeat purchases, as
// published in Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
// curves for customer base analysis", JMR 42(4) (p = 6.25, q = 3.74,
// gamma = 15.44), and printed by the lifetimes Quickstart
// (https://lifetimes.readthedocs.io/en/latest/Quickstart.html) as these.
constexpr double kPublishedP = 6.248802;
constexpr double kPublishedQ = 3.744588;
constexpr double kPublishedV = 15.447748;
// lifetimes Quickstart: summary[['monetary_value', 'frequency']].corr().
constexpr double kPublishedCorrelation = 0.113884;
// lifetimes Quickstart: conditional_expected_average_profit for customers 1-3.
constexpr double kPublishedSpend[] = {24.658619, 18.911489, 35.171002};

// Computed by tests/reference/cdnow_reference.py (scipy.optimize.minimize on
// the same fixture), copied from its output.
constexpr GammaGammaParams kScipyParams = {6.2488028161738853, 3.7445885173021281,
                                           15.447747093081041};
constexpr double kScipyLogLikelihood = -4055.9232;

struct NamedCustomer {
  int id;  // CDNOW sample ID = fixture row + 1
  double x, m;
  double expected_spend;
};
constexpr NamedCustomer kScipyCustomers[] = {
    {1, 2, 22.35, 24.65861593},    {2, 1, 11.77, 18.91147937},     {3, 0, 0, 35.17100102},
    {6, 7, 73.74, 71.4628508},     {18, 1, 9.99, 17.67469687},     {148, 13, 29.34, 29.5305678},
    {157, 29, 26.26, 26.39294764}, {1516, 26, 39.97, 39.89027721}, {1901, 21, 299.63, 294.2121145},
    {2356, 4, 33.32, 33.50313889},
};

RfmSummary LoadOrDie() {
  StatusOr<RfmSummary> s = testing::LoadCdnowSummary();
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : RfmSummary{};
}

void ExpectRelativeNear(double expected, double actual, double tolerance) {
  EXPECT_LE(std::abs(actual - expected), tolerance * std::abs(expected))
      << "expected " << expected << ", got " << actual;
}

TEST(GammaGammaTest, FitsCdnowToPublishedParameters) {
  const RfmSummary cdnow = LoadOrDie();
  StatusOr<GammaGammaFit> fit = FitGammaGamma(cdnow);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_NEAR(fit->params.p, kPublishedP, 0.005);
  EXPECT_NEAR(fit->params.q, kPublishedQ, 0.005);
  EXPECT_NEAR(fit->params.v, kPublishedV, 0.005);
  EXPECT_EQ(fit->report.customers, 946);
  EXPECT_TRUE(fit->report.converged) << fit->report.outcome;
  EXPECT_NEAR(fit->frequency_spend_correlation, kPublishedCorrelation, 1e-6);
}

TEST(GammaGammaTest, FitMatchesScipyReference) {
  StatusOr<GammaGammaFit> fit = FitGammaGamma(LoadOrDie());
  ASSERT_TRUE(fit.ok());
  ExpectRelativeNear(kScipyParams.p, fit->params.p, 1e-5);
  ExpectRelativeNear(kScipyParams.q, fit->params.q, 1e-5);
  ExpectRelativeNear(kScipyParams.v, fit->params.v, 1e-5);
  EXPECT_NEAR(fit->report.log_likelihood, kScipyLogLikelihood, 1e-3);
}

TEST(GammaGammaTest, ExpectedSpendMatchesPublishedAndReference) {
  for (int i = 0; i < 3; ++i) {
    const NamedCustomer& c = kScipyCustomers[i];
    ExpectRelativeNear(kPublishedSpend[i], GammaGammaExpectedSpend(kScipyParams, c.x, c.m), 1e-5);
  }
  for (const NamedCustomer& c : kScipyCustomers) {
    SCOPED_TRACE(c.id);
    ExpectRelativeNear(c.expected_spend, GammaGammaExpectedSpend(kScipyParams, c.x, c.m), 1e-6);
  }
}

TEST(GammaGammaTest, ExpectedSpendLimits) {
  const GammaGammaParams& p = kScipyParams;
  // No repeat purchases: the population mean p v / (q - 1).
  EXPECT_DOUBLE_EQ(GammaGammaExpectedSpend(p, 0, 0), p.p * p.v / (p.q - 1));
  // Many purchases: the customer's own mean dominates.
  EXPECT_NEAR(GammaGammaExpectedSpend(p, 1e6, 42.0), 42.0, 1e-3);
  // No finite mean.
  EXPECT_TRUE(std::isinf(GammaGammaExpectedSpend({1.0, 0.5, 10.0}, 0, 0)));
  EXPECT_TRUE(std::isnan(GammaGammaExpectedSpend(p, -1, 10)));
}

TEST(GammaGammaTest, LogLikelihoodSumsToFitReport) {
  const RfmSummary cdnow = LoadOrDie();
  double sum = 0;
  for (size_t i = 0; i < cdnow.size(); ++i) {
    if (cdnow.x[i] >= 1)
      sum += GammaGammaLogLikelihood(kScipyParams, cdnow.x[i], cdnow.monetary[i]);
  }
  EXPECT_NEAR(sum, kScipyLogLikelihood, 1e-3);
}

TEST(GammaGammaTest, LeavesOutAndCountsFreeRepeatPurchases) {
  RfmSummary cdnow = LoadOrDie();
  StatusOr<GammaGammaFit> plain = FitGammaGamma(cdnow);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->zero_spend_customers, 0);
  // Customer 1 (x = 2) only got free items after the first purchase.
  cdnow.monetary[0] = 0;
  StatusOr<GammaGammaFit> fit = FitGammaGamma(cdnow);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_EQ(fit->zero_spend_customers, 1);
  EXPECT_EQ(fit->report.customers, 945);
  EXPECT_NEAR(fit->params.p, plain->params.p, 0.1);
}

TEST(GammaGammaTest, RejectsUnusableData) {
  RfmSummary s;
  s.x = {1, 2, 3, 0};
  s.t_x = {1, 2, 3, 0};
  s.T = {5, 5, 5, 5};
  s.monetary = {10, 20, 30, 0};
  ASSERT_TRUE(FitGammaGamma(s).ok());

  RfmSummary no_money = s;
  no_money.monetary.clear();
  EXPECT_EQ(FitGammaGamma(no_money).status().code(), StatusCode::kInvalidArgument);

  RfmSummary negative = s;
  negative.monetary[2] = -5;
  StatusOr<GammaGammaFit> fit = FitGammaGamma(negative);
  EXPECT_EQ(fit.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fit.status().message(), AllOf(HasSubstr("customer 2"), HasSubstr("monetary")));

  RfmSummary two_repeaters = s;
  two_repeaters.x[2] = 0;
  two_repeaters.t_x[2] = 0;
  EXPECT_EQ(FitGammaGamma(two_repeaters).status().code(), StatusCode::kInvalidArgument);

  // Free repeat purchases cannot be fitted; with them left out too few remain.
  RfmSummary free_purchase = s;
  free_purchase.monetary[1] = 0;
  EXPECT_EQ(FitGammaGamma(free_purchase).status().code(), StatusCode::kInvalidArgument);

  RfmSummary nobody_returned;
  nobody_returned.x = {0, 0, 0, 0};
  nobody_returned.t_x = {0, 0, 0, 0};
  nobody_returned.T = {5, 5, 5, 5};
  nobody_returned.monetary = {0, 0, 0, 0};
  EXPECT_EQ(FitGammaGamma(nobody_returned).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace omni::profile
