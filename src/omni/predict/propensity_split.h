// Which rows train a propensity model, which tune it (early stopping,
// calibration, the threshold) and which measure it (the reported metrics).
//
// Several cutoffs (stacked point-in-time tables): time decides. The rows of
// the latest cutoff are held out; the earlier cutoffs train. The held-out
// rows are split by a seeded stratified 50/50 draw into validation and test,
// so the model is tuned and measured on the same (future) period without
// tuning on the rows it is measured on. With `test_cutoff`, that cutoff's
// rows are the test part, the latest earlier cutoff validates and the rest
// train. A customer appears once per cutoff, so the same customer can be in
// train (an earlier cutoff) and in test (a later one) — features and labels
// of different periods; with horizon <= the gap between cutoffs no label
// window reaches into a later cutoff's features.
//
// One cutoff, or none (a user's own table): a seeded stratified random split,
// 60% train / 20% validation / 20% test within each class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/predict/feature_table.h"

namespace omni::predict {

struct SplitOptions {
  uint64_t seed = 42;
  int64_t test_cutoff_ms = 0;  // 0 = the rule above
};

struct RowSplit {
  std::vector<int64_t> train, validation, test;  // row indices, ascending
  std::string rule;                               // one line, for the report
};

// FailedPrecondition when a part would be empty or hold one class only.
StatusOr<RowSplit> SplitRows(const FeatureTable& table, const SplitOptions& options);

// The rows `rows` of `table`, in that order.
FeatureTable Subset(const FeatureTable& table, const std::vector<int64_t>& rows);

}  // namespace omni::predict
