#include "omni/recommend/splits.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace omni::recommend {
namespace {

InteractionLog EmptyLike(const InteractionLog& log) {
  InteractionLog out;
  out.customers = log.customers;
  out.items = log.items;
  return out;
}

// Rows of each customer, in log order.
std::vector<std::vector<int64_t>> RowsByCustomer(const InteractionLog& log, const std::vector<int64_t>& order) {
  std::vector<std::vector<int64_t>> by(log.customers);
  for (int64_t r : order) by[log.rows[r].customer].push_back(r);
  return by;
}

// Python 3's round() for non-negative x: ties to even.
int64_t RoundHalfEven(double x) {
  double f = std::floor(x);
  double diff = x - f;
  if (diff > 0.5) return static_cast<int64_t>(f) + 1;
  if (diff < 0.5) return static_cast<int64_t>(f);
  int64_t fi = static_cast<int64_t>(f);
  return fi % 2 == 0 ? fi : fi + 1;
}

}  // namespace

std::vector<int64_t> NumpyPermutation(int64_t n, uint32_t seed) {
  std::vector<int64_t> a(n);
  std::iota(a.begin(), a.end(), 0);
  std::mt19937 gen(seed);  // numpy's legacy seeding of an int is init_genrand
  for (int64_t i = n - 1; i >= 1; --i) {
    // numpy's random_interval(max = i): smallest all-ones mask >= max, redraw
    // 32-bit values until (v & mask) <= max.
    uint64_t max = static_cast<uint64_t>(i);
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t v;
    if (max <= 0xffffffffULL) {
      while ((v = (static_cast<uint64_t>(gen()) & mask)) > max) {
      }
    } else {
      while ((v = (((static_cast<uint64_t>(gen()) << 32) | gen()) & mask)) > max) {
      }
    }
    std::swap(a[i], a[v]);
  }
  return a;
}

StatusOr<InteractionMatrix> ToMatrix(const InteractionLog& log, MatrixValues values) {
  std::vector<int32_t> r, c;
  std::vector<float> v;
  r.reserve(log.rows.size());
  c.reserve(log.rows.size());
  v.reserve(log.rows.size());
  for (const Interaction& x : log.rows) {
    r.push_back(x.customer);
    c.push_back(x.item);
    v.push_back(x.value);
  }
  OMNI_ASSIGN_OR_RETURN(InteractionMatrix m,
                        InteractionMatrix::FromTriplets(log.customers, log.items, std::move(r), std::move(c), std::move(v)));
  // Refunds arrive as negative weights: a customer × item whose sum is not
  // positive (bought then returned) is no interaction at all.
  InteractionMatrix kept;
  kept.rows = m.rows;
  kept.cols = m.cols;
  kept.indptr.assign(static_cast<size_t>(m.rows) + 1, 0);
  kept.indices.reserve(m.indices.size());
  kept.values.reserve(m.values.size());
  for (int32_t r = 0; r < m.rows; ++r) {
    for (int64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) {
      if (m.values[p] <= 0) continue;
      kept.indices.push_back(m.indices[p]);
      kept.values.push_back(values == MatrixValues::kBinary ? 1.0f : m.values[p]);
    }
    kept.indptr[r + 1] = static_cast<int64_t>(kept.indices.size());
  }
  return kept;
}

std::vector<int64_t> EntryTimes(const InteractionMatrix& m, const InteractionLog& log) {
  std::vector<int64_t> newest(m.indices.size(), INT64_MIN);
  for (const Interaction& x : log.rows) {
    if (x.customer < 0 || x.customer >= m.rows) continue;
    auto idx = m.RowIndices(x.customer);
    auto it = std::lower_bound(idx.begin(), idx.end(), x.item);
    if (it == idx.end() || *it != x.item) continue;
    int64_t& t = newest[static_cast<size_t>(m.indptr[x.customer] + (it - idx.begin()))];
    t = std::max(t, x.ts_ms);
  }
  return newest;
}

Status FitFromLog(Recommender& model, const InteractionMatrix& m, const InteractionLog& log) {
  return model.UsesEventTimes() ? model.FitTimed(m, EntryTimes(m, log)) : model.Fit(m);
}

InteractionLog FilterMinRating(const InteractionLog& log, float min_rating) {
  InteractionLog out = EmptyLike(log);
  for (const Interaction& x : log.rows) {
    if (x.rating >= min_rating) out.rows.push_back(x);
  }
  return out;
}

InteractionLog KCore(const InteractionLog& log, int min_customer, int min_item) {
  InteractionLog cur = log;
  for (;;) {
    std::vector<int64_t> cc(log.customers, 0), ic(log.items, 0);
    for (const Interaction& x : cur.rows) {
      ++cc[x.customer];
      ++ic[x.item];
    }
    InteractionLog next = EmptyLike(log);
    for (const Interaction& x : cur.rows) {
      if (cc[x.customer] >= min_customer && ic[x.item] >= min_item) next.rows.push_back(x);
    }
    if (next.rows.size() == cur.rows.size()) return next;
    cur = std::move(next);
  }
}

Split MsrStratifiedSplit(const InteractionLog& log, double train_ratio, uint32_t seed) {
  Split s{EmptyLike(log), EmptyLike(log), EmptyLike(log)};
  std::vector<int64_t> order(log.rows.size());
  std::iota(order.begin(), order.end(), 0);
  auto by = RowsByCustomer(log, order);
  // Customers in first-appearance order, as pandas' groupby(sort=False) would;
  // the split itself does not depend on it (one fresh generator per customer).
  for (const auto& rows : by) {
    if (rows.empty()) continue;
    const int64_t n = static_cast<int64_t>(rows.size());
    std::vector<int64_t> perm = NumpyPermutation(n, seed);
    const int64_t cut = RoundHalfEven(train_ratio * static_cast<double>(n));
    for (int64_t p = 0; p < n; ++p) {
      (p < cut ? s.train : s.test).rows.push_back(log.rows[rows[perm[p]]]);
    }
  }
  return s;
}

std::vector<Split> MsrStratifiedFolds(const InteractionLog& log, int folds, uint32_t seed) {
  std::vector<Split> out(static_cast<size_t>(std::max(folds, 0)), Split{EmptyLike(log), EmptyLike(log), EmptyLike(log)});
  std::vector<int64_t> order(log.rows.size());
  std::iota(order.begin(), order.end(), 0);
  for (const auto& rows : RowsByCustomer(log, order)) {
    if (rows.empty()) continue;
    const int64_t n = static_cast<int64_t>(rows.size());
    const std::vector<int64_t> perm = NumpyPermutation(n, seed);
    for (int f = 0; f < folds; ++f) {
      const int64_t lo = RoundHalfEven(static_cast<double>(f) * static_cast<double>(n) / folds);
      const int64_t hi = RoundHalfEven(static_cast<double>(f + 1) * static_cast<double>(n) / folds);
      for (int64_t p = 0; p < n; ++p) {
        (p >= lo && p < hi ? out[f].test : out[f].train).rows.push_back(log.rows[rows[perm[p]]]);
      }
    }
  }
  return out;
}

Split RecBoleRatioSplit(const InteractionLog& log, double validation_ratio, double test_ratio, uint32_t seed) {
  Split s{EmptyLike(log), EmptyLike(log), EmptyLike(log)};
  std::vector<int64_t> order = NumpyPermutation(static_cast<int64_t>(log.rows.size()), seed);
  auto by = RowsByCustomer(log, order);
  const double ratios[3] = {1.0 - validation_ratio - test_ratio, validation_ratio, test_ratio};
  for (const auto& rows : by) {
    if (rows.empty()) continue;
    const int64_t tot = static_cast<int64_t>(rows.size());
    int64_t cnt[3];
    for (int i = 0; i < 3; ++i) cnt[i] = static_cast<int64_t>(ratios[i] * static_cast<double>(tot));
    cnt[0] = tot - cnt[1] - cnt[2];
    for (int i = 1; i < 3; ++i) {
      if (cnt[0] <= 1) break;
      const double want = ratios[3 - i] * static_cast<double>(tot);
      if (0 < want && want < 1) {
        ++cnt[3 - i];
        --cnt[0];
      }
    }
    for (int64_t p = 0; p < tot; ++p) {
      InteractionLog& part = p < cnt[0] ? s.train : (p < cnt[0] + cnt[1] ? s.validation : s.test);
      part.rows.push_back(log.rows[rows[p]]);
    }
  }
  return s;
}

Split TemporalSplit(const InteractionLog& log, int64_t cutoff_ms) {
  Split s{EmptyLike(log), EmptyLike(log), EmptyLike(log)};
  for (const Interaction& x : log.rows) (x.ts_ms < cutoff_ms ? s.train : s.test).rows.push_back(x);
  return s;
}

Split LeaveLastOutSplit(const InteractionLog& log) {
  Split s{EmptyLike(log), EmptyLike(log), EmptyLike(log)};
  std::vector<int64_t> last(log.customers, INT64_MIN), first(log.customers, INT64_MAX);
  for (const Interaction& x : log.rows) {
    last[x.customer] = std::max(last[x.customer], x.ts_ms);
    first[x.customer] = std::min(first[x.customer], x.ts_ms);
  }
  for (const Interaction& x : log.rows) {
    // A customer whose rows all share one timestamp has no history to learn
    // from: everything stays in train.
    bool held_out = x.ts_ms == last[x.customer] && first[x.customer] < last[x.customer];
    (held_out ? s.test : s.train).rows.push_back(x);
  }
  return s;
}

}  // namespace omni::recommend
