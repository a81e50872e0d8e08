// The guards and the partition: from the recorded identifier graph to
// customers. A pure function of the graph's content (identifier types,
// blocks, the set of links and their support), so the result does not depend
// on the order events arrived in; the resolver runs it over all links on
// every run (it takes about a second per few million links).
//
//  1. Shared: an identifier whose links reach more distinct identifiers of a
//     strong type t than max_distinct[its type][t] is shared. Links are
//     distinct pairs, so the count is a count of links.
//  2. Eligible links: neither end shared nor blocked.
//  3. Components of the eligible links (union-find). A component holding at
//     most one identifier of each exclusive type is one customer.
//  4. A component holding two customer_ids (exclusive types) is rebuilt
//     Kruskal-style: its links in a canonical order — strong-strong links
//     first, then strong-weak, then weak-weak; within a class the most
//     supported first; ties by a hash of the identifiers' content — each
//     joined unless it would put two different values of an exclusive type
//     in one customer, in which case it is refused and recorded. The order
//     favours well-supported strong evidence, and is arrival-independent.
//  5. A customer's key comes from its identifier with the smallest id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "omni/identity/identity.h"

namespace omni::identity::internal {

struct GraphLink {
  int32_t a = 0;  // node indices, a < b
  int32_t b = 0;
  int64_t events = 0;  // supporting events
};

// Nodes are 0..n-1 in increasing id order.
struct Graph {
  std::vector<IdentityType> type;
  std::vector<uint8_t> blocked;
  // Shared for good: the identifier was shared when a person who used it
  // was erased. Their links are gone, but the identifier stays as
  // non-personal as it was (the other household members keep their
  // customers). Empty = none pinned.
  std::vector<uint8_t> pinned;
  // A hash of (type, value) per node: breaks ties between equally strong,
  // equally supported links without looking at arrival order.
  std::vector<uint64_t> tiebreak;
  std::vector<GraphLink> links;

  int32_t size() const { return static_cast<int32_t>(type.size()); }
};

struct SharedReason {
  int32_t limit = 0;     // 0: not over a limit
  int32_t distinct = 0;  // distinct identifiers of type `with` seen
  IdentityType with = IdentityType::kCustomerId;
  bool pinned = false;  // shared when a person who used it was erased
  bool shared() const { return limit > 0 || pinned; }
};
// "seen with 3 distinct customer_id (limit 1)", or for a pinned one "used
// by several persons, one of them since erased".
std::string SharedReasonText(const SharedReason& reason);

struct Refusal {
  int32_t link = 0;      // index into Graph::links
  int32_t holder_a = 0;  // the exclusive identifiers that would have met
  int32_t holder_b = 0;
};

struct Partition {
  // Per node: the node (smallest index = oldest) that names its customer;
  // -1 for shared and blocked nodes, which belong to no customer.
  std::vector<int32_t> customer;
  std::vector<SharedReason> shared;  // per node
  std::vector<Refusal> refusals;     // sorted by link index
  int64_t customers = 0;
};

Partition ComputePartition(const Graph& graph, const IdentityConfig& config);

// FNV-1a over the type and value: stable across runs and builds.
uint64_t ContentHash(IdentityType type, std::string_view value);

}  // namespace omni::identity::internal
