// Shared by the CLV model files (clv.cc, clv_bgnbd.cc, clv_gamma_gamma.cc);
// not part of the profile module's interface.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/profile/clv.h"

namespace omni::profile::clv_internal {

// Log-parameters are kept in [-kLogParamBound, kLogParamBound]: wide enough
// for any real customer base, narrow enough that lgamma and exp stay finite,
// so the optimiser never sees inf or NaN.
inline constexpr double kLogParamBound = 20.0;

// A minimisation objective over log-parameters: returns the value and, when
// `grad` is non-null, writes d value / d log-parameter into it.
using LogObjective = std::function<double(const double* log_params, double* grad)>;

struct MinimiseResult {
  std::vector<double> log_params;
  double value = 0.0;
  int evaluations = 0;
  bool converged = false;
  double gradient_norm = 0.0;
  std::string outcome;
};

// L-BFGS (NLopt's LD_LBFGS, analytic gradients) from each start; keeps the
// lowest value. The starts are in log-parameters and are clamped to the
// bounds. Starts after the first are screened at a loose tolerance and
// finished only when they beat the best so far (FitOptions::starts), on a
// second thread when FitOptions::threads > 1.
// Objectives may keep scratch space, so each thread gets its own from this;
// it is called from several threads at once.
using ObjectiveFactory = std::function<LogObjective()>;

MinimiseResult MinimiseOverLogParams(const ObjectiveFactory& make_objective,
                                     const std::vector<std::vector<double>>& starts,
                                     const FitOptions& options);

// E[Y(t) | x, T] of a customer known to be alive at T (FHL 2005, eq. 10
// without the P(alive) factor): BgNbdExpectedPurchases is this times
// BgNbdProbabilityAlive. Depends on t_x only through P(alive), which lets CLV
// share it across customers with equal (x, T). Parameters and customer are
// assumed valid.
double BgNbdExpectedPurchasesIfAlive(const BgNbdParams& params, double t, double x, double T);

// BgNbdExpectedPurchasesIfAlive for many (t, T) at one x, the same numbers
// faster: the Gauss series 2F1(a+b-1-r, a-1; a+b+x-1; z) behind it has term
// ratios that depend on x and the parameters only, so they are computed once
// (as far as the largest z needs) and every (t, T) sums with multiplications
// alone. The summation stops, and fails, where Boost's checked pFq series
// does; the rare cases it does not handle itself (a lower parameter <= 0, a
// series longer than kMaxStoredTerms or one whose terms overflow) go to
// Boost.
class IfAliveSeries {
 public:
  IfAliveSeries(const BgNbdParams& params, double x);
  double operator()(double t, double T);

 private:
  static constexpr size_t kMaxStoredTerms = 1 << 16;
  double Hypergeometric(double z);
  double BoostHypergeometric(double z) const;

  BgNbdParams params_;
  double a_;   // params_.a stepped off 1
  double c_;   // a + b + x - 1, the lower parameter
  double u1_;  // a + b - 1 - r, the upper parameters
  double u2_;  // a - 1
  std::vector<double> ratio_;  // term k+1 / term k, without z
};

// All four parameters finite and > 0.
bool ValidParams(const BgNbdParams& params);

// BgNbdProbabilityAlive for many customers of one fit, bit for bit, with
// fewer log calls: those of whole-number times (day summaries) and of
// b + x - 1 come from tables filled on first use. Parameters and customers
// are assumed valid.
class AliveProbability {
 public:
  explicit AliveProbability(const BgNbdParams& params);
  double operator()(double x, double t_x, double T);

 private:
  static constexpr double kTableSize = 1 << 16;  // days: 179 years
  double LogAlphaPlus(double t);                 // log(alpha + t)
  double LogBPlus(double x);                     // log(b + x - 1)

  BgNbdParams params_;
  double log_a_;
  std::vector<double> log_alpha_t_;  // by whole t; NaN: not yet computed
  std::vector<double> log_b_x_;      // by x
};

// Sum of log(v) over many v, with one log call per few hundred values: the
// values are multiplied together and the product's binary exponent is taken
// out whenever it leaves [2^-256, 2^256]. log dominates the likelihoods'
// cost per customer; the product's rounding error (~1e-16 relative per
// factor) is that of summing the logs. Values outside [2^-256, 2^256] (0,
// inf and NaN included) are logged one by one.
class LogSum {
 public:
  void Add(double v) {
    if (v >= kSmall && v <= kLarge) [[likely]] {
      product_ *= v;
      if (product_ > kLarge || product_ < kSmall) [[unlikely]] TakeOutExponent();
    } else {
      sum_ += Log(v);
    }
  }
  // `weight` customers with the same value: v^weight joins the product when
  // the weight is a small whole number (merged rows usually have 2 or 3
  // customers).
  void Add(double v, double weight) {
    if (weight == 1) [[likely]] {
      Add(v);
      return;
    }
    const int whole = static_cast<int>(weight);
    if (whole == weight && whole >= 2 && whole <= 8 && v >= 0x1p-32 && v <= 0x1p32) {
      double power = 1, base = v;  // by squaring: within 2^+-256
      for (int w = whole; w > 0; w >>= 1, base *= base) {
        if (w & 1) power *= base;
      }
      product_ *= power;
      if (product_ > kLarge || product_ < kSmall) [[unlikely]] TakeOutExponent();
      return;
    }
    sum_ += weight * Log(v);
  }
  double Value() const {
    // ln 2 split so that exponent_ * kLn2High is exact (Cody and Waite).
    constexpr double kLn2High = 0x1.62e42feep-1, kLn2Low = 0x1.a39ef35793c76p-33;
    return sum_ + std::log(product_) + exponent_ * kLn2High + exponent_ * kLn2Low;
  }

 private:
  static constexpr double kSmall = 0x1p-256, kLarge = 0x1p256;
  // Out of line and without `this`, so that the hot loop can keep the
  // running sums in registers.
  [[gnu::noinline, gnu::cold]] static double Log(double v) { return std::log(v); }
  // frexp without the call: the product is a normal number here (each
  // factor is within 2^+-256 and so was the product before it).
  void TakeOutExponent() {
    const auto bits = std::bit_cast<uint64_t>(product_);
    constexpr uint64_t kExponentBits = uint64_t{0x7ff} << 52;
    exponent_ += static_cast<double>(static_cast<int>((bits & kExponentBits) >> 52) - 1022);
    product_ = std::bit_cast<double>((bits & ~kExponentBits) | (uint64_t{1022} << 52));  // in [0.5, 1)
  }
  double product_ = 1.0;
  double exponent_ = 0.0;
  double sum_ = 0.0;
};

// InvalidArgument for options no fit can use.
Status ValidateFitOptions(const FitOptions& options);

}  // namespace omni::profile::clv_internal
