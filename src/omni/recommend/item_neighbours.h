// A sparse item-to-item weight matrix W — each item's top-k neighbours, in
// ascending item id, with their weights — and the scoring every model that
// learns one shares (item-kNN's similarities, RP3beta's random-walk weights):
// score(u, j) = Σ_i x_ui · W_ij over the customer's history items i.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/recommend/artefact.h"
#include "omni/recommend/interactions.h"
#include "omni/recommend/recommender.h"

namespace omni::recommend {

class ItemNeighbours {
 public:
  // `rows[i]` holds item i's neighbours sorted by item id.
  void Assign(int32_t items, const std::vector<std::vector<ScoredItem>>& rows);

  int32_t items() const { return items_; }
  std::span<const int32_t> Neighbours(int32_t i) const {
    return {neighbours_.data() + indptr_[i], static_cast<size_t>(indptr_[i + 1] - indptr_[i])};
  }

  // Recommender::Score / ScoreCustomer / Explain for a model whose scores are
  // exactly this sum (history items outside the matrix are skipped).
  void Score(std::span<const int32_t> customers, const InteractionMatrix& history, float* scores) const;
  void ScoreCustomer(std::span<const int32_t> items, std::span<const float> values, float* scores) const;
  void Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
               std::vector<ScoredItem>& out) const;

  // Artefact fields "items", "indptr", "neighbours", "weights"; Load checks
  // they are consistent and name `path` and `model` when not.
  void Save(ArtefactWriter& w) const;
  Status Load(ArtefactReader& r, const std::string& path, const std::string& model);

 private:
  int32_t items_ = 0;
  std::vector<int64_t> indptr_{0};
  std::vector<int32_t> neighbours_;
  std::vector<float> weights_;
};

// The Recommender side of a model whose scores are exactly its W's sum
// (item-kNN, RP3beta): scoring, per-request scoring and exact explanations.
// The model fits or loads `neighbours_`.
class ItemNeighbourRecommender : public Recommender {
 public:
  void Score(std::span<const int32_t> customers, const InteractionMatrix& history, float* scores) const override {
    neighbours_.Score(customers, history, scores);
  }
  // The same sum as Score, on spans: no matrix built per request.
  void ScoreCustomer(int32_t, std::span<const int32_t> items, std::span<const float> values,
                     float* scores) const override {
    neighbours_.ScoreCustomer(items, values, scores);
  }
  int32_t item_count() const override { return neighbours_.items(); }
  void Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
               std::vector<ScoredItem>& out) const override {
    neighbours_.Explain(items, values, item, limit, out);
  }

 protected:
  ItemNeighbours neighbours_;
};

}  // namespace omni::recommend
