// dense-cosine: the seed's item-based CF, kept as the baseline omni must beat.
// It materialises the whole customers × items matrix R densely, computes the
// full item × item cosine matrix S = RᵀR / (|r_i| |r_j|) with a dense GEMM,
// and scores a customer as r_u · S. Memory is customers × items + items²
// floats, which is why it cannot run at retailer scale: it refuses, naming
// the memory it would need, instead of dying in the allocator.
//   dense-cosine:max_memory_mb=4096
#include <Eigen/Dense>
#include <fmt/format.h>

#include "omni/recommend/artefact.h"
#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

class DenseCosineCf final : public Recommender {
 public:
  explicit DenseCosineCf(int64_t max_memory_mb) : max_memory_mb_(max_memory_mb) {}

  std::string spec() const override { return "dense-cosine"; }

  Status Fit(const InteractionMatrix& train) override {
    const int64_t m = train.rows;
    const int64_t n = train.cols;
    const double need_mb = (static_cast<double>(m) * n + static_cast<double>(n) * n) * 4 / (1024.0 * 1024.0);
    if (need_mb > static_cast<double>(max_memory_mb_)) {
      return ResourceExhausted(fmt::format(
          "dense-cosine needs the dense {} × {} rating matrix and the {} × {} similarity matrix: {:.0f} MiB, "
          "over the budget of {} MiB",
          m, n, n, n, need_mb, max_memory_mb_));
    }
    Eigen::MatrixXf r = Eigen::MatrixXf::Zero(m, n);
    for (int32_t u = 0; u < train.rows; ++u) {
      auto idx = train.RowIndices(u);
      auto val = train.RowValues(u);
      for (size_t a = 0; a < idx.size(); ++a) r(u, idx[a]) = val[a];
    }
    Eigen::VectorXf norm = r.colwise().norm().transpose();
    s_.resize(n, n);
    s_.noalias() = r.transpose() * r;
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < n; ++i) {
        const float d = norm[i] * norm[j];
        s_(i, j) = d > 0 ? s_(i, j) / d : 0.0f;
      }
    }
    return Status::Ok();
  }

  void Score(std::span<const int32_t> customers, const InteractionMatrix& history, float* scores) const override {
    const int64_t n = s_.cols();
    for (size_t c = 0; c < customers.size(); ++c) {
      Eigen::Map<Eigen::VectorXf> out(scores + c * n, n);
      out.setZero();
      if (customers[c] < 0 || customers[c] >= history.rows) continue;
      auto idx = history.RowIndices(customers[c]);
      auto val = history.RowValues(customers[c]);
      // S is symmetric: column i is row i, contiguous in column-major storage.
      for (size_t a = 0; a < idx.size(); ++a) {
        if (idx[a] < n) out += val[a] * s_.col(idx[a]);
      }
    }
  }

  int32_t item_count() const override { return static_cast<int32_t>(s_.cols()); }

  // Exact: score(u, j) = sum over history items i of x_ui · S(i, j).
  void Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
               std::vector<ScoredItem>& out) const override {
    out.clear();
    if (item < 0 || item >= s_.cols()) return;
    for (size_t a = 0; a < items.size(); ++a) {
      if (items[a] >= 0 && items[a] < s_.cols()) out.push_back({items[a], values[a] * s_(items[a], item)});
    }
    KeepTopContributions(out, limit);
  }

  Status Save(const std::string& path) const override {
    ArtefactWriter w("dense-cosine", spec());
    w.Int("items", s_.cols());
    w.Floats("s", std::span<const float>(s_.data(), static_cast<size_t>(s_.size())));
    return w.WriteTo(path);
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "dense-cosine"));
    OMNI_ASSIGN_OR_RETURN(int64_t items, r.Int("items"));
    OMNI_ASSIGN_OR_RETURN(std::vector<float> s, r.Floats("s"));
    if (items < 0 || s.size() != static_cast<size_t>(items) * items) {
      return InvalidArgument(path + ": dense-cosine matrix does not match the item count");
    }
    s_ = Eigen::Map<Eigen::MatrixXf>(s.data(), items, items);
    return Status::Ok();
  }

 private:
  int64_t max_memory_mb_;
  Eigen::MatrixXf s_;
};

}  // namespace

StatusOr<std::unique_ptr<Recommender>> MakeDenseCosineCf(const Spec& spec) {
  OMNI_RETURN_IF_ERROR(spec.CheckKnown({"max_memory_mb"}));
  OMNI_ASSIGN_OR_RETURN(int64_t max_mb, spec.GetInt("max_memory_mb", 4096, 1, int64_t{1} << 40));
  return std::unique_ptr<Recommender>(std::make_unique<DenseCosineCf>(max_mb));
}

}  // namespace omni::recommend
