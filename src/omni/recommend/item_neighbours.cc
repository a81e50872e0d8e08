#include "omni/recommend/item_neighbours.h"

#include <algorithm>

namespace omni::recommend {

void ItemNeighbours::Assign(int32_t items, const std::vector<std::vector<ScoredItem>>& rows) {
  items_ = items;
  indptr_.assign(static_cast<size_t>(items) + 1, 0);
  neighbours_.clear();
  weights_.clear();
  for (int32_t i = 0; i < items; ++i) {
    for (const ScoredItem& s : rows[static_cast<size_t>(i)]) {
      neighbours_.push_back(s.item);
      weights_.push_back(s.score);
    }
    indptr_[static_cast<size_t>(i) + 1] = static_cast<int64_t>(neighbours_.size());
  }
}

void ItemNeighbours::Score(std::span<const int32_t> customers, const InteractionMatrix& history,
                           float* scores) const {
  const size_t n = static_cast<size_t>(items_);
  for (size_t c = 0; c < customers.size(); ++c) {
    float* out = scores + c * n;
    if (customers[c] < 0 || customers[c] >= history.rows) {
      std::fill(out, out + n, 0.0f);
      continue;
    }
    ScoreCustomer(history.RowIndices(customers[c]), history.RowValues(customers[c]), out);
  }
}

void ItemNeighbours::ScoreCustomer(std::span<const int32_t> items, std::span<const float> values,
                                   float* scores) const {
  std::fill(scores, scores + items_, 0.0f);
  for (size_t a = 0; a < items.size(); ++a) {
    if (items[a] < 0 || items[a] >= items_) continue;
    for (int64_t p = indptr_[items[a]]; p < indptr_[items[a] + 1]; ++p) {
      scores[neighbours_[p]] += values[a] * weights_[p];
    }
  }
}

// Exact: the contribution of history item i to j is x_ui · W_ij, found by a
// binary search in i's row (rows are sorted by item id).
void ItemNeighbours::Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
                             std::vector<ScoredItem>& out) const {
  out.clear();
  for (size_t a = 0; a < items.size(); ++a) {
    if (items[a] < 0 || items[a] >= items_) continue;
    auto first = neighbours_.begin() + indptr_[items[a]];
    auto last = neighbours_.begin() + indptr_[items[a] + 1];
    auto it = std::lower_bound(first, last, item);
    if (it != last && *it == item) out.push_back({items[a], values[a] * weights_[it - neighbours_.begin()]});
  }
  KeepTopContributions(out, limit);
}

void ItemNeighbours::Save(ArtefactWriter& w) const {
  w.Int("items", items_);
  w.Int64s("indptr", indptr_);
  w.Int32s("neighbours", neighbours_);
  w.Floats("weights", weights_);
}

Status ItemNeighbours::Load(ArtefactReader& r, const std::string& path, const std::string& model) {
  OMNI_ASSIGN_OR_RETURN(int64_t items, r.Int("items"));
  OMNI_ASSIGN_OR_RETURN(indptr_, r.Int64s("indptr"));
  OMNI_ASSIGN_OR_RETURN(neighbours_, r.Int32s("neighbours"));
  OMNI_ASSIGN_OR_RETURN(weights_, r.Floats("weights"));
  if (items < 0 || items > INT32_MAX || indptr_.size() != static_cast<size_t>(items) + 1 || indptr_.front() != 0 ||
      static_cast<size_t>(indptr_.back()) != neighbours_.size() || neighbours_.size() != weights_.size() ||
      !std::is_sorted(indptr_.begin(), indptr_.end())) {
    return InvalidArgument(path + ": " + model + " arrays are inconsistent");
  }
  for (int32_t j : neighbours_) {
    if (j < 0 || j >= items) return InvalidArgument(path + ": " + model + " neighbour id out of range");
  }
  items_ = static_cast<int32_t>(items);
  return Status::Ok();
}

}  // namespace omni::recommend
