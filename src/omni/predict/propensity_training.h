// Training, saving and scoring propensity models on a feature table — the
// work behind `omni propensity train | score | report`, as functions taking a
// FeatureTable so the CLI can pass a table read from CSV or one built on the
// fly from the store (features.h).
//
//   TrainOptions o;  o.specs = {"xgboost", "logistic:l2=1"};
//   OMNI_ASSIGN_OR_RETURN(TrainingResult r, TrainPropensity(table, o));
//   OMNI_ASSIGN_OR_RETURN(int64_t v, SaveTraining(data_dir, "purchase_90d", r));
//
// For each model: fit on the train rows (validation rows drive early
// stopping), choose and fit a calibrator on the validation rows
// (calibration.h), choose the contact threshold on validation (best F1),
// refit on train + validation (TrainOptions::refit), then measure on the
// test rows, which played no part in any of that. The
// best model is the one with the highest validation AUC (never chosen on
// test).
//
// Artefacts: DATA_DIR/models/propensity/<name>/NNNNNN.json is the manifest
// (columns, split, per-model spec, calibrator, threshold, metrics,
// reliability and lift tables); NNNNNN.<model>.model holds each fitted
// model (XGBoost's own JSON format; JSON parameters for the others). Every
// file is written under a temporary name and renamed, the manifest last, so
// a reader that finds a manifest finds its models.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/predict/calibration.h"
#include "omni/predict/feature_table.h"
#include "omni/predict/propensity_metrics.h"
#include "omni/predict/propensity_model.h"
#include "omni/predict/propensity_split.h"

namespace omni::predict {

// The default model list of `omni propensity train`.
std::vector<std::string> DefaultPropensitySpecs();

struct TrainOptions {
  std::vector<std::string> specs;  // empty: DefaultPropensitySpecs()
  SplitOptions split;
  // After early stopping, calibration and the threshold are settled on the
  // validation rows, fit each model again on train + validation (the
  // calibrator and threshold are kept). Test rows stay unseen either way.
  bool refit = true;
};

struct ModelResult {
  std::string spec;         // canonical
  std::string model_name;   // "xgboost"
  std::string error;        // non-empty when fitting failed (other models still run)
  std::string fit_summary;
  std::string file;         // artefact file name (set by SaveTraining / LoadTraining)
  double fit_seconds = 0;      // wall time of Fit (+ Refit)
  double fit_cpu_seconds = 0;  // CPU time of the same, every thread of the process
  double validation_auc = 0;  // raw scores on validation: the selection criterion
  CalibrationChoice calibration;
  BinaryMetrics test;         // calibrated scores on the test rows
  std::vector<ReliabilityBin> reliability;  // test rows
  std::vector<LiftRow> lift;                // test rows
};

struct TrainingResult {
  std::string name;
  int64_t version = 0;
  int64_t trained_at_ms = 0;
  std::string source;  // where the table came from (file name), for the report
  std::vector<std::string> columns;
  std::string split_rule;
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;
  double train_base_rate = 0;
  std::vector<ModelResult> models;
  int best = -1;  // index into models; -1 when none fitted
  // The fitted models, parallel to `models` (null where fitting failed, or
  // where a loaded manifest's model was not loaded).
  std::vector<std::unique_ptr<PropensityModel>> fitted;
};

StatusOr<TrainingResult> TrainPropensity(const FeatureTable& table, const TrainOptions& options);

// InvalidArgument unless `name` is 1..64 letters, digits or '_' starting with
// a letter (it becomes the segment field propensity.<name> and a folder).
Status ValidateScoreName(const std::string& name);

// Writes the artefacts as the next version; returns it (also set in result).
StatusOr<int64_t> SaveTraining(const std::string& data_dir, TrainingResult& result);

// Reads a manifest (version 0 = the latest); with `load_models`, loads every
// model that fitted. NotFound when nothing was trained under that name.
StatusOr<TrainingResult> LoadTraining(const std::string& data_dir, const std::string& name, int64_t version,
                                      bool load_models);

// Names trained so far (folders under models/propensity), sorted.
std::vector<std::string> TrainedNames(const std::string& data_dir);

// Scores `table` with model `index` of a loaded training: the columns are
// matched by name (missing ones are an error, extra ones ignored), scores
// calibrated. With `contributions`, also fills rows x (model columns + 1)
// log-odds contributions.
struct Scored {
  std::vector<double> probability;
  std::vector<float> contributions;  // empty unless asked
  std::vector<std::string> ignored_columns;
  FeatureTable aligned;  // the input's rows in the model's column order
};
StatusOr<Scored> ScoreTable(const TrainingResult& training, int index, const FeatureTable& table,
                            bool contributions);

// Top `k` features pushing one row's score up (largest positive
// contributions) and down (most negative), skipping zeros.
struct Reason {
  std::string feature;
  double value = 0;         // the customer's value (NaN = missing)
  double contribution = 0;  // log-odds
};
void TopReasons(const std::vector<std::string>& columns, const float* contributions, const float* values, int k,
                std::vector<Reason>& up, std::vector<Reason>& down);

}  // namespace omni::predict

namespace omni {
class JsonWriter;
}

namespace omni::predict {
// The manifest's JSON object (also the body of `--format json` for train and
// report). Each model carries its test metrics at the top level ("auc",
// "pr_auc", "log_loss", "brier", "accuracy", "lift_top_decile").
void WriteTrainingJson(JsonWriter& w, const TrainingResult& result);
}  // namespace omni::predict
