// IdentityConfig: defaults, ranks, and the "identity" object of config.json.
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "omni/identity/identity.h"

namespace omni::identity {
namespace {

using T = IdentityType;

Status KeyError(std::string_view origin, std::string_view key, std::string_view why) {
  return InvalidArgument(std::string(origin) + ": key \"identity." + std::string(key) +
                         "\": " + std::string(why));
}

StatusOr<std::vector<IdentityType>> ReadTypeList(simdjson::dom::element value, std::string_view origin,
                                                 std::string_view key) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return KeyError(origin, key, "must be an array of identity type names");
  }
  std::vector<IdentityType> out;
  for (simdjson::dom::element e : array) {
    std::string_view s;
    std::optional<IdentityType> t;
    if (e.get_string().get(s) == simdjson::SUCCESS) t = ingest::ParseIdentityType(s);
    if (!t) {
      return KeyError(origin, key,
                      "must list identity types (customer_id, member_card, phone, email, social_id, "
                      "device_id, cookie_id)");
    }
    if (std::find(out.begin(), out.end(), *t) != out.end()) {
      return KeyError(origin, key, "lists \"" + std::string(s) + "\" twice");
    }
    out.push_back(*t);
  }
  return out;
}

}  // namespace

IdentityConfig::Limits IdentityConfig::DefaultMaxDistinct() {
  Limits limits{};
  for (int x = 0; x < kIdentityTypeCount; ++x) {
    const auto of = static_cast<T>(x);
    // Issued one per person: seen with two, an identifier is used by two.
    if (of != T::kCustomerId) limits[x][static_cast<size_t>(T::kCustomerId)] = 1;
    if (of != T::kCustomerId && of != T::kMemberCard) limits[x][static_cast<size_t>(T::kMemberCard)] = 1;
    // Weak identifiers may see a person's phone change, not three phones.
    if (of == T::kDeviceId || of == T::kCookieId) {
      for (T with : {T::kPhone, T::kEmail, T::kSocialId}) limits[x][static_cast<size_t>(with)] = 2;
    }
  }
  return limits;
}

int IdentityConfig::Rank(IdentityType type) const {
  auto it = std::find(strong.begin(), strong.end(), type);
  if (it != strong.end()) return static_cast<int>(it - strong.begin());
  return static_cast<int>(strong.size()) + static_cast<int>(type);
}

bool IdentityConfig::IsStrong(IdentityType type) const {
  return std::find(strong.begin(), strong.end(), type) != strong.end();
}

bool IdentityConfig::IsExclusive(IdentityType type) const {
  return std::find(exclusive.begin(), exclusive.end(), type) != exclusive.end();
}

Status IdentityConfig::Validate() const {
  for (size_t i = 0; i < strong.size(); ++i) {
    if (std::find(strong.begin() + static_cast<std::ptrdiff_t>(i) + 1, strong.end(), strong[i]) !=
        strong.end()) {
      return InvalidArgument("identity config: strong lists " +
                             std::string(ingest::IdentityTypeName(strong[i])) + " twice");
    }
  }
  for (const auto& row : max_distinct) {
    for (int32_t n : row) {
      if (n < 0) return InvalidArgument("identity config: max_distinct limits must be >= 0");
    }
  }
  return Status::Ok();
}

std::string IdentityConfig::Fingerprint() const {
  std::string out = "v1 strong";
  for (IdentityType t : strong) out += " " + std::string(ingest::IdentityTypeName(t));
  out += "; exclusive";
  for (IdentityType t : exclusive) out += " " + std::string(ingest::IdentityTypeName(t));
  out += "; max_distinct";
  for (const auto& row : max_distinct) {
    for (int32_t n : row) out += " " + std::to_string(n);
  }
  return out;
}

StatusOr<IdentityConfig> ParseIdentityConfig(std::string_view json, std::string_view origin) {
  IdentityConfig config;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err != simdjson::SUCCESS) {
    return InvalidArgument(std::string(origin) + ": not valid JSON: " + simdjson::error_message(err));
  }
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return InvalidArgument(std::string(origin) + ": must be a JSON object");
  }
  simdjson::dom::element section;
  if (top["identity"].get(section) != simdjson::SUCCESS) return config;  // all defaults
  simdjson::dom::object object;
  if (section.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidArgument(std::string(origin) + ": key \"identity\" must be an object");
  }
  for (auto field : object) {
    const std::string_view key = field.key;
    if (key == "strong") {
      OMNI_ASSIGN_OR_RETURN(config.strong, ReadTypeList(field.value, origin, key));
    } else if (key == "exclusive") {
      OMNI_ASSIGN_OR_RETURN(config.exclusive, ReadTypeList(field.value, origin, key));
    } else if (key == "max_distinct") {
      simdjson::dom::object by_type;
      if (field.value.get_object().get(by_type) != simdjson::SUCCESS) {
        return KeyError(origin, key, "must be an object {\"device_id\": {\"customer_id\": 1, ...}, ...}");
      }
      for (auto of_field : by_type) {
        auto of = ingest::ParseIdentityType(of_field.key);
        simdjson::dom::object limits;
        if (!of || of_field.value.get_object().get(limits) != simdjson::SUCCESS) {
          return KeyError(origin, key, "keys must be identity types, each with an object of limits");
        }
        for (auto limit : limits) {
          auto with = ingest::ParseIdentityType(limit.key);
          int64_t n = -1;
          if (!with || limit.value.get_int64().get(n) != simdjson::SUCCESS || n < 0 || n > 1000000) {
            return KeyError(origin, std::string(key) + "." + std::string(of_field.key),
                            "must map identity types to integers from 0 (not counted) to 1000000");
          }
          config.Limit(*of, *with) = static_cast<int32_t>(n);
        }
      }
    }
    // Unknown keys are ignored, as in the rest of config.json.
  }
  OMNI_RETURN_IF_ERROR(config.Validate());
  return config;
}

StatusOr<IdentityConfig> LoadIdentityConfig(const std::string& data_dir) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return IdentityConfig{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Internal("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return ParseIdentityConfig(text.str(), path.string());
}

}  // namespace omni::identity
