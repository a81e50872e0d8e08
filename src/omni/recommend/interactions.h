// From stored events to the interaction log models train on: which events
// count, how much, for whom. All the weights live here, in one place.
//
// Defaults (InteractionWeights{}), and why: a purchase is the signal a
// retailer optimises for, in any channel (a store till purchase and an
// online one both count 1.0); putting an item in the cart is strong intent
// (0.5); coupon redemption is a purchase-side signal (0.5); a view or click
// is cheap and noisy (0.1); a search, impression or e-mail open says little
// about one item (0). A refund cancels one purchase (-1.0), so a customer who
// returned everything ends with nothing. Ratings ("custom:rating", the
// MovieLens importer's type) count their rating value. Channels all weigh
// 1.0 unless configured. An optional half-life (days) decays old events
// relative to the newest one: w · 0.5^(age / half_life).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/recommend/splits.h"
#include "omni/store/store.h"

namespace omni::recommend {

struct InteractionWeights {
  std::map<std::string, double> by_type = {
      {"purchase", 1.0}, {"add_to_cart", 0.5}, {"coupon_redeem", 0.5}, {"view", 0.1},
      {"click", 0.1},    {"refund", -1.0},     {"custom:rating", 0.0},  // weight = the rating itself
  };
  std::string rating_type = "custom:rating";
  std::map<std::string, double> by_channel;  // absent = 1.0
  double half_life_days = 0;                 // 0 = no time decay
};

struct LoadedInteractions {
  InteractionLog log;                      // arrival order
  std::vector<std::string> customer_keys;  // dense customer id → key ("C0000001" or "customer_id:42")
  std::vector<std::string> item_ids;       // dense item id → item_id
  bool resolved_customers = false;         // true: identity directory; false: raw customer_id fallback
  int64_t events_read = 0;
  int64_t events_used = 0;
  int64_t events_without_customer = 0;  // unresolved (newer than the last resolution, shared identifiers)
  int64_t events_without_item = 0;
  int64_t events_not_weighted = 0;  // types with weight 0 / not listed
  int64_t events_non_product = 0;   // postage, fees, ... (IsNonProduct)
};

// Reads every stored event. With a directory that holds customers, events
// belong to CustomerOfEvent; otherwise (identity resolution not run yet) to
// the event's strongest raw identifier ("customer_id:42"), which is exact for
// single-identifier sources such as MovieLens and a documented approximation
// elsewhere.
// TODO(lead): once `omni customers resolve` is wired in the CLI, evaluate and
// train should refuse (or warn loudly) on multi-identifier data without it.
StatusOr<LoadedInteractions> LoadInteractions(store::Store& store, const identity::CustomerDirectory* directory,
                                              const InteractionWeights& weights);

// The customer key of an event before identity resolution: its strongest
// raw identifier as "type:value" ("customer_id:42"), written into `key`;
// false (key untouched) when the event has no identifier.
bool UnresolvedCustomerKey(const ingest::Event& event, std::string& key);

// The rating in a properties object ({"rating":4.5}); nullopt when absent.
std::optional<double> RatingOf(std::string_view properties_json);

// Lines an importer marked {"non_product":true} (postage, fees, discounts,
// vouchers in Online Retail): kept in the store, never an item to learn from
// or to recommend.
bool IsNonProduct(std::string_view properties_json);

}  // namespace omni::recommend
