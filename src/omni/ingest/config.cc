#include "omni/ingest/config.h"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"
#include "simdjson.h"

namespace omni::ingest {

// Linear scans: the lists hold about ten short strings, and comparing sizes
// first makes a miss almost free; a hash set would cost more per lookup.
bool IngestConfig::IsChannel(std::string_view c) const {
  return std::find(channels.begin(), channels.end(), c) != channels.end();
}

bool IngestConfig::IsEventType(std::string_view t) const {
  if (std::find(event_types.begin(), event_types.end(), t) != event_types.end()) return true;
  return !custom_type_prefix.empty() && t.size() > custom_type_prefix.size() &&
         t.substr(0, custom_type_prefix.size()) == custom_type_prefix;
}

bool IngestConfig::IsHashed(IdentityType t) const {
  return std::find(hashed_identity_types.begin(), hashed_identity_types.end(), t) !=
         hashed_identity_types.end();
}

namespace {

constexpr int64_t kMaxRecordBytesLimit = 64 << 20;

Status KeyError(std::string_view origin, std::string_view key, std::string_view why) {
  std::string m(origin);
  m.append(": key \"").append(key).append("\": ").append(why);
  return InvalidArgument(std::move(m));
}

// A non-empty array of distinct non-empty strings.
Status ReadNameList(simdjson::dom::element value, std::string_view origin, std::string_view key,
                    std::vector<std::string>& out) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return KeyError(origin, key, "must be an array of strings");
  }
  std::vector<std::string> names;
  std::set<std::string_view> seen;
  for (simdjson::dom::element e : array) {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
      return KeyError(origin, key, "must be an array of non-empty strings");
    }
    if (!seen.insert(s).second) {
      return KeyError(origin, key, "lists \"" + std::string(s) + "\" twice");
    }
    names.emplace_back(s);
  }
  if (names.empty()) return KeyError(origin, key, "must not be empty");
  out = std::move(names);
  return Status::Ok();
}

}  // namespace

StatusOr<IngestConfig> ParseIngestConfig(std::string_view json, std::string_view origin) {
  IngestConfig config;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err != simdjson::SUCCESS) {
    return InvalidArgument(std::string(origin) + ": not valid JSON: " + simdjson::error_message(err));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidArgument(std::string(origin) + ": must be a JSON object");
  }
  for (auto field : object) {
    const std::string_view key = field.key;
    const simdjson::dom::element value = field.value;
    if (key == "channels") {
      OMNI_RETURN_IF_ERROR(ReadNameList(value, origin, key, config.channels));
    } else if (key == "event_types") {
      OMNI_RETURN_IF_ERROR(ReadNameList(value, origin, key, config.event_types));
    } else if (key == "custom_type_prefix") {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS) return KeyError(origin, key, "must be a string");
      config.custom_type_prefix = std::string(s);
    } else if (key == "max_record_bytes") {
      int64_t n = 0;
      if (value.get_int64().get(n) != simdjson::SUCCESS || n < 1 || n > kMaxRecordBytesLimit) {
        return KeyError(origin, key, "must be an integer from 1 to 67108864");
      }
      config.max_record_bytes = static_cast<size_t>(n);
    } else if (key == "hashed_identity_types") {
      simdjson::dom::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) {
        return KeyError(origin, key, "must be an array of identity type names");
      }
      std::vector<IdentityType> types;
      for (simdjson::dom::element e : array) {
        std::string_view s;
        std::optional<IdentityType> t;
        if (e.get_string().get(s) == simdjson::SUCCESS) t = ParseIdentityType(s);
        if (!t) {
          return KeyError(origin, key,
                          "must list identity types (customer_id, member_card, phone, email, "
                          "social_id, device_id, cookie_id)");
        }
        if (std::find(types.begin(), types.end(), *t) == types.end()) types.push_back(*t);
      }
      config.hashed_identity_types = std::move(types);
    } else if (key == "default_phone_region") {
      std::string_view s;
      const auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
      if (value.get_string().get(s) != simdjson::SUCCESS || s.size() != 2 ||
          util->GetCountryCodeForRegion(std::string(s)) == 0) {
        return KeyError(origin, key, "must be a two-letter region libphonenumber knows, like \"CN\"");
      }
      config.default_phone_region = std::string(s);
    }
    // Any other key belongs to another module (or a newer omni): ignored.
  }
  return config;
}

StatusOr<IngestConfig> LoadIngestConfig(const std::string& data_dir) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "config.json";
  IngestConfig config;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Internal("cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Internal("cannot read " + path.string());
    OMNI_ASSIGN_OR_RETURN(config, ParseIngestConfig(text.str(), path.string()));
  } else if (ec) {
    return Internal("cannot stat " + path.string() + ": " + ec.message());
  }
  OMNI_ASSIGN_OR_RETURN(config.pii_key, LoadOrCreatePiiKey(data_dir));
  return config;
}

}  // namespace omni::ingest
