#include "omni/profile/kmeans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace omni::profile {
namespace {

// scikit-learn 1.2.1 (Debian 12 python3-sklearn) on testdata/kmeans_blobs.csv,
// standardised with StandardScaler, KMeans(n_clusters=4, n_init=10,
// random_state=0) and silhouette_score; computed by
// tests/reference/kmeans_reference.py, which also wrote the fixture and its
// sklearn_label column.
constexpr double kSklearnInertia = 56.621784756598004;
constexpr double kSklearnSilhouette = 0.7813441163846178;

struct Fixture {
  Eigen::MatrixXd features;
  std::vector<int32_t> sklearn_labels;
  std::vector<std::string> columns;
};

Fixture LoadBlobs() {
  std::filesystem::path path =
      std::filesystem::path(OMNI_SOURCE_DIR) / "src/omni/profile/testdata" / "kmeans_blobs.csv";
  std::ifstream in(path);
  OMNI_CHECK(in.good());
  Fixture f;
  std::string line;
  std::getline(in, line);
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) f.columns.push_back(cell);
  f.columns.pop_back();  // sklearn_label
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::vector<double> row;
    for (std::string cell; std::getline(ss, cell, ',');) row.push_back(std::stod(cell));
    f.sklearn_labels.push_back(static_cast<int32_t>(row.back()));
    row.pop_back();
    rows.push_back(row);
  }
  f.features.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(f.columns.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) {
      f.features(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
    }
  }
  return f;
}

// True when the two labelings are the same partition with renamed labels.
bool SamePartition(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  if (a.size() != b.size()) return false;
  std::map<int32_t, int32_t> forward, backward;
  for (size_t i = 0; i < a.size(); ++i) {
    auto [f, f_new] = forward.emplace(a[i], b[i]);
    auto [r, r_new] = backward.emplace(b[i], a[i]);
    if (f->second != b[i] || r->second != a[i]) return false;
  }
  return true;
}

// Gaussian blobs around `centres` (rows), sd 1, shuffled.
Eigen::MatrixXd Blobs(int64_t n, const Eigen::MatrixXd& centres, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  Eigen::MatrixXd x(n, centres.cols());
  for (int64_t i = 0; i < n; ++i) {
    x.row(i) = centres.row(i % centres.rows());
    for (Eigen::Index j = 0; j < x.cols(); ++j) x(i, j) += noise(rng);
  }
  return x;
}

KMeansOptions Options(const std::string& spec) {
  auto o = KMeansOptions::Parse(spec);
  OMNI_CHECK(o.ok());
  return *o;
}

TEST(KMeansTest, MatchesScikitLearnOnBlobs) {
  Fixture f = LoadBlobs();
  ASSERT_EQ(f.features.rows(), 300);
  auto r = FitKMeans(f.features, Options("kmeans:k=4,n_init=10,seed=0"), f.columns);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR(r->inertia, kSklearnInertia, 1e-6 * kSklearnInertia);
  EXPECT_NEAR(r->silhouette, kSklearnSilhouette, 1e-6 * kSklearnSilhouette);
  EXPECT_TRUE(r->silhouette_exact);
  EXPECT_EQ(r->silhouette_rows, 300);
  EXPECT_TRUE(SamePartition(r->labels, f.sklearn_labels));
  EXPECT_TRUE(r->converged);
  std::multiset<int64_t> sizes(r->cluster_sizes.begin(), r->cluster_sizes.end());
  EXPECT_EQ(sizes, (std::multiset<int64_t>{90, 80, 70, 60}));
  // The constant country code is set aside and comes back in original units.
  EXPECT_EQ(r->constant_columns, std::vector<int>{3});
  for (int c = 0; c < 4; ++c) {
    EXPECT_DOUBLE_EQ(r->centroids(c, 3), 86.0);
    EXPECT_DOUBLE_EQ(r->standardized_centroids(c, 3), 0.0);
  }
  // Centroids in original units are the per-cluster means of the raw data.
  for (int c = 0; c < 4; ++c) {
    Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(4);
    for (int64_t i = 0; i < 300; ++i) {
      if (r->labels[static_cast<size_t>(i)] == c) sum += f.features.row(i);
    }
    Eigen::RowVectorXd mean = sum / static_cast<double>(r->cluster_sizes[static_cast<size_t>(c)]);
    EXPECT_LT((mean - r->centroids.row(c)).norm(), 1e-9 * mean.norm()) << c;
  }
}

TEST(KMeansTest, SilhouetteMatchesScikitLearnOnItsOwnLabels) {
  Fixture f = LoadBlobs();
  Eigen::MatrixXd z = f.features;
  for (Eigen::Index c = 0; c < 3; ++c) {
    double mean = z.col(c).mean();
    double sd = std::sqrt((z.col(c).array() - mean).square().mean());
    z.col(c) = (z.col(c).array() - mean) / sd;
  }
  z.col(3).setZero();
  SilhouetteResult s = Silhouette(z, f.sklearn_labels, 4, 10000, 1, 2);
  EXPECT_NEAR(s.score, kSklearnSilhouette, 1e-6 * kSklearnSilhouette);
  EXPECT_TRUE(s.exact);
}

TEST(KMeansTest, SameSeedSameResultWhateverTheThreads) {
  Eigen::MatrixXd centres(5, 3);
  centres << 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3, 3, 3, 3;
  Eigen::MatrixXd x = Blobs(30000, centres, 7);
  auto one = FitKMeans(x, Options("kmeans:k=5,n_init=2,seed=9,threads=1,silhouette_sample=2000"));
  auto two = FitKMeans(x, Options("kmeans:k=5,n_init=2,seed=9,threads=2,silhouette_sample=2000"));
  auto again = FitKMeans(x, Options("kmeans:k=5,n_init=2,seed=9,threads=2,silhouette_sample=2000"));
  ASSERT_TRUE(one.ok() && two.ok() && again.ok());
  EXPECT_EQ(one->labels, two->labels);
  EXPECT_EQ(two->labels, again->labels);
  EXPECT_EQ(one->inertia, two->inertia);  // bit for bit
  EXPECT_EQ(one->silhouette, two->silhouette);
  EXPECT_EQ(one->seed_rows, two->seed_rows);
  auto other = FitKMeans(x, Options("kmeans:k=5,n_init=1,seed=10,silhouette_sample=2000"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->seed_rows, one->seed_rows);
}

TEST(KMeansTest, PlusPlusSeedsAreDistinctPoints) {
  // Three distinct points, each repeated 50 times: k=3 must seed one of each.
  Eigen::MatrixXd x(150, 2);
  for (int i = 0; i < 150; ++i)
    x.row(i) << (i % 3 == 0 ? 0.0 : i % 3 == 1 ? 1.0 : 5.0), (i % 3 == 2 ? 1.0 : 0.0);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    KMeansOptions o;
    o.k = 3;
    o.n_init = 1;
    o.seed = seed;
    auto r = FitKMeans(x, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::set<std::pair<double, double>> points;
    for (int64_t row : r->seed_rows) points.emplace(x(row, 0), x(row, 1));
    EXPECT_EQ(points.size(), 3u) << "seed " << seed;
    EXPECT_NEAR(r->inertia, 0.0, 1e-12);
    EXPECT_DOUBLE_EQ(r->silhouette, 1.0);
  }
  KMeansOptions o;
  o.k = 4;
  auto too_many = FitKMeans(x, o);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
}

TEST(KMeansTest, ConstantColumnChangesNothing) {
  Eigen::MatrixXd centres(3, 2);
  centres << 0, 0, 6, 0, 0, 6;
  Eigen::MatrixXd x = Blobs(600, centres, 3);
  Eigen::MatrixXd with_constant(600, 3);
  with_constant << x.col(0), Eigen::VectorXd::Constant(600, 1234.5), x.col(1);
  KMeansOptions o = Options("kmeans:k=3,n_init=3,seed=1");
  auto plain = FitKMeans(x, o);
  auto padded = FitKMeans(with_constant, o);
  ASSERT_TRUE(plain.ok() && padded.ok());
  EXPECT_EQ(padded->constant_columns, std::vector<int>{1});
  EXPECT_TRUE(plain->constant_columns.empty());
  EXPECT_EQ(plain->labels, padded->labels);
  EXPECT_NEAR(plain->inertia, padded->inertia, 1e-9 * plain->inertia);
  EXPECT_NEAR(plain->silhouette, padded->silhouette, 1e-9);
  EXPECT_DOUBLE_EQ(padded->feature_scale[1], 1.0);
  for (int c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(padded->centroids(c, 1), 1234.5);
  // Every column constant: nothing to separate.
  Eigen::MatrixXd flat = Eigen::MatrixXd::Constant(50, 2, 7.0);
  EXPECT_FALSE(FitKMeans(flat, o).ok());
}

TEST(KMeansTest, LargeInputGetsSampledSilhouette) {
  Eigen::MatrixXd centres(3, 2);
  centres << 0, 0, 4, 0, 0, 4;
  Eigen::MatrixXd x = Blobs(12000, centres, 11);
  auto r = FitKMeans(x, Options("kmeans:k=3,n_init=1,seed=5"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->silhouette_exact);
  EXPECT_EQ(r->silhouette_rows, 10000);
  Eigen::MatrixXd z = x;
  for (Eigen::Index c = 0; c < z.cols(); ++c) {
    z.col(c) = (z.col(c).array() - r->feature_mean[c]) / r->feature_scale[c];
  }
  SilhouetteResult exact = Silhouette(z, r->labels, 3, 12000, 0, 2);
  EXPECT_TRUE(exact.exact);
  EXPECT_NEAR(r->silhouette, exact.score, 0.01);
}

TEST(KMeansTest, RejectsBadInputNamingTheProblem) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(10, 3);
  KMeansOptions o;
  o.k = 1;
  EXPECT_EQ(FitKMeans(x, o).status().code(), StatusCode::kInvalidArgument);
  o.k = 11;
  auto too_big = FitKMeans(x, o);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("k=11"), std::string::npos);
  o.k = 2;
  x(7, 2) = std::nan("");
  auto nan = FitKMeans(x, o, {"recency", "orders", "spend"});
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("row index 7"), std::string::npos) << nan.status().message();
  EXPECT_NE(nan.status().message().find("'spend'"), std::string::npos) << nan.status().message();
  x(7, 2) = 0;
  x(3, 0) = INFINITY;
  EXPECT_NE(FitKMeans(x, o).status().message().find("row index 3, column 0"), std::string::npos);
  EXPECT_FALSE(FitKMeans(Eigen::MatrixXd(10, 0), o).ok());
}

TEST(KMeansOptionsTest, ParsesSpecsAndRejectsTypos) {
  auto o = KMeansOptions::Parse("kmeans:k=5,n_init=4,max_iter=100,seed=42");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->k, 5);
  EXPECT_EQ(o->n_init, 4);
  EXPECT_EQ(o->max_iter, 100);
  EXPECT_EQ(o->seed, 42u);
  auto again = KMeansOptions::Parse(o->ToSpec());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToSpec(), o->ToSpec());
  EXPECT_DOUBLE_EQ(again->tol, 1e-4);
  EXPECT_TRUE(KMeansOptions::Parse("kmeans").ok());
  EXPECT_EQ(KMeansOptions::Parse("kmeans:k=1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeansOptions::Parse("kmeans:clusters=3").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeansOptions::Parse("kmedoids:k=3").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeansOptions::Parse("kmeans:tol=-1").status().code(), StatusCode::kInvalidArgument);
  std::string help = KMeansOptions::Help();
  for (const char* key : {"k=8", "n_init=", "max_iter=", "tol=", "seed=", "threads=", "silhouette_sample="}) {
    EXPECT_NE(help.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace omni::profile
