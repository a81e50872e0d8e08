#include "omni/predict/model_json.h"

#include <limits>
#include <memory>

#include "omni/predict/propensity_model.h"

namespace omni::predict {

StatusOr<ModelJson> ModelJson::Open(const std::string& path, const std::string& model) {
  OMNI_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  ModelJson j;
  j.path_ = path;
  j.parser_ = std::make_shared<simdjson::dom::parser>();
  simdjson::dom::element doc;
  if (j.parser_->parse(text).get(doc) != simdjson::SUCCESS || doc.get_object().get(j.root_) != simdjson::SUCCESS) {
    return InvalidArgument(path + ": not a JSON object");
  }
  OMNI_ASSIGN_OR_RETURN(std::string name, j.Text("model"));
  if (name != model) return InvalidArgument(path + ": a " + name + " model, expected " + model);
  return j;
}

StatusOr<double> ModelJson::Number(const char* key) const {
  double v = 0;
  if (root_[key].get_double().get(v) != simdjson::SUCCESS) {
    int64_t i = 0;
    if (root_[key].get_int64().get(i) != simdjson::SUCCESS) return InvalidArgument(path_ + ": missing number '" + key + "'");
    v = static_cast<double>(i);
  }
  return v;
}

StatusOr<std::vector<double>> ModelJson::Numbers(const char* key) const {
  simdjson::dom::array a;
  if (root_[key].get_array().get(a) != simdjson::SUCCESS) return InvalidArgument(path_ + ": missing array '" + key + "'");
  std::vector<double> out;
  for (simdjson::dom::element e : a) {
    double v = 0;
    if (e.get_double().get(v) != simdjson::SUCCESS) {
      int64_t i = 0;
      if (e.get_int64().get(i) != simdjson::SUCCESS) {
        // JsonWriter writes non-finite values as null.
        if (!e.is_null()) return InvalidArgument(path_ + ": '" + key + "' holds a non-number");
        v = std::numeric_limits<double>::quiet_NaN();
      } else {
        v = static_cast<double>(i);
      }
    }
    out.push_back(v);
  }
  return out;
}

StatusOr<std::string> ModelJson::Text(const char* key) const {
  std::string_view s;
  if (root_[key].get_string().get(s) != simdjson::SUCCESS) return InvalidArgument(path_ + ": missing text '" + key + "'");
  return std::string(s);
}

}  // namespace omni::predict
