// Propensity models: P(label = 1 | a customer's feature row). Every model is
// one file, registered by name in propensity_registry.cc and built from one
// spec string, the same in the CLI, config and API:
//   MakePropensityModel("xgboost:depth=3,eta=0.2,rounds=500,early_stop=10")
//   MakePropensityModel("logistic:l2=1")
//   MakePropensityModel("tree:depth=6,min_leaf=50")
//   MakePropensityModel("naive-bayes")
//   MakePropensityModel("blend:depth=3,eta=0.2,l2=1")  (XGBoost + logistic)
// Models read FeatureTable rows (row-major float, NaN = missing) and write
// into caller-owned vectors. Scores from Predict are the model's raw
// probabilities; calibration (calibration.h) is applied by the caller.
//
// Class imbalance. Rare buyers are handled by what is measured and chosen:
// early stopping on validation AUC (not accuracy), calibrated probabilities,
// a contact threshold at the best F1 on validation (not 0.5), and reports
// that lead with AUC and lift. Class weights are available with `balance=1`
// — n / (2 n_class) per class for logistic regression and the tree (as
// sklearn's class_weight="balanced"), scale_pos_weight = negatives /
// positives for XGBoost — but off by default: on Hillstrom's conversion label
// (0.9% positive, bench/propensity_bench.sh) they lowered test AUC for all
// three (XGBoost: early stopping quit after 2 rounds; logistic 0.657 vs
// 0.659 unweighted; tree 0.586 vs 0.608), and on the visit label (15%) made
// no difference. Weighting also biases raw probabilities upward (the
// calibrator undoes that). Naive Bayes takes no weights: its prior only
// shifts the score, never the order.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/spec.h"
#include "omni/common/status.h"
#include "omni/predict/feature_table.h"

namespace omni::predict {

class PropensityModel {
 public:
  virtual ~PropensityModel() = default;
  // Registered name ("xgboost") and the canonical spec with every parameter.
  virtual std::string name() const = 0;
  virtual std::string spec() const = 0;
  // Fits on `train` (labelled). `validation` (labelled, may be null) stops
  // boosting early where the model supports it; other models ignore it.
  virtual Status Fit(const FeatureTable& train, const FeatureTable* validation) = 0;
  // Says, before Fit, which table Refit will get (train + validation; it
  // must live until Refit), so a model may start learning it during Fit:
  // XGBoost boosts the refit on a second thread beside the early-stopped fit
  // (xgboost_model.cc). Refit must still be called with that same table.
  virtual void PlanRefit(const FeatureTable* /*all*/) {}
  // Fits again on `all` (train + validation) with what the first Fit chose
  // (XGBoost: the number of rounds early stopping kept), so the final model
  // learns from every row not held out for testing.
  virtual Status Refit(const FeatureTable& all) { return Fit(all, nullptr); }
  // Raw P(label = 1) for every row of `rows` (same columns as training) into
  // out[0..rows).
  virtual Status Predict(const FeatureTable& rows, std::vector<double>& out) const = 0;
  // Reason codes: additive contributions to the raw score in log-odds, per
  // row, cols() + 1 values (the last is the bias, the part no feature
  // explains); they sum to logit(raw score). XGBoost: SHAP values (TreeSHAP); logistic: coefficient x
  // standardised value; tree: the change in leaf log-odds along the path
  // (Saabas); naive Bayes: each feature's log-likelihood ratio.
  virtual Status Contributions(const FeatureTable& rows, std::vector<float>& out) const = 0;
  // What fitting did, for the report ("312 rounds (early stop at best 282)").
  virtual std::string FitSummary() const { return ""; }
  // One file per model; the caller publishes it atomically (temp + rename).
  virtual Status Save(const std::string& path) const = 0;
  virtual Status Load(const std::string& path) = 0;
};

// InvalidArgument for an unknown name (listing the known ones) or parameter.
StatusOr<std::unique_ptr<PropensityModel>> MakePropensityModel(std::string_view spec);
// Names in the registry's order: xgboost, logistic, tree, naive-bayes, blend.
std::vector<std::string> PropensityModelNames();

// Factories, one per model file.
StatusOr<std::unique_ptr<PropensityModel>> MakeXgboostModel(const Spec& spec);
StatusOr<std::unique_ptr<PropensityModel>> MakeLogisticModel(const Spec& spec);
StatusOr<std::unique_ptr<PropensityModel>> MakeTreeModel(const Spec& spec);
StatusOr<std::unique_ptr<PropensityModel>> MakeNaiveBayesModel(const Spec& spec);
StatusOr<std::unique_ptr<PropensityModel>> MakeBlendModel(const Spec& spec);

// Shared by the model files: positive count and balanced class weights.
struct ClassBalance {
  int64_t positives = 0, negatives = 0;
  double positive_weight = 1, negative_weight = 1;  // n / (2 n_class), or 1 and 1
};
ClassBalance BalanceOf(const FeatureTable& table, bool balance);

// Reads a whole small text file (model files are JSON).
StatusOr<std::string> ReadTextFile(const std::string& path);
Status WriteTextFile(const std::string& path, const std::string& text);

}  // namespace omni::predict
