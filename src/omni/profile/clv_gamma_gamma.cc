// Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo &
// Jiang 1999): maximum-likelihood fit and the conditional expected spend.
//
// A customer's x repeat purchases have values ~ Gamma(p, nu), nu ~ Gamma(q, v)
// across customers. Only the mean m of the x values matters; its density
// gives the log-likelihood
//   lgamma(p x + q) - lgamma(p x) - lgamma(q) + q log v + (p x - 1) log m
//     + p x log x - (p x + q) log(x m + v).
// The fit minimises -mean log-likelihood over log(p, q, v) with L-BFGS and
// analytic gradients; lgamma/digamma terms are computed once per distinct x,
// identical (x, m) rows are merged, and the logs of x m + v are summed
// through their product (clv_internal::LogSum).
#include "omni/profile/clv.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <numeric>
#include <vector>

#include <boost/math/special_functions/digamma.hpp>
#include <boost/sort/spreadsort/integer_sort.hpp>
#include <fmt/format.h>

#include "omni/profile/clv_internal.h"

namespace omni::profile {
namespace {

using boost::math::digamma;

struct GammaGammaData {
  struct Group {
    double x = 0;
    double log_x = 0;
    double weight = 0;       // customers with this x
    double sum_w_log_m = 0;  // sum of weight * log m over the group's rows
    size_t begin = 0;        // rows [begin, end)
    size_t end = 0;
  };
  double total_weight = 0;
  double mean_m = 0;
  std::vector<Group> groups;
  std::vector<double> xm;  // x * m of each distinct row
  std::vector<double> weight;
};

// Customers who can inform the model: x >= 1 and positive spend.
bool Fittable(const RfmSummary& s, size_t i) { return s.x[i] >= 1 && s.monetary[i] > 0; }

GammaGammaData Prepare(const RfmSummary& s) {
  struct Row {
    double x, m;
  };
  std::vector<Row> by_m;
  for (size_t i = 0; i < s.size(); ++i) {
    if (Fittable(s, i)) by_m.push_back({s.x[i], s.monetary[i]});
  }
  // Sorted by (x, m) without comparison sorts: by m with a radix sort (a
  // positive double's bits order as its value does), then stably by x with a
  // counting sort.
  boost::sort::spreadsort::integer_sort(
      by_m.begin(), by_m.end(), [](const Row& r, unsigned offset) { return std::bit_cast<uint64_t>(r.m) >> offset; },
      [](const Row& l, const Row& r) { return l.m < r.m; });
  std::vector<Row> rows(by_m.size());
  double max_x = 0;
  for (const Row& r : by_m) max_x = std::max(max_x, r.x);
  if (max_x < 1e6) {
    // x is a whole number: a counting sort by it.
    std::vector<size_t> next(static_cast<size_t>(max_x) + 2, 0);  // where x's next row goes
    for (const Row& r : by_m) ++next[static_cast<size_t>(r.x) + 1];
    for (size_t k = 1; k < next.size(); ++k) next[k] += next[k - 1];
    for (const Row& r : by_m) rows[next[static_cast<size_t>(r.x)]++] = r;
  } else {
    rows = by_m;
    std::stable_sort(rows.begin(), rows.end(), [](const Row& l, const Row& r) { return l.x < r.x; });
  }
  GammaGammaData d;
  const Row* last = nullptr;
  for (const Row& r : rows) {
    d.total_weight += 1;
    d.mean_m += r.m;
    if (last != nullptr && r.x == last->x && r.m == last->m) {
      d.weight.back() += 1;
      d.groups.back().weight += 1;
      d.groups.back().sum_w_log_m += std::log(r.m);
      continue;
    }
    if (d.groups.empty() || d.groups.back().x != r.x) {
      d.groups.push_back({r.x, std::log(r.x), 0, 0, d.weight.size(), d.weight.size()});
    }
    GammaGammaData::Group& g = d.groups.back();
    g.weight += 1;
    g.sum_w_log_m += std::log(r.m);
    g.end += 1;
    d.xm.push_back(r.x * r.m);
    d.weight.push_back(1);
    last = &r;
  }
  d.mean_m /= d.total_weight;
  return d;
}

// -mean log-likelihood + penalty and its gradient in log-parameters.
double Objective(const GammaGammaData& d, double penalizer, const double* log_params,
                 double* grad) {
  const double p = std::exp(log_params[0]), q = std::exp(log_params[1]);
  const double v = std::exp(log_params[2]);
  const double log_v = std::log(v), psi_q = digamma(q);
  double ll = 0, g_p = 0, g_q = 0, g_v = 0;
  for (const GammaGammaData::Group& g : d.groups) {
    const double px = p * g.x;
    clv_internal::LogSum log_xmv;
    double sum_w_inv_xmv = 0;
    for (size_t k = g.begin; k < g.end; ++k) {
      const double xmv = d.xm[k] + v;
      log_xmv.Add(xmv, d.weight[k]);
      sum_w_inv_xmv += d.weight[k] / xmv;
    }
    const double sum_w_log_xmv = log_xmv.Value();
    const double psi_pxq = digamma(px + q);
    ll += g.weight *
              (std::lgamma(px + q) - std::lgamma(px) - std::lgamma(q) + q * log_v + px * g.log_x) +
          (px - 1) * g.sum_w_log_m - (px + q) * sum_w_log_xmv;
    g_p += g.x * (g.weight * (psi_pxq - digamma(px) + g.log_x) + g.sum_w_log_m - sum_w_log_xmv);
    g_q += g.weight * (psi_pxq - psi_q + log_v) - sum_w_log_xmv;
    g_v += g.weight * q / v - (px + q) * sum_w_inv_xmv;
  }
  const double params[3] = {p, q, v};
  const double grads[3] = {g_p, g_q, g_v};
  const double w = d.total_weight;
  double value = -ll / w;
  for (int i = 0; i < 3; ++i) {
    value += penalizer * params[i] * params[i];
    if (grad != nullptr)
      grad[i] = -grads[i] * params[i] / w + 2 * penalizer * params[i] * params[i];
  }
  return value;
}

double Correlation(const RfmSummary& s) {
  double n = 0, sx = 0, sm = 0, sxx = 0, smm = 0, sxm = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!Fittable(s, i)) continue;
    const double x = s.x[i], m = s.monetary[i];
    n += 1;
    sx += x;
    sm += m;
    sxx += x * x;
    smm += m * m;
    sxm += x * m;
  }
  const double vx = sxx - sx * sx / n, vm = smm - sm * sm / n;
  if (!(vx > 0) || !(vm > 0)) return 0.0;
  return std::clamp((sxm - sx * sm / n) / std::sqrt(vx * vm), -1.0, 1.0);
}

}  // namespace

double GammaGammaLogLikelihood(const GammaGammaParams& params, double x, double m) {
  const double p = params.p, q = params.q, v = params.v;
  if (!(p > 0 && q > 0 && v > 0) || !(x >= 1) || !(m > 0)) return std::nan("");
  const double px = p * x;
  return std::lgamma(px + q) - std::lgamma(px) - std::lgamma(q) + q * std::log(v) +
         (px - 1) * std::log(m) + px * std::log(x) - (px + q) * std::log(x * m + v);
}

double GammaGammaExpectedSpend(const GammaGammaParams& params, double x, double m) {
  const double p = params.p, q = params.q, v = params.v;
  if (!(p > 0 && q > 0 && v > 0) || !(x >= 0) || !(m >= 0) || !std::isfinite(x) ||
      !std::isfinite(m)) {
    return std::nan("");
  }
  // The posterior of nu after x purchases is Gamma(p x + q, v + x m), and
  // E[value] = p E[1/nu], finite only for shape p x + q > 1.
  const double shape_minus_1 = p * x + q - 1;
  if (!(shape_minus_1 > 0)) return HUGE_VAL;
  return p * (v + x * m) / shape_minus_1;
}

StatusOr<GammaGammaFit> FitGammaGamma(const RfmSummary& summary, const FitOptions& options) {
  OMNI_RETURN_IF_ERROR(clv_internal::ValidateFitOptions(options));
  OMNI_RETURN_IF_ERROR(ValidateRfmSummary(summary));
  if (summary.monetary.size() != summary.size()) {
    return InvalidArgument("Gamma-Gamma needs monetary for every customer");
  }
  size_t repeat = 0, zero_spend = 0;
  for (size_t i = 0; i < summary.size(); ++i) {
    if (summary.x[i] < 1) continue;
    if (Fittable(summary, i)) {
      ++repeat;
    } else {
      ++zero_spend;
    }
  }
  constexpr size_t kMinCustomers = 3;  // one per parameter
  if (repeat < kMinCustomers) {
    return InvalidArgument(fmt::format(
        "Gamma-Gamma needs at least {} customers with repeat purchases (x >= 1) of positive "
        "value, got {} (and {} whose repeat purchases were all free)",
        kMinCustomers, repeat, zero_spend));
  }
  const GammaGammaData data = Prepare(summary);
  // lifetimes starts at (1, 1, 1); the others start at the customers' mean
  // spend, since v is in money units (cents or yuan would be far from 1).
  const double lm = std::log(data.mean_m);
  std::vector<std::vector<double>> starts;
  const std::vector<std::vector<double>> kBase = {
      {0.0, 0.0, 0.0},
      {0.0, std::log(2.0), lm},
      {std::log(4.0), std::log(4.0), lm + std::log(0.75)},
      {std::log(0.5), std::log(8.0), lm + std::log(14.0)},
  };
  for (int i = 0; i < options.starts; ++i) {
    std::vector<double> s = kBase[i % kBase.size()];
    for (size_t j = 0; j < s.size(); ++j)
      s[j] += 0.37 * (i / kBase.size()) * ((i + j) % 2 ? 1 : -1);
    starts.push_back(std::move(s));
  }
  const clv_internal::MinimiseResult m = clv_internal::MinimiseOverLogParams(
      [&]() -> clv_internal::LogObjective {
        return [&](const double* lp, double* grad) { return Objective(data, options.penalizer_coef, lp, grad); };
      },
      starts, options);

  GammaGammaFit fit;
  fit.params = {std::exp(m.log_params[0]), std::exp(m.log_params[1]), std::exp(m.log_params[2])};
  fit.report.customers = static_cast<int64_t>(repeat);
  fit.report.distinct_rows = static_cast<int64_t>(data.weight.size());
  fit.report.evaluations = m.evaluations;
  fit.report.converged = m.converged;
  fit.report.gradient_norm = m.gradient_norm;
  fit.report.outcome = m.outcome;
  const double at_optimum[3] = {std::log(fit.params.p), std::log(fit.params.q),
                                std::log(fit.params.v)};
  // Unpenalised sum: the objective at the optimum without the penalty.
  fit.report.log_likelihood = -Objective(data, 0.0, at_optimum, nullptr) * data.total_weight;
  fit.frequency_spend_correlation = Correlation(summary);
  fit.zero_spend_customers = static_cast<int64_t>(zero_spend);
  return fit;
}

}  // namespace omni::profile
