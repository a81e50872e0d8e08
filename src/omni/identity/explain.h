// `omni customers explain IDENTIFIER`: why an identifier belongs to the
// customer it belongs to — every identifier of that customer, every link
// between them with the event that first made it and how many events
// support it, the shared identifiers it touches and why they were flagged,
// the merges the guards refused, and old keys that now resolve to it. Enough
// to find a wrong merge and undo it with `omni customers split`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identifier.h"
#include "omni/store/sql.h"

namespace omni::identity {

struct ExplainedLink {
  enum class Kind {
    kLinked,     // both ends in this customer: this link merged them
    kToShared,   // the other end is a shared identifier (not followed)
    kToBlocked,  // the other end was split off by hand
    kRefused,    // refused by the exclusive guard (the other end is another customer's)
    kOther,      // the other end belongs to another customer (a refusal elsewhere on the path)
  };
  Kind kind = Kind::kLinked;
  IdentifierRecord a;  // `a` is this customer's side when only one side is
  IdentifierRecord b;
  int64_t events = 0;  // supporting events
  int64_t first_seq = 0;
  std::string first_event_id;
  // Of the first event, when it is still stored (erasure may have removed it).
  std::optional<int64_t> first_ts_ms;
  int32_t first_tz_offset_min = 0;
  std::string first_channel;
  // kRefused: the two exclusive identifiers (customer_ids) that would have met.
  std::optional<IdentifierRecord> holder_a;
  std::optional<IdentifierRecord> holder_b;
};
std::string_view LinkKindName(ExplainedLink::Kind kind);  // "linked", "to_shared", ...

struct Explanation {
  IdentifierRecord asked;
  std::string customer_key;                   // "" when `asked` is shared or blocked
  std::vector<std::string> alias_keys;        // older keys that now resolve to customer_key
  std::vector<IdentifierRecord> identifiers;  // of the customer (or just `asked`), strongest first
  std::vector<ExplainedLink> links;           // kLinked, by first event
  std::vector<ExplainedLink> adjacent;        // every other kind
  // For a shared or blocked identifier: the customers it is linked to.
  std::vector<std::string> adjacent_customers;
  int64_t links_not_shown = 0;  // over `limit`
};

// NotFound when the identifier was never seen (or was erased).
// FailedPrecondition when resolution has not run yet. At most `limit` links
// of each list are returned (a kiosk links thousands of member cards).
StatusOr<Explanation> Explain(store::Sql& sql, const ingest::Identity& identity, int64_t limit = 200);

}  // namespace omni::identity
