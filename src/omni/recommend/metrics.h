// Top-k ranking metrics with binary relevance, averaged over evaluated
// customers (those with at least one relevant test item). Definitions follow
// Microsoft Recommenders' python_evaluation (and agree with RecBole's):
//   precision@k = hits / k                      (k even when fewer are ranked)
//   recall@k    = hits / |relevant|
//   ndcg@k      = Σ_{hit at rank r} 1/log2(r+1) / Σ_{r=1}^{min(k,|relevant|)} 1/log2(r+1)
//   map@k       = Σ_{hit at rank r} (hits up to r / r) / min(k, |relevant|)
//                 (recommenders >= 1.2 `map_at_k`; their `map`, the pre-1.2
//                 map_at_k, divides by |relevant| instead: reported as "map")
//   hit_rate@k  = 1 if any hit
//   mrr@k       = 1 / rank of the first hit (0 if none)
//   coverage@k  = distinct items recommended to anyone / catalogue items
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace omni::recommend {

struct CustomerMetrics {
  double precision = 0, recall = 0, ndcg = 0, map = 0, map_full = 0, hit_rate = 0, mrr = 0;
};

// `ranked`: the top-k list, best first; `relevant`: sorted unique item ids.
CustomerMetrics ScoreRanking(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);

// Mergeable: shards of customers add up, then Result() averages.
class MetricAccumulator {
 public:
  MetricAccumulator(int k, int32_t item_count) : k_(k), recommended_(item_count, 0) {}
  void Add(std::span<const int32_t> ranked, std::span<const int32_t> relevant);
  void Merge(const MetricAccumulator& other);
  int64_t customers() const { return customers_; }
  // ("precision@10", value), ... in a fixed order: precision, recall, ndcg,
  // map, map (full, "map"), hit_rate, mrr, coverage.
  std::vector<std::pair<std::string, double>> Result() const;

 private:
  int k_;
  int64_t customers_ = 0;
  CustomerMetrics sum_;
  std::vector<char> recommended_;
};

}  // namespace omni::recommend
