// k-means clustering of customers on their profile features, so a marketer
// can see the natural groups in the base before writing segments by hand.
//
//   auto options = KMeansOptions::Parse("kmeans:k=5,n_init=4,max_iter=100,seed=42");
//   auto result = FitKMeans(features, *options, {"rfm.recency", "rfm.frequency", "clv.12m"});
//   result->labels[i]        the cluster of customer row i
//   result->centroids        each cluster's centre, in the features' own units
//   result->silhouette       -1..1: how well separated the clusters are
//
// What it does, in the order it does it:
//  1. Standardises every column to mean 0 and (population) standard deviation
//     1, so spend in yuan does not drown out recency in days. A constant
//     column (every customer the same, within rounding) cannot separate
//     anyone: it becomes all zeros and is listed in `constant_columns`.
//  2. Seeds centres with greedy k-means++ (Arthur & Vassilvitskii 2007, with
//     2 + ln k candidates per step as scikit-learn does): each new centre is
//     drawn with probability proportional to the squared distance to the
//     nearest centre so far, so seeds are spread out and always distinct
//     points. A data set with fewer than k distinct rows is an error.
//  3. Runs Lloyd iterations (assign each row to its nearest centre, move each
//     centre to the mean of its rows) until no row changes cluster, the total
//     squared centre movement falls to `tol` times the mean column variance
//     (scikit-learn's rule), or `max_iter`. A cluster that empties is given
//     the row farthest from its centre.
//  4. Repeats from `n_init` seedings and keeps the run with the lowest
//     inertia (sum of squared distances to the assigned centre).
//  5. Scores the result with the mean silhouette (Rousseeuw 1987): exact over
//     all rows up to `silhouette_sample` rows (default 10,000), else over a
//     seeded random sample of that many rows, as scikit-learn's
//     silhouette_score(sample_size=...) does; the result says which.
//
// Everything is deterministic for a given seed: the random numbers come from
// std::mt19937_64 (fully specified by the C++ standard) and the results do not
// depend on the number of threads (threads only split the assignment step;
// sums are always added in row order).
//
// Cost: O(n_init · iterations · n · k · d) for the fit, O(s² · d) for a
// silhouette over s rows (s ≤ 10,000 by default: about a second).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "omni/common/status.h"

namespace omni::profile {

struct KMeansOptions {
  int k = 8;                          // number of clusters, >= 2
  int n_init = 4;                     // seedings tried; the lowest inertia wins
  int max_iter = 300;                 // Lloyd iterations per seeding
  double tol = 1e-4;                  // convergence, relative to the mean column variance
  uint64_t seed = 42;                 // all randomness derives from it
  int threads = 2;                    // for the assignment step and the silhouette
  int64_t silhouette_sample = 10000;  // exact silhouette up to this many rows

  // "kmeans:k=5,n_init=4,max_iter=100,tol=1e-4,seed=42,threads=2,silhouette_sample=10000";
  // every key optional. InvalidArgument naming the key for an unknown key, a
  // value out of range, or a name other than "kmeans".
  static StatusOr<KMeansOptions> Parse(std::string_view spec);
  // The full spec, every key spelled out; Parse(ToSpec()) gives the same options.
  std::string ToSpec() const;
  // One line per key: name, default, range, meaning.
  static std::string Help();
};

struct KMeansResult {
  std::vector<int32_t> labels;             // per row, in [0, k)
  Eigen::MatrixXd centroids;               // k x d, in the input's units
  Eigen::MatrixXd standardized_centroids;  // k x d, in standard deviations from the mean
  std::vector<int64_t> cluster_sizes;      // k; 0 only if max_iter ended on an emptied cluster
  double inertia = 0;                      // in standardised units, as scikit-learn reports it
  int iterations = 0;                      // Lloyd iterations of the winning seeding
  bool converged = false;                  // false when it stopped at max_iter
  int best_init = 0;                       // which seeding won, 0-based
  std::vector<int64_t> seed_rows;          // the rows k-means++ chose for the winning seeding

  // Mean silhouette in [-1, 1] (NaN only if the sample held a single cluster).
  double silhouette = 0;
  bool silhouette_exact = true;  // false: computed on a random sample
  int64_t silhouette_rows = 0;   // rows it was computed over

  Eigen::VectorXd feature_mean;       // d; standardised = (x - mean) / scale
  Eigen::VectorXd feature_scale;      // d; 1 for constant columns
  std::vector<int> constant_columns;  // 0-based
};

// Clusters the rows of `features` (n customers x d features). `column_names`
// (optional, d entries) only make error messages readable.
// InvalidArgument: no columns, k < 2, k > n, a NaN or infinite value (naming
// its row index and column), fewer than k distinct rows, or bad options.
StatusOr<KMeansResult> FitKMeans(const Eigen::MatrixXd& features, const KMeansOptions& options,
                                 const std::vector<std::string>& column_names = {});

// Mean silhouette of `labels` over `points` (rows), Euclidean distance, as
// scikit-learn's silhouette_score: a row alone in its cluster scores 0.
// Exact when n <= max_rows, else over a random sample of max_rows rows drawn
// with `seed`. Exposed for tests and for scoring other partitions.
struct SilhouetteResult {
  double score = 0;
  bool exact = true;
  int64_t rows = 0;
};
SilhouetteResult Silhouette(const Eigen::MatrixXd& points, const std::vector<int32_t>& labels, int k,
                            int64_t max_rows, uint64_t seed, int threads);

}  // namespace omni::profile
