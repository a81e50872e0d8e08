#include "omni/recommend/low_pass_filter.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Eigenvalues>

namespace omni::recommend {

Eigen::MatrixXd ItemLowPassFilter(const InteractionMatrix& x, int components, double alpha) {
  const Eigen::Index n = x.cols;
  // Degrees: summed values of each customer's row and each item's column.
  std::vector<double> item_degree(static_cast<size_t>(n), 0.0);
  for (int64_t p = 0; p < x.nnz(); ++p) item_degree[x.indices[p]] += x.values[p];
  Eigen::VectorXd inv_sqrt_item(n), sqrt_item(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double d = item_degree[i] > 0 ? item_degree[i] : 1.0;
    sqrt_item[i] = std::sqrt(d);
    inv_sqrt_item[i] = 1.0 / sqrt_item[i];
  }
  // R̃ᵀR̃ = Σ_customers (1 / d_u) · (x_u D_I^-1/2)ᵀ (x_u D_I^-1/2), from the
  // sparse rows, upper triangle then mirrored (as EASE builds XᵀX).
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(n, n);
  std::vector<double> scaled;
  for (int32_t r = 0; r < x.rows; ++r) {
    auto idx = x.RowIndices(r);
    auto val = x.RowValues(r);
    double du = 0;
    for (float v : val) du += v;
    if (du <= 0) du = 1.0;
    scaled.resize(idx.size());
    for (size_t a = 0; a < idx.size(); ++a) scaled[a] = val[a] * inv_sqrt_item[idx[a]] / std::sqrt(du);
    for (size_t a = 0; a < idx.size(); ++a) {
      double* col = w.col(idx[a]).data();
      for (size_t b = 0; b <= a; ++b) col[idx[b]] += scaled[a] * scaled[b];
    }
  }
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = j + 1; i < n; ++i) w(i, j) = w(j, i);
  }
  const Eigen::Index k = std::clamp<Eigen::Index>(components, 0, n);
  if (k == 0 || alpha == 0) return w;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(w);
  // Eigenvalues ascending: the leading k are the last k columns.
  const Eigen::MatrixXd v = eig.eigenvectors().rightCols(k);
  // α · D_I^-1/2 V Vᵀ D_I^1/2
  const Eigen::MatrixXd left = inv_sqrt_item.asDiagonal() * v;
  const Eigen::MatrixXd right = v.transpose() * sqrt_item.asDiagonal();
  w.noalias() += alpha * (left * right);
  return w;
}

}  // namespace omni::recommend
