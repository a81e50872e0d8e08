// BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
// maximum-likelihood fit and per-customer predictions.
//
// The fit minimises -mean log-likelihood over log(r, alpha, a, b) with NLopt's
// L-BFGS and analytic gradients. Three things keep it fast and exact on
// millions of customers:
//  - identical (x, t_x, T) rows are merged into one weighted row;
//  - every lgamma/digamma term depends on x alone, so it is computed once per
//    distinct x, not per customer;
//  - log(alpha + t) is needed only for the distinct time values (a day-based
//    summary has a few hundred), so it is tabulated once per evaluation.
// Time is rescaled so that the oldest customer's T is 1, as lifetimes 0.11
// does: alpha then lands near 1 whatever the time unit, and penalizer_coef
// acts on the same numbers as lifetimes'.
#include "omni/profile/clv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include <boost/math/special_functions/digamma.hpp>
// Must precede hypergeometric_pFq.hpp, which uses lgamma without including
// it in Boost 1.74 (undefined references at link time otherwise).
#include <boost/math/special_functions/gamma.hpp>
// Boost 1.74 has no hypergeometric_2F1; the generic pFq series, which tracks
// cancellation and iteration counts, is the closest.
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <fmt/format.h>

#include "omni/profile/clv_internal.h"

namespace omni::profile {
namespace {

using boost::math::digamma;

// Sum the 2F1 series in double, not Boost's default long double: it is ~2x
// faster, and the series here has positive terms or mild cancellation, which
// the checked series would report as an error (then NaN) anyway.
using HypergeometricPolicy =
    boost::math::policies::policy<boost::math::policies::promote_double<false>>;

// Distinct rows, grouped by x. Times are scaled; when few distinct time
// values exist (day or week summaries), rows hold indices into a table of
// them, else the values themselves (log of each per row is then cheaper than
// a table larger than the data, looked up at random).
struct BgNbdData {
  struct Group {
    double x = 0;
    double weight = 0;  // customers with this x
    size_t begin = 0;   // rows [begin, end)
    size_t end = 0;
  };
  double total_weight = 0;
  std::vector<Group> groups;
  std::vector<double> weight;
  std::vector<size_t> source;  // a summary row of each distinct row
  bool tabulated = false;
  std::vector<double> times;  // tabulated: the distinct T and t_x values
  std::vector<uint32_t> T_index;
  std::vector<uint32_t> t_x_index;
  std::vector<double> T_value;  // not tabulated
  std::vector<double> t_x_value;
};

BgNbdData Prepare(const RfmSummary& s, double scale) {
  const size_t n = s.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    if (s.x[i] != s.x[j]) return s.x[i] < s.x[j];
    if (s.T[i] != s.T[j]) return s.T[i] < s.T[j];
    return s.t_x[i] < s.t_x[j];
  });
  BgNbdData d;
  d.total_weight = static_cast<double>(n);
  for (size_t i : order) {
    if (!d.source.empty()) {
      const size_t j = d.source.back();
      if (s.x[i] == s.x[j] && s.T[i] == s.T[j] && s.t_x[i] == s.t_x[j]) {
        d.weight.back() += 1;
        d.groups.back().weight += 1;
        continue;
      }
    }
    const size_t k = d.source.size();
    if (d.groups.empty() || d.groups.back().x != s.x[i]) d.groups.push_back({s.x[i], 0, k, k});
    d.groups.back().weight += 1;
    d.groups.back().end = k + 1;
    d.source.push_back(i);
    d.weight.push_back(1);
  }
  const size_t rows = d.source.size();
  std::vector<double> times;
  times.reserve(2 * rows);
  for (size_t i : d.source) {
    times.push_back(s.T[i]);
    times.push_back(s.t_x[i]);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  d.tabulated = times.size() <= rows / 2 && times.size() <= UINT32_MAX;
  if (d.tabulated) {
    auto index_of = [&](double t) {
      return static_cast<uint32_t>(std::lower_bound(times.begin(), times.end(), t) - times.begin());
    };
    d.T_index.reserve(rows);
    d.t_x_index.reserve(rows);
    for (size_t i : d.source) {
      d.T_index.push_back(index_of(s.T[i]));
      d.t_x_index.push_back(index_of(s.t_x[i]));
    }
    for (double& t : times) t *= scale;
    d.times = std::move(times);
  } else {
    d.T_value.reserve(rows);
    d.t_x_value.reserve(rows);
    for (size_t i : d.source) {
      d.T_value.push_back(s.T[i] * scale);
      d.t_x_value.push_back(s.t_x[i] * scale);
    }
  }
  return d;
}

// -mean log-likelihood + penalty and its gradient in log-parameters.
class BgNbdObjective {
 public:
  BgNbdObjective(const BgNbdData& data, double penalizer)
      : d_(data),
        penalizer_(penalizer),
        log_alpha_t_(data.times.size()),
        inv_alpha_t_(data.times.size()) {}

  double operator()(const double* log_params, double* grad) {
    return d_.tabulated ? Evaluate<true>(log_params, grad) : Evaluate<false>(log_params, grad);
  }

 private:
  template <bool kTabulated>
  double Evaluate(const double* log_params, double* grad) {
    const double r = std::exp(log_params[0]), alpha = std::exp(log_params[1]);
    const double a = std::exp(log_params[2]), b = std::exp(log_params[3]);
    if constexpr (kTabulated) {
      for (size_t k = 0; k < d_.times.size(); ++k) {
        log_alpha_t_[k] = std::log(alpha + d_.times[k]);
        inv_alpha_t_[k] = 1.0 / (alpha + d_.times[k]);
      }
    }
    // log(alpha + T) and 1 / (alpha + T) of row k, and the same for t_x.
    auto at_T = [&](size_t k, double& log_v, double& inv_v) {
      if constexpr (kTabulated) {
        log_v = log_alpha_t_[d_.T_index[k]];
        inv_v = inv_alpha_t_[d_.T_index[k]];
      } else {
        log_v = std::log(alpha + d_.T_value[k]);
        inv_v = 1.0 / (alpha + d_.T_value[k]);
      }
    };
    auto at_t_x = [&](size_t k, double& log_v, double& inv_v) {
      if constexpr (kTabulated) {
        log_v = log_alpha_t_[d_.t_x_index[k]];
        inv_v = inv_alpha_t_[d_.t_x_index[k]];
      } else {
        log_v = std::log(alpha + d_.t_x_value[k]);
        inv_v = 1.0 / (alpha + d_.t_x_value[k]);
      }
    };
    const double w = d_.total_weight;
    // Terms of every customer that do not depend on x (FHL eq. 6: A1, A2).
    double ll = w * (r * std::log(alpha) - std::lgamma(r) + std::lgamma(a + b) - std::lgamma(b));
    const double psi_ab = digamma(a + b);
    double g_r = w * (std::log(alpha) - digamma(r));
    double g_alpha = w * r / alpha;
    double g_a = w * psi_ab;
    double g_b = w * (psi_ab - digamma(b));
    for (const BgNbdData::Group& g : d_.groups) {
      const double x = g.x, rx = r + x;
      ll += g.weight * (std::lgamma(rx) + std::lgamma(b + x) - std::lgamma(a + b + x));
      const double psi_abx = digamma(a + b + x);
      g_r += g.weight * digamma(rx);
      g_a -= g.weight * psi_abx;
      g_b += g.weight * (digamma(b + x) - psi_abx);
      if (x == 0) {
        // Never bought again: only the "still alive at T" term (A3).
        double sum_log = 0, sum_inv = 0;
        for (size_t k = g.begin; k < g.end; ++k) {
          double log_T, inv_T;
          at_T(k, log_T, inv_T);
          sum_log += d_.weight[k] * log_T;
          sum_inv += d_.weight[k] * inv_T;
        }
        ll -= rx * sum_log;
        g_r -= sum_log;
        g_alpha -= rx * sum_inv;
        continue;
      }
      // log(e^A3 + e^A4): alive at T, or dropped out right after t_x.
      const double c4 = std::log(a) - std::log(b + x - 1);
      double sum_term = 0, sum_log = 0, sum_inv = 0;
      double sum_pi = 0;  // sum of weight * P(dropped | row)
      for (size_t k = g.begin; k < g.end; ++k) {
        double log_T, inv_T, log_t, inv_t;
        at_T(k, log_T, inv_T);
        at_t_x(k, log_t, inv_t);
        const double a3 = -rx * log_T;
        const double a4 = c4 - rx * log_t;
        double term, pi;
        if (a3 >= a4) {
          const double e = std::exp(a4 - a3);
          term = a3 + std::log1p(e);
          pi = e / (1 + e);
        } else {
          const double e = std::exp(a3 - a4);
          term = a4 + std::log1p(e);
          pi = 1 / (1 + e);
        }
        const double wk = d_.weight[k];
        sum_term += wk * term;
        sum_log += wk * ((1 - pi) * log_T + pi * log_t);
        sum_inv += wk * ((1 - pi) * inv_T + pi * inv_t);
        sum_pi += wk * pi;
      }
      ll += sum_term;
      g_r -= sum_log;
      g_alpha -= rx * sum_inv;
      g_a += sum_pi / a;
      g_b -= sum_pi / (b + x - 1);
    }
    const double params[4] = {r, alpha, a, b};
    const double grads[4] = {g_r, g_alpha, g_a, g_b};
    double value = -ll / w;
    for (int i = 0; i < 4; ++i) {
      value += penalizer_ * params[i] * params[i];
      // d/d log(p) = p d/dp.
      if (grad != nullptr) {
        grad[i] = -grads[i] * params[i] / w + 2 * penalizer_ * params[i] * params[i];
      }
    }
    return value;
  }

  const BgNbdData& d_;
  double penalizer_;
  std::vector<double> log_alpha_t_;
  std::vector<double> inv_alpha_t_;
};

// Starting points in log(r, alpha, a, b) on the scaled time axis; the first
// is lifetimes' (all ones), the others bracket what retail data gives.
std::vector<std::vector<double>> Starts(int count) {
  static const std::vector<std::vector<double>> kBase = {
      {0.0, 0.0, 0.0, 0.0},
      {-1.5, -2.0, -0.5, 1.0},
      {0.5, -1.0, 1.0, 2.0},
      {-0.5, -3.0, -1.5, -0.5},
  };
  std::vector<std::vector<double>> starts;
  for (int i = 0; i < count; ++i) {
    std::vector<double> s = kBase[i % kBase.size()];
    // Beyond the fixed ones: deterministic shifts, so fits are reproducible.
    for (size_t j = 0; j < s.size(); ++j)
      s[j] += 0.37 * (i / kBase.size()) * ((i + j) % 2 ? 1 : -1);
    starts.push_back(std::move(s));
  }
  return starts;
}

bool ValidParams(const BgNbdParams& p) {
  return p.r > 0 && p.alpha > 0 && p.a > 0 && p.b > 0 && std::isfinite(p.r) &&
         std::isfinite(p.alpha) && std::isfinite(p.a) && std::isfinite(p.b);
}

bool ValidCustomer(double x, double t_x, double T) {
  return x >= 0 && std::isfinite(x) && t_x >= 0 && T >= t_x && std::isfinite(T) &&
         (x > 0) == (t_x > 0);
}

// log P(dropped out at t_x) / P(alive at T) for a customer with x > 0.
double LogDropoutOdds(const BgNbdParams& p, double x, double t_x, double T) {
  return std::log(p.a) - std::log(p.b + x - 1) +
         (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
}

}  // namespace

double BgNbdLogLikelihood(const BgNbdParams& p, double x, double t_x, double T) {
  if (!ValidParams(p) || !ValidCustomer(x, t_x, T)) return std::nan("");
  const double a1 = std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha);
  const double a2 =
      std::lgamma(p.a + p.b) + std::lgamma(p.b + x) - std::lgamma(p.b) - std::lgamma(p.a + p.b + x);
  const double a3 = -(p.r + x) * std::log(p.alpha + T);
  if (x == 0) return a1 + a2 + a3;
  const double a4 = std::log(p.a) - std::log(p.b + x - 1) - (p.r + x) * std::log(p.alpha + t_x);
  const double hi = std::max(a3, a4);
  return a1 + a2 + hi + std::log1p(std::exp(std::min(a3, a4) - hi));
}

double BgNbdExpectedPurchases(const BgNbdParams& p, double t, double x, double t_x, double T) {
  if (!ValidParams(p) || !ValidCustomer(x, t_x, T) || !(t >= 0) || !std::isfinite(t)) {
    return std::nan("");
  }
  if (t == 0) return 0.0;
  const double if_alive = clv_internal::BgNbdExpectedPurchasesIfAlive(p, t, x, T);
  if (x == 0) return if_alive;
  // Divided by 1 + odds = 1 / P(alive); exp overflow to inf correctly gives 0.
  return if_alive / (1 + std::exp(LogDropoutOdds(p, x, t_x, T)));
}

double BgNbdProbabilityAlive(const BgNbdParams& p, double x, double t_x, double T) {
  if (!ValidParams(p) || !ValidCustomer(x, t_x, T)) return std::nan("");
  if (x == 0) return 1.0;
  return 1 / (1 + std::exp(LogDropoutOdds(p, x, t_x, T)));
}

double BgNbdUnconditionalExpectedPurchases(const BgNbdParams& p, double t) {
  if (!ValidParams(p) || !(t >= 0) || !std::isfinite(t)) return std::nan("");
  if (t == 0) return 0.0;
  // E[X(t)] is E[Y(t)] of a customer just acquired: x = 0, T = 0.
  return clv_internal::BgNbdExpectedPurchasesIfAlive(p, t, 0, 0);
}

namespace clv_internal {

// The numerator of FHL eq. 10, written with Euler's transformation
//   2F1(r+x, b+x; c; z) = (1-z)^(c-r-b-2x) 2F1(a+b-1-r, a-1; c; z),
// c = a+b+x-1, so the series stays near 1 for heavy buyers instead of
// overflowing (lifetimes switches to the same identity when it sees inf), and
// 1 - (1-z)^(r+x) 2F1(...) becomes -expm1 of a log for accuracy.
double BgNbdExpectedPurchasesIfAlive(const BgNbdParams& p, double t, double x, double T) {
  if (t == 0) return 0.0;
  double a = p.a;
  // (a+b+x-1)/(a-1) * (1 - ...) is 0/0 at a == 1; the limit is smooth, so
  // step just off it.
  constexpr double kNudge = 1e-7;
  if (std::abs(a - 1) < kNudge) a = a >= 1 ? 1 + kNudge : 1 - kNudge;
  const double c = a + p.b + x - 1;
  const double z = t / (p.alpha + T + t);
  const double log_1mz = -std::log1p(t / (p.alpha + T));
  double f;
  try {
    f = boost::math::hypergeometric_pFq({a + p.b - 1 - p.r, a - 1}, {c}, z,
                                        static_cast<double*>(nullptr), HypergeometricPolicy());
  } catch (const std::exception&) {
    return std::nan("");
  }
  if (!(f > 0)) return std::nan("");
  const double log_tail = (a - 1) * log_1mz + std::log(f);
  return c / (a - 1) * -std::expm1(log_tail);
}

}  // namespace clv_internal

StatusOr<BgNbdFit> FitBgNbdForScoring(const RfmSummary& summary, const FitOptions& options, std::string* note) {
  OMNI_ASSIGN_OR_RETURN(BgNbdFit fit, FitBgNbd(summary, options));
  if (fit.params.a + fit.params.b <= kDegenerateBetaConcentration || options.penalizer_coef > 0) return fit;
  FitOptions penalized = options;
  penalized.penalizer_coef = kDegeneratePenalizer;
  OMNI_ASSIGN_OR_RETURN(BgNbdFit refit, FitBgNbd(summary, penalized));
  if (note) {
    *note = fmt::format(
        "BG/NBD maximum likelihood was degenerate (a={:.3g}, b={:.3g}: no dropout heterogeneity, e.g. a long "
        "silence before the as-of); refitted with penalizer_coef={}",
        fit.params.a, fit.params.b, kDegeneratePenalizer);
  }
  return refit;
}

StatusOr<BgNbdFit> FitBgNbd(const RfmSummary& summary, const FitOptions& options) {
  OMNI_RETURN_IF_ERROR(clv_internal::ValidateFitOptions(options));
  OMNI_RETURN_IF_ERROR(ValidateRfmSummary(summary));
  constexpr size_t kMinCustomers = 4;  // one per parameter
  if (summary.size() < kMinCustomers) {
    return InvalidArgument(
        fmt::format("BG/NBD needs at least {} customers, got {}", kMinCustomers, summary.size()));
  }
  if (std::none_of(summary.x.begin(), summary.x.end(), [](double x) { return x > 0; })) {
    return InvalidArgument("BG/NBD: no customer made a repeat purchase (every x is 0)");
  }
  const double max_T = *std::max_element(summary.T.begin(), summary.T.end());
  const double scale = 1.0 / max_T;  // max_T > 0: some t_x > 0 and T >= t_x
  const BgNbdData data = Prepare(summary, scale);
  BgNbdObjective objective(data, options.penalizer_coef);
  const clv_internal::MinimiseResult m = clv_internal::MinimiseOverLogParams(
      [&](const double* lp, double* grad) { return objective(lp, grad); }, Starts(options.starts),
      options);

  BgNbdFit fit;
  fit.params = {std::exp(m.log_params[0]), std::exp(m.log_params[1]) / scale,
                std::exp(m.log_params[2]), std::exp(m.log_params[3])};
  fit.report.customers = static_cast<int64_t>(summary.size());
  fit.report.distinct_rows = static_cast<int64_t>(data.source.size());
  fit.report.evaluations = m.evaluations;
  fit.report.converged = m.converged;
  fit.report.gradient_norm = m.gradient_norm;
  fit.report.outcome = m.outcome;
  // In the caller's time unit (the scaled fit differs by sum(x) * log(scale)).
  double ll = 0;
  for (size_t k = 0; k < data.source.size(); ++k) {
    const size_t i = data.source[k];
    ll +=
        data.weight[k] * BgNbdLogLikelihood(fit.params, summary.x[i], summary.t_x[i], summary.T[i]);
  }
  fit.report.log_likelihood = ll;
  return fit;
}

}  // namespace omni::profile
