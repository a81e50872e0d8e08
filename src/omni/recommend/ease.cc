// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW
// 2019): the item-item weight matrix with a zero diagonal that best
// reconstructs X under L2 penalty λ has the closed form
//   G = XᵀX + λI,  P = G⁻¹,  B = -P / diag(P) (column-wise),  diag(B) = 0,
// and a customer's scores are x·B. It is the strongest simple model on
// MovieLens-sized catalogues, and its cost is the dense items × items
// inverse: memory grows with items², so it refuses catalogues that do not fit.
//   ease:lambda=400,max_memory_mb=8192
// dropout=p (0 <= p < 1) adds p/(1-p)·diag(XᵀX) to the penalty as well, the
// emphasised-denoising variant of Steck, "Autoencoders that don't overfit
// towards the identity" (NeurIPS 2020): popular items are regularised more.
//   ease:lambda=200,dropout=0.25
//
// session_weight=γ adds a session term to the Gram matrix (fitted with event
// times, Recommender::FitTimed): items a customer took up close together in
// time are related more strongly than items far apart in their history, as a
// retail session's views and purchases are (and a film buff's ratings of one
// evening). For each customer with entries i, j (values x_i, x_j, newest
// event times t_i, t_j)
//   G += γ · x_i · x_j · exp(-|t_i - t_j| / τ),   τ = session_seconds,
// the diagonal (t_i = t_j) included. Each customer's exp(-|Δt|/τ) matrix is
// a Laplace-kernel Gram matrix, positive semi-definite, so G + λI stays
// positive definite and the closed form is unchanged; pairs further apart
// than 10τ (weight < 5·10⁻⁵) are skipped, which bounds the cost for long
// histories. Scoring is x·B as before: times only shape B.
//   ease:lambda=1500,session_weight=2,session_seconds=600
// (ml-100k, Microsoft Recommenders' split, chosen on validation: see
// docs/recommend.md.)
//
// lowpass_weight=w blends GF-CF's graph filter W (low_pass_filter.h: the
// normalised co-occurrence plus lowpass_alpha times the projection on the
// lowpass_k leading eigenvectors) into the weights:
//   B ← B + w · (‖B‖_F / ‖W‖_F) · W,   diag(W) set to 0 first,
// each matrix scaled to unit Frobenius norm so w is the filter's share
// whatever the data's scale. EASE fits co-occurrence item by item; the ideal
// low-pass part adds the catalogue's leading taste directions, which lifts
// ranking where EASE alone is saturated (ml-100k: docs/recommend.md). Scoring,
// explanations (x_ui · B_ij, exact for the blended B) and artefacts are
// EASE's; fitting adds a symmetric eigendecomposition, O(items³).
//   ease:lambda=718,session_weight=3.41,session_seconds=110,lowpass_weight=0.7,lowpass_k=64,lowpass_alpha=10
#include <algorithm>
#include <cmath>
#include <numeric>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <fmt/format.h>

#include "omni/common/spec.h"
#include "omni/recommend/artefact.h"
#include "omni/recommend/low_pass_filter.h"
#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

// GF-CF's filter blended into B (lowpass_weight > 0).
struct LowPass {
  double weight = 0;
  int64_t components = 64;
  double alpha = 10;
};

class Ease final : public Recommender {
 public:
  Ease(double lambda, double dropout, double session_weight, double session_seconds, LowPass low_pass,
       int64_t max_memory_mb)
      : lambda_(lambda),
        dropout_(dropout),
        session_weight_(session_weight),
        session_seconds_(session_seconds),
        low_pass_(low_pass),
        max_memory_mb_(max_memory_mb) {}

  std::string spec() const override {
    std::string s = fmt::format("ease:lambda={}", lambda_);
    if (dropout_ > 0) s += fmt::format(",dropout={}", dropout_);
    if (session_weight_ > 0) s += fmt::format(",session_weight={},session_seconds={}", session_weight_, session_seconds_);
    if (low_pass_.weight > 0) {
      s += fmt::format(",lowpass_weight={},lowpass_k={},lowpass_alpha={}", low_pass_.weight, low_pass_.components,
                       low_pass_.alpha);
    }
    return s;
  }

  bool UsesEventTimes() const override { return session_weight_ > 0; }

  Status Fit(const InteractionMatrix& train) override {
    if (session_weight_ > 0) {
      return FailedPrecondition(
          "ease with session_weight > 0 learns from event times: fit it with FitTimed (omni train and omni evaluate "
          "do), or drop session_weight");
    }
    return FitGram(train, {});
  }

  Status FitTimed(const InteractionMatrix& train, std::span<const int64_t> entry_times) override {
    if (session_weight_ > 0 && entry_times.size() != train.indices.size()) {
      return InvalidArgument(fmt::format("ease: {} event times for {} matrix entries", entry_times.size(),
                                         train.indices.size()));
    }
    return FitGram(train, entry_times);
  }

 private:
  // γ · Σ_customers x_i x_j exp(-|t_i - t_j| / τ) into the upper triangle
  // of g (row <= column), as the XᵀX loop writes it.
  void AddSessionTerm(const InteractionMatrix& train, std::span<const int64_t> times, Eigen::MatrixXd& g) const {
    const double tau_ms = session_seconds_ * 1000.0;
    const double horizon_ms = 10.0 * tau_ms;
    std::vector<int64_t> order;
    for (int32_t r = 0; r < train.rows; ++r) {
      const int64_t b = train.indptr[r], e = train.indptr[r + 1];
      order.resize(static_cast<size_t>(e - b));
      std::iota(order.begin(), order.end(), b);
      // Entries without a time (INT64_MIN: none when the matrix was built
      // from the same log) sort first and get no session term.
      std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return times[x] < times[y]; });
      for (size_t a = 0; a < order.size(); ++a) {
        const int64_t pa = order[a];
        if (times[pa] == INT64_MIN) continue;
        const int32_t ia = train.indices[pa];
        const double wa = session_weight_ * train.values[pa];
        g(ia, ia) += wa * train.values[pa];
        for (size_t c = a + 1; c < order.size(); ++c) {
          const int64_t pc = order[c];
          const double dt = static_cast<double>(times[pc] - times[pa]);
          if (dt > horizon_ms) break;
          const int32_t ic = train.indices[pc];
          g(std::min(ia, ic), std::max(ia, ic)) += wa * train.values[pc] * std::exp(-dt / tau_ms);
        }
      }
    }
  }

  Status FitGram(const InteractionMatrix& train, std::span<const int64_t> times) {
    const int64_t n = train.cols;
    // G (then P, in place) in double, B in float: items² × 12 bytes at the peak.
    const double need_mb = static_cast<double>(n) * n * 8 / (1024.0 * 1024.0);
    // The low-pass filter's eigendecomposition holds the matrix, its
    // eigenvectors and the solver's copy at once.
    const int copies = low_pass_.weight > 0 ? 3 : 1;
    if (need_mb * copies > static_cast<double>(max_memory_mb_)) {
      return ResourceExhausted(fmt::format(
          "ease needs {} dense {} × {} item matrices: {:.0f} MiB in double precision (plus {:.0f} MiB for the "
          "float weights), over the budget of {} MiB; raise max_memory_mb or use itemknn/als for this catalogue",
          copies, n, n, need_mb * copies, need_mb / 2, max_memory_mb_));
    }
    // G = XᵀX accumulated from each customer's row: sum of outer products of
    // sparse rows, upper triangle only, mirrored afterwards.
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
    for (int32_t r = 0; r < train.rows; ++r) {
      auto idx = train.RowIndices(r);
      auto val = train.RowValues(r);
      for (size_t a = 0; a < idx.size(); ++a) {
        const double va = val[a];
        double* col = g.col(idx[a]).data();  // column idx[a], rows idx[b] <= idx[a]
        for (size_t b = 0; b <= a; ++b) col[idx[b]] += va * val[b];
      }
    }
    if (session_weight_ > 0) AddSessionTerm(train, times, g);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = j + 1; i < n; ++i) g(i, j) = g(j, i);
    }
    if (dropout_ > 0) g.diagonal().array() *= 1.0 + dropout_ / (1.0 - dropout_);
    g.diagonal().array() += lambda_;
    Eigen::LLT<Eigen::MatrixXd> llt(g);
    if (llt.info() != Eigen::Success) {
      return Internal("ease: XᵀX + λI is not positive definite (λ must be > 0)");
    }
    g = llt.solve(Eigen::MatrixXd::Identity(n, n));  // P
    // B[i][j] = -P[i][j] / P[j][j]; stored row-major so x·B adds whole rows.
    // B in double, in place of P, then (optionally) the filter blended in.
    for (int64_t j = 0; j < n; ++j) {
      const double pjj = g(j, j);
      for (int64_t i = 0; i < n; ++i) g(i, j) = i == j ? 0.0 : -g(i, j) / pjj;
    }
    if (low_pass_.weight > 0) {
      const double b_norm = g.norm();
      Eigen::MatrixXd w = ItemLowPassFilter(train, static_cast<int>(low_pass_.components), low_pass_.alpha);
      w.diagonal().setZero();
      const double w_norm = w.norm();
      if (w_norm > 0) g.noalias() += (low_pass_.weight * b_norm / w_norm) * w;
    }
    b_.resize(static_cast<size_t>(n) * n);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) b_[i * n + j] = static_cast<float>(g(i, j));
    }
    items_ = static_cast<int32_t>(n);
    return Status::Ok();
  }

 public:
  void Score(std::span<const int32_t> customers, const InteractionMatrix& history, float* scores) const override {
    const size_t n = items_;
    for (size_t c = 0; c < customers.size(); ++c) {
      float* out = scores + c * n;
      std::fill(out, out + n, 0.0f);
      if (customers[c] < 0 || customers[c] >= history.rows) continue;
      auto idx = history.RowIndices(customers[c]);
      auto val = history.RowValues(customers[c]);
      // Through Eigen maps: the compiler cannot prove `out` and the row do
      // not alias, so a plain loop stays scalar; this one is vectorised.
      Eigen::Map<Eigen::VectorXf> acc(out, static_cast<Eigen::Index>(n));
      for (size_t a = 0; a < idx.size(); ++a) {
        if (idx[a] >= items_) continue;
        const float* row = b_.data() + static_cast<size_t>(idx[a]) * n;
        acc.noalias() += val[a] * Eigen::Map<const Eigen::VectorXf>(row, static_cast<Eigen::Index>(n));
      }
    }
  }

  // x·B on spans (no matrix built per request), four history rows per pass
  // so the accumulator is read and written a quarter as often; the cost is
  // history × items floats of B read, which the serving layer bounds by
  // passing at most its recency cap of history items.
  void ScoreCustomer(int32_t, std::span<const int32_t> items, std::span<const float> values,
                     float* scores) const override {
    const Eigen::Index n = items_;
    using Row = Eigen::Map<const Eigen::VectorXf>;
    Eigen::Map<Eigen::VectorXf> acc(scores, n);
    acc.setZero();
    const float* rows[4];
    float w[4];
    int held = 0;
    auto row = [&](int t) { return Row(rows[t], n); };
    for (size_t a = 0; a < items.size(); ++a) {
      if (items[a] < 0 || items[a] >= items_) continue;
      rows[held] = b_.data() + static_cast<size_t>(items[a]) * items_;
      w[held++] = values[a];
      if (held == 4) {
        acc.noalias() += w[0] * row(0) + w[1] * row(1) + w[2] * row(2) + w[3] * row(3);
        held = 0;
      }
    }
    for (int t = 0; t < held; ++t) acc.noalias() += w[t] * row(t);
  }

  int32_t item_count() const override { return items_; }

  // Exact: score(u, j) = sum over history items i of x_ui · B[i, j].
  void Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
               std::vector<ScoredItem>& out) const override {
    out.clear();
    if (item < 0 || item >= items_) return;
    for (size_t a = 0; a < items.size(); ++a) {
      if (items[a] < 0 || items[a] >= items_) continue;
      out.push_back({items[a], values[a] * b_[static_cast<size_t>(items[a]) * items_ + item]});
    }
    KeepTopContributions(out, limit);
  }

  Status Save(const std::string& path) const override {
    ArtefactWriter w("ease", spec());
    w.Double("lambda", lambda_);
    w.Int("items", items_);
    w.Floats("b", b_);
    return w.WriteTo(path);
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "ease"));
    OMNI_ASSIGN_OR_RETURN(lambda_, r.Double("lambda"));
    // The other hyper-parameters come back from the stored spec, read by the
    // same factory (defaults and ranges in one place). Only spec() reads them
    // after loading: B already holds their effect.
    OMNI_ASSIGN_OR_RETURN(Spec stored, Spec::Parse(r.spec()));
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> fresh, MakeEase(stored));
    const auto& params = static_cast<const Ease&>(*fresh);
    dropout_ = params.dropout_;
    session_weight_ = params.session_weight_;
    session_seconds_ = params.session_seconds_;
    low_pass_ = params.low_pass_;
    OMNI_ASSIGN_OR_RETURN(int64_t items, r.Int("items"));
    OMNI_ASSIGN_OR_RETURN(b_, r.Floats("b"));
    if (items < 0 || b_.size() != static_cast<size_t>(items) * items) {
      return InvalidArgument(path + ": ease weights do not match the item count");
    }
    items_ = static_cast<int32_t>(items);
    return Status::Ok();
  }

 private:
  double lambda_;
  double dropout_ = 0;
  double session_weight_ = 0;
  double session_seconds_ = 600;
  LowPass low_pass_;
  int64_t max_memory_mb_;
  int32_t items_ = 0;
  std::vector<float> b_;  // items × items, row-major
};

}  // namespace

StatusOr<std::unique_ptr<Recommender>> MakeEase(const Spec& spec) {
  OMNI_RETURN_IF_ERROR(
      spec.CheckKnown({"lambda", "dropout", "session_weight", "session_seconds", "lowpass_weight", "lowpass_k",
                       "lowpass_alpha", "max_memory_mb"}));
  OMNI_ASSIGN_OR_RETURN(double lambda, spec.GetDouble("lambda", 400.0, 1e-9, 1e12));
  OMNI_ASSIGN_OR_RETURN(double dropout, spec.GetDouble("dropout", 0.0, 0.0, 0.99));
  OMNI_ASSIGN_OR_RETURN(double session_weight, spec.GetDouble("session_weight", 0.0, 0.0, 1e6));
  OMNI_ASSIGN_OR_RETURN(double session_seconds, spec.GetDouble("session_seconds", 600.0, 1e-3, 1e9));
  LowPass low_pass;
  OMNI_ASSIGN_OR_RETURN(low_pass.weight, spec.GetDouble("lowpass_weight", 0.0, 0.0, 1e6));
  OMNI_ASSIGN_OR_RETURN(low_pass.components, spec.GetInt("lowpass_k", 64, 1, int64_t{1} << 31));
  OMNI_ASSIGN_OR_RETURN(low_pass.alpha, spec.GetDouble("lowpass_alpha", 10.0, 0.0, 1e12));
  OMNI_ASSIGN_OR_RETURN(int64_t max_mb, spec.GetInt("max_memory_mb", 8192, 1, int64_t{1} << 40));
  return std::unique_ptr<Recommender>(
      std::make_unique<Ease>(lambda, dropout, session_weight, session_seconds, low_pass, max_mb));
}

}  // namespace omni::recommend
