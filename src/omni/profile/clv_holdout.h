// The holdout check of a fitted BG/NBD model (Fader, Hardie & Lee 2005,
// section 4 and Figure 4): fit on purchases up to the calibration end, predict
// each customer's purchases in the holdout period (calibration end, holdout
// end], and compare with what they actually bought.
//
// "Purchases" are purchase days, as in the calibration summary
// (BuildRfmSummary collapses a day's purchases into one), so predicted and
// actual count the same thing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/profile/clv.h"

namespace omni::profile {

struct HoldoutBucket {
  std::string label;  // calibration repeat purchases x: "0", "1", ..., "7+"
  int64_t customers = 0;
  double actual_mean = 0;     // mean holdout purchases of these customers
  double predicted_mean = 0;  // mean E[Y(t) | x, t_x, T]
};

struct HoldoutReport {
  int64_t customers = 0;        // rows of the calibration summary
  double horizon_units = 0;     // holdout length in the model's time unit
  double actual_total = 0;
  double predicted_total = 0;
  double mae = 0;               // mean |predicted - actual| per customer
  double rmse = 0;
  double correlation = 0;       // Pearson, per customer (0 when either is constant)
  std::vector<HoldoutBucket> buckets;
};

// For each row of `calibration` (built from `history` with `options`): the
// customer's distinct purchase days after the calibration end day, up to and
// including the day of holdout_end_ms (days at options.utc_offset_ms).
std::vector<double> HoldoutPurchaseDays(const PurchaseHistory& history, const RfmSummary& calibration,
                                        const RfmOptions& options, int64_t holdout_end_ms);

// Holdout length in `options.unit` from the calibration end day to the
// holdout end day (whole days; weeks are days / 7).
double HoldoutHorizon(const RfmOptions& options, int64_t holdout_end_ms);

// Compares predictions with `actual` (one per calibration row). Buckets by x
// from 0 to `max_bucket`, the last one open ("7+"). InvalidArgument when the
// lengths differ or the horizon is not positive.
StatusOr<HoldoutReport> EvaluateHoldout(const BgNbdParams& params, const RfmSummary& calibration,
                                        std::span<const double> actual, double horizon_units, int max_bucket = 7);

}  // namespace omni::profile
