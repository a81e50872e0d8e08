#include "omni/common/spec.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace omni {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

StatusOr<Spec> Spec::Parse(std::string_view text) {
  Spec spec;
  spec.text_ = std::string(text);
  size_t colon = text.find(':');
  spec.name_ = std::string(Trim(text.substr(0, colon)));
  if (spec.name_.empty()) return InvalidArgument("spec '" + spec.text_ + "': missing name");
  if (colon == std::string_view::npos) return spec;
  std::string_view rest = text.substr(colon + 1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos || Trim(part.substr(0, eq)).empty()) {
      return InvalidArgument("spec '" + spec.text_ + "': expected key=value, got '" +
                             std::string(part) + "'");
    }
    std::string key(Trim(part.substr(0, eq)));
    if (spec.Find(key)) return InvalidArgument("spec '" + spec.text_ + "': key '" + key + "' given twice");
    spec.params_.emplace_back(std::move(key), std::string(Trim(part.substr(eq + 1))));
  }
  return spec;
}

const std::string* Spec::Find(std::string_view key) const {
  for (const auto& [k, v] : params_) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool Spec::Has(std::string_view key) const { return Find(key) != nullptr; }

StatusOr<std::string> Spec::GetString(std::string_view key, std::string def) const {
  const std::string* v = Find(key);
  return v ? *v : def;
}

StatusOr<int64_t> Spec::GetInt(std::string_view key, int64_t def, int64_t lo, int64_t hi) const {
  const std::string* v = Find(key);
  if (!v) return def;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    return InvalidArgument("spec '" + text_ + "': " + std::string(key) + "='" + *v + "' is not an integer");
  }
  if (out < lo || out > hi) {
    return InvalidArgument("spec '" + text_ + "': " + std::string(key) + "=" + *v + " is outside [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return out;
}

StatusOr<double> Spec::GetDouble(std::string_view key, double def, double lo, double hi) const {
  const std::string* v = Find(key);
  if (!v) return def;
  char* end = nullptr;
  double out = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size() || !std::isfinite(out)) {
    return InvalidArgument("spec '" + text_ + "': " + std::string(key) + "='" + *v + "' is not a number");
  }
  if (out < lo || out > hi) {
    return InvalidArgument("spec '" + text_ + "': " + std::string(key) + "=" + *v + " is outside [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return out;
}

StatusOr<bool> Spec::GetBool(std::string_view key, bool def) const {
  const std::string* v = Find(key);
  if (!v) return def;
  if (*v == "true" || *v == "1" || *v == "yes") return true;
  if (*v == "false" || *v == "0" || *v == "no") return false;
  return InvalidArgument("spec '" + text_ + "': " + std::string(key) + "='" + *v + "' is not true/false");
}

Status Spec::CheckKnown(const std::vector<std::string_view>& known) const {
  for (const auto& [k, v] : params_) {
    bool found = false;
    for (auto n : known) found = found || n == k;
    if (!found) {
      std::string list;
      for (auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
      return InvalidArgument("spec '" + text_ + "': unknown parameter '" + k + "' (known: " + list + ")");
    }
  }
  return Status::Ok();
}

std::string Spec::ToString() const { return text_; }

}  // namespace omni
