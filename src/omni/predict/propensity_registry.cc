// Every propensity model by name. Listed explicitly (self-registering statics
// are dropped by the linker from static libraries).
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "omni/predict/propensity_model.h"

namespace omni::predict {
namespace {

using Factory = StatusOr<std::unique_ptr<PropensityModel>> (*)(const Spec&);

struct Entry {
  const char* name;
  Factory make;
};

constexpr Entry kModels[] = {
    {"xgboost", &MakeXgboostModel},
    {"logistic", &MakeLogisticModel},
    {"tree", &MakeTreeModel},
    {"naive-bayes", &MakeNaiveBayesModel},
    {"blend", &MakeBlendModel},
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakePropensityModel(std::string_view text) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(text));
  for (const Entry& e : kModels) {
    if (spec.name() == e.name) return e.make(spec);
  }
  std::string known;
  for (const std::string& n : PropensityModelNames()) known += (known.empty() ? "" : ", ") + n;
  return InvalidArgument("unknown propensity model '" + spec.name() + "' (known: " + known + ")");
}

std::vector<std::string> PropensityModelNames() {
  std::vector<std::string> names;
  for (const Entry& e : kModels) names.emplace_back(e.name);
  return names;
}

ClassBalance BalanceOf(const FeatureTable& table, bool balance) {
  ClassBalance b;
  for (float y : table.label) (y > 0.5f ? b.positives : b.negatives)++;
  if (balance && b.positives > 0 && b.negatives > 0) {
    const double n = static_cast<double>(b.positives + b.negatives);
    b.positive_weight = n / (2.0 * static_cast<double>(b.positives));
    b.negative_weight = n / (2.0 * static_cast<double>(b.negatives));
  }
  return b;
}

StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Internal("cannot create " + path + ": " + std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? Status::Ok() : Internal("cannot write " + path);
}

}  // namespace omni::predict
