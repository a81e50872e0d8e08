// A point-in-time feature table: one row per (customer, cutoff). The feature
// builder (features.h) writes it; the propensity models read it; CSV is the
// exchange format so a user can check or extend it with their own tools and
// train on their own tables (`omni propensity train --features FILE.csv`).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "omni/common/status.h"

namespace omni::predict {

struct FeatureTable {
  std::vector<std::string> columns;        // feature names, in column order
  std::vector<std::string> customer_keys;  // per row
  std::vector<int64_t> cutoff_ms;          // per row: the cutoff T the row was built at
  std::vector<float> values;               // row-major, rows() x cols(); NaN = missing
  std::vector<float> label;                // per row, 0 or 1; empty for an unlabelled table

  int64_t rows() const { return static_cast<int64_t>(customer_keys.size()); }
  int32_t cols() const { return static_cast<int32_t>(columns.size()); }
  bool labelled() const { return !label.empty(); }
  float at(int64_t row, int32_t col) const { return values[static_cast<size_t>(row) * columns.size() + col]; }
  // Index of a column by name, or -1.
  int32_t ColumnIndex(const std::string& name) const;
  // Appends the rows of `other`, which must have the same columns (stacked cutoffs).
  Status Append(const FeatureTable& other);
};

// CSV: header `customer_key,cutoff,<features...>,label` (cutoff as an RFC 3339
// UTC date-time; label omitted for an unlabelled table); missing values are
// empty fields. Written to a temporary name and renamed.
Status WriteFeatureCsv(const FeatureTable& table, const std::string& path);

// Reads any CSV with a header: `customer_key` and `cutoff` (RFC 3339, or a
// plain "YYYY-MM-DD[ HH:MM[:SS]]" read as UTC) columns are optional (row numbers stand in for missing keys), `label` is the target
// (0/1, or true/false), every other column must be numeric (empty = missing).
// Errors name the line and the column.
StatusOr<FeatureTable> ReadFeatureCsv(const std::string& path);

}  // namespace omni::predict
