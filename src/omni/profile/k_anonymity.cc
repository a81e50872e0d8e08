#include "omni/profile/k_anonymity.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <simdjson.h>

namespace omni::profile {

StatusOr<int64_t> ParseMinGroupSize(std::string_view json, std::string_view origin) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) || !doc.is_object()) {
    return InvalidArgument(std::string(origin) + ": not a JSON object");
  }
  simdjson::dom::element value;
  if (doc["min_group_size"].get(value)) return kDefaultMinGroupSize;  // absent
  int64_t k = 0;
  if (value.get(k) || k < 1) {
    return InvalidArgument(std::string(origin) + ": min_group_size must be an integer >= 1");
  }
  return k;
}

StatusOr<int64_t> LoadMinGroupSize(const std::string& data_dir) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return kDefaultMinGroupSize;
  std::stringstream text;
  text << in.rdbuf();
  return ParseMinGroupSize(text.str(), path.string());
}

std::string ShownCount(int64_t count, int64_t min_group_size) {
  if (Suppressed(count, min_group_size)) return "<" + std::to_string(min_group_size);
  return std::to_string(count);
}

std::string SuppressionNote(int64_t min_group_size) {
  return "counts below " + std::to_string(min_group_size) +
         " are suppressed (k-anonymity: min_group_size in config.json)";
}

}  // namespace omni::profile
