// A CustomerDirectory for unit tests: customers declared by hand, each with
// its identifiers, so profile tests do not depend on identity resolution.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "omni/identity/identity.h"

namespace omni::profile::testing {

class FakeDirectory : public identity::CustomerDirectory {
 public:
  // Adds a customer with these identifiers; returns its dense id.
  int32_t Add(std::vector<ingest::Identity> identities) {
    const auto id = static_cast<int32_t>(keys_.size());
    keys_.push_back("C" + std::to_string(1000 + id));
    for (const auto& i : identities) by_identity_[{i.type, i.value}] = id;
    identities_.push_back(std::move(identities));
    return id;
  }
  int32_t AddCard(const std::string& card) { return Add({{ingest::IdentityType::kMemberCard, card}}); }

  int32_t customer_count() const override { return static_cast<int32_t>(keys_.size()); }
  const std::string& CustomerKey(int32_t dense_id) const override { return keys_[static_cast<size_t>(dense_id)]; }
  std::optional<int32_t> DenseIdOfKey(std::string_view key) const override {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] == key) return static_cast<int32_t>(i);
    }
    return std::nullopt;
  }
  std::optional<int32_t> CustomerOf(const ingest::Identity& identity) const override {
    auto it = by_identity_.find({identity.type, identity.value});
    if (it == by_identity_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<int32_t> CustomerOfEvent(const ingest::Event& event) const override {
    std::optional<int32_t> best;
    int best_rank = 1000;
    for (const auto& i : event.identities) {
      auto c = CustomerOf(i);
      if (c && static_cast<int>(i.type) < best_rank) {
        best = c;
        best_rank = static_cast<int>(i.type);
      }
    }
    return best;
  }
  std::vector<ingest::Identity> IdentifiersOf(int32_t dense_id) const override {
    return identities_[static_cast<size_t>(dense_id)];
  }
  // No event history here: every first_seq is 0, so bulk attribution finds
  // these through its fallback (by value), never by first appearance.
  int32_t identifier_count() const override {
    size_t n = 0;
    for (const auto& ids : identities_) n += ids.size();
    return static_cast<int32_t>(n);
  }
  IdentifierEntry identifier(int32_t i) const override {
    for (size_t c = 0; c < identities_.size(); ++c) {
      if (static_cast<size_t>(i) < identities_[c].size()) {
        const ingest::Identity& id = identities_[c][static_cast<size_t>(i)];
        return {id.type, id.value, 0, static_cast<int32_t>(c)};
      }
      i -= static_cast<int32_t>(identities_[c].size());
    }
    return {ingest::IdentityType::kCustomerId, {}, 0, -1};
  }

 private:
  std::vector<std::string> keys_;
  std::vector<std::vector<ingest::Identity>> identities_;
  std::map<std::pair<ingest::IdentityType, std::string>, int32_t> by_identity_;
};

}  // namespace omni::profile::testing
