// Top-k selection with a bounded min-heap: O(n log k) and no allocation beyond
// k entries, which matters when ranking a 100k-item catalogue per customer.
#include <algorithm>

#include "omni/recommend/recommender.h"

namespace omni::recommend {
namespace {

// "a ranks before b": higher score first, then lower item id, so results are
// deterministic under ties.
inline bool RanksBefore(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

}  // namespace

void TopK(const float* scores, int32_t item_count, int k, const std::function<bool(int32_t)>& exclude,
          std::vector<ScoredItem>& out) {
  out.clear();
  if (k <= 0) return;
  out.reserve(static_cast<size_t>(std::min<int64_t>(k, item_count)));
  // A heap ordered by RanksBefore keeps the worst kept item at the front.
  for (int32_t j = 0; j < item_count; ++j) {
    ScoredItem c{j, scores[j]};
    if (c.score != c.score) continue;  // NaN never ranks
    if (static_cast<int>(out.size()) == k && !RanksBefore(c, out.front())) continue;
    if (exclude && exclude(j)) continue;
    if (static_cast<int>(out.size()) < k) {
      out.push_back(c);
      std::push_heap(out.begin(), out.end(), RanksBefore);
    } else {
      std::pop_heap(out.begin(), out.end(), RanksBefore);
      out.back() = c;
      std::push_heap(out.begin(), out.end(), RanksBefore);
    }
  }
  std::sort_heap(out.begin(), out.end(), RanksBefore);
}

void KeepTopContributions(std::vector<ScoredItem>& out, int limit) {
  std::erase_if(out, [](const ScoredItem& s) { return !(s.score > 0); });
  std::sort(out.begin(), out.end(), RanksBefore);
  if (limit >= 0 && static_cast<int>(out.size()) > limit) out.resize(static_cast<size_t>(limit));
}

}  // namespace omni::recommend
