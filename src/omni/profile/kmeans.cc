#include "omni/profile/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "omni/common/spec.h"

namespace omni::profile {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Each hyper-parameter once: key, default, bounds, meaning. Parse and Help
// both read this table.
struct IntParam {
  std::string_view key;
  int64_t def;
  int64_t lo;
  int64_t hi;
  std::string_view help;
};
constexpr IntParam kK{"k", 8, 2, 100000, "number of clusters"};
constexpr IntParam kNInit{"n_init", 4, 1, 1000, "k-means++ seedings tried; the lowest inertia wins"};
constexpr IntParam kMaxIter{"max_iter", 300, 1, 100000, "Lloyd iterations per seeding"};
constexpr IntParam kSeed{"seed", 42, 0, std::numeric_limits<int64_t>::max(), "random seed"};
constexpr IntParam kThreads{"threads", 2, 1, 256, "threads for assignment and silhouette"};
constexpr IntParam kSilhouetteSample{"silhouette_sample", 10000, 2, 1000000,
                                     "exact silhouette up to this many rows, else a sample of this many"};
constexpr std::string_view kTolKey = "tol";
constexpr double kTolDefault = 1e-4;
constexpr std::string_view kTolHelp = "stop when centres move less than tol x mean column variance";

// Below this many rows the cost of starting threads outweighs the split.
constexpr int64_t kMinRowsPerThread = 8192;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from 53 random bits; std::uniform_real_distribution's
// output differs between standard libraries, this does not.
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform in [0, n).
int64_t UniformIndex(std::mt19937_64& rng, int64_t n) {
  return std::min<int64_t>(n - 1, static_cast<int64_t>(Uniform01(rng) * static_cast<double>(n)));
}

// Runs fn(begin, end) over [0, n) split into contiguous chunks, one per
// thread, the first on the calling thread.
template <typename Fn>
void ParallelFor(int64_t n, int threads, const Fn& fn) {
  int64_t chunks = std::clamp<int64_t>(n / kMinRowsPerThread, 1, threads);
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  int64_t step = (n + chunks - 1) / chunks;
  for (int64_t c = 1; c < chunks; ++c) {
    int64_t begin = c * step;
    int64_t end = std::min(n, begin + step);
    if (begin < end) pool.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  fn(int64_t{0}, std::min(n, step));
  for (std::thread& t : pool) t.join();
}

inline double SquaredDistance(const double* a, const double* b, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) {
    double t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

// Nearest centre for every row (ties to the lower index) and the squared
// distance to it.
void Assign(const RowMatrix& x, const RowMatrix& centers, int threads, std::vector<int32_t>& labels,
            std::vector<double>& dist2) {
  const int d = static_cast<int>(x.cols());
  const int k = static_cast<int>(centers.rows());
  ParallelFor(x.rows(), threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* row = x.data() + i * d;
      double best = std::numeric_limits<double>::infinity();
      int32_t best_c = 0;
      for (int c = 0; c < k; ++c) {
        double s = SquaredDistance(row, centers.data() + static_cast<int64_t>(c) * d, d);
        if (s < best) {
          best = s;
          best_c = c;
        }
      }
      labels[static_cast<size_t>(i)] = best_c;
      dist2[static_cast<size_t>(i)] = best;
    }
  });
}

// Greedy k-means++: each step draws 2 + ln k candidates with probability
// proportional to the squared distance to the nearest chosen centre, and keeps
// the candidate that lowers the total the most. Fails when fewer than k rows
// are distinct, since then some centre would repeat another.
Status SeedPlusPlus(const RowMatrix& x, int k, std::mt19937_64& rng, std::vector<int64_t>* seeds) {
  const int64_t n = x.rows();
  const int d = static_cast<int>(x.cols());
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  seeds->clear();
  seeds->push_back(UniformIndex(rng, n));
  std::vector<double> closest(static_cast<size_t>(n));
  const double* first = x.data() + seeds->back() * d;
  for (int64_t i = 0; i < n; ++i)
    closest[static_cast<size_t>(i)] = SquaredDistance(x.data() + i * d, first, d);
  std::vector<double> cumulative(static_cast<size_t>(n));
  std::vector<double> candidate_dist(static_cast<size_t>(n));
  std::vector<double> best_dist(static_cast<size_t>(n));
  for (int c = 1; c < k; ++c) {
    std::partial_sum(closest.begin(), closest.end(), cumulative.begin());
    double total = cumulative.back();
    if (!(total > 0)) {
      return InvalidArgument("k-means: the features have fewer than k=" + std::to_string(k) +
                             " distinct rows (after standardisation); lower k");
    }
    // The last row with weight, for a draw that rounds up to the total.
    int64_t last_positive = n - 1;
    while (closest[static_cast<size_t>(last_positive)] <= 0) --last_positive;
    double best_potential = std::numeric_limits<double>::infinity();
    int64_t best_candidate = -1;
    for (int t = 0; t < trials; ++t) {
      double r = Uniform01(rng) * total;
      // The first row whose cumulative weight exceeds r has positive weight,
      // so it is never a row already chosen (or a duplicate of one).
      int64_t candidate = std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin();
      if (candidate >= n) candidate = last_positive;
      const double* cand = x.data() + candidate * d;
      double potential = 0;
      for (int64_t i = 0; i < n; ++i) {
        double s = std::min(closest[static_cast<size_t>(i)], SquaredDistance(x.data() + i * d, cand, d));
        candidate_dist[static_cast<size_t>(i)] = s;
        potential += s;
      }
      if (potential < best_potential) {
        best_potential = potential;
        best_candidate = candidate;
        best_dist.swap(candidate_dist);
      }
    }
    seeds->push_back(best_candidate);
    closest.swap(best_dist);
  }
  return Status::Ok();
}

struct Run {
  std::vector<int32_t> labels;
  RowMatrix centers;
  double inertia = 0;
  int iterations = 0;
  bool converged = false;
  std::vector<int64_t> seeds;
};

// Centres = means of their rows. An empty cluster takes the row farthest from
// its centre (scikit-learn's rule), which leaves that row's old cluster.
void UpdateCenters(const RowMatrix& x, const std::vector<int32_t>& labels, const std::vector<double>& dist2,
                   const RowMatrix& old_centers, RowMatrix* centers) {
  const int64_t n = x.rows();
  const int64_t k = old_centers.rows();
  centers->setZero(k, x.cols());
  std::vector<int64_t> counts(static_cast<size_t>(k), 0);
  for (int64_t i = 0; i < n; ++i) {
    int32_t c = labels[static_cast<size_t>(i)];
    centers->row(c) += x.row(i);
    ++counts[static_cast<size_t>(c)];
  }
  std::vector<int64_t> empty;
  for (int64_t c = 0; c < k; ++c) {
    if (counts[static_cast<size_t>(c)] == 0) empty.push_back(c);
  }
  if (!empty.empty()) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    size_t m = std::min(empty.size(), order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(m), order.end(),
                      [&](int64_t a, int64_t b) {
                        double da = dist2[static_cast<size_t>(a)], db = dist2[static_cast<size_t>(b)];
                        return da != db ? da > db : a < b;
                      });
    for (size_t e = 0; e < m; ++e) {
      int64_t row = order[e];
      int32_t from = labels[static_cast<size_t>(row)];
      centers->row(from) -= x.row(row);
      --counts[static_cast<size_t>(from)];
      centers->row(empty[e]) = x.row(row);
      counts[static_cast<size_t>(empty[e])] = 1;
    }
  }
  for (int64_t c = 0; c < k; ++c) {
    if (counts[static_cast<size_t>(c)] > 0) {
      centers->row(c) /= static_cast<double>(counts[static_cast<size_t>(c)]);
    } else {
      centers->row(c) = old_centers.row(c);  // gave its only row away this step
    }
  }
}

bool AllClustersUsed(const std::vector<int32_t>& labels, int k) {
  std::vector<char> used(static_cast<size_t>(k), 0);
  int count = 0;
  for (int32_t l : labels) {
    if (!used[static_cast<size_t>(l)]) {
      used[static_cast<size_t>(l)] = 1;
      if (++count == k) return true;
    }
  }
  return false;
}

Status LloydRun(const RowMatrix& x, const KMeansOptions& o, double tol, uint64_t run_seed, Run* run) {
  std::mt19937_64 rng(run_seed);
  OMNI_RETURN_IF_ERROR(SeedPlusPlus(x, o.k, rng, &run->seeds));
  const int64_t n = x.rows();
  run->centers.resize(o.k, x.cols());
  for (int c = 0; c < o.k; ++c) run->centers.row(c) = x.row(run->seeds[static_cast<size_t>(c)]);
  run->labels.assign(static_cast<size_t>(n), 0);
  std::vector<double> dist2(static_cast<size_t>(n));
  Assign(x, run->centers, o.threads, run->labels, dist2);
  std::vector<int32_t> new_labels(static_cast<size_t>(n));
  RowMatrix new_centers;
  run->converged = false;
  run->iterations = 0;
  for (int it = 1; it <= o.max_iter; ++it) {
    UpdateCenters(x, run->labels, dist2, run->centers, &new_centers);
    double shift = (new_centers - run->centers).squaredNorm();
    run->centers.swap(new_centers);
    Assign(x, run->centers, o.threads, new_labels, dist2);
    run->iterations = it;
    bool same = new_labels == run->labels;
    run->labels.swap(new_labels);
    // Stopping on a small shift must not leave a cluster empty: the next
    // update would relocate it.
    if (same || (shift <= tol && AllClustersUsed(run->labels, o.k))) {
      run->converged = true;
      break;
    }
  }
  // Labels and distances always belong to the final centres.
  run->inertia = 0;
  for (double v : dist2) run->inertia += v;
  return Status::Ok();
}

// Silhouette of the rows `rows` of x. Rows are grouped by label so that the
// distance sums per cluster are contiguous, and distances come from the Gram
// matrix in blocks (||a||² + ||b||² - 2 a·b, clamped at 0, as scikit-learn
// computes them).
SilhouetteResult SilhouetteOfRows(const RowMatrix& x, const std::vector<int32_t>& labels, int k,
                                  std::vector<int64_t> rows, bool exact, int threads) {
  SilhouetteResult result;
  result.exact = exact;
  result.rows = static_cast<int64_t>(rows.size());
  std::stable_sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) {
    return labels[static_cast<size_t>(a)] < labels[static_cast<size_t>(b)];
  });
  const int64_t s = static_cast<int64_t>(rows.size());
  RowMatrix p(s, x.cols());
  std::vector<int64_t> start(static_cast<size_t>(k) + 1, 0);
  std::vector<int32_t> label(static_cast<size_t>(s));
  for (int64_t i = 0; i < s; ++i) {
    p.row(i) = x.row(rows[static_cast<size_t>(i)]);
    label[static_cast<size_t>(i)] = labels[static_cast<size_t>(rows[static_cast<size_t>(i)])];
    ++start[static_cast<size_t>(label[static_cast<size_t>(i)]) + 1];
  }
  int present = 0;
  for (int c = 0; c < k; ++c) {
    if (start[static_cast<size_t>(c) + 1] > 0) ++present;
    start[static_cast<size_t>(c) + 1] += start[static_cast<size_t>(c)];
  }
  if (present < 2) {
    result.score = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  Eigen::VectorXd sq = p.rowwise().squaredNorm();
  std::vector<double> per_row(static_cast<size_t>(s));
  constexpr int64_t kBlock = 128;
  const int64_t blocks = (s + kBlock - 1) / kBlock;
  int workers = static_cast<int>(std::clamp<int64_t>(std::min<int64_t>(threads, blocks), 1, 256));
  auto work = [&](int worker) {
    RowMatrix g;
    std::vector<double> sums(static_cast<size_t>(k));
    for (int64_t b = worker; b < blocks; b += workers) {
      int64_t i0 = b * kBlock;
      int64_t rows_here = std::min(kBlock, s - i0);
      g.noalias() = p.middleRows(i0, rows_here) * p.transpose();
      for (int64_t r = 0; r < rows_here; ++r) {
        int64_t i = i0 + r;
        // Eigen's array sqrt is SIMD; std::sqrt in a loop is not (errno).
        Eigen::Map<Eigen::ArrayXd> dist(g.data() + r * s, s);
        dist = (sq[i] + sq.array() - 2 * dist).max(0.0).sqrt();
        dist[i] = 0;
        for (int c = 0; c < k; ++c) {
          int64_t begin = start[static_cast<size_t>(c)];
          sums[static_cast<size_t>(c)] = dist.segment(begin, start[static_cast<size_t>(c) + 1] - begin).sum();
        }
        int32_t own = label[static_cast<size_t>(i)];
        int64_t own_size = start[static_cast<size_t>(own) + 1] - start[static_cast<size_t>(own)];
        if (own_size <= 1) {  // alone in its cluster: 0 by definition
          per_row[static_cast<size_t>(i)] = 0;
          continue;
        }
        double a = sums[static_cast<size_t>(own)] / static_cast<double>(own_size - 1);
        double nearest = std::numeric_limits<double>::infinity();
        for (int c = 0; c < k; ++c) {
          int64_t size = start[static_cast<size_t>(c) + 1] - start[static_cast<size_t>(c)];
          if (c == own || size == 0) continue;
          nearest = std::min(nearest, sums[static_cast<size_t>(c)] / static_cast<double>(size));
        }
        double denom = std::max(a, nearest);
        per_row[static_cast<size_t>(i)] = denom > 0 ? (nearest - a) / denom : 0;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& t : pool) t.join();
  double total = 0;
  for (double v : per_row) total += v;  // fixed order: independent of threads
  result.score = total / static_cast<double>(s);
  return result;
}

SilhouetteResult SilhouetteImpl(const RowMatrix& x, const std::vector<int32_t>& labels, int k,
                                int64_t max_rows, uint64_t seed, int threads) {
  const int64_t n = x.rows();
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  if (n <= max_rows) return SilhouetteOfRows(x, labels, k, std::move(rows), true, threads);
  // Partial Fisher-Yates: the first max_rows entries become a uniform sample.
  std::mt19937_64 rng(SplitMix64(seed ^ 0x5111C0E77Eull));
  for (int64_t i = 0; i < max_rows; ++i) {
    int64_t j = i + UniformIndex(rng, n - i);
    std::swap(rows[static_cast<size_t>(i)], rows[static_cast<size_t>(j)]);
  }
  rows.resize(static_cast<size_t>(max_rows));
  std::sort(rows.begin(), rows.end());
  return SilhouetteOfRows(x, labels, k, std::move(rows), false, threads);
}

std::string ColumnName(const std::vector<std::string>& names, int64_t c) {
  std::string out = "column " + std::to_string(c);
  if (static_cast<size_t>(c) < names.size()) out += " ('" + names[static_cast<size_t>(c)] + "')";
  return out;
}

}  // namespace

StatusOr<KMeansOptions> KMeansOptions::Parse(std::string_view text) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(text));
  if (spec.name() != "kmeans") {
    return InvalidArgument("spec '" + std::string(text) + "': expected kmeans:..., got '" + spec.name() +
                           "'");
  }
  OMNI_RETURN_IF_ERROR(spec.CheckKnown(
      {kK.key, kNInit.key, kMaxIter.key, kTolKey, kSeed.key, kThreads.key, kSilhouetteSample.key}));
  KMeansOptions o;
  auto get = [&](const IntParam& p, int64_t* out) -> Status {
    OMNI_ASSIGN_OR_RETURN(*out, spec.GetInt(p.key, p.def, p.lo, p.hi));
    return Status::Ok();
  };
  int64_t k, n_init, max_iter, seed, threads, sample;
  OMNI_RETURN_IF_ERROR(get(kK, &k));
  OMNI_RETURN_IF_ERROR(get(kNInit, &n_init));
  OMNI_RETURN_IF_ERROR(get(kMaxIter, &max_iter));
  OMNI_RETURN_IF_ERROR(get(kSeed, &seed));
  OMNI_RETURN_IF_ERROR(get(kThreads, &threads));
  OMNI_RETURN_IF_ERROR(get(kSilhouetteSample, &sample));
  OMNI_ASSIGN_OR_RETURN(o.tol, spec.GetDouble(kTolKey, kTolDefault, 0, 1));
  o.k = static_cast<int>(k);
  o.n_init = static_cast<int>(n_init);
  o.max_iter = static_cast<int>(max_iter);
  o.seed = static_cast<uint64_t>(seed);
  o.threads = static_cast<int>(threads);
  o.silhouette_sample = sample;
  return o;
}

std::string KMeansOptions::ToSpec() const {
  char tol_text[32];
  std::snprintf(tol_text, sizeof tol_text, "%.17g", tol);
  return "kmeans:k=" + std::to_string(k) + ",n_init=" + std::to_string(n_init) +
         ",max_iter=" + std::to_string(max_iter) + ",tol=" + tol_text + ",seed=" + std::to_string(seed) +
         ",threads=" + std::to_string(threads) + ",silhouette_sample=" + std::to_string(silhouette_sample);
}

std::string KMeansOptions::Help() {
  std::string out;
  auto line = [&](std::string_view key, const std::string& def, const std::string& range,
                  std::string_view help) {
    std::string left = std::string(key) + "=" + def;
    left.resize(std::max<size_t>(left.size() + 2, 26), ' ');
    out += left + range + "  " + std::string(help) + "\n";
  };
  for (const IntParam* p : {&kK, &kNInit, &kMaxIter, &kSeed, &kThreads, &kSilhouetteSample}) {
    line(p->key, std::to_string(p->def), "[" + std::to_string(p->lo) + ", " + std::to_string(p->hi) + "]",
         p->help);
  }
  line(kTolKey, "0.0001", "[0, 1]", kTolHelp);
  return out;
}

SilhouetteResult Silhouette(const Eigen::MatrixXd& points, const std::vector<int32_t>& labels, int k,
                            int64_t max_rows, uint64_t seed, int threads) {
  OMNI_CHECK(static_cast<int64_t>(labels.size()) == points.rows());
  for (int32_t l : labels) OMNI_CHECK(l >= 0 && l < k);
  RowMatrix x = points;
  return SilhouetteImpl(x, labels, k, max_rows, seed, std::max(1, threads));
}

StatusOr<KMeansResult> FitKMeans(const Eigen::MatrixXd& features, const KMeansOptions& options,
                                 const std::vector<std::string>& column_names) {
  const int64_t n = features.rows();
  const int64_t d = features.cols();
  const KMeansOptions& o = options;
  if (d == 0) return InvalidArgument("k-means: the feature matrix has no columns");
  if (o.k < 2) return InvalidArgument("k-means: k=" + std::to_string(o.k) + " must be at least 2");
  if (o.k > n) {
    return InvalidArgument("k-means: k=" + std::to_string(o.k) + " is more than the " + std::to_string(n) +
                           " rows to cluster");
  }
  if (o.n_init < 1 || o.max_iter < 1 || o.threads < 1 || o.silhouette_sample < 2 || !(o.tol >= 0)) {
    return InvalidArgument("k-means: bad options " + o.ToSpec());
  }
  if (!column_names.empty() && static_cast<int64_t>(column_names.size()) != d) {
    return InvalidArgument("k-means: " + std::to_string(column_names.size()) + " column names for " +
                           std::to_string(d) + " columns");
  }
  KMeansResult result;
  result.feature_mean.resize(d);
  result.feature_scale.resize(d);
  for (int64_t c = 0; c < d; ++c) {
    auto col = features.col(c);
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(col[i])) {
        return InvalidArgument(
            "k-means: row index " + std::to_string(i) + ", " + ColumnName(column_names, c) + " is " +
            (std::isnan(col[i]) ? "NaN" : "infinite") + "; fill or drop missing values first");
      }
    }
    double mean = col.mean();
    double var = (col.array() - mean).square().sum() / static_cast<double>(n);
    // Constant up to rounding: the variance of n copies of `mean` computed in
    // doubles can be as large as (n · eps · |mean|)² (scikit-learn's test).
    double noise = static_cast<double>(n) * std::numeric_limits<double>::epsilon() * std::fabs(mean);
    bool constant = var <= noise * noise;
    result.feature_mean[c] = mean;
    result.feature_scale[c] = constant ? 1.0 : std::sqrt(var);
    if (constant) result.constant_columns.push_back(static_cast<int>(c));
  }
  RowMatrix x(n, d);
  for (int64_t c = 0; c < d; ++c) {
    bool constant = std::find(result.constant_columns.begin(), result.constant_columns.end(), c) !=
                    result.constant_columns.end();
    if (constant) {
      x.col(c).setZero();
    } else {
      x.col(c) = (features.col(c).array() - result.feature_mean[c]) / result.feature_scale[c];
    }
  }
  // scikit-learn's tolerance: relative to the mean variance of the (here
  // standardised) columns.
  double mean_variance = 0;
  for (int64_t c = 0; c < d; ++c) {
    double m = x.col(c).mean();
    mean_variance += (x.col(c).array() - m).square().sum() / static_cast<double>(n);
  }
  const double tol = o.tol * mean_variance / static_cast<double>(d);

  Run best;
  for (int r = 0; r < o.n_init; ++r) {
    Run run;
    OMNI_RETURN_IF_ERROR(
        LloydRun(x, o, tol, SplitMix64(o.seed + 0x632BE59BD9B4E019ull * static_cast<uint64_t>(r)), &run));
    if (r == 0 || run.inertia < best.inertia) {
      best = std::move(run);
      result.best_init = r;
    }
  }
  result.labels = std::move(best.labels);
  result.standardized_centroids = best.centers;
  result.centroids.resize(o.k, d);
  for (int c = 0; c < o.k; ++c) {
    result.centroids.row(c) =
        (best.centers.row(c).transpose().array() * result.feature_scale.array() + result.feature_mean.array())
            .transpose();
  }
  result.cluster_sizes.assign(static_cast<size_t>(o.k), 0);
  for (int32_t l : result.labels) ++result.cluster_sizes[static_cast<size_t>(l)];
  result.inertia = best.inertia;
  result.iterations = best.iterations;
  result.converged = best.converged;
  result.seed_rows = std::move(best.seeds);
  SilhouetteResult s = SilhouetteImpl(x, result.labels, o.k, o.silhouette_sample, o.seed, o.threads);
  result.silhouette = s.score;
  result.silhouette_exact = s.exact;
  result.silhouette_rows = s.rows;
  return result;
}

}  // namespace omni::profile
