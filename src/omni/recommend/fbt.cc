#include "omni/recommend/fbt.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <cstring>

#include <fmt/format.h>

#include "omni/recommend/artefact.h"

namespace omni::recommend {
namespace {

// Hyper-parameters, declared once (parsing and help read this table).
struct ParamDef {
  std::string_view name;
  double def;
  double lo;
  double hi;
  std::string_view help;
};
constexpr ParamDef kParams[] = {
    {"min_support", 0.001, 0, 1, "fraction of baskets an itemset must appear in (inclusive)"},
    {"min_count", 0, 0, 1e15, "baskets an itemset must appear in; overrides min_support when > 0"},
    {"min_confidence", 0.5, 0, 1, "P(right side | left side) a rule needs (inclusive)"},
    {"max_len", 6, 1, 64, "most items in an itemset, both sides of a rule together"},
};

// FP-tree over "local" item ids: 0 is the most frequent item of this
// (conditional) database. Nodes link to their parent (paths are read upwards
// when mining) and to the next node of the same item (the header chain).
struct FpTree {
  struct Node {
    int32_t item;
    int32_t parent;
    int32_t first_child;
    int32_t next_sibling;
    int32_t next_same;
    int64_t count;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> head;        // local item -> first node, -1 if none
  std::vector<int64_t> item_count;  // local item -> support in this database
  std::vector<int32_t> global;      // local item -> global item id

  explicit FpTree(std::vector<int32_t> global_ids, std::vector<int64_t> counts)
      : head(global_ids.size(), -1), item_count(std::move(counts)), global(std::move(global_ids)) {
    nodes.push_back({-1, -1, -1, -1, -1, 0});
  }

  // `items`: local ids in ascending order (most frequent first).
  void Insert(std::span<const int32_t> items, int64_t count) {
    int32_t at = 0;
    for (int32_t item : items) {
      int32_t child = nodes[at].first_child;
      while (child >= 0 && nodes[child].item != item) child = nodes[child].next_sibling;
      if (child < 0) {
        child = static_cast<int32_t>(nodes.size());
        nodes.push_back({item, at, -1, nodes[at].first_child, head[item], 0});
        nodes[at].first_child = child;
        head[item] = child;
      }
      nodes[child].count += count;
      at = child;
    }
  }
};

class Miner {
 public:
  Miner(int64_t min_count, int max_len, std::vector<FrequentItemset>& out)
      : min_count_(min_count), max_len_(max_len), out_(out) {}

  // Emits every frequent itemset of `tree` extended by the current suffix.
  void Mine(const FpTree& tree) {
    const int32_t m = static_cast<int32_t>(tree.global.size());
    std::vector<int64_t> cond_count(m);
    std::vector<int32_t> path;
    for (int32_t l = m - 1; l >= 0; --l) {
      suffix_.push_back(tree.global[l]);
      Emit(tree.item_count[l]);
      if (static_cast<int>(suffix_.size()) < max_len_) {
        // The conditional database of item l: every path above a node of l,
        // weighted by that node's count. Items on it all rank before l.
        std::fill(cond_count.begin(), cond_count.begin() + l, 0);
        for (int32_t n = tree.head[l]; n >= 0; n = tree.nodes[n].next_same) {
          for (int32_t p = tree.nodes[n].parent; p > 0; p = tree.nodes[p].parent) {
            cond_count[tree.nodes[p].item] += tree.nodes[n].count;
          }
        }
        std::vector<int32_t> keep;
        for (int32_t j = 0; j < l; ++j) {
          if (cond_count[j] >= min_count_) keep.push_back(j);
        }
        if (!keep.empty()) {
          std::stable_sort(keep.begin(), keep.end(),
                           [&](int32_t a, int32_t b) { return cond_count[a] > cond_count[b]; });
          std::vector<int32_t> to_local(l, -1), globals, counts_order;
          std::vector<int64_t> counts;
          for (size_t r = 0; r < keep.size(); ++r) {
            to_local[keep[r]] = static_cast<int32_t>(r);
            globals.push_back(tree.global[keep[r]]);
            counts.push_back(cond_count[keep[r]]);
          }
          FpTree cond(std::move(globals), std::move(counts));
          for (int32_t n = tree.head[l]; n >= 0; n = tree.nodes[n].next_same) {
            path.clear();
            for (int32_t p = tree.nodes[n].parent; p > 0; p = tree.nodes[p].parent) {
              const int32_t local = to_local[tree.nodes[p].item];
              if (local >= 0) path.push_back(local);
            }
            std::sort(path.begin(), path.end());
            if (!path.empty()) cond.Insert(path, tree.nodes[n].count);
          }
          Mine(cond);
        }
      }
      suffix_.pop_back();
    }
  }

 private:
  void Emit(int64_t count) {
    FrequentItemset s{suffix_, count};
    std::sort(s.items.begin(), s.items.end());
    out_.push_back(std::move(s));
  }

  int64_t min_count_;
  int max_len_;
  std::vector<FrequentItemset>& out_;
  std::vector<int32_t> suffix_;
};

struct ItemsHash {
  size_t operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 0x100000001b3ULL;
    return h;
  }
};

bool Better(const AssociationRule& a, const AssociationRule& b, RuleOrder order) {
  const double a1 = order == RuleOrder::kLift ? a.lift : a.confidence;
  const double b1 = order == RuleOrder::kLift ? b.lift : b.confidence;
  if (a1 != b1) return a1 > b1;
  const double a2 = order == RuleOrder::kLift ? a.confidence : a.lift;
  const double b2 = order == RuleOrder::kLift ? b.confidence : b.lift;
  if (a2 != b2) return a2 > b2;
  if (a.consequent != b.consequent) return a.consequent < b.consequent;
  return a.antecedent < b.antecedent;
}

}  // namespace

int64_t CeilCount(double fraction, int64_t n) {
  const double t = fraction * static_cast<double>(n);
  const double nearest = std::round(t);
  if (std::fabs(t - nearest) <= 1e-9 * std::max(1.0, std::fabs(t))) return static_cast<int64_t>(nearest);
  return static_cast<int64_t>(std::ceil(t));
}

StatusOr<FbtOptions> ParseFbtOptions(const Spec& spec) {
  if (spec.name() != "fbt") return InvalidArgument("spec '" + spec.ToString() + "' is not an fbt spec");
  std::vector<std::string_view> known;
  for (const auto& p : kParams) known.push_back(p.name);
  // "support" and "confidence" are accepted for min_support / min_confidence
  // (the words arules and merchandisers use); giving both forms is an error.
  known.push_back("support");
  known.push_back("confidence");
  OMNI_RETURN_IF_ERROR(spec.CheckKnown(known));
  if ((spec.Has("support") && spec.Has(kParams[0].name)) || (spec.Has("confidence") && spec.Has(kParams[2].name))) {
    return InvalidArgument("fbt spec '" + spec.ToString() + "' gives a threshold twice (support = min_support, "
                           "confidence = min_confidence)");
  }
  const std::string_view support_key = spec.Has("support") ? "support" : kParams[0].name;
  const std::string_view confidence_key = spec.Has("confidence") ? "confidence" : kParams[2].name;
  FbtOptions o;
  OMNI_ASSIGN_OR_RETURN(o.min_support, spec.GetDouble(support_key, kParams[0].def, kParams[0].lo, kParams[0].hi));
  OMNI_ASSIGN_OR_RETURN(o.min_count, spec.GetInt(kParams[1].name, 0, 0, static_cast<int64_t>(kParams[1].hi)));
  OMNI_ASSIGN_OR_RETURN(o.min_confidence,
                        spec.GetDouble(confidence_key, kParams[2].def, kParams[2].lo, kParams[2].hi));
  OMNI_ASSIGN_OR_RETURN(int64_t max_len, spec.GetInt(kParams[3].name, 6, 1, 64));
  o.max_len = static_cast<int>(max_len);
  return o;
}

std::string FbtParameterHelp() {
  std::string out;
  for (const auto& p : kParams) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %s (default %g, %g..%g): ", std::string(p.name).c_str(), p.def, p.lo, p.hi);
    out += line + std::string(p.help) + "\n";
  }
  return out;
}

StatusOr<FrequentlyBoughtTogether> FrequentlyBoughtTogether::Mine(std::span<const std::vector<int32_t>> baskets,
                                                                 int32_t item_count, const FbtOptions& options) {
  if (item_count < 0) return InvalidArgument("fbt: negative item count");
  if (options.max_len < 1) return InvalidArgument("fbt: max_len must be at least 1");
  if (!(options.min_support >= 0 && options.min_support <= 1) ||
      !(options.min_confidence >= 0 && options.min_confidence <= 1) || options.min_count < 0) {
    return InvalidArgument("fbt: min_support and min_confidence must lie in [0, 1], min_count >= 0");
  }
  FrequentlyBoughtTogether model;
  model.options_ = options;
  model.baskets_ = static_cast<int64_t>(baskets.size());
  // An itemset in 0 baskets is never "frequent", whatever the threshold.
  model.min_count_ = std::max<int64_t>(
      1, options.min_count > 0 ? options.min_count : CeilCount(options.min_support, model.baskets_));

  // Pass 1: item supports (an item twice in one basket counts once).
  std::vector<int64_t> support(item_count, 0);
  std::vector<int64_t> last_seen(item_count, -1);
  for (size_t b = 0; b < baskets.size(); ++b) {
    for (int32_t item : baskets[b]) {
      if (item < 0 || item >= item_count) {
        return InvalidArgument("fbt: basket " + std::to_string(b) + " has item id " + std::to_string(item) +
                               " outside [0, " + std::to_string(item_count) + ")");
      }
      if (last_seen[item] != static_cast<int64_t>(b)) {
        last_seen[item] = static_cast<int64_t>(b);
        ++support[item];
      }
    }
  }
  // Frequent items, most frequent first (ties by id, for determinism).
  std::vector<int32_t> order;
  for (int32_t i = 0; i < item_count; ++i) {
    if (support[i] >= model.min_count_) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return support[a] > support[b]; });
  std::vector<int32_t> to_local(item_count, -1);
  std::vector<int64_t> counts;
  for (size_t r = 0; r < order.size(); ++r) {
    to_local[order[r]] = static_cast<int32_t>(r);
    counts.push_back(support[order[r]]);
  }
  // Pass 2: the FP-tree.
  FpTree tree(order, std::move(counts));
  std::vector<int32_t> path;
  for (const auto& basket : baskets) {
    path.clear();
    for (int32_t item : basket) {
      if (to_local[item] >= 0) path.push_back(to_local[item]);
    }
    std::sort(path.begin(), path.end());
    path.erase(std::unique(path.begin(), path.end()), path.end());
    if (!path.empty()) tree.Insert(path, 1);
  }
  Miner(model.min_count_, options.max_len, model.itemsets_).Mine(tree);
  std::sort(model.itemsets_.begin(), model.itemsets_.end(), [](const auto& a, const auto& b) {
    return a.items.size() != b.items.size() ? a.items.size() < b.items.size() : a.items < b.items;
  });

  // Rules X → {y} from every itemset of two or more; X is frequent too
  // (downward closure), so its count is in the table.
  std::unordered_map<std::vector<int32_t>, int64_t, ItemsHash> count_of;
  count_of.reserve(model.itemsets_.size() * 2);
  for (const auto& s : model.itemsets_) count_of.emplace(s.items, s.count);
  const double n = static_cast<double>(model.baskets_);
  std::vector<int32_t> lhs;
  for (const auto& s : model.itemsets_) {
    if (s.items.size() < 2) continue;
    for (size_t t = 0; t < s.items.size(); ++t) {
      lhs.assign(s.items.begin(), s.items.end());
      lhs.erase(lhs.begin() + static_cast<std::ptrdiff_t>(t));
      const int64_t lhs_count = count_of.at(lhs);
      if (s.count < CeilCount(options.min_confidence, lhs_count)) continue;
      AssociationRule r;
      r.antecedent = lhs;
      r.consequent = s.items[t];
      r.count = s.count;
      r.antecedent_count = lhs_count;
      r.support = s.count / n;
      r.confidence = static_cast<double>(s.count) / lhs_count;
      r.lift = r.confidence / (support[r.consequent] / n);
      model.rules_.push_back(std::move(r));
    }
  }
  std::sort(model.rules_.begin(), model.rules_.end(), [](const auto& a, const auto& b) {
    if (a.antecedent.size() != b.antecedent.size()) return a.antecedent.size() < b.antecedent.size();
    if (a.antecedent != b.antecedent) return a.antecedent < b.antecedent;
    return a.consequent < b.consequent;
  });
  model.IndexRules(item_count);
  return model;
}

void FrequentlyBoughtTogether::IndexRules(int32_t item_count) {
  item_count_ = item_count;
  single_item_rules_.assign(item_count, {});
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    if (r.antecedent.size() == 1) single_item_rules_[r.antecedent[0]].push_back(static_cast<int32_t>(i));
  }
}

std::string FrequentlyBoughtTogether::spec() const {
  return fmt::format("fbt:min_support={},min_confidence={},max_len={}{}", options_.min_support,
                     options_.min_confidence, options_.max_len,
                     options_.min_count > 0 ? fmt::format(",min_count={}", options_.min_count) : "");
}

// Rules only (itemsets are not needed to serve): antecedents as CSR, the
// counts, and the measures as written (recomputing lift would need every
// consequent's support, which the rules alone do not carry).
Status FrequentlyBoughtTogether::Save(const std::string& path) const {
  ArtefactWriter w("fbt", spec());
  w.Int("items", item_count_);
  w.Int("baskets", baskets_);
  w.Int("min_count", min_count_);
  std::vector<int64_t> indptr{0}, counts, antecedent_counts;
  std::vector<int32_t> antecedents, consequents;
  std::vector<int64_t> measures_bits;  // support, confidence, lift as raw doubles
  for (const auto& r : rules_) {
    antecedents.insert(antecedents.end(), r.antecedent.begin(), r.antecedent.end());
    indptr.push_back(static_cast<int64_t>(antecedents.size()));
    consequents.push_back(r.consequent);
    counts.push_back(r.count);
    antecedent_counts.push_back(r.antecedent_count);
    for (double m : {r.support, r.confidence, r.lift}) {
      int64_t bits;
      std::memcpy(&bits, &m, sizeof bits);
      measures_bits.push_back(bits);
    }
  }
  w.Int64s("indptr", indptr);
  w.Int32s("antecedents", antecedents);
  w.Int32s("consequents", consequents);
  w.Int64s("counts", counts);
  w.Int64s("antecedent_counts", antecedent_counts);
  w.Int64s("measures", measures_bits);
  return w.WriteTo(path);
}

StatusOr<FrequentlyBoughtTogether> FrequentlyBoughtTogether::Load(const std::string& path) {
  OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "fbt"));
  FrequentlyBoughtTogether m;
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(r.spec()));
  OMNI_ASSIGN_OR_RETURN(m.options_, ParseFbtOptions(spec));
  OMNI_ASSIGN_OR_RETURN(int64_t items, r.Int("items"));
  OMNI_ASSIGN_OR_RETURN(m.baskets_, r.Int("baskets"));
  OMNI_ASSIGN_OR_RETURN(m.min_count_, r.Int("min_count"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int64_t> indptr, r.Int64s("indptr"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int32_t> antecedents, r.Int32s("antecedents"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int32_t> consequents, r.Int32s("consequents"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int64_t> counts, r.Int64s("counts"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int64_t> antecedent_counts, r.Int64s("antecedent_counts"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int64_t> measures, r.Int64s("measures"));
  const size_t n = consequents.size();
  if (items < 0 || items > INT32_MAX || indptr.size() != n + 1 || counts.size() != n ||
      antecedent_counts.size() != n || measures.size() != 3 * n ||
      static_cast<size_t>(indptr.back()) != antecedents.size()) {
    return InvalidArgument(path + ": fbt rule arrays are inconsistent");
  }
  auto in_range = [&](int32_t j) { return j >= 0 && j < items; };
  if (!std::all_of(antecedents.begin(), antecedents.end(), in_range) ||
      !std::all_of(consequents.begin(), consequents.end(), in_range)) {
    return InvalidArgument(path + ": fbt item id out of range");
  }
  m.rules_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    AssociationRule& x = m.rules_[i];
    if (indptr[i] >= indptr[i + 1]) return InvalidArgument(path + ": fbt rule without antecedent");
    x.antecedent.assign(antecedents.begin() + indptr[i], antecedents.begin() + indptr[i + 1]);
    x.consequent = consequents[i];
    x.count = counts[i];
    x.antecedent_count = antecedent_counts[i];
    std::memcpy(&x.support, &measures[3 * i], sizeof(double));
    std::memcpy(&x.confidence, &measures[3 * i + 1], sizeof(double));
    std::memcpy(&x.lift, &measures[3 * i + 2], sizeof(double));
  }
  m.IndexRules(static_cast<int32_t>(items));
  return m;
}

int64_t FrequentlyBoughtTogether::CountRules(double min_confidence) const {
  int64_t n = 0;
  for (const auto& r : rules_) n += r.count >= CeilCount(min_confidence, r.antecedent_count);
  return n;
}

std::vector<AssociationRule> FrequentlyBoughtTogether::AlsoBought(int32_t item, int k, RuleOrder order) const {
  std::vector<AssociationRule> out;
  if (item < 0 || item >= static_cast<int32_t>(single_item_rules_.size()) || k <= 0) return out;
  for (int32_t i : single_item_rules_[item]) out.push_back(rules_[i]);
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return Better(a, b, order); });
  if (static_cast<int>(out.size()) > k) out.resize(k);
  return out;
}

std::vector<AssociationRule> FrequentlyBoughtTogether::ForBasket(std::span<const int32_t> basket, int k,
                                                                 RuleOrder order) const {
  std::vector<AssociationRule> out;
  if (k <= 0) return out;
  std::vector<int32_t> have(basket.begin(), basket.end());
  std::sort(have.begin(), have.end());
  have.erase(std::unique(have.begin(), have.end()), have.end());
  // Best rule per suggested item.
  std::unordered_map<int32_t, size_t> best;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    if (std::binary_search(have.begin(), have.end(), r.consequent)) continue;
    // Antecedents are a few items and baskets (a customer's purchases) may be
    // thousands: a binary search per antecedent item, not a linear merge.
    if (!std::all_of(r.antecedent.begin(), r.antecedent.end(),
                     [&](int32_t a) { return std::binary_search(have.begin(), have.end(), a); })) {
      continue;
    }
    auto [it, inserted] = best.emplace(r.consequent, i);
    if (!inserted && Better(r, rules_[it->second], order)) it->second = i;
  }
  for (const auto& [item, i] : best) out.push_back(rules_[i]);
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return Better(a, b, order); });
  if (static_cast<int>(out.size()) > k) out.resize(k);
  return out;
}

}  // namespace omni::recommend
