// Recommenders over an implicit-feedback interaction matrix. Models see dense
// int32 ids only (customers are rows, items are columns); strings live at the
// edges. Every model is one file, registered by name and built from one spec
// string, the same in the CLI, config and API:
//   MakeRecommender("als:factors=64,reg=0.05,iters=15")
//   MakeRecommender("itemknn:k=100,shrink=10,weighting=bm25")
//   MakeRecommender("ease:lambda=400")   MakeRecommender("popularity")
// Scoring follows faiss' batch style: callers own the output arrays.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/spec.h"
#include "omni/common/status.h"

namespace omni::recommend {

// Compressed sparse rows, float32 values (summed weights per customer×item).
// Column indices within a row are sorted and unique.
struct InteractionMatrix {
  int32_t rows = 0;
  int32_t cols = 0;
  std::vector<int64_t> indptr{0};  // rows + 1 entries
  std::vector<int32_t> indices;
  std::vector<float> values;

  int64_t nnz() const { return static_cast<int64_t>(indices.size()); }
  std::span<const int32_t> RowIndices(int32_t r) const {
    return {indices.data() + indptr[r], static_cast<size_t>(indptr[r + 1] - indptr[r])};
  }
  std::span<const float> RowValues(int32_t r) const {
    return {values.data() + indptr[r], static_cast<size_t>(indptr[r + 1] - indptr[r])};
  }
  // Builds from (row, col, value) triplets; duplicates are summed. Fails on
  // out-of-range ids or non-finite values.
  static StatusOr<InteractionMatrix> FromTriplets(int32_t rows, int32_t cols, std::vector<int32_t> row_ids,
                                                  std::vector<int32_t> col_ids, std::vector<float> values);
  InteractionMatrix Transpose() const;
};

struct ScoredItem {
  int32_t item;
  float score;
};

class Recommender {
 public:
  virtual ~Recommender() = default;
  // The spec the model was built from, canonical ("als:factors=64,...").
  virtual std::string spec() const = 0;
  virtual Status Fit(const InteractionMatrix& train) = 0;
  // Models that learn from when things happened (EASE's session term) say
  // true and are fitted with FitTimed; the others ignore times.
  virtual bool UsesEventTimes() const { return false; }
  // Fit with each stored entry's newest event time: entry_times[p] (epoch ms)
  // belongs to train.indices[p] (EntryTimes in splits.h builds it from the
  // log the matrix came from). The default ignores the times.
  virtual Status FitTimed(const InteractionMatrix& train, std::span<const int64_t> entry_times) {
    (void)entry_times;
    return Fit(train);
  }
  // Scores every item for each customer in `customers` into
  // scores[i * item_count + j]. `history` holds the customers' known
  // interactions (the training matrix, or fresh events for fold-in); models
  // that score from history (item-kNN, EASE) read it, factor models use their
  // fitted vectors (and fold in rows of customers they did not see).
  virtual void Score(std::span<const int32_t> customers, const InteractionMatrix& history,
                     float* scores) const = 0;
  virtual int32_t item_count() const = 0;
  // One customer, the serving path: `training_row` is the customer's row in
  // the matrix the model was fitted on (-1 when the model never saw them),
  // `items` / `values` their current history in model item ids (ascending,
  // positive values, as ToMatrix builds rows); writes item_count() scores.
  // Models that learnt something per customer (ALS factors) reuse it when
  // the history is still the training row, so a request costs one pass over
  // the item factors instead of a fold-in. The default scores a one-row
  // matrix with Score.
  virtual void ScoreCustomer(int32_t training_row, std::span<const int32_t> items, std::span<const float> values,
                             float* scores) const;
  // True when ScoreCustomer's cost does not grow with the history it is
  // given for a customer it was trained on (so the caller should pass the
  // whole row, not a recency-capped one). Item-to-item models (item-kNN,
  // EASE) read every history item per request and say false.
  virtual bool UsesTrainingRows() const { return false; }
  // Why `item` scores for a customer with this history row (item ids and
  // values, as in Score): the history items' contributions to the score,
  // largest first, at most `limit`, into `out` (cleared first). Item-based
  // models (item-kNN, EASE) decompose their score exactly; ALS gives each
  // history item's value × factor similarity, an approximation (the folded-in
  // customer vector mixes all history items). Empty for models without
  // item-to-item structure (popularity, the seed's dense CF).
  virtual void Explain(std::span<const int32_t> history_items, std::span<const float> history_values,
                       int32_t item, int limit, std::vector<ScoredItem>& out) const {
    (void)history_items, (void)history_values, (void)item, (void)limit;
    out.clear();
  }
  // Versioned binary artefact; written to a temp name and renamed by the caller.
  virtual Status Save(const std::string& path) const = 0;
  virtual Status Load(const std::string& path) = 0;
};

// Builds a model by name from a spec string; unknown names or parameters are
// InvalidArgument listing what is known.
StatusOr<std::unique_ptr<Recommender>> MakeRecommender(std::string_view spec);

// Names MakeRecommender knows (registry.cc lists every model explicitly:
// self-registering statics are dropped by the linker from static libraries).
std::vector<std::string> RecommenderNames();

// Top-k of one score row, skipping items where exclude(item) is true; sorted
// by score descending, ties by item id ascending (deterministic).
void TopK(const float* scores, int32_t item_count, int k, const std::function<bool(int32_t)>& exclude,
          std::vector<ScoredItem>& out);

// The same order over the items with a positive score only (what serving
// recommends), for one request: a bounded heap keeps the best 2k (at least
// 64) positive scores without calling exclude(), which is then asked only
// for those, best first, until k are kept (a wider pass when exclusions ate
// them). Cheaper than TopK when exclude() is costly (history and
// availability look-ups) and scores are dense. `likely_excluded`: how many
// of the best items exclude() may well reject (the customer's history, which
// models that reconstruct it score high): the first pass keeps that many
// more instead of needing a second, 4× wider one.
void PositiveTopK(const float* scores, int32_t item_count, int k, const std::function<bool(int32_t)>& exclude,
                  std::vector<ScoredItem>& out, size_t likely_excluded = 0);

// Keeps the `limit` largest positive contributions of `out`, largest first
// (ties by item id): the tail of every Explain.
void KeepTopContributions(std::vector<ScoredItem>& out, int limit);

}  // namespace omni::recommend
