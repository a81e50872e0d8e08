// Frequently bought together: association rules from baskets (orders, store
// receipts), mined with FP-growth (Han, Pei & Yin, SIGMOD 2000).
//
// A basket is a list of dense item ids (duplicates within a basket count
// once). Frequent itemsets are those in at least min_count baskets, where
// min_count = ceil(min_support × baskets) unless given directly. Rules have
// one item on the right, X → {y}, as arules' apriori counts them by default
// (rules with an empty left side are not produced: they say nothing about
// what goes with what). All thresholds are inclusive and compared on integer
// counts, so a rule at exactly the confidence threshold (452 of the 5,668
// Groceries rules sit at 0.5) is kept on every platform.
//
// Spec: fbt:min_support=0.001,min_confidence=0.5,max_len=6  (min_count=10
// overrides min_support; support= and confidence= are accepted aliases).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "omni/common/spec.h"
#include "omni/common/status.h"

namespace omni::recommend {

struct FbtOptions {
  double min_support = 0.001;  // fraction of baskets
  int64_t min_count = 0;       // baskets; > 0 overrides min_support
  double min_confidence = 0.5;
  int max_len = 6;  // items per itemset, left and right side together
};

StatusOr<FbtOptions> ParseFbtOptions(const Spec& spec);
std::string FbtParameterHelp();

// Smallest integer count c with c >= fraction × n, treating products within
// 1e-9 (relative) of an integer as that integer: 0.7 × 10 is 7.000000000000001
// in doubles and must still ask for 7, while 0.001 × 9,835 asks for 10.
int64_t CeilCount(double fraction, int64_t n);

struct FrequentItemset {
  std::vector<int32_t> items;  // ascending ids
  int64_t count = 0;           // baskets containing all of them
};

struct AssociationRule {
  std::vector<int32_t> antecedent;  // ascending ids, non-empty
  int32_t consequent = 0;
  int64_t count = 0;             // baskets with antecedent and consequent
  int64_t antecedent_count = 0;  // baskets with the antecedent
  double support = 0;            // count / baskets
  double confidence = 0;         // count / antecedent_count
  double lift = 0;               // confidence / support of the consequent
};

enum class RuleOrder { kLift, kConfidence };

class FrequentlyBoughtTogether {
 public:
  // InvalidArgument for item ids outside [0, item_count) or bad options.
  static StatusOr<FrequentlyBoughtTogether> Mine(std::span<const std::vector<int32_t>> baskets, int32_t item_count,
                                                 const FbtOptions& options);

  // The saved rules (not the itemsets): Save writes a versioned artefact
  // (artefact.h) at `path` directly; Load refuses foreign or damaged files.
  Status Save(const std::string& path) const;
  static StatusOr<FrequentlyBoughtTogether> Load(const std::string& path);
  // Canonical spec, "fbt:min_support=0.001,min_confidence=0.5,max_len=6".
  std::string spec() const;
  int32_t item_count() const { return item_count_; }

  const FbtOptions& options() const { return options_; }
  int64_t basket_count() const { return baskets_; }
  int64_t min_count() const { return min_count_; }
  // Sorted by size, then lexicographically by ids.
  const std::vector<FrequentItemset>& itemsets() const { return itemsets_; }
  // Sorted by antecedent size, antecedent ids, consequent.
  const std::vector<AssociationRule>& rules() const { return rules_; }
  // Rules at or above a confidence at least options().min_confidence (a
  // stricter cut without mining again).
  int64_t CountRules(double min_confidence) const;

  // Product page: "customers who bought `item` also bought" — rules {item} → y,
  // best first by `order` (ties: the other measure, then lower id), at most k.
  std::vector<AssociationRule> AlsoBought(int32_t item, int k, RuleOrder order = RuleOrder::kLift) const;
  // Till / basket page: rules whose whole left side is in `basket` and whose
  // right side is not; the best rule per suggested item, at most k.
  std::vector<AssociationRule> ForBasket(std::span<const int32_t> basket, int k,
                                         RuleOrder order = RuleOrder::kLift) const;

 private:
  FbtOptions options_;
  int64_t baskets_ = 0;
  int64_t min_count_ = 0;
  std::vector<FrequentItemset> itemsets_;
  std::vector<AssociationRule> rules_;
  std::vector<std::vector<int32_t>> single_item_rules_;  // item -> indices of rules {item} → y
  int32_t item_count_ = 0;
  void IndexRules(int32_t item_count);
};

}  // namespace omni::recommend
