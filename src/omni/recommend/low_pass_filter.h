// GF-CF's item-item graph filter (Shen et al., "How Powerful is Graph
// Convolution for Recommendation?", CIKM 2021). With R̃ = D_U^-1/2 X D_I^-1/2
// (X's rows and columns divided by the square roots of their sums), the
// filter is
//   W = R̃ᵀR̃ + α · D_I^-1/2 V_k V_kᵀ D_I^1/2,
// a linear low-pass filter (the normalised co-occurrence) plus an ideal
// low-pass filter: the projection on the k leading eigenvectors V_k of R̃ᵀR̃
// (R̃'s k leading right singular vectors). A customer's scores are x·W.
// The ideal part sees the catalogue's broad taste directions, which an
// item-to-item model fitted on co-occurrence alone (EASE) underweights; EASE
// blends it in with lowpass_weight (ease.cc).
#pragma once

#include <Eigen/Dense>

#include "omni/recommend/recommender.h"

namespace omni::recommend {

// W above for x's items (x.cols × x.cols), diagonal included. Customers or
// items with no interactions have degree 1 (their rows and columns of R̃ are
// zero either way). components is clamped to [0, items]. The eigenvectors are
// a full symmetric eigendecomposition (Eigen's SelfAdjointEigenSolver),
// O(items³) like EASE's inverse; ties in the spectrum at the k-th value make
// the ideal part depend on the solver's choice among equal eigenvalues.
Eigen::MatrixXd ItemLowPassFilter(const InteractionMatrix& x, int components, double alpha);

}  // namespace omni::recommend
