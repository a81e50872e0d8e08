// Every model by name. Listed explicitly (not self-registering statics, which
// the linker drops from static libraries).
#include <algorithm>

#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

using Factory = StatusOr<std::unique_ptr<Recommender>> (*)(const Spec&);

struct Entry {
  const char* name;
  Factory make;
};

constexpr Entry kModels[] = {
    {"popularity", &MakePopularity},
    {"itemknn", &MakeItemKnn},
    {"ease", &MakeEase},
    {"als", &MakeAls},
    {"rp3beta", &MakeRp3Beta},
    {"dense-cosine", &MakeDenseCosineCf},
};

}  // namespace

StatusOr<std::unique_ptr<Recommender>> MakeRecommender(std::string_view text) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(text));
  for (const Entry& e : kModels) {
    if (spec.name() == e.name) return e.make(spec);
  }
  if (spec.name() == "trending") {
    return InvalidArgument("'" + spec.ToString() + "' is a serving fallback (omni recommend --fallback " +
                           spec.ToString() + "), not a trainable model");
  }
  if (spec.name() == "fbt") {
    return InvalidArgument("fbt mines association rules: omni train " + spec.ToString() +
                           " (then omni recommend --together ITEM_ID); it is not a ranking model to evaluate");
  }
  std::string known;
  for (const std::string& n : RecommenderNames()) known += (known.empty() ? "" : ", ") + n;
  return InvalidArgument("unknown recommender '" + spec.name() + "' (known: " + known + ")");
}

void Recommender::ScoreCustomer(int32_t training_row, std::span<const int32_t> items, std::span<const float> values,
                                float* scores) const {
  (void)training_row;
  InteractionMatrix row;
  row.rows = 1;
  row.cols = item_count();
  row.indptr = {0, static_cast<int64_t>(items.size())};
  row.indices.assign(items.begin(), items.end());
  row.values.assign(values.begin(), values.end());
  const int32_t zero = 0;
  Score(std::span<const int32_t>(&zero, 1), row, scores);
}

std::vector<std::string> RecommenderNames() {
  std::vector<std::string> names;
  for (const Entry& e : kModels) names.emplace_back(e.name);
  return names;
}

}  // namespace omni::recommend
