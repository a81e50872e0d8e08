// One customer across channels (One-ID). Identifiers seen together in one
// event are linked; connected components are customers. Guards, as the best
// customer-data platforms have them:
//  - strong identifiers (customer_id, member_card, phone, email, social_id by
//    default) outrank weak ones (device_id, cookie_id);
//  - an identifier seen with more than `max_strong_per_identifier` distinct
//    values of one strong type (a family tablet, a store kiosk, a shared
//    cookie) stops linking and is flagged as shared;
//  - two different customer_ids never end in one customer;
//  - an identifier split off by hand (`omni customers split`) never links again.
// Every link is recorded with the event that made it, so a merge can be
// explained and undone. Resolution is incremental: it reads events after the
// last processed sequence number and updates only the components they touch.
//
// Customer keys are stable: a customer's key is "C" + the first-seen number
// of its oldest identifier, so re-running on the same data gives the same
// keys, a merge keeps the older customer's key, and a split-off part gets the
// key of its own oldest identifier.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/event.h"
#include "omni/store/store.h"

namespace omni::identity {

struct IdentityConfig {
  // Identity types that are strong, in rank order (strongest first); the rest are weak.
  std::vector<ingest::IdentityType> strong = {
      ingest::IdentityType::kCustomerId, ingest::IdentityType::kMemberCard, ingest::IdentityType::kPhone,
      ingest::IdentityType::kEmail, ingest::IdentityType::kSocialId};
  // An identifier seen with more distinct values than this of any one strong
  // type is shared and stops linking.
  int max_strong_per_identifier = 1;
};

struct ResolveStats {
  int64_t events_read = 0;
  int64_t identifiers = 0;       // all known
  int64_t new_identifiers = 0;
  int64_t links = 0;             // distinct identifier pairs recorded
  int64_t customers = 0;         // components after this run
  int64_t merges = 0;            // unions performed in this run
  int64_t shared_flagged = 0;    // identifiers flagged shared (all time)
  int64_t blocked_merges = 0;    // unions refused by a guard in this run
  double seconds = 0;
};

// A resolved customer as later stages see it: dense id for models, stable key for people.
struct CustomerRef {
  int32_t dense_id = -1;  // 0..customers-1, valid for one loaded directory
  std::string key;        // "C000123", stable
};

// Read-only view of the resolution, loaded in memory for later stages
// (profiles, models, serving): maps identifiers and events to customers.
class CustomerDirectory {
 public:
  virtual ~CustomerDirectory() = default;
  virtual int32_t customer_count() const = 0;
  virtual const std::string& CustomerKey(int32_t dense_id) const = 0;
  virtual std::optional<int32_t> DenseIdOfKey(std::string_view key) const = 0;
  // The customer of an identifier as stored (hashed value for hashed types).
  virtual std::optional<int32_t> CustomerOf(const ingest::Identity& identity) const = 0;
  // The customer of an event: that of its strongest identifier that is not
  // shared; nullopt when the event carries only shared identifiers.
  virtual std::optional<int32_t> CustomerOfEvent(const ingest::Event& event) const = 0;
  // All identifiers of a customer (stored values; hashed for hashed types).
  virtual std::vector<ingest::Identity> IdentifiersOf(int32_t dense_id) const = 0;
};

// Runs resolution over events not yet processed and persists the result in
// the store's identity tables.
StatusOr<ResolveStats> Resolve(store::Store& store, const IdentityConfig& config);

StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(store::Store& store);

}  // namespace omni::identity
