// BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
// maximum-likelihood fit and per-customer predictions.
//
// The fit minimises -mean log-likelihood over log(r, alpha, a, b) with NLopt's
// L-BFGS and analytic gradients. Four things keep it fast and exact on
// millions of customers:
//  - identical (x, t_x, T) rows are merged into one weighted row (found by
//    radix-sorting one integer per customer when times are few);
//  - every lgamma/digamma term depends on x alone, so it is computed once per
//    distinct x, not per customer;
//  - log(alpha + t) is needed only for the distinct time values (a day-based
//    summary has a few hundred), so it is tabulated once per evaluation;
//  - what is left per row is at most one exp: the log of the
//    alive-or-dropped sum goes through clv_internal::LogSum, and in groups
//    with more rows than distinct times the exp comes from a per-evaluation
//    table of (alpha + t)^rx.
// Predictions share the 2F1 series' term ratios across customers with the
// same x (clv_internal::IfAliveSeries).
// Time is rescaled so that the oldest customer's T is 1, as lifetimes 0.11
// does: alpha then lands near 1 whatever the time unit, and penalizer_coef
// acts on the same numbers as lifetimes'.
#include "omni/profile/clv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/sort/spreadsort/integer_sort.hpp>
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
  std::vector<double> weight;  // customers in each distinct row
  bool tabulated = false;
  std::vector<double> times;  // tabulated: the distinct T and t_x values
  std::vector<uint32_t> T_index;
  std::vector<uint32_t> t_x_index;
  std::vector<double> T_value;  // not tabulated
  std::vector<double> t_x_value;
};

// Appends a distinct row of `count` customers; rows come grouped by x.
void AddRow(BgNbdData& d, double x, double count) {
  const size_t k = d.weight.size();
  if (d.groups.empty() || d.groups.back().x != x) d.groups.push_back({x, 0, k, k});
  d.groups.back().weight += count;
  d.groups.back().end = k + 1;
  d.weight.push_back(count);
}

// Numbers distinct values in increasing order: rank[id] for the ids
// handed out in order of first appearance.
class Numbering {
 public:
  uint32_t Id(double v) {
    // Whole numbers (counts, and times of day summaries) index an array:
    // cheaper than hashing, three times per customer.
    if (v >= 0 && v < kDirect && v == static_cast<double>(static_cast<uint32_t>(v))) {
      const auto k = static_cast<uint32_t>(v);
      if (k >= direct_.size()) direct_.resize(k + 1, kNone);
      if (direct_[k] == kNone) {
        direct_[k] = static_cast<uint32_t>(values_.size());
        values_.push_back(v);
      }
      return direct_[k];
    }
    auto [it, inserted] = id_.try_emplace(v, static_cast<uint32_t>(values_.size()));
    if (inserted) values_.push_back(v);
    return it->second;
  }
  size_t size() const { return values_.size(); }
  // The values in increasing order, and each id's position among them.
  void Rank(std::vector<double>& sorted, std::vector<uint32_t>& rank) const {
    std::vector<uint32_t> order(values_.size());
    std::iota(order.begin(), order.end(), uint32_t{0});
    std::sort(order.begin(), order.end(), [&](uint32_t l, uint32_t r) { return values_[l] < values_[r]; });
    sorted.resize(order.size());
    rank.resize(order.size());
    for (uint32_t k = 0; k < order.size(); ++k) {
      sorted[k] = values_[order[k]];
      rank[order[k]] = k;
    }
  }

 private:
  static constexpr uint32_t kDirect = 1 << 16;
  static constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> direct_;
  absl::flat_hash_map<double, uint32_t> id_;
  std::vector<double> values_;
};

// Day- or week-based summaries have a few hundred distinct times and x
// values: each customer becomes one integer (x, T, t_x ranks), sorted by
// radix, so merging identical rows costs a fraction of sorting the rows by
// value. False (d untouched) when a rank would not fit in its 21 bits.
bool PrepareByRank(const RfmSummary& s, double scale, BgNbdData& d) {
  constexpr int kBits = 21;
  constexpr uint64_t kLimit = uint64_t{1} << kBits;
  const size_t n = s.size();
  Numbering xs, times;
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = xs.Id(s.x[i]), T = times.Id(s.T[i]), t_x = times.Id(s.t_x[i]);
    if (xs.size() > kLimit || times.size() > kLimit) return false;
    keys[i] = x << (2 * kBits) | T << kBits | t_x;
  }
  std::vector<double> x_value, time_value;
  std::vector<uint32_t> x_rank, time_rank;
  xs.Rank(x_value, x_rank);
  times.Rank(time_value, time_rank);
  for (uint64_t& key : keys) {
    const uint64_t x = key >> (2 * kBits), T = (key >> kBits) & (kLimit - 1), t_x = key & (kLimit - 1);
    key = uint64_t{x_rank[x]} << (2 * kBits) | uint64_t{time_rank[T]} << kBits | time_rank[t_x];
  }
  boost::sort::spreadsort::integer_sort(keys.begin(), keys.end());
  std::vector<uint32_t> T_index, t_x_index;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && keys[j] == keys[i]) ++j;
    AddRow(d, x_value[keys[i] >> (2 * kBits)], static_cast<double>(j - i));
    T_index.push_back(static_cast<uint32_t>((keys[i] >> kBits) & (kLimit - 1)));
    t_x_index.push_back(static_cast<uint32_t>(keys[i] & (kLimit - 1)));
    i = j;
  }
  // A table larger than half the rows costs more than it saves.
  d.tabulated = time_value.size() <= d.weight.size() / 2;
  if (d.tabulated) {
    for (double& t : time_value) t *= scale;
    d.times = std::move(time_value);
    d.T_index = std::move(T_index);
    d.t_x_index = std::move(t_x_index);
  } else {
    d.T_value.reserve(T_index.size());
    d.t_x_value.reserve(t_x_index.size());
    for (size_t k = 0; k < T_index.size(); ++k) {
      d.T_value.push_back(time_value[T_index[k]] * scale);
      d.t_x_value.push_back(time_value[t_x_index[k]] * scale);
    }
  }
  return true;
}

// Any summary: rows sorted by value (grouped by x), times kept per row.
void PrepareByValue(const RfmSummary& s, double scale, BgNbdData& d) {
  struct Row {
    double x, T, t_x;
  };
  std::vector<Row> rows(s.size());
  for (size_t i = 0; i < s.size(); ++i) rows[i] = {s.x[i], s.T[i], s.t_x[i]};
  std::sort(rows.begin(), rows.end(), [](const Row& l, const Row& r) {
    if (l.x != r.x) return l.x < r.x;
    if (l.T != r.T) return l.T < r.T;
    return l.t_x < r.t_x;
  });
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;
    while (j < rows.size() && rows[j].x == rows[i].x && rows[j].T == rows[i].T && rows[j].t_x == rows[i].t_x) ++j;
    AddRow(d, rows[i].x, static_cast<double>(j - i));
    d.T_value.push_back(rows[i].T * scale);
    d.t_x_value.push_back(rows[i].t_x * scale);
    i = j;
  }
  d.tabulated = false;
}

// Distinct rows, grouped by increasing x; the same rows in the same order
// whichever way they were found, so fits do not depend on the customers'
// order.
BgNbdData Prepare(const RfmSummary& s, double scale) {
  BgNbdData d;
  d.total_weight = static_cast<double>(s.size());
  if (!PrepareByRank(s, scale, d)) PrepareByValue(s, scale, d);
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
      double sum_max = 0, sum_log = 0, sum_inv = 0;
      double sum_pi = 0;  // sum of weight * P(dropped | row)
      clv_internal::LogSum sum_log_1pe;
      if constexpr (kTabulated) {
        if (PowersFit(rx, c4, g.end - g.begin)) {
          // e^(A4 - A3) = a / (b + x - 1) * (alpha + T)^rx / (alpha + t_x)^rx
          // from a table of (alpha + t)^+-rx: no exp per row. The log-sum
          // is A3 + log(1 + e^(A4 - A3)) whichever is larger.
          const double ratio_c = std::exp(c4);
          double sum_log_T = 0;
          for (size_t k = g.begin; k < g.end; ++k) {
            const uint32_t iT = d_.T_index[k], it = d_.t_x_index[k];
            const double log_T = log_alpha_t_[iT], log_t = log_alpha_t_[it];
            const double ratio = power_[iT] * inverse_power_[it] * ratio_c;
            const double one_plus = 1 + ratio;
            const double pi = ratio / one_plus;  // P(dropped | row)
            const double wk = d_.weight[k];
            sum_log_T += wk * log_T;
            sum_log_1pe.Add(one_plus, wk);
            sum_log += wk * (log_T + pi * (log_t - log_T));
            sum_inv += wk * (inv_alpha_t_[iT] + pi * (inv_alpha_t_[it] - inv_alpha_t_[iT]));
            sum_pi += wk * pi;
          }
          sum_max = -rx * sum_log_T;
        }
      }
      if (!kTabulated || powers_for_ != rx) {
        for (size_t k = g.begin; k < g.end; ++k) {
          double log_T, inv_T, log_t, inv_t;
          at_T(k, log_T, inv_T);
          at_t_x(k, log_t, inv_t);
          const double a3 = -rx * log_T;
          const double a4 = c4 - rx * log_t;
          // log(e^a3 + e^a4) = max + log(1 + e), e = e^-|a3 - a4| in (0, 1].
          // log(1 + e) rather than log1p(e): its error (< 2.3e-16 absolute,
          // from rounding 1 + e) is below an ulp of the term, and LogSum
          // takes it without a log call per row. Branch-free: which side
          // wins is a coin toss per row.
          const double e = std::exp(-std::abs(a3 - a4));
          const double one_plus_e = 1 + e;
          const double share = 1 / one_plus_e;
          const double pi = a3 >= a4 ? e * share : share;  // P(dropped | row)
          const double wk = d_.weight[k];
          sum_max += wk * std::max(a3, a4);
          sum_log_1pe.Add(one_plus_e, wk);
          sum_log += wk * (log_T + pi * (log_t - log_T));
          sum_inv += wk * (inv_T + pi * (inv_t - inv_T));
          sum_pi += wk * pi;
        }
      }
      ll += sum_max + sum_log_1pe.Value();
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

  // Fills power_ and inverse_power_ with (alpha + t)^+-rx for every
  // tabulated time when a group of `rows` rows has more rows than there are
  // times (else an exp per row is cheaper) and every product of the ratio
  // stays finite and non-zero (e^+-700). Marks the table as rx's.
  bool PowersFit(double rx, double c4, size_t rows) {
    powers_for_ = std::nan("");
    if (rows < d_.times.size() || d_.times.empty()) return false;
    constexpr double kExponentLimit = 700;
    // log_alpha_t_ increases with t: the table is sorted by time.
    const double low = rx * log_alpha_t_.front(), high = rx * log_alpha_t_.back();
    if (!(std::max(std::abs(low), std::abs(high)) < kExponentLimit) ||
        !(high - low + std::abs(c4) < kExponentLimit)) {
      return false;
    }
    power_.resize(d_.times.size());
    inverse_power_.resize(d_.times.size());
    for (size_t k = 0; k < d_.times.size(); ++k) {
      power_[k] = std::exp(rx * log_alpha_t_[k]);
      inverse_power_[k] = 1 / power_[k];
    }
    powers_for_ = rx;
    return true;
  }

  const BgNbdData& d_;
  double penalizer_;
  std::vector<double> power_, inverse_power_;
  double powers_for_ = std::nan("");  // the rx they were computed for
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

using clv_internal::ValidParams;

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

Status BgNbdPredictions(const BgNbdParams& p, double t, const RfmSummary& summary, std::span<double> alive,
                        std::span<double> expected) {
  OMNI_RETURN_IF_ERROR(ValidateRfmSummary(summary));
  if (!ValidParams(p)) {
    return InvalidArgument(
        fmt::format("BG/NBD parameters r={}, alpha={}, a={}, b={} must be finite and > 0", p.r, p.alpha, p.a, p.b));
  }
  if (!(t >= 0) || !std::isfinite(t)) return InvalidArgument(fmt::format("prediction horizon {} must be >= 0", t));
  if (alive.size() != summary.size() || expected.size() != summary.size()) {
    return InvalidArgument(fmt::format("BG/NBD predictions: {} and {} slots for {} customers", alive.size(),
                                       expected.size(), summary.size()));
  }
  clv_internal::AliveProbability probability(p);
  absl::flat_hash_map<double, std::unique_ptr<clv_internal::IfAliveSeries>> series;
  absl::flat_hash_map<std::pair<double, double>, double> if_alive;
  for (size_t i = 0; i < summary.size(); ++i) {
    const double x = summary.x[i], T = summary.T[i];
    alive[i] = probability(x, summary.t_x[i], T);
    auto [it, inserted] = if_alive.try_emplace({x, T}, 0.0);
    if (inserted) {
      std::unique_ptr<clv_internal::IfAliveSeries>& s = series[x];
      if (s == nullptr) s = std::make_unique<clv_internal::IfAliveSeries>(p, x);
      it->second = (*s)(t, T);
    }
    expected[i] = it->second * alive[i];
  }
  return Status::Ok();
}

namespace clv_internal {

bool ValidParams(const BgNbdParams& p) {
  return p.r > 0 && p.alpha > 0 && p.a > 0 && p.b > 0 && std::isfinite(p.r) &&
         std::isfinite(p.alpha) && std::isfinite(p.a) && std::isfinite(p.b);
}

// The numerator of FHL eq. 10, written with Euler's transformation
//   2F1(r+x, b+x; c; z) = (1-z)^(c-r-b-2x) 2F1(a+b-1-r, a-1; c; z),
// c = a+b+x-1, so the series stays near 1 for heavy buyers instead of
// overflowing (lifetimes switches to the same identity when it sees inf), and
// 1 - (1-z)^(r+x) 2F1(...) becomes -expm1 of a log for accuracy.
double BgNbdExpectedPurchasesIfAlive(const BgNbdParams& p, double t, double x, double T) {
  if (t == 0) return 0.0;
  return IfAliveSeries(p, x)(t, T);
}

AliveProbability::AliveProbability(const BgNbdParams& p) : params_(p), log_a_(std::log(p.a)) {}

double AliveProbability::LogAlphaPlus(double t) {
  if (!(t >= 0 && t < kTableSize && t == std::floor(t))) return std::log(params_.alpha + t);
  const auto k = static_cast<size_t>(t);
  if (k >= log_alpha_t_.size()) log_alpha_t_.resize(k + 1, std::nan(""));
  if (std::isnan(log_alpha_t_[k])) log_alpha_t_[k] = std::log(params_.alpha + t);
  return log_alpha_t_[k];
}

double AliveProbability::LogBPlus(double x) {
  if (!(x >= 0 && x < kTableSize)) return std::log(params_.b + x - 1);
  const auto k = static_cast<size_t>(x);  // x is whole
  if (k >= log_b_x_.size()) log_b_x_.resize(k + 1, std::nan(""));
  if (std::isnan(log_b_x_[k])) log_b_x_[k] = std::log(params_.b + x - 1);
  return log_b_x_[k];
}

// LogDropoutOdds and BgNbdProbabilityAlive, term for term.
double AliveProbability::operator()(double x, double t_x, double T) {
  if (x == 0) return 1.0;
  const double odds = log_a_ - LogBPlus(x) + (params_.r + x) * (LogAlphaPlus(T) - LogAlphaPlus(t_x));
  return 1 / (1 + std::exp(odds));
}

IfAliveSeries::IfAliveSeries(const BgNbdParams& p, double x) : params_(p), a_(p.a) {
  // (a+b+x-1)/(a-1) * (1 - ...) is 0/0 at a == 1; the limit is smooth, so
  // step just off it.
  constexpr double kNudge = 1e-7;
  if (std::abs(a_ - 1) < kNudge) a_ = a_ >= 1 ? 1 + kNudge : 1 - kNudge;
  c_ = a_ + p.b + x - 1;
  u1_ = a_ + p.b - 1 - p.r;
  u2_ = a_ - 1;
}

double IfAliveSeries::operator()(double t, double T) {
  if (t == 0) return 0.0;
  const double z = t / (params_.alpha + T + t);
  const double log_1mz = -std::log1p(t / (params_.alpha + T));
  const double f = Hypergeometric(z);
  if (!(f > 0)) return std::nan("");
  const double log_tail = (a_ - 1) * log_1mz + std::log(f);
  return c_ / (a_ - 1) * -std::expm1(log_tail);
}

double IfAliveSeries::BoostHypergeometric(double z) const {
  try {
    return boost::math::hypergeometric_pFq({u1_, u2_}, {c_}, z, static_cast<double*>(nullptr),
                                           HypergeometricPolicy());
  } catch (const std::exception&) {
    return std::nan("");
  }
}

// Boost's hypergeometric_pFq_checked_series_impl, for c > 0 and 0 <= z < 1:
// the same stopping rule (a term below eps of the sum, and smaller than the
// one before) and the same failure (cancellation has left no correct bit).
double IfAliveSeries::Hypergeometric(double z) {
  constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
  // Boost rescales sums beyond sqrt(DBL_MAX); such series are left to it.
  constexpr double kLargest = 1e150;
  if (!(c_ > 0) || !(z >= 0 && z < 1)) return BoostHypergeometric(z);
  double result = 1, abs_result = 1, term = 1, previous = 0;
  for (size_t k = 0;; ++k) {
    if (k == ratio_.size()) {
      if (k == kMaxStoredTerms) return BoostHypergeometric(z);
      const double n = static_cast<double>(k);
      ratio_.push_back((u1_ + n) * (u2_ + n) / ((c_ + n) * (n + 1)));
    }
    term *= ratio_[k] * z;
    if (term == 0) return result;  // an upper parameter was a whole number <= 0
    result += term;
    abs_result += std::abs(term);
    if (!(abs_result < kLargest)) return BoostHypergeometric(z);  // NaN included
    if (std::abs(result * kEpsilon) > std::abs(term) && std::abs(previous) > std::abs(term)) return result;
    if (abs_result * kEpsilon > std::abs(result)) return std::nan("");
    previous = term;
  }
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
  const clv_internal::MinimiseResult m = clv_internal::MinimiseOverLogParams(
      [&]() -> clv_internal::LogObjective {
        auto objective = std::make_shared<BgNbdObjective>(data, options.penalizer_coef);
        return [objective](const double* lp, double* grad) { return (*objective)(lp, grad); };
      },
      Starts(options.starts), options);

  BgNbdFit fit;
  fit.params = {std::exp(m.log_params[0]), std::exp(m.log_params[1]) / scale,
                std::exp(m.log_params[2]), std::exp(m.log_params[3])};
  fit.report.customers = static_cast<int64_t>(summary.size());
  fit.report.distinct_rows = static_cast<int64_t>(data.weight.size());
  fit.report.evaluations = m.evaluations;
  fit.report.converged = m.converged;
  fit.report.gradient_norm = m.gradient_norm;
  fit.report.outcome = m.outcome;
  // In the caller's time unit: with alpha and the times scaled together,
  // alpha^r / (alpha + T)^(r + x) picks up scale^-x, so the scaled fit's sum
  // is the caller's minus sum(x) * log(scale).
  double sum_x = 0;
  for (const BgNbdData::Group& g : data.groups) sum_x += g.weight * g.x;
  BgNbdObjective unpenalized(data, 0.0);
  const double ll = -unpenalized(m.log_params.data(), nullptr) * data.total_weight + sum_x * std::log(scale);
  fit.report.log_likelihood = ll;
  return fit;
}

}  // namespace omni::profile
