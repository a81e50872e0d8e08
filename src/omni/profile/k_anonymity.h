// k-anonymity for aggregates that leave the system (segment sizes, cluster
// sizes, reports): a count of fewer than k customers could single a person
// out, so it is shown as "<k" and never as the number. k is the data
// directory's `min_group_size` (DATA_DIR/config.json, default 10):
//   {"min_group_size": 25}
// Zero is shown as is: "nobody" describes no one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "omni/common/status.h"

namespace omni::profile {

inline constexpr int64_t kDefaultMinGroupSize = 10;

// The configured minimum: the default when the file or the key is absent.
// InvalidArgument naming the file for malformed JSON or a value that is not
// an integer >= 1. Other keys of the file are other modules' business.
StatusOr<int64_t> LoadMinGroupSize(const std::string& data_dir);
StatusOr<int64_t> ParseMinGroupSize(std::string_view json, std::string_view origin);

// True when `count` must not be shown: 0 < count < min_group_size.
inline bool Suppressed(int64_t count, int64_t min_group_size) { return count > 0 && count < min_group_size; }

// "<10" when suppressed, else the number.
std::string ShownCount(int64_t count, int64_t min_group_size);

// The sentence every output with suppressed counts carries.
std::string SuppressionNote(int64_t min_group_size);

}  // namespace omni::profile
