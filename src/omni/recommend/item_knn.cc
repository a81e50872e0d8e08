// itemknn: item-based collaborative filtering with sparse top-K neighbours,
// the workhorse of retail "customers who liked X also liked" lists.
//   sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrink)
// over item columns of the (optionally re-weighted) interaction matrix; only
// each item's k most similar items are kept, so memory is items × k and the
// model scales to catalogues EASE cannot hold. Scores are
//   score(u, j) = Σ_{i in history(u)} x_ui · sim(i, j).
// Weighting before similarity (as in the implicit library):
//   none   raw values
//   tfidf  x_ui · log(customers / customers_of_i)
//   bm25   Okapi BM25 over customers as documents (k1, b), damping heavy
//          customers and very popular items
//   itemknn:k=100,shrink=10,weighting=bm25,bm25_k1=1.2,bm25_b=0.75,threads=2
#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "omni/recommend/artefact.h"
#include "omni/recommend/item_neighbours.h"
#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

StatusOr<std::unique_ptr<Recommender>> MakeItemKnnFromSpec(const Spec& spec);

enum class Weighting { kNone, kTfIdf, kBm25 };

const char* WeightingName(Weighting w) {
  switch (w) {
    case Weighting::kNone: return "none";
    case Weighting::kTfIdf: return "tfidf";
    case Weighting::kBm25: return "bm25";
  }
  return "none";
}

// Re-weights the customer × item matrix in place (values only).
void Reweight(InteractionMatrix& x, Weighting w, double k1, double b) {
  if (w == Weighting::kNone) return;
  std::vector<int64_t> df(x.cols, 0);
  for (int32_t c : x.indices) ++df[c];
  const double n = std::max<int32_t>(x.rows, 1);
  std::vector<double> idf(x.cols);
  for (int32_t j = 0; j < x.cols; ++j) {
    idf[j] = df[j] > 0 ? std::log(n / static_cast<double>(df[j])) : 0.0;
  }
  if (w == Weighting::kTfIdf) {
    for (int64_t p = 0; p < x.nnz(); ++p) x.values[p] = static_cast<float>(std::sqrt(x.values[p]) * idf[x.indices[p]]);
    return;
  }
  // BM25: document = customer, length = number of items (as implicit's bm25_weight).
  const double avg_len = x.rows > 0 ? static_cast<double>(x.nnz()) / x.rows : 1.0;
  for (int32_t r = 0; r < x.rows; ++r) {
    const double len = static_cast<double>(x.indptr[r + 1] - x.indptr[r]);
    const double norm = k1 * (1.0 - b + b * len / avg_len);
    for (int64_t p = x.indptr[r]; p < x.indptr[r + 1]; ++p) {
      const double tf = x.values[p];
      x.values[p] = static_cast<float>(tf * (k1 + 1.0) / (norm + tf) * idf[x.indices[p]]);
    }
  }
}

class ItemKnn final : public ItemNeighbourRecommender {
 public:
  ItemKnn(int k, double shrink, Weighting weighting, double k1, double b, int threads)
      : k_(k), shrink_(shrink), weighting_(weighting), k1_(k1), b_(b), threads_(threads) {}

  std::string spec() const override {
    std::string s = fmt::format("itemknn:k={},shrink={},weighting={}", k_, shrink_, WeightingName(weighting_));
    if (weighting_ == Weighting::kBm25) s += fmt::format(",bm25_k1={},bm25_b={}", k1_, b_);
    return s;
  }

  Status Fit(const InteractionMatrix& train) override {
    InteractionMatrix x = train;
    Reweight(x, weighting_, k1_, b_);
    const InteractionMatrix xt = x.Transpose();  // item × customer
    const int32_t n = x.cols;
    std::vector<double> norm(n, 0.0);
    for (int32_t i = 0; i < n; ++i) {
      for (float v : xt.RowValues(i)) norm[i] += static_cast<double>(v) * v;
      norm[i] = std::sqrt(norm[i]);
    }
    // Each item's similarity row is accumulated densely over the customers
    // who touched it (sparse × sparse), then cut to its top k. Items are
    // interleaved across threads: popular items cost more, striding balances.
    std::vector<std::vector<ScoredItem>> rows(n);
    auto work = [&](int t) {
      std::vector<float> acc(n, 0.0f);
      std::vector<char> seen(n, 0);
      std::vector<int32_t> touched;
      std::vector<ScoredItem> cand;
      for (int32_t i = t; i < n; i += threads_) {
        touched.clear();
        auto ci = xt.RowIndices(i);
        auto vi = xt.RowValues(i);
        for (size_t a = 0; a < ci.size(); ++a) {
          auto items = x.RowIndices(ci[a]);
          auto vals = x.RowValues(ci[a]);
          for (size_t q = 0; q < items.size(); ++q) {
            if (!seen[items[q]]) {
              seen[items[q]] = 1;
              touched.push_back(items[q]);
            }
            acc[items[q]] += vi[a] * vals[q];
          }
        }
        cand.clear();
        for (int32_t j : touched) {
          const float dot = acc[j];
          acc[j] = 0.0f;
          seen[j] = 0;
          if (j == i || dot == 0.0f) continue;
          const double denom = norm[i] * norm[j] + shrink_;
          if (denom <= 0) continue;
          cand.push_back({j, static_cast<float>(dot / denom)});
        }
        auto better = [](const ScoredItem& a, const ScoredItem& b) {
          return a.score > b.score || (a.score == b.score && a.item < b.item);
        };
        if (static_cast<int>(cand.size()) > k_) {
          std::nth_element(cand.begin(), cand.begin() + k_, cand.end(), better);
          cand.resize(k_);
        }
        std::sort(cand.begin(), cand.end(), [](const ScoredItem& a, const ScoredItem& b) { return a.item < b.item; });
        rows[i] = cand;
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads_; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    neighbours_.Assign(n, rows);
    return Status::Ok();
  }

  // The neighbour list of one item (for explanations and tests).
  std::span<const int32_t> Neighbours(int32_t i) const { return neighbours_.Neighbours(i); }

  Status Save(const std::string& path) const override {
    ArtefactWriter w("itemknn", spec());
    neighbours_.Save(w);
    return w.WriteTo(path);
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "itemknn"));
    // The hyper-parameters come back from the stored spec, so spec() names
    // the model that was trained, not the defaults it was constructed with.
    OMNI_ASSIGN_OR_RETURN(Spec stored, Spec::Parse(r.spec()));
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> fresh, MakeItemKnnFromSpec(stored));
    const auto& params = static_cast<const ItemKnn&>(*fresh);
    k_ = params.k_;
    shrink_ = params.shrink_;
    weighting_ = params.weighting_;
    k1_ = params.k1_;
    b_ = params.b_;
    return neighbours_.Load(r, path, "itemknn");
  }

 private:
  int k_;
  double shrink_;
  Weighting weighting_;
  double k1_, b_;
  int threads_;
};

StatusOr<std::unique_ptr<Recommender>> MakeItemKnnFromSpec(const Spec& spec) {
  OMNI_RETURN_IF_ERROR(spec.CheckKnown({"k", "shrink", "weighting", "bm25_k1", "bm25_b", "threads"}));
  OMNI_ASSIGN_OR_RETURN(int64_t k, spec.GetInt("k", 100, 1, 100000));
  OMNI_ASSIGN_OR_RETURN(double shrink, spec.GetDouble("shrink", 0.0, 0.0, 1e9));
  OMNI_ASSIGN_OR_RETURN(std::string w, spec.GetString("weighting", "none"));
  OMNI_ASSIGN_OR_RETURN(double k1, spec.GetDouble("bm25_k1", 1.2, 0.0, 1e3));
  OMNI_ASSIGN_OR_RETURN(double b, spec.GetDouble("bm25_b", 0.75, 0.0, 1.0));
  OMNI_ASSIGN_OR_RETURN(int64_t threads, spec.GetInt("threads", 2, 1, 256));
  Weighting weighting;
  if (w == "none" || w == "cosine") {
    weighting = Weighting::kNone;
  } else if (w == "tfidf") {
    weighting = Weighting::kTfIdf;
  } else if (w == "bm25") {
    weighting = Weighting::kBm25;
  } else {
    return InvalidArgument("itemknn: weighting '" + w + "' is not one of none, tfidf, bm25");
  }
  return std::unique_ptr<Recommender>(
      std::make_unique<ItemKnn>(static_cast<int>(k), shrink, weighting, k1, b, static_cast<int>(threads)));
}

}  // namespace

StatusOr<std::unique_ptr<Recommender>> MakeItemKnn(const Spec& spec) { return MakeItemKnnFromSpec(spec); }

}  // namespace omni::recommend
