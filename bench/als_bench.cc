// ALS at retailer scale: seconds per sweep (factors 64) on a synthetic
// implicit-feedback matrix shaped like the one behind the `implicit`
// library's reference figure in REFERENCES.md (23.85 s per iteration, 2
// threads, 1.25 GiB peak): 1M customers × 100k items × 50M non-zeros, Zipf(1)
// item popularity, lognormal customer activity (median 33, mean ~50, capped
// at 2,046), duplicates summed. Run it under /usr/bin/time -v for peak memory:
//   /usr/bin/time -v als_bench --customers 1000000 --items 100000 --nnz 50000000 --iters 3
// The same matrix trains the other models for a side-by-side at one size:
//   als_bench --model itemknn:k=100,shrink=10      (training time, peak RSS, scoring)
//   als_bench --model ease:lambda=400               (refuses with its memory message when too large)
//   als_bench --model dense-cosine                  (the seed's method: refuses the same way)
// Peak RSS is the whole process's, the generated matrix included (~0.6 GB
// at 50M non-zeros); the matrix alone is printed beside it.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "omni/recommend/als.h"
#include "omni/recommend/recommender.h"

namespace {

using omni::recommend::AlsModel;
using omni::recommend::InteractionMatrix;

// CPU seconds of the whole process: on a shared machine, wall time per
// iteration says more about the neighbours than about ALS.
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Every customer's row is drawn from its own seeded stream, so the matrix is
// the same whatever the thread count.
InteractionMatrix Generate(int32_t customers, int32_t items, int64_t nnz, uint64_t seed, int threads) {
  std::vector<double> cdf(items);
  double total = 0;
  for (int32_t i = 0; i < items; ++i) cdf[i] = total += 1.0 / (i + 1.0);  // Zipf, exponent 1
  for (auto& c : cdf) c /= total;

  // Activity: lognormal (median 33, sigma 0.912 gives mean 50), rescaled so
  // the row lengths sum to the requested non-zeros.
  std::vector<double> raw(customers);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> activity(std::log(33.0), 0.912);
  double raw_sum = 0;
  for (auto& r : raw) raw_sum += r = std::min(2046.0, activity(rng));
  const int32_t cap = std::min<int32_t>(2046, items / 2);
  InteractionMatrix m;
  m.rows = customers;
  m.cols = items;
  m.indptr.assign(customers + 1, 0);
  for (int32_t c = 0; c < customers; ++c) {
    const int64_t n = std::clamp<int64_t>(std::llround(raw[c] * nnz / raw_sum), 1, cap);
    m.indptr[c + 1] = m.indptr[c] + n;
  }
  m.indices.resize(m.indptr.back());
  m.values.resize(m.indptr.back());

  auto fill = [&](int32_t begin, int32_t end) {
    std::vector<int32_t> slot(items, -1);  // item -> position in the current row
    std::vector<std::pair<int32_t, float>> row;
    for (int32_t c = begin; c < end; ++c) {
      std::mt19937_64 r(seed * 0x9e3779b97f4a7c15ULL + c);
      std::uniform_real_distribution<double> u(0, 1);
      const int64_t want = m.indptr[c + 1] - m.indptr[c];
      row.clear();
      while (static_cast<int64_t>(row.size()) < want) {
        const int32_t item = static_cast<int32_t>(std::upper_bound(cdf.begin(), cdf.end(), u(r)) - cdf.begin());
        const int32_t it = std::min(item, items - 1);
        if (slot[it] >= 0) {
          row[slot[it]].second += 1.0f;  // a repeat purchase: weights are summed
        } else {
          slot[it] = static_cast<int32_t>(row.size());
          row.emplace_back(it, 1.0f);
        }
      }
      std::sort(row.begin(), row.end());
      int64_t p = m.indptr[c];
      for (const auto& [item, w] : row) {
        slot[item] = -1;
        m.indices[p] = item;
        m.values[p++] = w;
      }
    }
  };
  std::vector<std::thread> pool;
  const int32_t per = (customers + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int32_t b = t * per, e = std::min(customers, b + per);
    if (b < e) pool.emplace_back(fill, b, e);
  }
  for (auto& t : pool) t.join();
  return m;
}

double PeakRssGiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1048576.0;
}

// Any other registered model on the same matrix: fit time and memory, or its
// refusal; then one-customer scoring as a request would do it.
int OtherModel(const std::string& spec, const InteractionMatrix& m, uint64_t seed) {
  auto made = omni::recommend::MakeRecommender(spec);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
    return 2;
  }
  auto& model = **made;
  const double matrix_gib = (m.indices.size() * 8.0 + m.indptr.size() * 8.0) / (1u << 30);
  const double rss_before = PeakRssGiB();
  const double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  omni::Status st = model.Fit(m);
  const double fit_s = Seconds(t0);
  if (!st.ok()) {
    std::printf("%s: refused after %.2f s: %s\n", model.spec().c_str(), fit_s, st.ToString().c_str());
    return 0;
  }
  std::printf("%s: fit %.2f s wall, %.2f s CPU; peak RSS %.2f GiB (%.2f GiB before fit; matrix %.2f GiB)\n",
              model.spec().c_str(), fit_s, CpuSeconds() - cpu0, PeakRssGiB(), rss_before, matrix_gib);
  std::vector<float> scores(m.cols);
  std::vector<double> us;
  std::mt19937_64 pick(seed + 1);
  for (int i = 0; i < 1000; ++i) {
    const int32_t c = static_cast<int32_t>(pick() % m.rows);
    const auto s0 = std::chrono::steady_clock::now();
    model.Score(std::span<const int32_t>(&c, 1), m, scores.data());
    us.push_back(1e6 * Seconds(s0));
  }
  std::sort(us.begin(), us.end());
  std::printf("score one customer x %d items: p50 %.0f us, p99 %.0f us\n", m.cols, us[500], us[990]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t customers = 1'000'000, items = 100'000, nnz = 50'000'000;
  int iters = 3, threads = 2, factors = 64;
  uint64_t seed = 1;
  std::string model_spec = "als";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--customers") customers = std::atoll(v);
    else if (flag == "--items") items = std::atoll(v);
    else if (flag == "--nnz") nnz = std::atoll(v);
    else if (flag == "--iters") iters = std::atoi(v);
    else if (flag == "--threads") threads = std::atoi(v);
    else if (flag == "--factors") factors = std::atoi(v);
    else if (flag == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (flag == "--model") model_spec = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  const InteractionMatrix m = Generate(static_cast<int32_t>(customers), static_cast<int32_t>(items), nnz, seed, threads);
  const double gen_s = Seconds(t0);
  std::vector<int64_t> item_count(items, 0);
  for (int32_t i : m.indices) ++item_count[i];
  std::vector<int64_t> sorted = item_count;
  std::sort(sorted.rbegin(), sorted.rend());
  const int64_t top1 = std::accumulate(sorted.begin(), sorted.begin() + std::max<int64_t>(1, items / 100), int64_t{0});
  int64_t max_row = 0;
  for (int32_t c = 0; c < m.rows; ++c) max_row = std::max(max_row, m.indptr[c + 1] - m.indptr[c]);
  std::printf("matrix: %ld customers x %ld items, %ld non-zeros (generated in %.1f s); top item %ld customers, "
              "top 1%% of items %.1f%% of non-zeros, longest row %ld\n",
              static_cast<long>(customers), static_cast<long>(items), static_cast<long>(m.nnz()), gen_s,
              static_cast<long>(sorted[0]), 100.0 * top1 / m.nnz(), static_cast<long>(max_row));

  if (model_spec != "als") return OtherModel(model_spec, m, seed);

  omni::recommend::AlsOptions o;
  o.factors = factors;
  o.iters = iters;
  o.threads = threads;
  AlsModel model(o);
  std::vector<double> per_iter, cpu_per_iter;
  double cpu_mark = CpuSeconds();
  model.set_iteration_callback([&](int it, double s) {
    const double cpu = CpuSeconds();
    per_iter.push_back(s);
    cpu_per_iter.push_back(cpu - cpu_mark);
    std::printf("iteration %d: %.2f s wall, %.2f s CPU (%.0f%% of %d threads)\n", it, s, cpu - cpu_mark,
                100.0 * (cpu - cpu_mark) / (s * threads), threads);
    std::fflush(stdout);
    cpu_mark = cpu;
  });
  t0 = std::chrono::steady_clock::now();
  if (auto st = model.Fit(m); !st.ok()) {
    std::fprintf(stderr, "fit failed: %s\n", st.ToString().c_str());
    return 1;
  }
  const double fit_s = Seconds(t0);
  std::sort(per_iter.begin(), per_iter.end());
  std::sort(cpu_per_iter.begin(), cpu_per_iter.end());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%s: fit %.2f s, median %.2f s per iteration (min %.2f), median CPU %.2f s per iteration "
              "(%.2f s if the %d threads had their cores alone), peak RSS %.2f GiB\n",
              model.spec().c_str(), fit_s, per_iter[per_iter.size() / 2], per_iter.front(),
              cpu_per_iter[cpu_per_iter.size() / 2], cpu_per_iter[cpu_per_iter.size() / 2] / threads, threads,
              ru.ru_maxrss / 1048576.0);
  // Serving: one customer at a time against the whole catalogue, as a
  // request would (fitted customers, so no fold-in).
  std::vector<float> scores(m.cols);
  std::vector<double> us;
  std::mt19937_64 pick(seed + 1);
  for (int i = 0; i < 1000; ++i) {
    const int32_t c = static_cast<int32_t>(pick() % m.rows);
    const auto s0 = std::chrono::steady_clock::now();
    model.Score(std::span<const int32_t>(&c, 1), m, scores.data());
    us.push_back(1e6 * Seconds(s0));
  }
  std::sort(us.begin(), us.end());
  std::printf("score one customer x %d items: p50 %.0f us, p99 %.0f us\n", m.cols, us[500], us[990]);
  // Fold-in of a fresh history row (the post-session refresh).
  us.clear();
  for (int i = 0; i < 200; ++i) {
    const int32_t c = static_cast<int32_t>(pick() % m.rows);
    const auto s0 = std::chrono::steady_clock::now();
    auto f = model.RecalculateCustomer(m.RowIndices(c), m.RowValues(c));
    us.push_back(1e6 * Seconds(s0));
  }
  std::sort(us.begin(), us.end());
  std::printf("recalculate one customer (exact solve): p50 %.0f us, p99 %.0f us\n", us[100], us[198]);
  return 0;
}
