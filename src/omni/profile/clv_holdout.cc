#include "omni/profile/clv_holdout.h"

#include <algorithm>
#include <cmath>

namespace omni::profile {
namespace {

constexpr int64_t kDayMs = 86'400'000;

int64_t DayOf(int64_t ts_ms, int64_t utc_offset_ms) {
  const int64_t local = ts_ms + utc_offset_ms;
  return local / kDayMs - (local % kDayMs < 0 ? 1 : 0);
}

}  // namespace

std::vector<double> HoldoutPurchaseDays(const PurchaseHistory& history, const RfmSummary& calibration,
                                        const RfmOptions& options, int64_t holdout_end_ms) {
  const int64_t first = DayOf(options.calibration_end_ms, options.utc_offset_ms) + 1;
  const int64_t last = DayOf(holdout_end_ms, options.utc_offset_ms);
  std::vector<double> actual(calibration.size(), 0.0);
  std::vector<int64_t> days;
  for (size_t row = 0; row < calibration.size(); ++row) {
    const auto c = static_cast<size_t>(calibration.customer[row]);
    days.clear();
    for (int64_t i = history.offsets[c]; i < history.offsets[c + 1]; ++i) {
      const int64_t d = DayOf(history.ts_ms[static_cast<size_t>(i)], options.utc_offset_ms);
      if (d >= first && d <= last) days.push_back(d);
    }
    std::sort(days.begin(), days.end());
    actual[row] = static_cast<double>(std::unique(days.begin(), days.end()) - days.begin());
  }
  return actual;
}

double HoldoutHorizon(const RfmOptions& options, int64_t holdout_end_ms) {
  const double days = static_cast<double>(DayOf(holdout_end_ms, options.utc_offset_ms) -
                                          DayOf(options.calibration_end_ms, options.utc_offset_ms));
  return options.unit == TimeUnit::kWeek ? days / 7.0 : days;
}

StatusOr<HoldoutReport> EvaluateHoldout(const BgNbdParams& params, const RfmSummary& s,
                                        std::span<const double> actual, double horizon_units, int max_bucket) {
  if (actual.size() != s.size()) {
    return InvalidArgument("holdout: " + std::to_string(actual.size()) + " actual counts for " +
                           std::to_string(s.size()) + " customers");
  }
  if (!(horizon_units > 0)) return InvalidArgument("holdout: the holdout end must be after the calibration end");
  HoldoutReport report;
  report.customers = static_cast<int64_t>(s.size());
  report.horizon_units = horizon_units;
  report.buckets.resize(static_cast<size_t>(max_bucket) + 1);
  for (int b = 0; b <= max_bucket; ++b) {
    report.buckets[static_cast<size_t>(b)].label = std::to_string(b) + (b == max_bucket ? "+" : "");
  }
  double sum_p = 0, sum_a = 0, sum_pp = 0, sum_aa = 0, sum_pa = 0, abs_err = 0, sq_err = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    double predicted = BgNbdExpectedPurchases(params, horizon_units, s.x[i], s.t_x[i], s.T[i]);
    if (std::isnan(predicted)) predicted = 0;  // only for extreme parameters; counted as no prediction
    const double a = actual[i];
    sum_p += predicted;
    sum_a += a;
    sum_pp += predicted * predicted;
    sum_aa += a * a;
    sum_pa += predicted * a;
    abs_err += std::abs(predicted - a);
    sq_err += (predicted - a) * (predicted - a);
    HoldoutBucket& b = report.buckets[static_cast<size_t>(std::min<double>(s.x[i], max_bucket))];
    ++b.customers;
    b.actual_mean += a;
    b.predicted_mean += predicted;
  }
  const double n = static_cast<double>(s.size());
  report.actual_total = sum_a;
  report.predicted_total = sum_p;
  if (n > 0) {
    report.mae = abs_err / n;
    report.rmse = std::sqrt(sq_err / n);
    const double cov = sum_pa / n - (sum_p / n) * (sum_a / n);
    const double var_p = sum_pp / n - (sum_p / n) * (sum_p / n);
    const double var_a = sum_aa / n - (sum_a / n) * (sum_a / n);
    report.correlation = var_p > 0 && var_a > 0 ? cov / std::sqrt(var_p * var_a) : 0;
  }
  for (HoldoutBucket& b : report.buckets) {
    if (b.customers > 0) {
      b.actual_mean /= static_cast<double>(b.customers);
      b.predicted_mean /= static_cast<double>(b.customers);
    }
  }
  return report;
}

}  // namespace omni::profile
