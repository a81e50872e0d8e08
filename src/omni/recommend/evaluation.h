// Offline evaluation: split a log by a named protocol, fit each model on the
// training part, rank the whole catalogue for every test customer (never
// sampled negatives: Krichene & Rendle, KDD 2020), excluding the customer's
// training items, and average the metrics of metrics.h.
//
// Protocols (EvaluationOptions::protocol):
//   msr-stratified  Microsoft Recommenders' MovieLens table: per customer
//                   75/25 (python_stratified_split, seed 42), top 10.
//   recbole         RecBole's benchmark: ratings >= 3, 10-core, per customer
//                   8:1:1; each SPEC's grid (values "a|b|c") is searched on
//                   validation NDCG@k and the winner's test metrics reported,
//                   with train and validation items excluded from test ranking.
//   temporal        global cut-off time: before is train, after is test.
//   leave-last-out  each customer's last basket is test.
// With EvaluationOptions::validation_ratio, msr-stratified chooses each
// SPEC's point on a validation part carved from training (see there).
// Test items a customer already has in training are not relevant (they are
// excluded from the ranking anyway); customers without training rows (cold)
// or without relevant test items are not evaluated and are counted apart.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "omni/common/status.h"
#include "omni/recommend/recommender.h"
#include "omni/recommend/splits.h"

namespace omni::recommend {

struct EvaluationOptions {
  std::string protocol = "msr-stratified";
  int k = 10;
  uint32_t seed = 42;
  int64_t cutoff_ms = 0;  // temporal only; 0 = the time that leaves 20% of rows after it
  MatrixValues values = MatrixValues::kBinary;
  int threads = 2;  // scoring threads (Recommender::Score must be safe to call concurrently)
  // Hyper-parameter search on the validation part (recbole only):
  //   grid    every point of "a|b|c" alternatives (ranges are refused);
  //   random  `trials` points drawn from alternatives and ranges "lo..hi"
  //           (integers when both bounds are; log-uniform when lo > 0 and
  //           hi >= 10·lo, else uniform), seeded by `seed`.
  // budget_seconds > 0 stops trying new points once that much time has gone
  // into a spec's search (the point being fitted finishes; at least one is).
  std::string search = "grid";
  int trials = 20;
  double budget_seconds = 0;
  // Score item-to-item models (Recommender::UsesTrainingRows() false) from
  // each customer's most recent max_history_items training items only, as
  // the serving layer does (ServingRules::max_history_items); exclusions
  // still use the whole training history. 0 = the whole history.
  int max_history_items = 0;
  // msr-stratified only: > 0 carves a validation part from each customer's
  // training rows with the protocol's own rule (python_stratified_split at
  // 1 - validation_ratio, same seed): every SPEC's grid or random points are
  // fitted on the rest and ranked on it, the point with the best validation
  // NDCG@k is refitted on the whole training part and reported on test.
  // Test never takes part in a choice.
  double validation_ratio = 0;
  // msr-stratified: > 1 chooses on `validation_folds` disjoint validation
  // parts instead of one (MsrStratifiedFolds: each a 1/folds share of every
  // customer's training rows, the last one the single carve's part when
  // folds = 4): each point is fitted on the rest of each fold and its
  // validation NDCG@k is the mean over folds. One carve's NDCG over a few
  // hundred customers is noisy enough that the search fits its noise; the
  // mean over folds is a steadier choice (docs/recommend.md). Implies
  // validation_ratio = 1/folds (any other ratio is refused).
  int validation_folds = 1;
};

// `train` with each row cut to the customer's `cap` items with the newest
// event in `log` (ties: lower item id first); rows at or under the cap are
// unchanged.
InteractionMatrix RecentRows(const InteractionMatrix& train, const InteractionLog& log, int cap);

using Metrics = std::vector<std::pair<std::string, double>>;

struct ModelResult {
  std::string spec;        // as given (or the chosen grid point)
  std::string model_spec;  // the model's canonical spec()
  Status status;           // a model that refuses (too large) is reported, not fatal
  Metrics metrics;         // test
  double validation_ndcg = -1;  // the winning point's validation NDCG@k (mean over folds)
  int64_t candidates = 1;       // grid / search points tried
  double search_seconds = 0;    // time spent fitting and validating them
  bool budget_exhausted = false;  // the time budget stopped the search early
  int64_t customers = 0;        // evaluated
  double fit_seconds = 0;
  double score_seconds = 0;
};

struct EvaluationReport {
  std::string protocol;
  int k = 10;
  uint32_t seed = 42;
  int64_t cutoff_ms = 0;
  int64_t rows = 0, train_rows = 0, validation_rows = 0, test_rows = 0;
  int64_t customers = 0, items = 0;  // with at least one row after filtering
  int64_t cold_customers = 0;        // test customers without training rows
  std::vector<ModelResult> models;
};

// "ease:lambda=100|400" → {"ease:lambda=100", "ease:lambda=400"} (cartesian
// product over every parameter with alternatives, in order).
StatusOr<std::vector<std::string>> ExpandGrid(const std::string& spec);

// `trials` distinct random points of a spec with alternatives and ranges
// ("ease:lambda=50..2000", "itemknn:k=20..400,shrink=0|10|100"); fewer when
// the space has fewer distinct points. Deterministic for a seed.
StatusOr<std::vector<std::string>> SampleSearchSpace(const std::string& spec, int trials, uint32_t seed);

// Fits `model` on `train` and ranks for every customer with relevant rows in
// `truth` (excluding items in `exclude`'s row); returns the metrics.
Metrics RankAndScore(const Recommender& model, const InteractionMatrix& history, const InteractionMatrix& exclude,
                     const InteractionMatrix& truth, int k, int threads, int64_t* customers);

StatusOr<EvaluationReport> Evaluate(const InteractionLog& log, const std::vector<std::string>& specs,
                                    const EvaluationOptions& options);

}  // namespace omni::recommend
