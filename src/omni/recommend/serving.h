// Serving recommendations: what the CLI (`omni recommend`), batch campaigns
// and the HTTP server ask for one customer, with a retailer's rules applied.
//
// A RecommendationService is loaded once from DATA_DIR and is immutable
// afterwards, so any number of threads may call Recommend / Together on one
// instance concurrently (the only shared mutable state, the PII
// pseudonymiser used to look up phone / e-mail identifiers, is behind a
// mutex). It holds:
//   - the newest trained ranking model and its item list (artefact_store.h),
//   - the newest frequently-bought-together rules, if trained,
//   - the catalogue (title, category) and availability per channel / store,
//   - every customer's history (identity-resolved when resolution has run),
//     with what they bought and what they refunded,
//   - popularity per store, channel, RFM segment, category and overall (or
//     trending: only the last `window` of events), the cold-start fallback.
// Reload is a swap, never a mutation: build a new service with Load() and
// publish it through a ServiceSlot; requests in flight keep the old one
// alive through their shared_ptr.
//
// Rules, in the order they apply to every candidate:
//   1. already bought (or rated) → excluded, unless its category (path prefix) is
//      configured as repeat-purchase (groceries, consumables);
//   2. refunded by this customer → excluded (repeat-purchase or not);
//   3. not sold or out of stock in the request's channel / store →
//      excluded. The most specific availability row decides: (channel, store)
//      over (channel, any store) over (any channel, store) over (any, any);
//      an item without rows is available;
//   4. diversity: at most max_per_category items of one category (the first
//      category_depth levels of the path) in a list. Candidates are taken in
//      rank order; if the capped pass leaves places empty, a second pass
//      fills them in rank order without the cap (a short list is worse than
//      a repeated category).
// Candidates come from, in order: the model (items with a positive score),
// the FBT rules applied to what the customer bought, then popularity in the
// most specific scope the request and customer have (store, channel, the
// customer's RFM segment, the customer's own categories for
// popularity:by=category, overall). A customer without history gets only the
// last two: the cold-start fallback.
//
// Each item carries its explanation: the history items that contributed most
// to its score (Recommender::Explain), the FBT rule, or "popular in <scope>".
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/recommend/interactions.h"

namespace omni::recommend {

struct ServingRules {
  // Category path prefixes that may be recommended again after a purchase
  // ("Food", "食品 > 饮料"); a prefix matches whole path levels only.
  std::vector<std::string> repeat_purchase_categories;
  // Diversity cap per category in one list; 0 = no cap.
  int max_per_category = 3;
  // Levels of "A > B > C" that define a category for the cap (1 = "A").
  int category_depth = 1;
  // Model candidates taken before rules: k × candidate_factor (at least 50).
  int candidate_factor = 5;
  // History items named in each explanation.
  int explain_items = 3;
  // Item-to-item models (item-kNN, EASE, RP3beta), explanations and FBT
  // rules use at most this many of the customer's most recent history items
  // (by each item's newest event): a request reads one row of item weights
  // per history item, so a customer with thousands of items would cost
  // milliseconds, and their recent items say more about what they want
  // next. 0 = the whole history. Exclusions (already bought, refunded)
  // always use the whole history; ALS scores from the whole row (fitted
  // factors for customers it was trained on).
  int max_history_items = 200;
  // Fallback popularity spec:
  //   popularity                   scopes store → channel → segment → overall
  //   popularity:by=channel|store|segment|category|global   that scope, then overall
  //   trending:window=7d           the same cascade over the last window of events
  //                                (d = days, h = hours) before the newest event
  std::string fallback = "popularity";
};

// The "recommend" object of DATA_DIR/config.json (optional):
//   {"recommend": {"repeat_purchase_categories": ["Food"], "max_per_category": 3,
//                  "category_depth": 1, "fallback": "trending:window=7d"}}
StatusOr<ServingRules> LoadServingRules(const std::string& data_dir);

struct ServingOptions {
  std::string model;  // model name under DATA_DIR/models ("ease"); "" = the newest ranking model
  ServingRules rules;
  InteractionWeights weights;  // history weights (interactions.h defaults)
  // Give the model each customer's training row (from the artefact's
  // .customers list) so ALS reuses fitted factors; false folds every request
  // in from history, as before the list existed (benchmark comparisons).
  bool reuse_training_rows = true;
};

struct RecommendRequest {
  // A customer key ("C000000123", or an alias after a merge), or an
  // identifier as people type it ("member_card:M0042", "phone:+86 138 ...":
  // phone and e-mail are normalised and hashed as ingest stores them).
  // Ignored when dense_id >= 0. Empty (and dense_id < 0) = an anonymous
  // visitor: popularity for the channel / store.
  std::string customer;
  int32_t dense_id = -1;  // the service's dense customer id (batch mode)
  std::string channel;    // "" = any channel
  std::string store_id;   // "" = any store
  int k = 10;
};

struct RecommendedItem {
  std::string item_id;
  std::string title;     // "" when the catalogue does not have the item
  std::string category;  // full category path, "" when unknown
  float score = 0;       // the source's score: model score, rule lift, or popularity count
  std::string reason;    // "history" (the model), "together" (an FBT rule), "popular"
  // history: the customer's items that contributed most (best first);
  // together: the rule's left side. Empty for popular.
  std::vector<std::string> because;
  std::string explanation;  // one line for people
};

struct RecommendResponse {
  std::string customer_key;  // "" for an anonymous request
  int32_t dense_id = -1;
  std::string model;  // the ranking model's spec ("" when none is trained)
  int64_t model_version = 0;
  int64_t history_items = 0;  // distinct items in the customer's history
  bool fallback = false;      // no personalised candidate: popularity only
  std::vector<RecommendedItem> items;
};

struct TogetherItem {
  std::string item_id;
  std::string title;
  std::string category;
  int64_t count = 0;  // baskets with both
  double support = 0;
  double confidence = 0;
  double lift = 0;
};

struct TogetherResponse {
  std::string item_id;
  std::string title;
  int64_t baskets = 0;  // baskets the rules were mined from
  std::vector<TogetherItem> items;
};

struct ServiceInfo {
  std::string model;  // spec, "" when none
  int64_t model_version = 0;
  std::string rules;  // fbt spec, "" when none
  int64_t rules_version = 0;
  int64_t rule_count = 0;
  int32_t customers = 0;
  int32_t items = 0;
  int64_t events = 0;
  bool resolved_customers = false;
  bool segments = false;  // RFM segments known (profiles built)
  std::string fallback;
  double load_seconds = 0;
};

class RecommendationService {
 public:
  // Reads everything once. FailedPrecondition when DATA_DIR has no store;
  // a missing model is not an error (popularity only, with a warning), so
  // a fresh install can serve before the first `omni train`.
  static StatusOr<std::shared_ptr<const RecommendationService>> Load(const std::string& data_dir,
                                                                     const ServingOptions& options = {});
  ~RecommendationService();

  // NotFound for an unknown customer key or identifier (or one shared by
  // several people, which belongs to no customer); InvalidArgument for a
  // malformed identifier or k outside 1..1000. Thread-safe.
  StatusOr<RecommendResponse> Recommend(const RecommendRequest& request) const;

  // "Customers who bought X also bought": rules {X} → Y by lift, at most k,
  // skipping items not available in channel / store. FailedPrecondition
  // without trained rules; NotFound for an item the catalogue and events do
  // not know. Thread-safe.
  StatusOr<TogetherResponse> Together(std::string_view item_id, int k, std::string_view channel = "",
                                      std::string_view store_id = "") const;

  // The service's dense customer ids (0..customer_count-1) and their keys.
  int32_t customer_count() const;
  const std::string& CustomerKey(int32_t dense_id) const;
  // A customer key or an identifier → dense id (as Recommend resolves it).
  StatusOr<int32_t> FindCustomer(std::string_view customer) const;
  const ServiceInfo& info() const;

  struct Data;  // serving.cc

 private:
  explicit RecommendationService(std::unique_ptr<Data> data);
  std::unique_ptr<Data> d_;
};

// The server's handle on the current service: requests Get() a shared_ptr
// and keep it for their duration; a reload Publish()es a new one (the old
// one is freed when its last request finishes). Thread-safe.
class ServiceSlot {
 public:
  std::shared_ptr<const RecommendationService> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Publish(std::shared_ptr<const RecommendationService> service) {
    std::lock_guard<std::mutex> lock(mu_);
    current_.swap(service);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RecommendationService> current_;
};

}  // namespace omni::recommend
