// CSR construction. Triplets are sorted by (row, col) with a counting sort on
// rows (O(nnz + rows)) and a per-row sort on columns, so building from the
// store's arrival-ordered events stays linear in practice.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "omni/recommend/recommender.h"

namespace omni::recommend {

StatusOr<InteractionMatrix> InteractionMatrix::FromTriplets(int32_t rows, int32_t cols,
                                                            std::vector<int32_t> row_ids,
                                                            std::vector<int32_t> col_ids,
                                                            std::vector<float> values) {
  if (rows < 0 || cols < 0) return InvalidArgument("negative matrix shape");
  if (row_ids.size() != col_ids.size() || row_ids.size() != values.size()) {
    return InvalidArgument("triplet arrays differ in length");
  }
  const size_t n = row_ids.size();
  std::vector<int64_t> count(static_cast<size_t>(rows) + 1, 0);
  for (size_t t = 0; t < n; ++t) {
    if (row_ids[t] < 0 || row_ids[t] >= rows) {
      return InvalidArgument("row id " + std::to_string(row_ids[t]) + " outside [0, " + std::to_string(rows) + ")");
    }
    if (col_ids[t] < 0 || col_ids[t] >= cols) {
      return InvalidArgument("column id " + std::to_string(col_ids[t]) + " outside [0, " + std::to_string(cols) + ")");
    }
    if (!std::isfinite(values[t])) return InvalidArgument("non-finite value at triplet " + std::to_string(t));
    ++count[row_ids[t] + 1];
  }
  std::partial_sum(count.begin(), count.end(), count.begin());
  // Scatter by row, keeping input order within a row.
  std::vector<int64_t> next(count.begin(), count.end() - 1);
  std::vector<int32_t> cols_sorted(n);
  std::vector<float> vals_sorted(n);
  for (size_t t = 0; t < n; ++t) {
    int64_t pos = next[row_ids[t]]++;
    cols_sorted[pos] = col_ids[t];
    vals_sorted[pos] = values[t];
  }
  InteractionMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.assign(static_cast<size_t>(rows) + 1, 0);
  m.indices.reserve(n);
  m.values.reserve(n);
  std::vector<std::pair<int32_t, float>> row;
  for (int32_t r = 0; r < rows; ++r) {
    row.clear();
    for (int64_t p = count[r]; p < count[r + 1]; ++p) row.emplace_back(cols_sorted[p], vals_sorted[p]);
    // stable: duplicates are summed in input order, so the float sum is deterministic.
    std::stable_sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < row.size();) {
      int32_t c = row[i].first;
      float v = 0;
      for (; i < row.size() && row[i].first == c; ++i) v += row[i].second;
      m.indices.push_back(c);
      m.values.push_back(v);
    }
    m.indptr[r + 1] = static_cast<int64_t>(m.indices.size());
  }
  return m;
}

InteractionMatrix InteractionMatrix::Transpose() const {
  InteractionMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.indptr.assign(static_cast<size_t>(cols) + 1, 0);
  for (int32_t c : indices) ++t.indptr[c + 1];
  std::partial_sum(t.indptr.begin(), t.indptr.end(), t.indptr.begin());
  t.indices.resize(indices.size());
  t.values.resize(values.size());
  std::vector<int64_t> next(t.indptr.begin(), t.indptr.end() - 1);
  // Rows visited in order, so each transposed row's columns come out sorted.
  for (int32_t r = 0; r < rows; ++r) {
    for (int64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
      int64_t q = next[indices[p]]++;
      t.indices[q] = r;
      t.values[q] = values[p];
    }
  }
  return t;
}

}  // namespace omni::recommend
