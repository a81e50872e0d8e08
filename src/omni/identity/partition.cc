#include "omni/identity/partition.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <array>
#include <limits>
#include <tuple>

#include "omni/identity/union_find.h"

namespace omni::identity::internal {
namespace {

constexpr size_t kTypes = kIdentityTypeCount;
using Holders = std::array<int32_t, kTypes>;  // per exclusive type: the node holding it, or -1

}  // namespace

std::string SharedReasonText(const SharedReason& reason) {
  if (!reason.shared()) return "";
  if (reason.limit == 0) return "used by several persons, one of them since erased";
  return "seen with " + std::to_string(reason.distinct) + " distinct " +
         std::string(ingest::IdentityTypeName(reason.with)) + " (limit " + std::to_string(reason.limit) + ")";
}

uint64_t ContentHash(IdentityType type, std::string_view value) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  mix(static_cast<unsigned char>(type));
  for (char c : value) mix(static_cast<unsigned char>(c));
  return h;
}

Partition ComputePartition(const Graph& graph, const IdentityConfig& config) {
  const int32_t n = graph.size();
  const auto node = [](int32_t i) { return static_cast<size_t>(i); };
  Partition out;
  out.shared.assign(node(n), SharedReason{});
  out.customer.assign(node(n), -1);

  std::array<bool, kTypes> strong{};
  for (IdentityType t : config.strong) strong[static_cast<size_t>(t)] = true;

  // 1. Shared identifiers: distinct strong neighbours per type (saturating:
  // a kiosk may see tens of thousands of member cards; it only has to be
  // more than the limit).
  {
    std::vector<uint16_t> counts(node(n) * kTypes, 0);
    auto count = [&](int32_t x, IdentityType with) {
      uint16_t& c = counts[node(x) * kTypes + static_cast<size_t>(with)];
      if (c < std::numeric_limits<uint16_t>::max()) ++c;
    };
    for (const GraphLink& l : graph.links) {
      const IdentityType ta = graph.type[node(l.a)];
      const IdentityType tb = graph.type[node(l.b)];
      if (strong[static_cast<size_t>(tb)] && config.Limit(ta, tb) > 0) count(l.a, tb);
      if (strong[static_cast<size_t>(ta)] && config.Limit(tb, ta) > 0) count(l.b, ta);
    }
    for (int32_t i = 0; i < n; ++i) {
      const IdentityType of = graph.type[node(i)];
      for (IdentityType with : config.strong) {  // the strongest reason is the one reported
        const int32_t limit = config.Limit(of, with);
        const int32_t seen = counts[node(i) * kTypes + static_cast<size_t>(with)];
        if (limit > 0 && seen > limit) {
          out.shared[node(i)] = {limit, seen, with, false};
          break;
        }
      }
      if (!graph.pinned.empty() && graph.pinned[node(i)]) out.shared[node(i)].pinned = true;
    }
  }
  auto usable = [&](int32_t i) { return !out.shared[node(i)].shared() && !graph.blocked[node(i)]; };

  // 2-3. Components of the eligible links.
  UnionFind raw(n);
  for (const GraphLink& l : graph.links) {
    if (usable(l.a) && usable(l.b)) raw.Union(l.a, l.b);
  }

  // Components holding two values of an exclusive type.
  absl::flat_hash_set<int32_t> conflicted;
  if (!config.exclusive.empty()) {
    absl::flat_hash_map<int64_t, int32_t> holder;  // (root, type) -> first node
    for (int32_t i = 0; i < n; ++i) {
      const IdentityType t = graph.type[node(i)];
      if (!config.IsExclusive(t) || !usable(i)) continue;
      const int32_t root = raw.Find(i);
      auto [it, inserted] = holder.try_emplace(static_cast<int64_t>(root) * 8 + static_cast<int64_t>(t), i);
      if (!inserted) conflicted.insert(root);
    }
  }

  // 4. Final components: unconflicted ones as they are, conflicted ones
  // rebuilt in canonical order with the exclusive guard.
  UnionFind final_sets(n);
  std::vector<int32_t> rebuild;
  for (size_t li = 0; li < graph.links.size(); ++li) {
    const GraphLink& l = graph.links[li];
    if (!usable(l.a) || !usable(l.b)) continue;
    if (!conflicted.empty() && conflicted.contains(raw.Find(l.a))) {
      rebuild.push_back(static_cast<int32_t>(li));
    } else {
      final_sets.Union(l.a, l.b);
    }
  }
  if (!rebuild.empty()) {
    auto link_class = [&](const GraphLink& l) {
      return (strong[static_cast<size_t>(graph.type[node(l.a)])] ? 0 : 1) +
             (strong[static_cast<size_t>(graph.type[node(l.b)])] ? 0 : 1);
    };
    auto sort_key = [&](int32_t li) {
      const GraphLink& l = graph.links[static_cast<size_t>(li)];
      const uint64_t ha = graph.tiebreak[node(l.a)];
      const uint64_t hb = graph.tiebreak[node(l.b)];
      return std::make_tuple(link_class(l), -l.events, std::min(ha, hb), std::max(ha, hb), l.a, l.b);
    };
    std::sort(rebuild.begin(), rebuild.end(),
              [&](int32_t x, int32_t y) { return sort_key(x) < sort_key(y); });

    absl::flat_hash_map<int32_t, Holders> holders;  // by root of final_sets
    for (int32_t i = 0; i < n; ++i) {
      const IdentityType t = graph.type[node(i)];
      if (!config.IsExclusive(t) || !usable(i) || !conflicted.contains(raw.Find(i))) continue;
      Holders h;
      h.fill(-1);
      h[static_cast<size_t>(t)] = i;
      holders[i] = h;  // not yet joined to anything: its own root
    }
    for (int32_t li : rebuild) {
      const GraphLink& l = graph.links[static_cast<size_t>(li)];
      const int32_t ra = final_sets.Find(l.a);
      const int32_t rb = final_sets.Find(l.b);
      if (ra == rb) continue;
      auto ia = holders.find(ra);
      auto ib = holders.find(rb);
      if (ia != holders.end() && ib != holders.end()) {
        bool refused = false;
        for (size_t t = 0; t < kTypes && !refused; ++t) {
          const int32_t x = ia->second[t];
          const int32_t y = ib->second[t];
          if (x >= 0 && y >= 0 && x != y) {
            out.refusals.push_back({li, x, y});
            refused = true;
          }
        }
        if (refused) continue;
      }
      Holders merged;
      merged.fill(-1);
      for (auto* it : {&ia, &ib}) {
        if (*it == holders.end()) continue;
        for (size_t t = 0; t < kTypes; ++t) {
          if ((*it)->second[t] >= 0) merged[t] = (*it)->second[t];
        }
      }
      const bool any = ia != holders.end() || ib != holders.end();
      if (ia != holders.end()) holders.erase(ia);
      ib = holders.find(rb);  // erase above may have invalidated it
      if (ib != holders.end()) holders.erase(ib);
      const int32_t root = final_sets.Union(ra, rb);
      if (any) holders[root] = merged;
    }
    std::sort(out.refusals.begin(), out.refusals.end(),
              [](const Refusal& x, const Refusal& y) { return x.link < y.link; });
  }

  // 5. Name each customer by its oldest identifier (smallest node index).
  std::vector<int32_t> first(node(n), -1);
  for (int32_t i = 0; i < n; ++i) {
    if (!usable(i)) continue;
    const int32_t root = final_sets.Find(i);
    if (first[node(root)] < 0) {
      first[node(root)] = i;
      ++out.customers;
    }
    out.customer[node(i)] = first[node(root)];
  }
  return out;
}

}  // namespace omni::identity::internal
