// Top-k selection with a bounded min-heap: O(n log k) and no allocation beyond
// k entries, which matters when ranking a 100k-item catalogue per customer.
#include <algorithm>
#include <bit>
#include <iterator>

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

void PositiveTopK(const float* scores, int32_t item_count, int k, const std::function<bool(int32_t)>& exclude,
                  std::vector<ScoredItem>& out, size_t likely_excluded) {
  out.clear();
  if (k <= 0) return;
  auto before = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  };
  // Positive floats order like their bit patterns, so the top 11 bits
  // (exponent and 3 mantissa bits) bucket them in order: one histogram pass
  // finds the bucket holding the slice-th best score, a second gathers the
  // items from that bucket up, and only those (about a slice) are sorted.
  // No heap (scores often rise with item id, which would push every item
  // through one) and no exclusion test during the scans; exclude() is then
  // asked best first. When exclusions leave fewer than k, again with a
  // slice 4× wider.
  // The scans are branch-free: ALS scores change sign at random, and a
  // mispredicted branch per item would cost more than the work.
  thread_local std::vector<ScoredItem> cand;
  uint32_t hist[4096];  // negative scores land in 2048..4095, unused
  std::fill(std::begin(hist), std::end(hist), 0u);
  size_t positive = 0;
  for (int32_t j = 0; j < item_count; ++j) {
    ++hist[std::bit_cast<uint32_t>(scores[j]) >> 20];
    positive += scores[j] > 0;  // NaN is not > 0
  }
  hist[0] = 0;  // zero and denormals: never a threshold worth cutting at
  for (size_t slice = std::max<size_t>(2 * static_cast<size_t>(k) + likely_excluded, 64);; slice *= 4) {
    uint32_t from = 0;  // lowest bucket gathered
    if (positive > slice) {
      size_t acc = 0;
      for (int b = 2047; b >= 0; --b) {
        acc += hist[b];
        if (acc >= slice) {
          from = static_cast<uint32_t>(b);
          break;
        }
      }
    }
    // Grown once per thread, never shrunk: no per-request initialisation.
    if (cand.size() < static_cast<size_t>(item_count)) cand.resize(static_cast<size_t>(item_count));
    size_t n = 0;
    for (int32_t j = 0; j < item_count; ++j) {
      const float x = scores[j];
      cand[n] = {j, x};
      n += static_cast<size_t>((x > 0) & ((std::bit_cast<uint32_t>(x) >> 20) >= from));
    }
    const auto first = cand.begin();
    if (n > slice) {
      std::nth_element(first, first + static_cast<std::ptrdiff_t>(slice), first + static_cast<std::ptrdiff_t>(n),
                       before);
      n = slice;
    }
    std::sort(first, first + static_cast<std::ptrdiff_t>(n), before);
    out.clear();
    for (size_t i = 0; i < n && out.size() < static_cast<size_t>(k); ++i) {
      if (!exclude || !exclude(cand[i].item)) out.push_back(cand[i]);
    }
    if (out.size() == static_cast<size_t>(k) || positive <= slice) return;
  }
}

void KeepTopContributions(std::vector<ScoredItem>& out, int limit) {
  std::erase_if(out, [](const ScoredItem& s) { return !(s.score > 0); });
  auto before = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  };
  if (limit >= 0 && static_cast<int>(out.size()) > limit) {
    // Only the first `limit` are shown: a partial sort of a long history.
    std::partial_sort(out.begin(), out.begin() + limit, out.end(), before);
    out.resize(static_cast<size_t>(limit));
  } else {
    std::sort(out.begin(), out.end(), before);
  }
}

}  // namespace omni::recommend
