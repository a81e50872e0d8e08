// popularity: every customer gets the same ranking, items by how many
// customers interacted with them (ties by id). The floor every personalised
// model must beat, and the cold-start fallback.
//   popularity                 customers per item
//   popularity:weighted=true   summed interaction weights per item
// Per channel / store / segment / category and trending (recent window) need
// event context the matrix does not carry: they are the serving layer's
// popularity tables (serving.h: `omni recommend --fallback
// popularity:by=channel`, `trending:window=7d`, or config recommend.fallback).
#include <algorithm>

#include "omni/recommend/artefact.h"
#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

class Popularity final : public Recommender {
 public:
  explicit Popularity(bool weighted) : weighted_(weighted) {}
  std::string spec() const override { return weighted_ ? "popularity:weighted=true" : "popularity"; }

  Status Fit(const InteractionMatrix& train) override {
    counts_.assign(train.cols, 0.0f);
    for (int64_t p = 0; p < train.nnz(); ++p) {
      counts_[train.indices[p]] += weighted_ ? train.values[p] : 1.0f;
    }
    return Status::Ok();
  }

  void Score(std::span<const int32_t> customers, const InteractionMatrix&, float* scores) const override {
    for (size_t i = 0; i < customers.size(); ++i) {
      std::copy(counts_.begin(), counts_.end(), scores + i * counts_.size());
    }
  }

  int32_t item_count() const override { return static_cast<int32_t>(counts_.size()); }

  Status Save(const std::string& path) const override {
    ArtefactWriter w("popularity", spec());
    w.Floats("counts", counts_);
    return w.WriteTo(path);
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "popularity"));
    OMNI_ASSIGN_OR_RETURN(counts_, r.Floats("counts"));
    weighted_ = r.spec().find("weighted=true") != std::string::npos;
    return Status::Ok();
  }

 private:
  bool weighted_;
  std::vector<float> counts_;
};

}  // namespace

StatusOr<std::unique_ptr<Recommender>> MakePopularity(const Spec& spec) {
  if (spec.Has("by")) {
    return InvalidArgument("'" + spec.ToString() + "': popularity by channel, store, segment or category is a serving "
                           "fallback (omni recommend --fallback " + spec.ToString() +
                           ", or \"fallback\" in config.json's \"recommend\"); the model omni train and omni evaluate "
                           "know is global popularity");
  }
  OMNI_RETURN_IF_ERROR(spec.CheckKnown({"weighted"}));
  OMNI_ASSIGN_OR_RETURN(bool weighted, spec.GetBool("weighted", false));
  return std::unique_ptr<Recommender>(std::make_unique<Popularity>(weighted));
}

}  // namespace omni::recommend
