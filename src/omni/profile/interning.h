// Dense ids for the names an event stream repeats (channels, items,
// categories, brands), so builders keep per-id arrays instead of maps of
// strings. Shared by the profile, feature, browse-window and dashboard
// builders, which each had their own copy.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omni::profile {

// Any number of names (item ids, categories, brands), looked up by hash.
class NameInterner {
 public:
  // The name's id, adding it when new; -1 for an empty name (absent).
  int32_t Index(std::string_view name) {
    if (name.empty()) return -1;
    // Debian's abseil has its own string_view; this one is heterogeneous.
    auto it = index_.find(absl::string_view(name.data(), name.size()));
    if (it != index_.end()) return it->second;
    const auto id = static_cast<int32_t>(names_.size());
    names_.emplace_back(name);
    index_.emplace(names_.back(), id);
    return id;
  }
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  absl::flat_hash_map<std::string, int32_t> index_;
  std::vector<std::string> names_;
};

// The few channels of a retailer (at most 255, so an id fits a byte). Events
// arrive in runs of one channel, so the last hit is tried first and a linear
// scan beats hashing.
class ChannelInterner {
 public:
  // The channel's id, adding it when new (then *added is set); -1 when 255
  // channels are already known.
  int Index(std::string_view name, bool* added = nullptr) {
    if (added != nullptr) *added = false;
    if (last_ >= 0 && names_[static_cast<size_t>(last_)] == name) return last_;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return last_ = static_cast<int>(i);
    }
    if (names_.size() >= 255) return -1;  // more channels than any retailer has
    names_.emplace_back(name);
    if (added != nullptr) *added = true;
    return last_ = static_cast<int>(names_.size() - 1);
  }
  size_t size() const { return names_.size(); }
  const std::string& operator[](size_t i) const { return names_[i]; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  int last_ = -1;
};

}  // namespace omni::profile
