// Training a recommender and publishing it under DATA_DIR/models, as
// `omni train SPEC` does (recommend_commands.cc), for other commands that
// train in-process (`omni demo`).
#pragma once

#include <cstdint>
#include <string>

#include "omni/common/status.h"
#include "omni/recommend/evaluation.h"
#include "omni/recommend/interactions.h"

namespace omni::cli {

struct TrainedModel {
  std::string spec;  // the model's canonical spec
  int64_t version = 0;
  std::string path;  // the published artefact
  int64_t customers = 0, items = 0, interactions = 0;
  double fit_seconds = 0;
};

// A ranking model (`spec` as for omni train, not fbt) fitted on every stored
// event (customers resolved when identity resolution has run); `values`:
// auto, binary or weight.
StatusOr<TrainedModel> TrainRankingModel(const std::string& data_dir, const std::string& spec,
                                         const std::string& values = "auto", double half_life_days = 0);
// The same on interactions already loaded from DATA_DIR's store
// (recommend::LoadInteractions with that half-life), published there.
StatusOr<TrainedModel> TrainRankingModel(const std::string& data_dir, const std::string& spec,
                                         const recommend::LoadedInteractions& data, const std::string& values = "auto",
                                         double half_life_days = 0);

struct TrainedRules {
  std::string spec;
  int64_t version = 0;
  std::string path;
  int64_t baskets = 0, purchase_lines = 0, items = 0, min_count = 0, itemsets = 0, rules = 0;
  double fit_seconds = 0;
};

// Frequently-bought-together rules ("fbt", "fbt:min_support=...") mined from
// the stored purchases' baskets.
StatusOr<TrainedRules> TrainTogetherRules(const std::string& data_dir, const std::string& spec);

// How an evaluation was run, for its report beside recommend::EvaluationReport.
struct EvaluationRun {
  recommend::MatrixValues values = recommend::MatrixValues::kWeight;
  int max_history = 0;      // --max-history (0 = none)
  double validation = 0;    // --validation ratio (0 = none)
  int validation_folds = 1;  // --validation-folds (1 = one carve)
  bool resolved_customers = false;
  double seconds = 0;
};

// The report `omni evaluate --format json` prints: the best model (by
// validation NDCG when there is a validation part, else test) at the top
// level, every model under "models".
std::string EvaluationReportJson(const recommend::EvaluationReport& report, const EvaluationRun& run);

// Keeps a report as DATA_DIR/evaluations/<UTC time>.json for the dashboard's
// recommendation-quality page (the newest file wins); written under a
// temporary name and renamed, so a reader never sees half a report.
Status SaveEvaluation(const std::string& data_dir, const std::string& json);

}  // namespace omni::cli
