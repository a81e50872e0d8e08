// Reading the small JSON files the non-XGBoost models save (their
// parameters), with errors that name the file and the field.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "omni/common/status.h"

namespace omni::predict {

class ModelJson {
 public:
  // Parses `path`; fails unless it holds an object whose "model" is `model`.
  static StatusOr<ModelJson> Open(const std::string& path, const std::string& model);
  StatusOr<double> Number(const char* key) const;
  StatusOr<std::vector<double>> Numbers(const char* key) const;
  StatusOr<std::string> Text(const char* key) const;

 private:
  std::string path_;
  std::shared_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::object root_;
};

}  // namespace omni::predict
