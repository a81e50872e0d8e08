// Spec strings name an algorithm or format and its parameters in one line,
// the same in the CLI, config files and the API (faiss' index_factory idea):
//   "als:factors=64,reg=0.05,iters=15"   "csv:ts=OrderTime,phone=Mobile"
// Grammar: NAME [":" KEY "=" VALUE ("," KEY "=" VALUE)*]. Keys are unique;
// values may contain ':' and '=' but not ','. Whitespace around tokens is
// trimmed. Parameters keep their order (a CSV mapping lists columns).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "omni/common/status.h"

namespace omni {

class Spec {
 public:
  static StatusOr<Spec> Parse(std::string_view text);

  const std::string& name() const { return name_; }
  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }
  bool Has(std::string_view key) const;
  // Typed getters: the default when absent; InvalidArgument naming the key
  // and the spec when present but malformed or out of [lo, hi].
  StatusOr<std::string> GetString(std::string_view key, std::string def) const;
  StatusOr<int64_t> GetInt(std::string_view key, int64_t def, int64_t lo, int64_t hi) const;
  StatusOr<double> GetDouble(std::string_view key, double def, double lo, double hi) const;
  StatusOr<bool> GetBool(std::string_view key, bool def) const;
  // Fails naming the first key not in `known` (catches typos like "factor=").
  Status CheckKnown(const std::vector<std::string_view>& known) const;
  std::string ToString() const;

 private:
  const std::string* Find(std::string_view key) const;
  std::string text_;
  std::string name_;
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace omni
