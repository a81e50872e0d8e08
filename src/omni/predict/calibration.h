// Probability calibration: maps a model's raw score to a probability that
// matches observed rates. Class weights (scale_pos_weight, balanced class
// weights) and tree leaves make raw scores rank well but read badly as
// probabilities; a calibrator fitted on the validation rows repairs that.
//   none      the raw score
//   platt     sigmoid(a * logit(p) + b), fitted by Newton's method on log loss
//   isotonic  a non-decreasing step function fitted by pool-adjacent-violators
//             (PAV): flat over each block's scores, linear between blocks,
//             as sklearn's IsotonicRegression; clipped to [1e-4, 1 - 1e-4]
// ChooseCalibration picks among the three by 5-fold cross-validated log loss
// on the validation rows (isotonic always wins in-sample, so the choice must
// be out-of-fold), then refits the winner on all validation rows.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "omni/common/status.h"

namespace omni::predict {

class Calibrator {
 public:
  enum class Method { kNone, kPlatt, kIsotonic };

  static Calibrator Fit(Method method, std::span<const float> labels, std::span<const double> scores);
  // Restores a fitted calibrator (from a saved training manifest).
  static StatusOr<Calibrator> FromParts(const std::string& method, double a, double b, std::vector<double> x,
                                        std::vector<double> y);

  double Apply(double score) const;
  void ApplyAll(std::span<double> scores) const {
    for (double& s : scores) s = Apply(s);
  }

  Method method() const { return method_; }
  std::string method_name() const;
  double a() const { return a_; }
  double b() const { return b_; }
  const std::vector<double>& x() const { return x_; }
  const std::vector<double>& y() const { return y_; }

 private:
  Method method_ = Method::kNone;
  double a_ = 1, b_ = 0;               // Platt
  std::vector<double> x_, y_;          // isotonic knots, x ascending
  double lo_ = 0, hi_ = 1;             // isotonic clip
};

struct CalibrationChoice {
  Calibrator calibrator;
  double cv_log_loss_none = 0, cv_log_loss_platt = 0, cv_log_loss_isotonic = 0;
};

// `seed` fixes the fold assignment.
CalibrationChoice ChooseCalibration(std::span<const float> labels, std::span<const double> scores, uint64_t seed);

}  // namespace omni::predict
