#include "omni/recommend/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "omni/recommend/metrics.h"

namespace omni::recommend {
namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The union of two matrices' patterns (values 1): what a customer has seen.
StatusOr<InteractionMatrix> Union(const InteractionMatrix& a, const InteractionMatrix& b) {
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (const InteractionMatrix* m : {&a, &b}) {
    for (int32_t i = 0; i < m->rows; ++i) {
      for (int32_t j : m->RowIndices(i)) {
        r.push_back(i);
        c.push_back(j);
        v.push_back(1.0f);
      }
    }
  }
  OMNI_ASSIGN_OR_RETURN(InteractionMatrix u, InteractionMatrix::FromTriplets(a.rows, a.cols, r, c, v));
  std::fill(u.values.begin(), u.values.end(), 1.0f);
  return u;
}

int64_t Customers(const InteractionLog& log) {
  std::vector<char> seen(log.customers, 0);
  int64_t n = 0;
  for (const Interaction& x : log.rows) {
    n += !seen[x.customer];
    seen[x.customer] = 1;
  }
  return n;
}

int64_t Items(const InteractionLog& log) {
  std::vector<char> seen(log.items, 0);
  int64_t n = 0;
  for (const Interaction& x : log.rows) {
    n += !seen[x.item];
    seen[x.item] = 1;
  }
  return n;
}

// Fits one spec; the model or the refusal.
struct Fitted {
  std::unique_ptr<Recommender> model;
  Status status;
  double seconds = 0;
};
// `log`: the rows `train` was built from (event times for FitTimed).
Fitted FitSpec(const std::string& spec, const InteractionMatrix& train, const InteractionLog& log) {
  Fitted f;
  auto t0 = std::chrono::steady_clock::now();
  StatusOr<std::unique_ptr<Recommender>> m = MakeRecommender(spec);
  if (!m.ok()) {
    f.status = m.status();
    return f;
  }
  f.status = FitFromLog(**m, train, log);
  f.seconds = Since(t0);
  if (f.status.ok()) f.model = std::move(*m);
  return f;
}

double MetricValue(const Metrics& m, const std::string& name) {
  for (const auto& [k, v] : m) {
    if (k == name) return v;
  }
  return 0;
}

}  // namespace

StatusOr<std::vector<std::string>> ExpandGrid(const std::string& text) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(text));
  std::vector<std::string> out = {spec.name()};
  bool first = true;
  for (const auto& [key, value] : spec.params()) {
    std::vector<std::string> alts;
    size_t start = 0;
    for (;;) {
      size_t bar = value.find('|', start);
      alts.push_back(value.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    std::vector<std::string> next;
    for (const std::string& prefix : out) {
      for (const std::string& a : alts) {
        if (a.empty()) return InvalidArgument("empty alternative for '" + key + "' in '" + text + "'");
        next.push_back(prefix + (first ? ":" : ",") + key + "=" + a);
      }
    }
    out = std::move(next);
    first = false;
  }
  return out;
}

StatusOr<std::vector<std::string>> SampleSearchSpace(const std::string& text, int trials, uint32_t seed) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(text));
  struct Dimension {
    std::string key;
    std::vector<std::string> alternatives;  // or a range:
    bool range = false, integer = false, log = false;
    double lo = 0, hi = 0;
  };
  std::vector<Dimension> dims;
  double space = 1;  // distinct points (infinite for double ranges)
  for (const auto& [key, value] : spec.params()) {
    Dimension d;
    d.key = key;
    if (size_t dots = value.find(".."); dots != std::string::npos) {
      const std::string a = value.substr(0, dots), b = value.substr(dots + 2);
      char* end = nullptr;
      d.lo = std::strtod(a.c_str(), &end);
      const bool ok_a = end != a.c_str() && *end == '\0';
      d.hi = std::strtod(b.c_str(), &end);
      const bool ok_b = end != b.c_str() && *end == '\0';
      if (!ok_a || !ok_b || !(d.lo <= d.hi)) {
        return InvalidArgument("range '" + value + "' for '" + key + "' in '" + text + "' is not LO..HI with LO <= HI");
      }
      d.range = true;
      d.integer = a.find_first_of(".eE") == std::string::npos && b.find_first_of(".eE") == std::string::npos;
      d.log = d.lo > 0 && d.hi >= 10 * d.lo;
      space *= d.integer ? (d.hi - d.lo + 1) : 1e18;
    } else {
      size_t start = 0;
      for (;;) {
        size_t bar = value.find('|', start);
        d.alternatives.push_back(value.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
        if (d.alternatives.back().empty()) {
          return InvalidArgument("empty alternative for '" + key + "' in '" + text + "'");
        }
        if (bar == std::string::npos) break;
        start = bar + 1;
      }
      space *= static_cast<double>(d.alternatives.size());
    }
    dims.push_back(std::move(d));
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::string> out;
  const size_t want = static_cast<size_t>(std::min<double>(std::max(trials, 1), space));
  for (int attempt = 0; out.size() < want && attempt < 100 * std::max(trials, 1); ++attempt) {
    std::string point = spec.name();
    for (size_t i = 0; i < dims.size(); ++i) {
      const Dimension& d = dims[i];
      std::string v;
      if (!d.range) {
        v = d.alternatives[rng() % d.alternatives.size()];
      } else {
        const double u = unit(rng);
        double x = d.log ? std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo))) : d.lo + u * (d.hi - d.lo);
        if (d.integer) {
          v = std::to_string(static_cast<int64_t>(std::llround(std::clamp(x, d.lo, d.hi))));
        } else {
          v = fmt::format("{:.4g}", x);
        }
      }
      point += (i == 0 ? ":" : ",") + d.key + "=" + v;
    }
    if (std::find(out.begin(), out.end(), point) == out.end()) out.push_back(std::move(point));
  }
  return out;
}

Metrics RankAndScore(const Recommender& model, const InteractionMatrix& history, const InteractionMatrix& exclude,
                     const InteractionMatrix& truth, int k, int threads, int64_t* customers) {
  const int32_t n = model.item_count();
  std::vector<int32_t> todo;
  for (int32_t u = 0; u < truth.rows; ++u) {
    if (u < history.rows && history.indptr[u + 1] > history.indptr[u] && truth.indptr[u + 1] > truth.indptr[u]) {
      todo.push_back(u);
    }
  }
  threads = std::max(1, threads);
  std::vector<MetricAccumulator> acc(threads, MetricAccumulator(k, n));
  auto work = [&](int t) {
    constexpr size_t kBatch = 64;
    std::vector<float> scores;
    std::vector<ScoredItem> top;
    std::vector<int32_t> ranked, relevant;
    std::vector<char> excluded(n, 0);
    for (size_t begin = t * kBatch; begin < todo.size(); begin += kBatch * threads) {
      const size_t end = std::min(todo.size(), begin + kBatch);
      std::span<const int32_t> batch(todo.data() + begin, end - begin);
      scores.resize(batch.size() * static_cast<size_t>(n));
      model.Score(batch, history, scores.data());
      for (size_t b = 0; b < batch.size(); ++b) {
        const int32_t u = batch[b];
        auto ex = u < exclude.rows ? exclude.RowIndices(u) : std::span<const int32_t>();
        for (int32_t j : ex) {
          if (j < n) excluded[j] = 1;
        }
        TopK(scores.data() + b * n, n, k, [&](int32_t j) { return excluded[j] != 0; }, top);
        ranked.clear();
        for (const ScoredItem& s : top) ranked.push_back(s.item);
        relevant.clear();
        for (int32_t j : truth.RowIndices(u)) {
          if (j >= n || !excluded[j]) relevant.push_back(j);
        }
        for (int32_t j : ex) {
          if (j < n) excluded[j] = 0;
        }
        acc[t].Add(ranked, relevant);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (int t = 1; t < threads; ++t) acc[0].Merge(acc[t]);
  if (customers) *customers = acc[0].customers();
  return acc[0].Result();
}

InteractionMatrix RecentRows(const InteractionMatrix& train, const InteractionLog& log, int cap) {
  if (cap <= 0) return train;
  const std::vector<int64_t> newest = EntryTimes(train, log);
  InteractionMatrix out;
  out.rows = train.rows;
  out.cols = train.cols;
  out.indptr.assign(static_cast<size_t>(train.rows) + 1, 0);
  std::vector<int64_t> order;
  for (int32_t r = 0; r < train.rows; ++r) {
    const int64_t b = train.indptr[r], e = train.indptr[r + 1];
    if (e - b <= cap) {
      for (int64_t p = b; p < e; ++p) {
        out.indices.push_back(train.indices[p]);
        out.values.push_back(train.values[p]);
      }
    } else {
      order.resize(static_cast<size_t>(e - b));
      for (int64_t p = b; p < e; ++p) order[static_cast<size_t>(p - b)] = p;
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return newest[x] > newest[y]; });
      order.resize(static_cast<size_t>(cap));
      std::sort(order.begin(), order.end());
      for (int64_t p : order) {
        out.indices.push_back(train.indices[p]);
        out.values.push_back(train.values[p]);
      }
    }
    out.indptr[r + 1] = static_cast<int64_t>(out.indices.size());
  }
  return out;
}

StatusOr<EvaluationReport> Evaluate(const InteractionLog& input, const std::vector<std::string>& specs,
                                    const EvaluationOptions& options) {
  EvaluationReport report;
  report.protocol = options.protocol;
  report.k = options.k;
  report.seed = options.seed;
  if (options.k <= 0) return InvalidArgument("k must be positive");
  if (options.search != "grid" && options.search != "random") {
    return InvalidArgument("search '" + options.search + "' is not grid or random");
  }
  if (options.validation_folds < 1) return InvalidArgument("validation folds must be at least 1");
  double validation_ratio = options.validation_ratio;
  if (options.validation_folds > 1) {
    if (options.protocol != "msr-stratified") {
      return InvalidArgument("--validation-folds applies to --protocol msr-stratified");
    }
    const double share = 1.0 / options.validation_folds;
    if (validation_ratio > 0 && std::abs(validation_ratio - share) > 1e-9) {
      return InvalidArgument(fmt::format(
          "--validation-folds {} carves 1/{} of each customer's training rows per fold: drop --validation or give {}",
          options.validation_folds, options.validation_folds, share));
    }
    validation_ratio = share;
  }
  const bool msr_validation = options.protocol == "msr-stratified" && validation_ratio > 0;
  if (validation_ratio < 0 || validation_ratio >= 1) {
    return InvalidArgument("validation ratio must be in [0, 1)");
  }
  if (validation_ratio > 0 && options.protocol != "msr-stratified") {
    return InvalidArgument("--validation applies to --protocol msr-stratified (recbole has its own 8:1:1 part)");
  }
  if (options.search == "random" && options.protocol != "recbole" && !msr_validation) {
    // Choosing among random points needs a validation part; choosing on test
    // would report an optimistic number.
    return InvalidArgument(
        "--search random chooses on a validation part: use --protocol recbole, or msr-stratified with --validation");
  }
  InteractionLog log;
  Split split;
  bool tune = false;
  // msr-stratified with validation: (training minus validation, validation)
  // per fold; one fold unless validation_folds > 1.
  std::vector<Split> folds;
  if (options.protocol == "msr-stratified") {
    log = input;
    split = MsrStratifiedSplit(log, 0.75, options.seed);
    if (msr_validation) {
      // The protocol's own per-customer rule, applied to the training part.
      if (options.validation_folds > 1) {
        folds = MsrStratifiedFolds(split.train, options.validation_folds, options.seed);
      } else {
        folds.push_back(MsrStratifiedSplit(split.train, 1.0 - validation_ratio, options.seed));
      }
      split.validation = folds.back().test;
      tune = true;
    }
  } else if (options.protocol == "recbole") {
    log = KCore(FilterMinRating(input, 3.0f), 10, 10);
    split = RecBoleRatioSplit(log, 0.1, 0.1, options.seed);
    tune = true;
  } else if (options.protocol == "temporal") {
    log = input;
    int64_t cutoff = options.cutoff_ms;
    if (cutoff == 0 && !log.rows.empty()) {
      std::vector<int64_t> ts;
      for (const Interaction& x : log.rows) ts.push_back(x.ts_ms);
      size_t q = ts.size() * 8 / 10;
      std::nth_element(ts.begin(), ts.begin() + q, ts.end());
      cutoff = ts[q];
    }
    report.cutoff_ms = cutoff;
    split = TemporalSplit(log, cutoff);
  } else if (options.protocol == "leave-last-out") {
    log = input;
    split = LeaveLastOutSplit(log);
  } else {
    return InvalidArgument("unknown protocol '" + options.protocol +
                           "' (known: msr-stratified, recbole, temporal, leave-last-out)");
  }
  report.rows = static_cast<int64_t>(log.rows.size());
  report.customers = Customers(log);
  report.items = Items(log);
  report.train_rows = static_cast<int64_t>(split.train.rows.size());
  report.validation_rows = static_cast<int64_t>(split.validation.rows.size());
  report.test_rows = static_cast<int64_t>(split.test.rows.size());
  if (split.train.rows.empty() || split.test.rows.empty()) {
    return FailedPrecondition(fmt::format("the {} split leaves {} training and {} test rows: nothing to evaluate",
                                          options.protocol, split.train.rows.size(), split.test.rows.size()));
  }
  {
    std::vector<char> in_train(log.customers, 0), counted(log.customers, 0);
    for (const Interaction& x : split.train.rows) in_train[x.customer] = 1;
    for (const Interaction& x : split.test.rows) {
      if (!in_train[x.customer] && !counted[x.customer]) {
        counted[x.customer] = 1;
        ++report.cold_customers;
      }
    }
  }

  OMNI_ASSIGN_OR_RETURN(InteractionMatrix train, ToMatrix(split.train, options.values));
  OMNI_ASSIGN_OR_RETURN(InteractionMatrix test, ToMatrix(split.test, MatrixValues::kBinary));
  // What the search fits on and ranks: one part per validation fold.
  struct SearchPart {
    const InteractionLog* log;   // the rows `train` was built from (event times)
    InteractionMatrix train;     // fitted on; also excluded from the ranking
    InteractionMatrix valid;     // ranked against
    InteractionMatrix recent;    // train under the recency cap
  };
  std::vector<SearchPart> parts;
  InteractionMatrix seen_valid;
  if (tune) {
    if (msr_validation) {
      // Search on training minus validation; the winner is refitted on the
      // whole training part, and test excludes training only.
      for (const Split& f : folds) {
        SearchPart part;
        part.log = &f.train;
        OMNI_ASSIGN_OR_RETURN(part.train, ToMatrix(f.train, options.values));
        OMNI_ASSIGN_OR_RETURN(part.valid, ToMatrix(f.test, MatrixValues::kBinary));
        part.recent = RecentRows(part.train, f.train, options.max_history_items);
        parts.push_back(std::move(part));
      }
      seen_valid = train;
    } else {
      SearchPart part;
      part.log = &split.train;
      part.train = train;
      OMNI_ASSIGN_OR_RETURN(part.valid, ToMatrix(split.validation, MatrixValues::kBinary));
      part.recent = RecentRows(train, split.train, options.max_history_items);
      OMNI_ASSIGN_OR_RETURN(seen_valid, Union(train, part.valid));
      parts.push_back(std::move(part));
    }
  }
  const std::string ndcg_key = "ndcg@" + std::to_string(options.k);
  // What item-to-item models score from (the serving layer's recency cap).
  const InteractionMatrix recent = RecentRows(train, split.train, options.max_history_items);
  auto history_for = [&](const Recommender& m) -> const InteractionMatrix& {
    return options.max_history_items > 0 && !m.UsesTrainingRows() ? recent : train;
  };
  auto search_history_for = [&](const Recommender& m, const SearchPart& part) -> const InteractionMatrix& {
    return options.max_history_items > 0 && !m.UsesTrainingRows() ? part.recent : part.train;
  };

  for (const std::string& spec : specs) {
    std::vector<std::string> grid;
    if (options.search == "random") {
      OMNI_ASSIGN_OR_RETURN(grid, SampleSearchSpace(spec, options.trials, options.seed));
    } else {
      if (spec.find("..") != std::string::npos) {
        return InvalidArgument("'" + spec + "' has a range: use --search random (a grid needs a|b|c alternatives)");
      }
      OMNI_ASSIGN_OR_RETURN(grid, ExpandGrid(spec));
    }
    // Validate every grid point's parameters before spending time fitting.
    for (const std::string& point : grid) {
      StatusOr<std::unique_ptr<Recommender>> probe = MakeRecommender(point);
      if (!probe.ok()) return probe.status();
    }
    if (!tune) {
      for (const std::string& point : grid) {
        ModelResult r;
        r.spec = point;
        Fitted f = FitSpec(point, train, split.train);
        r.status = f.status;
        r.fit_seconds = f.seconds;
        if (f.model) {
          r.model_spec = f.model->spec();
          auto t0 = std::chrono::steady_clock::now();
          r.metrics = RankAndScore(*f.model, history_for(*f.model), train, test, options.k, options.threads, &r.customers);
          r.score_seconds = Since(t0);
        }
        report.models.push_back(std::move(r));
      }
      continue;
    }
    // RecBole: choose on validation, report the chosen point on test.
    ModelResult best;
    best.spec = spec;
    best.candidates = 0;
    std::unique_ptr<Recommender> best_model;
    const auto search_start = std::chrono::steady_clock::now();
    for (const std::string& point : grid) {
      if (options.budget_seconds > 0 && best.candidates > 0 && Since(search_start) > options.budget_seconds) {
        best.budget_exhausted = true;
        break;
      }
      ++best.candidates;
      // The mean validation NDCG over the folds; the last fold's model is
      // kept (without folds, the model fitted on the search part).
      double ndcg = 0;
      Fitted f;
      for (const SearchPart& part : parts) {
        f = FitSpec(point, part.train, *part.log);
        if (!f.model) break;
        int64_t n = 0;
        Metrics v = RankAndScore(*f.model, search_history_for(*f.model, part), part.train, part.valid, options.k,
                                 options.threads, &n);
        ndcg += MetricValue(v, ndcg_key) / static_cast<double>(parts.size());
      }
      if (!f.model) {
        if (!best_model) best.status = f.status;
        continue;
      }
      if (!best_model || ndcg > best.validation_ndcg) {
        best.validation_ndcg = ndcg;
        best.spec = point;
        best.fit_seconds = f.seconds;
        best.status = Status::Ok();
        best_model = std::move(f.model);
      }
    }
    best.search_seconds = Since(search_start);
    if (best_model && msr_validation) {
      // Refit the chosen point on the whole training part.
      Fitted f = FitSpec(best.spec, train, split.train);
      best.fit_seconds = f.seconds;
      best.status = f.status;
      best_model = std::move(f.model);
    }
    if (best_model) {
      best.model_spec = best_model->spec();
      auto t0 = std::chrono::steady_clock::now();
      best.metrics = RankAndScore(*best_model, history_for(*best_model), seen_valid, test, options.k, options.threads, &best.customers);
      best.score_seconds = Since(t0);
    }
    report.models.push_back(std::move(best));
  }
  return report;
}

}  // namespace omni::recommend
