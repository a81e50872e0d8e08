// What the CLV models share: RFM summaries (validation and construction from
// purchases), the NLopt driver, and CLV itself (BG/NBD x Gamma-Gamma).
#include "omni/profile/clv.h"

#include <nlopt.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <fmt/format.h>

#include "omni/profile/clv_internal.h"

namespace omni::profile {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

// Floor division: purchases before 1970 still land on the right day.
int64_t DayOf(int64_t ts_ms, int64_t utc_offset_ms) {
  const int64_t local = ts_ms + utc_offset_ms;
  int64_t day = local / kMsPerDay;
  if (local % kMsPerDay < 0) --day;
  return day;
}

Status RowError(size_t row, std::string what) {
  return InvalidArgument(fmt::format("customer {}: {}", row, what));
}

}  // namespace

StatusOr<TimeUnit> ParseTimeUnit(std::string_view text) {
  if (text == "day") return TimeUnit::kDay;
  if (text == "week") return TimeUnit::kWeek;
  return InvalidArgument(fmt::format("time unit '{}': expected day or week", text));
}

std::string_view TimeUnitName(TimeUnit unit) { return unit == TimeUnit::kDay ? "day" : "week"; }

double UnitsPerMonth(TimeUnit unit) {
  return unit == TimeUnit::kDay ? kDaysPerMonth : kWeeksPerMonth;
}

Status ValidateRfmSummary(const RfmSummary& s) {
  const size_t n = s.x.size();
  if (s.t_x.size() != n || s.T.size() != n) {
    return InvalidArgument(
        fmt::format("RFM summary: x has {} entries, t_x {}, T {}", n, s.t_x.size(), s.T.size()));
  }
  if (!s.monetary.empty() && s.monetary.size() != n) {
    return InvalidArgument(
        fmt::format("RFM summary: monetary has {} entries, x {}", s.monetary.size(), n));
  }
  if (!s.customer.empty() && s.customer.size() != n) {
    return InvalidArgument(
        fmt::format("RFM summary: customer has {} entries, x {}", s.customer.size(), n));
  }
  for (size_t i = 0; i < n; ++i) {
    const double x = s.x[i], t_x = s.t_x[i], T = s.T[i];
    if (!std::isfinite(x) || x < 0 || x != std::floor(x)) {
      return RowError(i, fmt::format("x ({}) must be a whole number >= 0", x));
    }
    if (!std::isfinite(t_x) || t_x < 0) {
      return RowError(i, fmt::format("t_x ({}) must be finite and >= 0", t_x));
    }
    if (!std::isfinite(T) || T < 0) {
      return RowError(i, fmt::format("T ({}) must be finite and >= 0", T));
    }
    if (t_x > T) return RowError(i, fmt::format("t_x ({}) is greater than T ({})", t_x, T));
    // A repeat purchase comes after the first one, so it has a positive time;
    // without one there is no last repeat purchase to time.
    if (x > 0 && t_x == 0) return RowError(i, fmt::format("t_x is 0 but x is {}", x));
    if (x == 0 && t_x != 0) return RowError(i, fmt::format("t_x is {} but x is 0", t_x));
    if (!s.monetary.empty() && (!std::isfinite(s.monetary[i]) || s.monetary[i] < 0)) {
      return RowError(i, fmt::format("monetary ({}) must be finite and >= 0", s.monetary[i]));
    }
  }
  return Status::Ok();
}

StatusOr<RfmSummary> BuildRfmSummary(const PurchaseHistory& h, const RfmOptions& options) {
  if (h.offsets.empty() || h.offsets.front() != 0 ||
      h.offsets.back() != static_cast<int64_t>(h.ts_ms.size())) {
    return InvalidArgument(fmt::format(
        "purchase history: offsets must start at 0 and end at the {} purchases", h.ts_ms.size()));
  }
  if (!h.amount.empty() && h.amount.size() != h.ts_ms.size()) {
    return InvalidArgument(fmt::format("purchase history: {} amounts for {} purchases",
                                       h.amount.size(), h.ts_ms.size()));
  }
  // All offsets first: one out of order would index past the purchases.
  for (size_t c = 0; c + 1 < h.offsets.size(); ++c) {
    if (h.offsets[c + 1] < h.offsets[c]) {
      return InvalidArgument(fmt::format("purchase history: offsets decrease at customer {}", c));
    }
  }
  const bool with_amount = !h.amount.empty();
  const double days_per_unit = options.unit == TimeUnit::kDay ? 1.0 : 7.0;
  const int64_t end_day = DayOf(options.calibration_end_ms, options.utc_offset_ms);

  RfmSummary out;
  std::vector<std::pair<int64_t, double>> days;  // (day, amount), reused
  const size_t customers = h.offsets.size() - 1;
  out.x.reserve(customers);
  out.t_x.reserve(customers);
  out.T.reserve(customers);
  if (with_amount) out.monetary.reserve(customers);
  out.customer.reserve(customers);
  for (size_t c = 0; c < customers; ++c) {
    const int64_t begin = h.offsets[c], end = h.offsets[c + 1];
    // Purchases usually come in time order (the profile builder sorts them):
    // then one pass collapses the days. Otherwise they are sorted first.
    int64_t first_day = 0, last_day = 0, distinct = 0;
    double first_total = 0.0, repeat_total = 0.0;
    bool in_order = true;
    for (int64_t k = begin; k < end; ++k) {
      const double amount = with_amount ? h.amount[k] : 0.0;
      if (!std::isfinite(amount) || amount < 0) {
        return RowError(c,
                        fmt::format("purchase {}: amount ({}) must be finite and >= 0", k, amount));
      }
      const int64_t day = DayOf(h.ts_ms[k], options.utc_offset_ms);
      if (day > end_day) continue;
      if (distinct == 0) {
        first_day = last_day = day;
        distinct = 1;
        first_total = amount;
      } else if (day == last_day) {
        (distinct == 1 ? first_total : repeat_total) += amount;
      } else if (day > last_day) {
        last_day = day;
        ++distinct;
        repeat_total += amount;
      } else {
        in_order = false;
      }
    }
    if (!in_order) {
      days.clear();
      for (int64_t k = begin; k < end; ++k) {
        const int64_t day = DayOf(h.ts_ms[k], options.utc_offset_ms);
        if (day <= end_day) days.emplace_back(day, with_amount ? h.amount[k] : 0.0);
      }
      std::sort(days.begin(), days.end());
      first_day = last_day = days.front().first;
      distinct = 1;
      first_total = repeat_total = 0.0;
      for (const auto& [day, amount] : days) {
        if (day != last_day) {
          last_day = day;
          ++distinct;
        }
        (distinct == 1 ? first_total : repeat_total) += amount;
      }
    }
    if (distinct == 0) continue;
    const double x = static_cast<double>(distinct - 1);
    out.x.push_back(x);
    out.t_x.push_back(static_cast<double>(last_day - first_day) / days_per_unit);
    out.T.push_back(static_cast<double>(end_day - first_day) / days_per_unit);
    // The first day's value is left out, as the Gamma-Gamma model expects.
    if (with_amount) out.monetary.push_back(distinct > 1 ? repeat_total / x : 0.0);
    out.customer.push_back(static_cast<int64_t>(c));
  }
  return out;
}

namespace {

bool ValidClvOptions(const ClvOptions& o) {
  return o.horizon_months >= 0 && o.monthly_discount_rate > -1.0 &&
         std::isfinite(o.monthly_discount_rate) && o.units_per_month > 0.0 &&
         std::isfinite(o.units_per_month);
}

// sum_{i=1..H} (A(i u) - A((i-1) u)) / (1 + d)^i with A(t) = E[Y(t) | x, T,
// alive at T]: the discounted purchases of a customer known to be alive.
// E[Y(t) | x, t_x, T] = A(t) P(alive), and P(alive) does not depend on t, so
// CLV = E[M | x, m] * P(alive | x, t_x, T) * this.
double DiscountedPurchasesIfAlive(clv_internal::IfAliveSeries& if_alive, double T,
                                  const ClvOptions& options) {
  double total = 0.0;
  double before = 0.0;  // A(0) = 0
  double discount = 1.0;
  for (int i = 1; i <= options.horizon_months; ++i) {
    // A(t) is cumulative, so month i's purchases are a difference.
    const double through = if_alive(i * options.units_per_month, T);
    discount *= 1.0 + options.monthly_discount_rate;
    total += (through - before) / discount;
    before = through;
  }
  return total;
}

}  // namespace

double CustomerLifetimeValue(const BgNbdParams& bgnbd, const GammaGammaParams& spend, double x,
                             double t_x, double T, double m, const ClvOptions& options) {
  if (!ValidClvOptions(options)) return std::nan("");
  // NaN for an invalid customer or parameters, which the next line passes on.
  const double alive = BgNbdProbabilityAlive(bgnbd, x, t_x, T);
  const double value_per_purchase = GammaGammaExpectedSpend(spend, x, m);
  if (std::isnan(alive) || std::isnan(value_per_purchase)) return std::nan("");
  clv_internal::IfAliveSeries if_alive(bgnbd, x);
  return value_per_purchase * alive * DiscountedPurchasesIfAlive(if_alive, T, options);
}

Status CustomerLifetimeValues(const BgNbdParams& bgnbd, const GammaGammaParams& spend,
                              const RfmSummary& summary, const ClvOptions& options,
                              std::span<double> out) {
  OMNI_RETURN_IF_ERROR(ValidateRfmSummary(summary));
  if (summary.monetary.size() != summary.size()) {
    return InvalidArgument("RFM summary: CLV needs monetary for every customer");
  }
  if (out.size() != summary.size()) {
    return InvalidArgument(
        fmt::format("CLV output has {} slots for {} customers", out.size(), summary.size()));
  }
  if (!ValidClvOptions(options)) {
    return InvalidArgument(fmt::format(
        "CLV options: horizon {} months must be >= 0, monthly discount rate {} > -1, units "
        "per month {} > 0",
        options.horizon_months, options.monthly_discount_rate, options.units_per_month));
  }
  // The hypergeometric series is the expensive part and depends on (x, T)
  // only; day- or week-based summaries repeat those pairs across thousands of
  // customers, so each pair is computed once, and its term ratios depend on
  // x alone, so they are computed once per x.
  if (!clv_internal::ValidParams(bgnbd)) {  // as CustomerLifetimeValue: NaN for each
    std::fill(out.begin(), out.end(), std::nan(""));
    return Status::Ok();
  }
  clv_internal::AliveProbability probability(bgnbd);
  absl::flat_hash_map<double, std::unique_ptr<clv_internal::IfAliveSeries>> series;
  absl::flat_hash_map<std::pair<double, double>, double> discounted;
  for (size_t i = 0; i < summary.size(); ++i) {
    const double x = summary.x[i], T = summary.T[i];
    auto [it, inserted] = discounted.try_emplace({x, T}, 0.0);
    if (inserted) {
      std::unique_ptr<clv_internal::IfAliveSeries>& s = series[x];
      if (s == nullptr) s = std::make_unique<clv_internal::IfAliveSeries>(bgnbd, x);
      it->second = DiscountedPurchasesIfAlive(*s, T, options);
    }
    out[i] = GammaGammaExpectedSpend(spend, x, summary.monetary[i]) *
             probability(x, summary.t_x[i], T) * it->second;
  }
  return Status::Ok();
}

namespace clv_internal {
namespace {

struct Trampoline {
  const LogObjective* objective;
  int evaluations = 0;
};

double CallObjective(unsigned /*n*/, const double* x, double* grad, void* data) {
  auto* t = static_cast<Trampoline*>(data);
  ++t->evaluations;
  const double value = (*t->objective)(x, grad);
  // L-BFGS cannot recover from NaN; a huge value makes its line search back
  // off instead. The bounds keep this from happening in practice.
  return std::isfinite(value) ? value : HUGE_VAL;
}

// Relative tolerance of the starts after the first (MinimiseOverLogParams).
constexpr double kScreeningTolerance = 1e-4;

bool StoppedOnTolerance(nlopt_result r) {
  // ROUNDOFF_LIMITED: L-BFGS at the optimum can no longer make progress in
  // double precision — the usual way a tight tolerance ends.
  return r == NLOPT_SUCCESS || r == NLOPT_FTOL_REACHED || r == NLOPT_XTOL_REACHED ||
         r == NLOPT_ROUNDOFF_LIMITED;
}

}  // namespace

Status ValidateFitOptions(const FitOptions& o) {
  if (!std::isfinite(o.penalizer_coef) || o.penalizer_coef < 0) {
    return InvalidArgument(fmt::format("penalizer_coef ({}) must be >= 0", o.penalizer_coef));
  }
  if (o.starts < 1) return InvalidArgument(fmt::format("starts ({}) must be >= 1", o.starts));
  if (o.threads < 1) return InvalidArgument(fmt::format("threads ({}) must be >= 1", o.threads));
  if (o.max_evaluations < 1) {
    return InvalidArgument(fmt::format("max_evaluations ({}) must be >= 1", o.max_evaluations));
  }
  if (!(o.relative_tolerance > 0) || !(o.relative_tolerance < 1)) {
    return InvalidArgument(
        fmt::format("relative_tolerance ({}) must be in (0, 1)", o.relative_tolerance));
  }
  return Status::Ok();
}

MinimiseResult MinimiseOverLogParams(const ObjectiveFactory& make_objective,
                                     const std::vector<std::vector<double>>& starts,
                                     const FitOptions& options) {
  OMNI_CHECK(!starts.empty());
  const unsigned n = static_cast<unsigned>(starts.front().size());
  for (const std::vector<double>& start : starts) OMNI_CHECK(start.size() == n);
  struct Run {
    std::vector<double> x;
    double value = HUGE_VAL;
    nlopt_result code = NLOPT_FAILURE;
    int evaluations = 0;
  };
  auto run = [&](const LogObjective& objective, std::vector<double> x, double tolerance) {
    Run r;
    nlopt_opt opt = nlopt_create(NLOPT_LD_LBFGS, n);
    OMNI_CHECK(opt != nullptr);
    Trampoline trampoline{&objective};
    nlopt_set_min_objective(opt, CallObjective, &trampoline);
    nlopt_set_lower_bounds1(opt, -kLogParamBound);
    nlopt_set_upper_bounds1(opt, kLogParamBound);
    nlopt_set_ftol_rel(opt, tolerance);
    nlopt_set_xtol_rel(opt, tolerance);
    nlopt_set_maxeval(opt, options.max_evaluations);
    for (double& v : x) v = std::clamp(v, -kLogParamBound, kLogParamBound);
    r.code = nlopt_optimize(opt, x.data(), &r.value);
    nlopt_destroy(opt);
    r.x = std::move(x);
    r.evaluations = trampoline.evaluations;
    return r;
  };
  // The first start runs to the requested tolerance; the others only far
  // enough to see which basin they reach (the last digits of a start that
  // ends where the first did are wasted work), and one that beats the first
  // is then polished to the full tolerance. The screening needs nothing from
  // the first start, so it runs beside it on a second thread; the outcome is
  // decided afterwards, in start order, as if one thread had done it all.
  const double tolerance = options.relative_tolerance;
  const double screening = std::max(tolerance, kScreeningTolerance);
  const bool screen = screening > tolerance;
  const LogObjective objective = make_objective();
  std::vector<Run> runs(starts.size());
  auto run_others = [&](const LogObjective& f) {
    for (size_t i = 1; i < starts.size(); ++i) runs[i] = run(f, starts[i], screen ? screening : tolerance);
  };
  std::thread others;
  if (options.threads > 1 && starts.size() > 1) {
    try {
      others = std::thread([&] { run_others(make_objective()); });
    } catch (const std::system_error&) {
      // No thread to be had: the same work on this one.
    }
  }
  runs[0] = run(objective, starts[0], tolerance);
  if (others.joinable()) {
    others.join();
  } else {
    run_others(objective);
  }
  MinimiseResult best;
  best.value = HUGE_VAL;
  nlopt_result best_code = NLOPT_FAILURE;
  int evaluations = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    Run& r = runs[i];
    evaluations += r.evaluations;
    if (!std::isfinite(r.value)) continue;
    if (i > 0 && screen) {
      // Lower than the best by more than the best's own tolerance: another
      // basin (or the first start failed).
      const bool better = !std::isfinite(best.value) || r.value < best.value - tolerance * std::abs(best.value);
      if (!better) continue;
      r = run(objective, r.x, tolerance);
      evaluations += r.evaluations;
    }
    if (std::isfinite(r.value) && r.value < best.value) {
      best.value = r.value;
      best.log_params = r.x;
      best_code = r.code;
    }
  }
  best.evaluations = evaluations;
  best.outcome = nlopt_result_to_string(best_code);
  if (best.log_params.empty()) {
    best.log_params = starts.front();
    return best;
  }
  std::vector<double> grad(n, 0.0);
  objective(best.log_params.data(), grad.data());
  for (double g : grad) best.gradient_norm = std::max(best.gradient_norm, std::abs(g));
  best.converged = StoppedOnTolerance(best_code) && best.gradient_norm < 1e-5;
  return best;
}

}  // namespace clv_internal
}  // namespace omni::profile
