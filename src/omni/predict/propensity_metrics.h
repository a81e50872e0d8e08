// Metrics of a binary propensity score: how well it ranks customers (ROC AUC,
// PR AUC, lift) and how honest its probabilities are (log loss, Brier,
// reliability table). Definitions follow scikit-learn so numbers can be
// checked with it (tests/reference/propensity_metrics_reference.py):
//   roc_auc            Mann-Whitney U / (P*N); tied scores count one half
//                      (sklearn.metrics.roc_auc_score)
//   average_precision  sum over distinct thresholds of (R_n - R_{n-1}) * P_n,
//                      no interpolation (sklearn.metrics.average_precision_score)
//   log_loss           mean -[y ln p + (1-y) ln(1-p)], p clipped to
//                      [1e-15, 1-1e-15]
//   brier              mean (p - y)^2
//   accuracy           share of rows where (p >= threshold) == y
//   lift_top_decile    positive rate among the ceil(n/10) highest scores
//                      divided by the overall positive rate; ties in score
//                      keep row order (a stable sort on descending score)
// Accuracy misleads when few customers convert: at a 2% base rate "nobody
// buys" is 98% accurate. Reports lead with AUC and lift for that reason.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace omni::predict {

struct BinaryMetrics {
  int64_t rows = 0;
  int64_t positives = 0;
  double base_rate = 0;
  double roc_auc = 0;
  double average_precision = 0;  // PR AUC
  double log_loss = 0;
  double brier = 0;
  double threshold = 0.5;
  double accuracy = 0;
  double precision = 0;  // at the threshold
  double recall = 0;     // at the threshold
  double majority_accuracy = 0;  // always predicting the more common class
  double lift_top_decile = 0;
};

// `labels` 0/1, `scores` probabilities in [0, 1]. With one class only AUC and
// average precision are NaN.
BinaryMetrics ComputeMetrics(std::span<const float> labels, std::span<const double> scores, double threshold);

double RocAuc(std::span<const float> labels, std::span<const double> scores);
// ROC AUC of margins that grow by one tree's output a round (XGBoost's early
// stopping on validation). A tree gives each row one of its few leaf values,
// and rows given the same value keep their relative order, so the new order
// is a merge of those groups' runs in the old order: a few linear passes a
// round instead of sorting every row. Add returns exactly RocAuc(labels,
// margins()). When a tree has more than kMaxGroups distinct outputs the
// order is no longer kept and Add falls back to RocAuc.
class RunningAuc {
 public:
  static constexpr int kMaxGroups = 16;
  explicit RunningAuc(std::span<const float> labels);
  // margins[i] += delta[i] for every row; returns the AUC of the margins.
  double Add(std::span<const float> delta);
  const std::vector<double>& margins() const { return margin_; }
  // Whether the order is still kept (false after the fallback).
  bool ordered() const { return ordered_; }

 private:
  struct Entry {
    double margin;
    uint32_t row;
    uint32_t positive;
  };
  std::span<const float> labels_;
  int64_t positives_ = 0;
  std::vector<double> margin_;
  std::vector<Entry> order_, scratch_;  // order_: rows by ascending margin
  std::vector<uint8_t> group_;
  bool ordered_ = true;  // order_ is kept (every tree so far had few outputs)
};

double AveragePrecision(std::span<const float> labels, std::span<const double> scores);
double LogLoss(std::span<const float> labels, std::span<const double> scores);
double Brier(std::span<const float> labels, std::span<const double> scores);

// The threshold with the highest F1 on (labels, scores): the "who do we
// contact" cut a marketer would pick from validation data.
double BestF1Threshold(std::span<const float> labels, std::span<const double> scores);

// Reliability table: 10 equal-width bins of predicted probability
// ([0,0.1], (0.1,0.2], ..., (0.9,1.0], as sklearn's
// calibration_curve(strategy="uniform")); empty bins have count 0 (sklearn
// drops them).
struct ReliabilityBin {
  double lower = 0, upper = 0;
  int64_t count = 0;
  double mean_predicted = 0;
  double observed_rate = 0;
};
std::vector<ReliabilityBin> ReliabilityTable(std::span<const float> labels, std::span<const double> scores,
                                             int bins = 10);

// Lift table: rows ordered by score (descending, stable), cut into 10 deciles
// of near-equal size (decile d holds rows [d*n/10, (d+1)*n/10)).
struct LiftRow {
  int decile = 0;  // 1 = the highest scores
  int64_t count = 0;
  int64_t positives = 0;
  double rate = 0;
  double lift = 0;             // rate / base rate
  double cumulative_capture = 0;  // share of all positives in deciles 1..d
};
std::vector<LiftRow> LiftTable(std::span<const float> labels, std::span<const double> scores);

}  // namespace omni::predict
