#include "omni/recommend/metrics.h"

#include <algorithm>
#include <cmath>

namespace omni::recommend {

CustomerMetrics ScoreRanking(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  CustomerMetrics m;
  if (relevant.empty() || k <= 0) return m;
  const size_t n = std::min(ranked.size(), static_cast<size_t>(k));
  double dcg = 0, ap = 0;
  int hits = 0;
  for (size_t r = 0; r < n; ++r) {
    if (!std::binary_search(relevant.begin(), relevant.end(), ranked[r])) continue;
    ++hits;
    dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    ap += static_cast<double>(hits) / static_cast<double>(r + 1);
    if (hits == 1) m.mrr = 1.0 / static_cast<double>(r + 1);
  }
  double idcg = 0;
  const size_t ideal = std::min(relevant.size(), static_cast<size_t>(k));
  for (size_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  m.precision = static_cast<double>(hits) / k;
  m.recall = static_cast<double>(hits) / static_cast<double>(relevant.size());
  m.ndcg = dcg / idcg;
  m.map = ap / static_cast<double>(ideal);
  m.map_full = ap / static_cast<double>(relevant.size());
  m.hit_rate = hits > 0 ? 1.0 : 0.0;
  return m;
}

void MetricAccumulator::Add(std::span<const int32_t> ranked, std::span<const int32_t> relevant) {
  for (size_t r = 0; r < ranked.size() && r < static_cast<size_t>(k_); ++r) {
    if (ranked[r] >= 0 && static_cast<size_t>(ranked[r]) < recommended_.size()) recommended_[ranked[r]] = 1;
  }
  if (relevant.empty()) return;
  CustomerMetrics m = ScoreRanking(ranked, relevant, k_);
  ++customers_;
  sum_.precision += m.precision;
  sum_.recall += m.recall;
  sum_.ndcg += m.ndcg;
  sum_.map += m.map;
  sum_.map_full += m.map_full;
  sum_.hit_rate += m.hit_rate;
  sum_.mrr += m.mrr;
}

void MetricAccumulator::Merge(const MetricAccumulator& o) {
  customers_ += o.customers_;
  sum_.precision += o.sum_.precision;
  sum_.recall += o.sum_.recall;
  sum_.ndcg += o.sum_.ndcg;
  sum_.map += o.sum_.map;
  sum_.map_full += o.sum_.map_full;
  sum_.hit_rate += o.sum_.hit_rate;
  sum_.mrr += o.sum_.mrr;
  for (size_t i = 0; i < recommended_.size() && i < o.recommended_.size(); ++i) recommended_[i] |= o.recommended_[i];
}

std::vector<std::pair<std::string, double>> MetricAccumulator::Result() const {
  const double n = customers_ > 0 ? static_cast<double>(customers_) : 1.0;
  const std::string at = "@" + std::to_string(k_);
  int64_t covered = 0;
  for (char c : recommended_) covered += c;
  const double coverage =
      recommended_.empty() ? 0.0 : static_cast<double>(covered) / static_cast<double>(recommended_.size());
  return {{"precision" + at, sum_.precision / n}, {"recall" + at, sum_.recall / n},
          {"ndcg" + at, sum_.ndcg / n},           {"map" + at, sum_.map / n},
          {"map", sum_.map_full / n},             {"hit_rate" + at, sum_.hit_rate / n},
          {"mrr" + at, sum_.mrr / n},             {"coverage" + at, coverage}};
}

}  // namespace omni::recommend
