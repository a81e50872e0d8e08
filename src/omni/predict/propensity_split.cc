#include "omni/predict/propensity_split.h"

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "omni/ingest/timestamp.h"

namespace omni::predict {
namespace {

// Stratified: each class's rows are shuffled with the seed and cut at the
// given fractions (cumulative), so every part keeps the base rate.
std::vector<std::vector<int64_t>> Stratified(const FeatureTable& t, const std::vector<int64_t>& rows,
                                             const std::vector<double>& cuts, uint64_t seed) {
  std::vector<std::vector<int64_t>> parts(cuts.size() + 1);
  std::mt19937_64 rng(seed);
  for (int cls = 0; cls < 2; ++cls) {
    std::vector<int64_t> of;
    for (int64_t r : rows) {
      if ((t.label[r] > 0.5f) == (cls == 1)) of.push_back(r);
    }
    std::shuffle(of.begin(), of.end(), rng);
    const double n = static_cast<double>(of.size());
    size_t start = 0;
    for (size_t p = 0; p <= cuts.size(); ++p) {
      const size_t end = p < cuts.size() ? static_cast<size_t>(std::llround(cuts[p] * n)) : of.size();
      for (size_t i = start; i < end; ++i) parts[p].push_back(of[i]);
      start = end;
    }
  }
  for (auto& p : parts) std::sort(p.begin(), p.end());
  return parts;
}

std::string Date(int64_t ms) { return ingest::FormatTimestamp(ms, 0).substr(0, 10); }

}  // namespace

StatusOr<RowSplit> SplitRows(const FeatureTable& t, const SplitOptions& o) {
  if (!t.labelled()) return InvalidArgument("the feature table has no label column");
  RowSplit s;
  std::set<int64_t> cutoffs(t.cutoff_ms.begin(), t.cutoff_ms.end());
  if (o.test_cutoff_ms != 0) {
    if (!cutoffs.count(o.test_cutoff_ms)) {
      return InvalidArgument("--test-cutoff " + Date(o.test_cutoff_ms) + ": no rows at that cutoff");
    }
    std::set<int64_t> earlier;
    for (int64_t c : cutoffs) {
      if (c < o.test_cutoff_ms) earlier.insert(c);
    }
    if (earlier.size() < 2) return InvalidArgument("--test-cutoff needs at least two earlier cutoffs (train, validation)");
    const int64_t valid = *earlier.rbegin();
    for (int64_t r = 0; r < t.rows(); ++r) {
      const int64_t c = t.cutoff_ms[r];
      if (c == o.test_cutoff_ms) s.test.push_back(r);
      else if (c == valid) s.validation.push_back(r);
      else if (c < valid) s.train.push_back(r);
    }
    s.rule = fmt::format("by time: test = cutoff {}, validation = cutoff {}, train = the {} earlier cutoff(s)",
                         Date(o.test_cutoff_ms), Date(valid), earlier.size() - 1);
  } else if (cutoffs.size() >= 2) {
    const int64_t latest = *cutoffs.rbegin();
    std::vector<int64_t> held;
    for (int64_t r = 0; r < t.rows(); ++r) (t.cutoff_ms[r] == latest ? held : s.train).push_back(r);
    auto parts = Stratified(t, held, {0.5}, o.seed);
    s.validation = std::move(parts[0]);
    s.test = std::move(parts[1]);
    s.rule = fmt::format(
        "by time: train = the {} earlier cutoff(s); the latest cutoff {} split 50/50 (stratified, seed {}) into "
        "validation and test",
        cutoffs.size() - 1, Date(latest), o.seed);
  } else {
    std::vector<int64_t> all(t.rows());
    for (int64_t r = 0; r < t.rows(); ++r) all[r] = r;
    auto parts = Stratified(t, all, {0.6, 0.8}, o.seed);
    s.train = std::move(parts[0]);
    s.validation = std::move(parts[1]);
    s.test = std::move(parts[2]);
    s.rule = fmt::format("one cutoff: stratified random 60/20/20 train/validation/test (seed {})", o.seed);
  }
  const std::pair<const char*, const std::vector<int64_t>*> parts[] = {
      {"train", &s.train}, {"validation", &s.validation}, {"test", &s.test}};
  for (const auto& [name, rows] : parts) {
    int64_t pos = 0;
    for (int64_t r : *rows) pos += t.label[r] > 0.5f;
    if (rows->empty() || pos == 0 || pos == static_cast<int64_t>(rows->size())) {
      return FailedPrecondition(fmt::format("the {} part has {} rows and {} positives: both classes are needed ({})",
                                            name, rows->size(), pos, s.rule));
    }
  }
  return s;
}

FeatureTable Subset(const FeatureTable& t, const std::vector<int64_t>& rows) {
  FeatureTable s;
  s.columns = t.columns;
  s.customer_keys.reserve(rows.size());
  s.values.reserve(rows.size() * t.columns.size());
  for (int64_t r : rows) {
    s.customer_keys.push_back(t.customer_keys[r]);
    s.cutoff_ms.push_back(t.cutoff_ms.empty() ? 0 : t.cutoff_ms[r]);
    const float* row = &t.values[static_cast<size_t>(r) * t.columns.size()];
    s.values.insert(s.values.end(), row, row + t.columns.size());
    if (t.labelled()) s.label.push_back(t.label[r]);
  }
  return s;
}

}  // namespace omni::predict
