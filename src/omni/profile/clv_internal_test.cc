// The shortcuts that make CLV cheap give the numbers the plain computation
// gives: the shared 2F1 series against Boost's series, the log of a running
// product against a sum of logs, and the multi-start optimiser's screening
// against running every start in full.
#include "omni/profile/clv_internal.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <boost/math/special_functions/gamma.hpp>  // before hypergeometric_pFq.hpp (Boost 1.74)
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <gtest/gtest.h>

namespace omni::profile::clv_internal {
namespace {

// E[Y(t) | x, T, alive] (FHL 2005, eq. 10 with Euler's transformation) summed
// by Boost's checked pFq series, as clv_bgnbd.cc did before IfAliveSeries.
double BoostIfAlive(const BgNbdParams& p, double t, double x, double T) {
  double a = p.a;
  if (std::abs(a - 1) < 1e-7) a = a >= 1 ? 1 + 1e-7 : 1 - 1e-7;
  const double c = a + p.b + x - 1;
  const double z = t / (p.alpha + T + t);
  double f;
  try {
    f = boost::math::hypergeometric_pFq({a + p.b - 1 - p.r, a - 1}, {c}, z);
  } catch (const std::exception&) {
    return std::nan("");
  }
  if (!(f > 0)) return std::nan("");
  return c / (a - 1) * -std::expm1((a - 1) * -std::log1p(t / (p.alpha + T)) + std::log(f));
}

TEST(IfAliveSeriesTest, MatchesBoostSeries) {
  const BgNbdParams kParams[] = {
      {0.2426, 4.4135, 0.7929, 2.4258},      // CDNOW, weeks
      {0.8061, 78.32, 0.12, 2.059},          // the demo data, days
      {0.8264, 68.89, 0.003443, 6.749},      // Online Retail, days: a near 0
      {1.5, 20, 3, 5},                       // a > 1
      {0.5, 10, 1 + 1e-9, 2},                // a at the removable singularity
      {0.3, 30, 0.3, 0.4},                   // x = 0 gives c < 0: Boost's crossover
      {0.9, 50, 40, 9000},                   // concentrated dropout: long series
  };
  const double kX[] = {0, 1, 2, 5, 30, 200};
  const double kT[] = {0, 10, 300};
  const double kHorizon[] = {1, 30, 90, 360};
  int compared = 0;
  for (const BgNbdParams& p : kParams) {
    for (double x : kX) {
      IfAliveSeries series(p, x);  // one object for every (t, T): its ratios grow as needed
      for (double T : kT) {
        for (double t : kHorizon) {
          SCOPED_TRACE(testing::Message() << "a=" << p.a << " b=" << p.b << " x=" << x << " T=" << T << " t=" << t);
          const double expected = BoostIfAlive(p, t, x, T);
          const double shared = series(t, T);
          const double alone = BgNbdExpectedPurchasesIfAlive(p, t, x, T);
          EXPECT_EQ(std::isnan(expected), std::isnan(shared));
          if (std::isnan(expected)) continue;
          // The result is K (1 - e^L), K = c / (a - 1): a rounding error
          // in the series' sum comes out multiplied by K e^L = K - result,
          // which is large near a = 1 (K ~ 1e7 after the nudge) and
          // relative to a small result. Both sums are good to ~1e-15.
          double a = p.a;
          if (std::abs(a - 1) < 1e-7) a = a >= 1 ? 1 + 1e-7 : 1 - 1e-7;
          const double K = (a + p.b + x - 1) / (a - 1);
          EXPECT_NEAR(shared, expected, 1e-12 * std::abs(expected) + 1e-13 * std::abs(K - expected));
          EXPECT_EQ(alone, IfAliveSeries(p, x)(t, T));  // same sum, whichever object
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 450);  // nearly all finite
  EXPECT_EQ(IfAliveSeries(kParams[0], 3)(0, 10), 0.0);
}

TEST(LogSumTest, EqualsTheSumOfLogs) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-300, 300);
  LogSum sum;
  double expected = 0, magnitude = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double v = std::pow(10.0, exponent(rng));
    const double weight = i % 5 == 0 ? 1 + i % 13 : i % 7 == 0 ? 2.5 : 1;  // 1..13, and not whole
    sum.Add(v, weight);
    expected += weight * std::log(v);
    magnitude += weight * std::abs(std::log(v));
  }
  EXPECT_NEAR(sum.Value(), expected, 1e-14 * magnitude);
  // Weighted values near 1, as BG/NBD's merged rows give them.
  LogSum weighted;
  double expected_weighted = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double v = 1 + (i % 997) / 997.0, weight = 1 + i % 9;
    weighted.Add(v, weight);
    expected_weighted += weight * std::log(v);
  }
  EXPECT_NEAR(weighted.Value(), expected_weighted, 1e-13 * expected_weighted);

  // Values near 1 (BG/NBD's 1 + e): the product's exponent is taken out
  // every few hundred factors.
  LogSum near_one;
  double expected_near_one = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double v = 1 + (i % 1000) / 1000.0;
    near_one.Add(v);
    expected_near_one += std::log(v);
  }
  EXPECT_NEAR(near_one.Value(), expected_near_one, 1e-13 * expected_near_one);

  LogSum with_zero;
  with_zero.Add(2);
  with_zero.Add(0);
  EXPECT_EQ(with_zero.Value(), -std::numeric_limits<double>::infinity());
  LogSum with_inf;
  with_inf.Add(std::numeric_limits<double>::infinity());
  EXPECT_EQ(with_inf.Value(), std::numeric_limits<double>::infinity());
  LogSum with_nan;
  with_nan.Add(3);
  with_nan.Add(std::nan(""));
  EXPECT_TRUE(std::isnan(with_nan.Value()));
  EXPECT_EQ(LogSum().Value(), 0.0);
}

// f(u) = (u^2 - 1)^2 + 0.3 u: a shallow basin at u = +0.960 and the deeper
// one near u = -1.036.
ObjectiveFactory DoubleWell(int* made = nullptr) {
  return [made]() -> LogObjective {
    if (made != nullptr) ++*made;
    return [](const double* u, double* grad) {
      const double v = u[0];
      if (v > 5) return std::nan("");  // fails where a start is put out of reach
      if (grad != nullptr) grad[0] = 4 * v * (v * v - 1) + 0.3;
      return (v * v - 1) * (v * v - 1) + 0.3 * v;
    };
  };
}

TEST(MinimiseOverLogParamsTest, LaterStartInADeeperBasinWinsAndIsFinished) {
  FitOptions options;
  for (int threads : {1, 2}) {
    options.threads = threads;
    const MinimiseResult r = MinimiseOverLogParams(DoubleWell(), {{0.9}, {-0.9}, {0.5}}, options);
    ASSERT_EQ(r.log_params.size(), 1u);
    EXPECT_NEAR(r.log_params[0], -1.0355787, 1e-6) << threads;
    // Finished to the full tolerance, not left where screening stopped.
    EXPECT_TRUE(r.converged) << r.outcome;
    EXPECT_LT(r.gradient_norm, 1e-8);
  }
}

TEST(MinimiseOverLogParamsTest, FailedFirstStartLeavesTheOthers) {
  FitOptions options;
  const MinimiseResult r = MinimiseOverLogParams(DoubleWell(), {{10}, {0.9}}, options);
  ASSERT_EQ(r.log_params.size(), 1u);
  EXPECT_NEAR(r.log_params[0], 0.9601496, 1e-6);
  EXPECT_TRUE(r.converged) << r.outcome;
}

TEST(MinimiseOverLogParamsTest, ThreadsGiveTheSameResult) {
  FitOptions one, two;
  one.threads = 1;
  two.threads = 2;
  int made = 0;
  const MinimiseResult a = MinimiseOverLogParams(DoubleWell(&made), {{0.9}, {-0.2}, {0.4}}, one);
  EXPECT_EQ(made, 1);
  const MinimiseResult b = MinimiseOverLogParams(DoubleWell(), {{0.9}, {-0.2}, {0.4}}, two);
  EXPECT_EQ(a.log_params, b.log_params);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.evaluations, b.evaluations);
}

}  // namespace
}  // namespace omni::profile::clv_internal
