#include "omni/profile/clv.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "omni/profile/testdata/cdnow_fixture.h"

namespace omni::profile {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// BG/NBD on the CDNOW sample (2,357 customers, 39-week calibration), as
// published in Fader, Hardie & Lee (2005), "Counting your customers the easy
// way", Marketing Science 24(2), and reproduced by the lifetimes Quickstart
// (https://lifetimes.readthedocs.io/en/latest/Quickstart.html), whose printed
// values are these.
constexpr double kPublishedR = 0.242593;
constexpr double kPublishedAlpha = 4.413532;
constexpr double kPublishedA = 0.792886;
constexpr double kPublishedB = 2.425752;
// FHL (2005): BG/NBD log-likelihood on this sample.
constexpr double kPublishedLogLikelihood = -9582.4;

// Computed by tests/reference/cdnow_reference.py (scipy.optimize.minimize and
// scipy.special.hyp2f1 on the same fixture), copied from its output.
constexpr BgNbdParams kScipyParams = {0.24259290497711014, 4.4135315969541766, 0.79288615242228611,
                                      2.4257537265449809};
constexpr double kScipyLogLikelihood = -9582.4256;
constexpr double kScipyUnconditional39 = 1.195016319;

struct NamedCustomer {
  int id;  // CDNOW sample ID = fixture row + 1
  double x, t_x, T;
  double expected_purchases_39;  // E[Y(39 weeks) | x, t_x, T]
  double probability_alive;
};

// From tests/reference/cdnow_reference.py, evaluated at kScipyParams.
constexpr NamedCustomer kScipyCustomers[] = {
    {1, 2, 30.43, 38.86, 1.225910487, 0.7266091675},
    {2, 1, 1.71, 38.86, 0.2032506662, 0.2122274296},
    {3, 0, 0, 38.86, 0.1947808468, 1},
    {6, 7, 29.43, 38.86, 3.337239482, 0.6418006162},
    {18, 1, 4.86, 38.86, 0.2977642923, 0.310915342},
    {148, 13, 37.86, 38, 8.985072472, 0.945695154},
    {157, 29, 37.71, 38, 20.05366445, 0.9691335882},
    {1516, 26, 30.86, 31, 20.75056952, 0.9689197103},
    {1901, 21, 4.71, 29.29, 4.4990609e-10, 2.489434458e-11},
    {2356, 4, 26.57, 27, 3.488121748, 0.8658504694},
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

TEST(BgNbdTest, FitsCdnowToPublishedParameters) {
  const RfmSummary cdnow = LoadOrDie();
  ASSERT_EQ(cdnow.size(), 2357u);
  StatusOr<BgNbdFit> fit = FitBgNbd(cdnow);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  const BgNbdParams& p = fit->params;
  EXPECT_NEAR(p.r, kPublishedR, 0.005);
  EXPECT_NEAR(p.alpha, kPublishedAlpha, 0.005);
  EXPECT_NEAR(p.a, kPublishedA, 0.005);
  EXPECT_NEAR(p.b, kPublishedB, 0.005);
  EXPECT_NEAR(fit->report.log_likelihood, kPublishedLogLikelihood, 0.05);
  EXPECT_TRUE(fit->report.converged) << fit->report.outcome;
  EXPECT_EQ(fit->report.customers, 2357);
  EXPECT_LT(fit->report.distinct_rows, 2357);  // one-time buyers share rows
}

TEST(BgNbdTest, FitMatchesScipyReference) {
  StatusOr<BgNbdFit> fit = FitBgNbd(LoadOrDie());
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  ExpectRelativeNear(kScipyParams.r, fit->params.r, 1e-5);
  ExpectRelativeNear(kScipyParams.alpha, fit->params.alpha, 1e-5);
  ExpectRelativeNear(kScipyParams.a, fit->params.a, 1e-5);
  ExpectRelativeNear(kScipyParams.b, fit->params.b, 1e-5);
  EXPECT_NEAR(fit->report.log_likelihood, kScipyLogLikelihood, 1e-3);
}

TEST(BgNbdTest, PredictionsMatchScipyReference) {
  for (const NamedCustomer& c : kScipyCustomers) {
    SCOPED_TRACE(c.id);
    ExpectRelativeNear(c.expected_purchases_39,
                       BgNbdExpectedPurchases(kScipyParams, 39, c.x, c.t_x, c.T), 1e-4);
    ExpectRelativeNear(c.probability_alive, BgNbdProbabilityAlive(kScipyParams, c.x, c.t_x, c.T),
                       1e-4);
  }
  ExpectRelativeNear(kScipyUnconditional39, BgNbdUnconditionalExpectedPurchases(kScipyParams, 39),
                     1e-4);
}

TEST(BgNbdTest, MatchesFaderHardiePublishedConditionalExpectation) {
  // Fader & Hardie, "Implementing the BG/NBD model for customer base analysis
  // in Excel" (2005 note): the CDNOW customer with x = 2, t_x = 30.43,
  // T = 38.86 is expected to make 1.226 purchases in the next 39 weeks
  // (confirmed by tests/reference/cdnow_reference.py: 1.225910).
  EXPECT_NEAR(BgNbdExpectedPurchases(kScipyParams, 39, 2, 30.43, 38.86), 1.226, 5e-4);
}

TEST(BgNbdTest, FittedModelPredictsLikeTheReference) {
  StatusOr<BgNbdFit> fit = FitBgNbd(LoadOrDie());
  ASSERT_TRUE(fit.ok());
  for (const NamedCustomer& c : kScipyCustomers) {
    SCOPED_TRACE(c.id);
    ExpectRelativeNear(c.expected_purchases_39,
                       BgNbdExpectedPurchases(fit->params, 39, c.x, c.t_x, c.T), 1e-4);
  }
}

TEST(BgNbdTest, DuplicatedCustomersGiveTheSameParameters) {
  const RfmSummary cdnow = LoadOrDie();
  RfmSummary twice = cdnow;
  for (size_t i = 0; i < cdnow.size(); ++i) {
    twice.x.push_back(cdnow.x[i]);
    twice.t_x.push_back(cdnow.t_x[i]);
    twice.T.push_back(cdnow.T[i]);
  }
  twice.monetary.clear();
  StatusOr<BgNbdFit> once_fit = FitBgNbd(cdnow);
  StatusOr<BgNbdFit> twice_fit = FitBgNbd(twice);
  ASSERT_TRUE(once_fit.ok() && twice_fit.ok());
  ExpectRelativeNear(once_fit->params.r, twice_fit->params.r, 1e-6);
  ExpectRelativeNear(once_fit->params.b, twice_fit->params.b, 1e-6);
  ExpectRelativeNear(2 * once_fit->report.log_likelihood, twice_fit->report.log_likelihood, 1e-9);
  EXPECT_EQ(once_fit->report.distinct_rows, twice_fit->report.distinct_rows);
}

TEST(BgNbdTest, DaysInsteadOfWeeksScaleOnlyAlpha) {
  RfmSummary days = LoadOrDie();
  for (size_t i = 0; i < days.size(); ++i) {
    days.t_x[i] *= 7;
    days.T[i] *= 7;
  }
  StatusOr<BgNbdFit> fit = FitBgNbd(days);
  ASSERT_TRUE(fit.ok());
  ExpectRelativeNear(kScipyParams.r, fit->params.r, 1e-5);
  ExpectRelativeNear(7 * kScipyParams.alpha, fit->params.alpha, 1e-5);
  ExpectRelativeNear(kScipyParams.a, fit->params.a, 1e-5);
  ExpectRelativeNear(kScipyParams.b, fit->params.b, 1e-5);
  // Same forecast for customer 1 over the same 39 weeks.
  EXPECT_NEAR(BgNbdExpectedPurchases(fit->params, 39 * 7, 2, 30.43 * 7, 38.86 * 7), 1.22591, 1e-4);
}

TEST(BgNbdTest, PenalizerShrinksParameters) {
  const RfmSummary cdnow = LoadOrDie();
  FitOptions options;
  options.penalizer_coef = 0.01;
  StatusOr<BgNbdFit> plain = FitBgNbd(cdnow);
  StatusOr<BgNbdFit> penalised = FitBgNbd(cdnow, options);
  ASSERT_TRUE(plain.ok() && penalised.ok());
  EXPECT_TRUE(penalised->report.converged);
  EXPECT_LT(penalised->params.b, plain->params.b);
  // The penalty costs likelihood.
  EXPECT_LT(penalised->report.log_likelihood, plain->report.log_likelihood);
}

TEST(BgNbdTest, PredictionEdgeCases) {
  const BgNbdParams& p = kScipyParams;
  EXPECT_EQ(BgNbdExpectedPurchases(p, 0, 3, 10, 20), 0.0);
  EXPECT_EQ(BgNbdProbabilityAlive(p, 0, 0, 20), 1.0);
  EXPECT_EQ(BgNbdUnconditionalExpectedPurchases(p, 0), 0.0);
  // Cumulative: grows with the horizon.
  EXPECT_LT(BgNbdExpectedPurchases(p, 10, 3, 10, 20), BgNbdExpectedPurchases(p, 20, 3, 10, 20));
  // A very heavy, very recent buyer: large but finite (the direct 2F1 series
  // overflows here; the Euler-transformed one does not).
  const double heavy = BgNbdExpectedPurchases(p, 520, 2000, 100, 100);
  EXPECT_TRUE(std::isfinite(heavy));
  EXPECT_GT(heavy, 1000);
  // A heavy buyer long gone: ~0, not NaN.
  const double gone = BgNbdExpectedPurchases(p, 52, 500, 1, 100);
  EXPECT_GE(gone, 0.0);
  EXPECT_LT(gone, 1e-12);
  // a == 1 is a removable singularity of FHL eq. 10: continuous across it.
  BgNbdParams at_one = p, below = p, above = p;
  at_one.a = 1;
  below.a = 1 - 1e-4;
  above.a = 1 + 1e-4;
  const double mid = BgNbdExpectedPurchases(at_one, 39, 2, 30, 39);
  EXPECT_TRUE(std::isfinite(mid));
  EXPECT_NEAR(mid, BgNbdExpectedPurchases(below, 39, 2, 30, 39), 1e-4);
  EXPECT_NEAR(mid, BgNbdExpectedPurchases(above, 39, 2, 30, 39), 1e-4);
  EXPECT_NEAR(BgNbdUnconditionalExpectedPurchases(at_one, 39),
              BgNbdUnconditionalExpectedPurchases(above, 39), 1e-4);
  // Invalid customers and parameters: NaN, not a crash.
  EXPECT_TRUE(std::isnan(BgNbdExpectedPurchases(p, 39, 2, 40, 39)));
  EXPECT_TRUE(std::isnan(BgNbdProbabilityAlive(p, -1, 0, 39)));
  EXPECT_TRUE(std::isnan(BgNbdExpectedPurchases(BgNbdParams{}, 39, 2, 30, 39)));
}

TEST(BgNbdTest, LogLikelihoodMatchesFitReport) {
  const RfmSummary cdnow = LoadOrDie();
  double sum = 0;
  for (size_t i = 0; i < cdnow.size(); ++i) {
    sum += BgNbdLogLikelihood(kScipyParams, cdnow.x[i], cdnow.t_x[i], cdnow.T[i]);
  }
  EXPECT_NEAR(sum, kScipyLogLikelihood, 1e-3);
}

// The fit merges identical customers after sorting them, so neither the
// customers' order nor the thread count changes a bit of the result.
TEST(BgNbdTest, FitIgnoresCustomerOrderAndThreads) {
  const RfmSummary cdnow = LoadOrDie();
  RfmSummary reversed;
  for (size_t i = cdnow.size(); i-- > 0;) {
    reversed.x.push_back(cdnow.x[i]);
    reversed.t_x.push_back(cdnow.t_x[i]);
    reversed.T.push_back(cdnow.T[i]);
  }
  FitOptions one_thread;
  one_thread.threads = 1;
  StatusOr<BgNbdFit> a = FitBgNbd(cdnow);
  StatusOr<BgNbdFit> b = FitBgNbd(reversed);
  StatusOr<BgNbdFit> c = FitBgNbd(cdnow, one_thread);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (const BgNbdFit* other : {&*b, &*c}) {
    EXPECT_EQ(a->params.r, other->params.r);
    EXPECT_EQ(a->params.alpha, other->params.alpha);
    EXPECT_EQ(a->params.a, other->params.a);
    EXPECT_EQ(a->params.b, other->params.b);
    EXPECT_EQ(a->report.evaluations, other->report.evaluations);
  }
}

// The reported log-likelihood comes from the merged, rescaled objective; it
// must be the plain sum over customers at the fitted parameters, whether the
// times were few (tabulated: CDNOW's days) or all different.
TEST(BgNbdTest, ReportedLogLikelihoodIsTheSumOverCustomers) {
  RfmSummary continuous = LoadOrDie();
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> jitter(0.0, 0.01);
  for (size_t i = 0; i < continuous.size(); ++i) {
    continuous.T[i] += jitter(rng);
    if (continuous.x[i] > 0) continuous.t_x[i] += jitter(rng) * (continuous.T[i] - continuous.t_x[i]);
  }
  const RfmSummary days = LoadOrDie();
  for (const RfmSummary* s : {&days, static_cast<const RfmSummary*>(&continuous)}) {
    StatusOr<BgNbdFit> fit = FitBgNbd(*s);
    ASSERT_TRUE(fit.ok()) << fit.status().ToString();
    double sum = 0;
    for (size_t i = 0; i < s->size(); ++i) sum += BgNbdLogLikelihood(fit->params, s->x[i], s->t_x[i], s->T[i]);
    EXPECT_NEAR(fit->report.log_likelihood, sum, 1e-9 * std::abs(sum));
    EXPECT_TRUE(fit->report.converged) << fit->report.outcome;
  }
}

// 20,000 customers drawn from BG/NBD itself (r, alpha, a, b as the demo
// data's), observed for 30 to 365 whole days: times repeat, so the fit takes
// its tabulated paths (a table of (alpha + t)^rx in the large groups).
RfmSummary SimulatedDays(double jitter) {
  std::mt19937_64 rng(3);
  const double r = 0.8, alpha = 80, a = 0.12, b = 2.0;
  std::gamma_distribution<double> lambda_of(r, 1 / alpha);
  std::gamma_distribution<double> beta_a(a, 1), beta_b(b, 1);
  std::uniform_int_distribution<int> age(30, 365);
  std::uniform_real_distribution<double> unit(0, 1);
  RfmSummary s;
  for (int i = 0; i < 20'000; ++i) {
    const double lambda = lambda_of(rng);
    const double ga = beta_a(rng), gb = beta_b(rng);
    const double p = ga / (ga + gb);
    const double T = age(rng);
    double t = 0, last = 0;
    int x = 0;
    while (true) {
      t += -std::log(1 - unit(rng)) / lambda;
      if (t > T) break;
      ++x;
      last = t;
      if (unit(rng) < p) break;
    }
    const double t_x = x == 0 ? 0 : std::clamp(std::ceil(last), 1.0, T);
    s.x.push_back(x);
    s.t_x.push_back(t_x);
    // jitter > 0 makes every time distinct: the untabulated path.
    s.T.push_back(T + jitter * i);
  }
  return s;
}

TEST(BgNbdTest, TabulatedAndPerRowObjectivesAgree) {
  StatusOr<BgNbdFit> days = FitBgNbd(SimulatedDays(0));
  StatusOr<BgNbdFit> distinct = FitBgNbd(SimulatedDays(1e-9));
  ASSERT_TRUE(days.ok() && distinct.ok());
  EXPECT_TRUE(days->report.converged) << days->report.outcome;
  EXPECT_TRUE(distinct->report.converged) << distinct->report.outcome;
  EXPECT_LT(days->report.distinct_rows, 15'000);
  // Moving every T by at most 2e-5 days moves the optimum by about as much.
  ExpectRelativeNear(distinct->params.r, days->params.r, 1e-6);
  ExpectRelativeNear(distinct->params.alpha, days->params.alpha, 1e-6);
  ExpectRelativeNear(distinct->params.a, days->params.a, 1e-5);
  ExpectRelativeNear(distinct->params.b, days->params.b, 1e-5);
  ExpectRelativeNear(distinct->report.log_likelihood, days->report.log_likelihood, 1e-8);
  // And the fit finds what the data were drawn from.
  EXPECT_NEAR(days->params.r, 0.8, 0.1);
  EXPECT_NEAR(days->params.alpha, 80, 12);
  EXPECT_NEAR(days->params.a, 0.12, 0.05);
  EXPECT_NEAR(days->params.b, 2.0, 0.8);
}

TEST(BgNbdTest, PredictionsForAllCustomersMatchOneByOne) {
  RfmSummary cdnow = LoadOrDie();
  // Whole-day times (the table path) and fractional weeks (the log path).
  RfmSummary days = cdnow;
  for (size_t i = 0; i < days.size(); ++i) {
    days.t_x[i] = std::round(days.t_x[i] * 7);
    days.T[i] = std::round(days.T[i] * 7);
  }
  BgNbdParams in_days = kScipyParams;
  in_days.alpha *= 7;
  for (const auto& [s, p, t] : {std::tuple(&cdnow, kScipyParams, 39.0), std::tuple(&days, in_days, 90.0)}) {
    std::vector<double> alive(s->size()), expected(s->size());
    ASSERT_TRUE(BgNbdPredictions(p, t, *s, alive, expected).ok());
    for (size_t i = 0; i < s->size(); ++i) {
      EXPECT_EQ(alive[i], BgNbdProbabilityAlive(p, s->x[i], s->t_x[i], s->T[i])) << i;
      ExpectRelativeNear(BgNbdExpectedPurchases(p, t, s->x[i], s->t_x[i], s->T[i]), expected[i], 1e-14);
    }
  }
  std::vector<double> alive(cdnow.size()), expected(cdnow.size()), short_out(3);
  EXPECT_EQ(BgNbdPredictions(kScipyParams, 39, cdnow, alive, short_out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BgNbdPredictions(BgNbdParams{}, 39, cdnow, alive, expected).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BgNbdPredictions(kScipyParams, -1, cdnow, alive, expected).code(), StatusCode::kInvalidArgument);
  cdnow.t_x[5] = cdnow.T[5] + 1;
  EXPECT_EQ(BgNbdPredictions(kScipyParams, 39, cdnow, alive, expected).code(), StatusCode::kInvalidArgument);
}

RfmSummary Small() {
  RfmSummary s;
  s.x = {0, 1, 2, 3, 0};
  s.t_x = {0, 5, 10, 20, 0};
  s.T = {30, 30, 30, 30, 10};
  return s;
}

TEST(BgNbdTest, RejectsBadInputNamingCustomerAndField) {
  ASSERT_TRUE(FitBgNbd(Small()).ok());
  struct Case {
    void (*mutate)(RfmSummary&);
    const char* field;
  };
  const Case cases[] = {
      {[](RfmSummary& s) { s.x[2] = -1; }, "x"},
      {[](RfmSummary& s) { s.x[2] = 1.5; }, "x"},
      {[](RfmSummary& s) { s.t_x[2] = 31; }, "t_x"},
      {[](RfmSummary& s) { s.t_x[2] = 0; }, "t_x"},
      {[](RfmSummary& s) { s.t_x[2] = -1; }, "t_x"},
      {[](RfmSummary& s) { s.T[2] = std::numeric_limits<double>::quiet_NaN(); }, "T"},
      {[](RfmSummary& s) { s.x[2] = std::numeric_limits<double>::quiet_NaN(); }, "x"},
      {[](RfmSummary& s) { s.x[2] = std::numeric_limits<double>::infinity(); }, "x"},
      {[](RfmSummary& s) { s.x[2] = 0; }, "t_x"},
      {[](RfmSummary& s) { s.T[2] = std::numeric_limits<double>::infinity(); }, "T"},
  };
  // Huge counts are whole numbers too (every double from 2^52 up is).
  RfmSummary huge = Small();
  huge.x[2] = 1e300;
  EXPECT_TRUE(ValidateRfmSummary(huge).ok());
  huge.x[2] = 0x1p52 + 2;
  EXPECT_TRUE(ValidateRfmSummary(huge).ok());
  huge.x[2] = 0x1p51 + 0.5;
  EXPECT_FALSE(ValidateRfmSummary(huge).ok());
  for (const Case& c : cases) {
    RfmSummary s = Small();
    c.mutate(s);
    StatusOr<BgNbdFit> fit = FitBgNbd(s);
    ASSERT_FALSE(fit.ok());
    EXPECT_EQ(fit.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(fit.status().message(), AllOf(HasSubstr("customer 2"), HasSubstr(c.field)));
  }
}

TEST(BgNbdTest, RejectsUnusableData) {
  RfmSummary mismatched = Small();
  mismatched.T.pop_back();
  EXPECT_EQ(FitBgNbd(mismatched).status().code(), StatusCode::kInvalidArgument);

  RfmSummary few = Small();
  few.x.resize(3);
  few.t_x.resize(3);
  few.T.resize(3);
  EXPECT_EQ(FitBgNbd(few).status().code(), StatusCode::kInvalidArgument);

  RfmSummary no_repeats;
  no_repeats.x = {0, 0, 0, 0, 0};
  no_repeats.t_x = {0, 0, 0, 0, 0};
  no_repeats.T = {1, 2, 3, 4, 5};
  EXPECT_EQ(FitBgNbd(no_repeats).status().code(), StatusCode::kInvalidArgument);

  FitOptions bad;
  bad.penalizer_coef = -1;
  EXPECT_EQ(FitBgNbd(Small(), bad).status().code(), StatusCode::kInvalidArgument);
  bad = FitOptions{};
  bad.starts = 0;
  EXPECT_EQ(FitBgNbd(Small(), bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace omni::profile

namespace omni::profile {
namespace {

// Everyone bought in a burst long ago and nobody since: the dropout Beta
// collapses (a, b -> infinity) and scoring each customer would sum a 2F1
// series of millions of terms. The scoring fit notices and regularises.
TEST(BgNbdTest, DegenerateFitIsRegularisedForScoring) {
  RfmSummary s;
  for (int i = 0; i < 200; ++i) {
    const double x = 1 + i % 4;
    s.x.push_back(x);
    s.t_x.push_back(10 + (i % 7) * 5);
    s.T.push_back(400 + i % 3);
    s.monetary.push_back(20);
  }
  StatusOr<BgNbdFit> raw = FitBgNbd(s);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  std::string note;
  StatusOr<BgNbdFit> scoring = FitBgNbdForScoring(s, FitOptions{}, &note);
  ASSERT_TRUE(scoring.ok());
  ASSERT_GT(raw->params.a + raw->params.b, kDegenerateBetaConcentration) << "the fixture no longer degenerates";
  EXPECT_LE(scoring->params.a + scoring->params.b, kDegenerateBetaConcentration);
  EXPECT_NE(note.find("degenerate"), std::string::npos);
  const double e = BgNbdExpectedPurchases(scoring->params, 30, s.x[0], s.t_x[0], s.T[0]);
  EXPECT_TRUE(std::isfinite(e));
  EXPECT_GT(e, 0.0);
}

TEST(BgNbdTest, WellBehavedFitIsScoredAsFitted) {
  StatusOr<RfmSummary> loaded = testing::LoadCdnowSummary();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const RfmSummary& cdnow = *loaded;
  StatusOr<BgNbdFit> raw = FitBgNbd(cdnow);
  std::string note;
  StatusOr<BgNbdFit> scoring = FitBgNbdForScoring(cdnow, FitOptions{}, &note);
  ASSERT_TRUE(raw.ok() && scoring.ok());
  EXPECT_EQ(scoring->params.a, raw->params.a);
  EXPECT_EQ(scoring->params.b, raw->params.b);
  EXPECT_TRUE(note.empty());
}

}  // namespace
}  // namespace omni::profile
