#include "omni/recommend/serving.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "omni/common/spec.h"
#include "omni/identity/identifier.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/rfm.h"
#include "omni/recommend/artefact_store.h"
#include "omni/recommend/fbt.h"
#include "omni/recommend/recommender.h"
#include "omni/store/store.h"

namespace omni::recommend {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kBought = 1;
constexpr uint8_t kRefunded = 2;
// Items kept per popularity scope (the overall list keeps every item): enough
// to fill a list after the rules remove a customer's purchases.
constexpr size_t kScopeDepth = 1000;

struct ItemInfo {
  std::string id;
  std::string title;
  std::string category;  // full path
  int32_t group = -1;    // diversity category (path at category_depth); -1 = unknown, uncapped
  bool repeat = false;   // repeat-purchase category
};

struct AvailabilityRow {
  std::string channel;  // "" = every channel
  std::string store;    // "" = every store
  bool blocked = false; // not sold, or stock 0
};

struct Fallback {
  bool trending = false;
  int64_t window_ms = 0;
  std::string by = "auto";  // auto, channel, store, segment, category, global
  std::string text;
};

StatusOr<Fallback> ParseFallback(std::string_view text) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(text));
  Fallback f;
  f.text = spec.ToString();
  if (spec.name() == "trending") {
    f.trending = true;
    OMNI_RETURN_IF_ERROR(spec.CheckKnown({"window", "by"}));
    OMNI_ASSIGN_OR_RETURN(std::string w, spec.GetString("window", "7d"));
    char unit = w.empty() ? ' ' : w.back();
    double n = std::strtod(w.c_str(), nullptr);
    if ((unit != 'd' && unit != 'h') || !(n > 0)) {
      return InvalidArgument("trending: window '" + w + "' is not a duration like 7d or 24h");
    }
    f.window_ms = static_cast<int64_t>(n * (unit == 'd' ? 86400e3 : 3600e3));
  } else if (spec.name() == "popularity") {
    OMNI_RETURN_IF_ERROR(spec.CheckKnown({"by"}));
  } else {
    return InvalidArgument("fallback '" + std::string(text) + "': expected popularity[:by=...] or trending:window=7d");
  }
  OMNI_ASSIGN_OR_RETURN(f.by, spec.GetString("by", "auto"));
  static const char* kBy[] = {"auto", "channel", "store", "segment", "category", "global"};
  if (std::find(std::begin(kBy), std::end(kBy), f.by) == std::end(kBy)) {
    return InvalidArgument("fallback by=" + f.by + ": expected channel, store, segment, category or global");
  }
  return f;
}

std::string CategoryAtDepth(const std::string& path, int depth) {
  if (depth <= 0) return path;
  size_t pos = 0;
  for (int level = 0; level < depth; ++level) {
    pos = path.find(" > ", pos);
    if (pos == std::string::npos) return path;
    if (level + 1 < depth) pos += 3;
  }
  return path.substr(0, pos);
}

bool HasPrefixLevels(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return false;
  if (path == prefix) return true;
  return path.size() > prefix.size() + 3 && path.compare(0, prefix.size(), prefix) == 0 &&
         path.compare(prefix.size(), 3, " > ") == 0;
}

// A popularity scope's items, best first.
struct Ranking {
  std::vector<ScoredItem> items;
};

Ranking RankCounts(const std::vector<double>& counts, size_t depth) {
  Ranking r;
  for (size_t j = 0; j < counts.size(); ++j) {
    if (counts[j] > 0) r.items.push_back({static_cast<int32_t>(j), static_cast<float>(counts[j])});
  }
  auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  };
  if (r.items.size() > depth) {
    std::partial_sort(r.items.begin(), r.items.begin() + static_cast<std::ptrdiff_t>(depth), r.items.end(), better);
    r.items.resize(depth);
  } else {
    std::sort(r.items.begin(), r.items.end(), better);
  }
  return r;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

struct RecommendationService::Data {
  ServingOptions options;
  Fallback fallback;
  ServiceInfo info;

  std::vector<ItemInfo> items;
  std::unordered_map<std::string, int32_t> item_index;
  std::unordered_map<int32_t, std::vector<AvailabilityRow>> availability;
  std::vector<std::string> groups;  // diversity category names

  // Customers: the identity directory's dense ids, or raw identifier keys.
  std::unique_ptr<identity::CustomerDirectory> directory;
  std::vector<std::string> customer_keys;
  std::unordered_map<std::string, int32_t> raw_customers;
  std::vector<uint8_t> segment;  // profile::RfmGroup per customer (0 = none)
  std::unique_ptr<ingest::Pseudonymiser> pseudonymiser;
  mutable std::mutex pseudonymiser_mu;

  // History CSR over service item ids, sorted by item within a row.
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> hist_items;
  std::vector<float> hist_weights;
  std::vector<uint8_t> hist_flags;
  std::vector<int64_t> hist_last_ms;  // newest event of the customer × item (recency cap)

  // Ranking model.
  std::unique_ptr<Recommender> model;
  bool binary_values = false;
  std::vector<int32_t> model_to_item;
  std::vector<int32_t> item_to_model;  // -1 = not in the model
  // Service customer → the model's training row (-1: not trained on), from
  // the artefact's .customers sidecar; empty when the artefact has none.
  std::vector<int32_t> model_row;
  std::string model_customers_path;

  // Frequently-bought-together rules.
  std::optional<FrequentlyBoughtTogether> fbt;
  std::vector<int32_t> fbt_to_item;
  std::vector<int32_t> item_to_fbt;

  // Popularity scopes: "global", "channel:web", "store:SH-07",
  // "segment:champions", "category:<group>".
  std::unordered_map<std::string, Ranking> popular;

  int32_t InternItem(const std::string& id) {
    auto [it, added] = item_index.try_emplace(id, static_cast<int32_t>(items.size()));
    if (added) items.push_back(ItemInfo{id, "", "", -1, false});
    return it->second;
  }

  bool Available(int32_t item, std::string_view channel, std::string_view store) const {
    auto it = availability.find(item);
    if (it == availability.end()) return true;
    int best = -1;
    bool blocked = false;
    for (const AvailabilityRow& r : it->second) {
      if (!r.channel.empty() && r.channel != channel) continue;
      if (!r.store.empty() && r.store != store) continue;
      const int specificity = (r.channel.empty() ? 0 : 2) + (r.store.empty() ? 0 : 1);
      if (specificity > best || (specificity == best && r.blocked)) {
        best = specificity;
        blocked = r.blocked;
      }
    }
    return !blocked;
  }

  std::string Shown(int32_t item) const { return items[item].title.empty() ? items[item].id : items[item].title; }
};

RecommendationService::RecommendationService(std::unique_ptr<Data> data) : d_(std::move(data)) {}
RecommendationService::~RecommendationService() = default;

int32_t RecommendationService::customer_count() const { return static_cast<int32_t>(d_->customer_keys.size()); }
const std::string& RecommendationService::CustomerKey(int32_t dense_id) const { return d_->customer_keys.at(dense_id); }
const ServiceInfo& RecommendationService::info() const { return d_->info; }

StatusOr<ServingRules> LoadServingRules(const std::string& data_dir) {
  ServingRules rules;
  const fs::path path = fs::path(data_dir) / "config.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return rules;
  const std::string text = ReadFile(path);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root)) return InvalidArgument(path.string() + ": not valid JSON");
  simdjson::dom::object rec;
  if (root["recommend"].get(rec)) return rules;
  auto bad = [&](std::string_view key, std::string_view why) {
    return InvalidArgument(path.string() + ": key \"recommend." + std::string(key) + "\": " + std::string(why));
  };
  for (auto [key, value] : rec) {
    if (key == "repeat_purchase_categories") {
      simdjson::dom::array a;
      if (value.get(a)) return bad(key, "expected an array of category paths");
      for (auto v : a) {
        std::string_view s;
        if (v.get(s)) return bad(key, "expected strings");
        rules.repeat_purchase_categories.emplace_back(s);
      }
    } else if (key == "max_per_category" || key == "category_depth" || key == "candidate_factor" ||
               key == "explain_items" || key == "max_history_items") {
      int64_t n;
      if (value.get(n) || n < 0 || n > 100000) return bad(key, "expected a non-negative integer");
      if (key == "max_per_category") rules.max_per_category = static_cast<int>(n);
      if (key == "category_depth") rules.category_depth = static_cast<int>(n);
      if (key == "candidate_factor") rules.candidate_factor = static_cast<int>(std::max<int64_t>(n, 1));
      if (key == "explain_items") rules.explain_items = static_cast<int>(n);
      if (key == "max_history_items") rules.max_history_items = static_cast<int>(n);
    } else if (key == "fallback") {
      std::string_view s;
      if (value.get(s)) return bad(key, "expected a spec string");
      rules.fallback = std::string(s);
    } else {
      return bad(key, "unknown key (known: repeat_purchase_categories, max_per_category, category_depth, "
                      "candidate_factor, explain_items, max_history_items, fallback)");
    }
  }
  return rules;
}

StatusOr<std::shared_ptr<const RecommendationService>> RecommendationService::Load(const std::string& data_dir,
                                                                                   const ServingOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!fs::exists(fs::path(data_dir) / "omni.db")) {
    return FailedPrecondition("no store in " + data_dir + " (run omni import first)");
  }
  auto d = std::make_unique<Data>();
  d->options = options;
  OMNI_ASSIGN_OR_RETURN(d->fallback, ParseFallback(options.rules.fallback));
  d->info.fallback = d->fallback.text;

  store::StoreOptions store_options;
  store_options.read_only = true;
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(data_dir, store_options));
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig ingest_config, ingest::LoadIngestConfig(data_dir));
  d->pseudonymiser = std::make_unique<ingest::Pseudonymiser>(ingest_config);

  // The model first: its item list fixes the first dense item ids, so model
  // item j is service item j and no mapping is needed on the hot path.
  OMNI_ASSIGN_OR_RETURN(std::optional<PublishedModel> published,
                        LatestModel(data_dir, options.model == "fbt" ? "" : options.model, {"fbt"}));
  if (!options.model.empty() && options.model != "fbt" && !published) {
    return FailedPrecondition("no trained '" + options.model + "' model in " + data_dir + "/models (omni train " +
                              options.model + ")");
  }
  if (published && options.model != "fbt") {
    OMNI_ASSIGN_OR_RETURN(d->model, MakeRecommender(published->name));
    OMNI_RETURN_IF_ERROR(d->model->Load(published->bin_path));
    OMNI_ASSIGN_OR_RETURN(std::vector<std::string> ids, ReadItemList(published->items_path));
    if (static_cast<int32_t>(ids.size()) != d->model->item_count()) {
      return Internal(published->bin_path + ": model and its item list disagree on the item count");
    }
    for (const std::string& id : ids) d->model_to_item.push_back(d->InternItem(id));
    const std::string meta = ReadFile(published->meta_path);
    d->binary_values = meta.find("\"values\":\"binary\"") != std::string::npos;
    d->info.model = d->model->spec();
    d->info.model_version = published->version;
    d->model_customers_path = published->customers_path;
  } else {
    spdlog::warn("no trained ranking model in {}/models: recommendations are popularity only (omni train SPEC)",
                 data_dir);
  }
  OMNI_ASSIGN_OR_RETURN(std::optional<PublishedModel> rules, LatestModel(data_dir, "fbt"));
  if (rules) {
    OMNI_ASSIGN_OR_RETURN(FrequentlyBoughtTogether fbt, FrequentlyBoughtTogether::Load(rules->bin_path));
    OMNI_ASSIGN_OR_RETURN(std::vector<std::string> ids, ReadItemList(rules->items_path));
    if (static_cast<int32_t>(ids.size()) != fbt.item_count()) {
      return Internal(rules->bin_path + ": rules and their item list disagree on the item count");
    }
    for (const std::string& id : ids) d->fbt_to_item.push_back(d->InternItem(id));
    d->info.rules = fbt.spec();
    d->info.rules_version = rules->version;
    d->info.rule_count = static_cast<int64_t>(fbt.rules().size());
    d->fbt = std::move(fbt);
  }

  // Catalogue and availability.
  const ServingRules& sr = options.rules;
  std::unordered_map<std::string, int32_t> group_index;
  OMNI_RETURN_IF_ERROR(store->ScanItems([&](const ingest::Item& item) {
    ItemInfo& info = d->items[d->InternItem(item.item_id)];
    info.title = item.title;
    info.category = item.category_path;
    return true;
  }));
  OMNI_RETURN_IF_ERROR(store->ScanAvailability([&](const ingest::Availability& a) {
    const int32_t item = d->InternItem(a.item_id);
    d->availability[item].push_back(
        AvailabilityRow{a.channel, a.store_id, !a.sold || (a.stock.has_value() && *a.stock <= 0)});
    return true;
  }));

  // Customers and their segments (RFM groups from the latest profile build).
  StatusOr<std::unique_ptr<identity::CustomerDirectory>> directory = identity::LoadDirectory(data_dir);
  if (directory.ok() && (*directory)->customer_count() > 0) {
    d->directory = std::move(*directory);
    d->info.resolved_customers = true;
    d->customer_keys.reserve(d->directory->customer_count());
    for (int32_t c = 0; c < d->directory->customer_count(); ++c) d->customer_keys.push_back(d->directory->CustomerKey(c));
    d->segment.assign(d->customer_keys.size(), 0);
    StatusOr<std::unique_ptr<profile::ProfileStore>> profiles = profile::ProfileStore::Open(data_dir);
    if (profiles.ok()) {
      StatusOr<std::optional<profile::ProfileBuildInfo>> build = (*profiles)->LatestBuild();
      if (build.ok() && build->has_value()) {
        Status s = (*profiles)->ScanProfiles([&](const profile::Profile& p) {
          if (auto c = d->directory->DenseIdOfKey(p.customer_key)) d->segment[*c] = static_cast<uint8_t>(p.rfm_group);
          return true;
        });
        if (s.ok()) d->info.segments = true;
      }
    }
  } else if (!directory.ok()) {
    spdlog::warn("identity directory unavailable ({}); customers are their raw identifiers",
                 directory.status().ToString());
  }

  // One pass over the events: history, purchases, refunds, popularity.
  OMNI_ASSIGN_OR_RETURN(store::StoreStats stats, store->Stats());
  const int64_t newest = stats.max_ts_ms;
  const int64_t trending_from = d->fallback.trending ? newest - d->fallback.window_ms : INT64_MIN;
  const InteractionWeights& w = options.weights;
  struct Triplet {
    int32_t customer, item;
    float weight;
    uint8_t flags;
    int64_t ts_ms;
  };
  std::vector<Triplet> triplets;
  triplets.reserve(static_cast<size_t>(std::max<int64_t>(stats.events, 0)));
  std::vector<double> global;
  std::unordered_map<std::string, std::vector<double>> scoped;  // "channel:web" → counts
  auto add = [](std::vector<double>& v, int32_t item, double x) {
    if (static_cast<size_t>(item) >= v.size()) v.resize(static_cast<size_t>(item) + 1, 0.0);
    v[item] += x;
  };
  std::string key, scope;
  OMNI_RETURN_IF_ERROR(store->ScanEvents(0, [&](int64_t, const ingest::Event& e) {
    ++d->info.events;
    if (e.item_id.empty() || IsNonProduct(e.properties_json)) return true;
    auto wt = w.by_type.find(e.type);
    // A rating (MovieLens) means the customer already watched / consumed the
    // item: it is excluded like a purchase.
    const bool purchase = e.type == "purchase" || e.type == w.rating_type;
    const bool refund = e.type == "refund";
    if (wt == w.by_type.end() && !purchase && !refund) return true;
    double value = wt == w.by_type.end() ? 0.0 : wt->second;
    if (e.type == w.rating_type) value = RatingOf(e.properties_json).value_or(0.0);
    if (value == 0 && !purchase && !refund) return true;
    if (auto ch = w.by_channel.find(e.channel); ch != w.by_channel.end()) value *= ch->second;
    int32_t customer;
    if (d->directory) {
      std::optional<int32_t> c = d->directory->CustomerOfEvent(e);
      if (!c) return true;
      customer = *c;
    } else {
      if (!UnresolvedCustomerKey(e, key)) return true;
      auto [it, added] = d->raw_customers.try_emplace(key, static_cast<int32_t>(d->customer_keys.size()));
      if (added) d->customer_keys.push_back(key);
      customer = it->second;
    }
    const int32_t item = d->InternItem(e.item_id);
    float weight = static_cast<float>(value);
    if (w.half_life_days > 0) weight *= static_cast<float>(std::exp2(-(newest - e.ts_ms) / (w.half_life_days * 86400e3)));
    triplets.push_back({customer, item, weight, static_cast<uint8_t>((purchase ? kBought : 0) | (refund ? kRefunded : 0)),
                        e.ts_ms});
    if (value > 0 && e.ts_ms >= trending_from) {
      add(global, item, value);
      if (!e.channel.empty()) {
        scope.assign("channel:").append(e.channel);
        add(scoped[scope], item, value);
      }
      if (!e.store_id.empty()) {
        scope.assign("store:").append(e.store_id);
        add(scoped[scope], item, value);
      }
      if (!d->segment.empty() && d->segment[customer] != 0) {
        scope.assign("segment:").append(profile::RfmGroupName(static_cast<profile::RfmGroup>(d->segment[customer])));
        add(scoped[scope], item, value);
      }
    }
    return true;
  }));
  if (d->segment.size() < d->customer_keys.size()) d->segment.resize(d->customer_keys.size(), 0);

  // Item attributes that depend on the whole catalogue.
  const int32_t n_items = static_cast<int32_t>(d->items.size());
  std::unordered_map<std::string, std::vector<double>> by_group;
  global.resize(static_cast<size_t>(n_items), 0.0);
  for (int32_t j = 0; j < n_items; ++j) {
    ItemInfo& info = d->items[j];
    if (info.category.empty()) continue;
    const std::string g = CategoryAtDepth(info.category, sr.category_depth);
    auto [it, added] = group_index.try_emplace(g, static_cast<int32_t>(d->groups.size()));
    if (added) d->groups.push_back(g);
    info.group = it->second;
    for (const std::string& prefix : sr.repeat_purchase_categories) info.repeat |= HasPrefixLevels(info.category, prefix);
    if (global[j] > 0) add(by_group["category:" + g], j, global[j]);
  }
  d->popular.emplace("global", RankCounts(global, global.size()));
  for (const auto& [name, counts] : scoped) d->popular.emplace(name, RankCounts(counts, kScopeDepth));
  for (const auto& [name, counts] : by_group) d->popular.emplace(name, RankCounts(counts, kScopeDepth));

  // History CSR: bucket by customer, sort each row by item, merge duplicates.
  const int32_t n_customers = static_cast<int32_t>(d->customer_keys.size());
  d->indptr.assign(static_cast<size_t>(n_customers) + 1, 0);
  for (const Triplet& t : triplets) ++d->indptr[t.customer + 1];
  for (int32_t c = 0; c < n_customers; ++c) d->indptr[c + 1] += d->indptr[c];
  {
    std::vector<Triplet> sorted(triplets.size());
    std::vector<int64_t> next(d->indptr.begin(), d->indptr.end() - 1);
    for (const Triplet& t : triplets) sorted[next[t.customer]++] = t;
    std::vector<Triplet>().swap(triplets);
    std::vector<int64_t> merged_ptr(static_cast<size_t>(n_customers) + 1, 0);
    int64_t out = 0;
    for (int32_t c = 0; c < n_customers; ++c) {
      auto first = sorted.begin() + d->indptr[c];
      auto last = sorted.begin() + d->indptr[c + 1];
      std::stable_sort(first, last, [](const Triplet& a, const Triplet& b) { return a.item < b.item; });
      for (auto it = first; it != last; ++it) {
        if (out > merged_ptr[c] && sorted[out - 1].item == it->item) {
          sorted[out - 1].weight += it->weight;
          sorted[out - 1].flags |= it->flags;
          sorted[out - 1].ts_ms = std::max(sorted[out - 1].ts_ms, it->ts_ms);
        } else {
          sorted[out++] = *it;
        }
      }
      merged_ptr[c + 1] = out;
    }
    d->indptr = std::move(merged_ptr);
    d->hist_items.resize(out);
    d->hist_weights.resize(out);
    d->hist_flags.resize(out);
    d->hist_last_ms.resize(out);
    for (int64_t p = 0; p < out; ++p) {
      d->hist_items[p] = sorted[p].item;
      d->hist_weights[p] = sorted[p].weight;
      d->hist_flags[p] = sorted[p].flags;
      d->hist_last_ms[p] = sorted[p].ts_ms;
    }
  }

  d->item_to_model.assign(static_cast<size_t>(n_items), -1);
  for (size_t j = 0; j < d->model_to_item.size(); ++j) d->item_to_model[d->model_to_item[j]] = static_cast<int32_t>(j);
  if (d->model && options.reuse_training_rows && !d->model_customers_path.empty() &&
      fs::exists(d->model_customers_path)) {
    // Training rows by customer key: keys of the identity directory (or raw
    // identifiers) as `omni train` saw them; a customer resolved away since
    // (merged, forgotten) simply has no row and is folded in.
    OMNI_ASSIGN_OR_RETURN(std::vector<std::string> keys, ReadItemList(d->model_customers_path));
    d->model_row.assign(static_cast<size_t>(n_customers), -1);
    for (size_t r = 0; r < keys.size(); ++r) {
      std::optional<int32_t> c;
      if (d->directory) {
        c = d->directory->DenseIdOfKey(keys[r]);
      } else if (auto it = d->raw_customers.find(keys[r]); it != d->raw_customers.end()) {
        c = it->second;
      }
      if (c && *c >= 0 && *c < n_customers && d->customer_keys[*c] == keys[r]) d->model_row[*c] = static_cast<int32_t>(r);
    }
  }
  d->item_to_fbt.assign(static_cast<size_t>(n_items), -1);
  for (size_t j = 0; j < d->fbt_to_item.size(); ++j) d->item_to_fbt[d->fbt_to_item[j]] = static_cast<int32_t>(j);

  d->info.customers = n_customers;
  d->info.items = n_items;
  d->info.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::shared_ptr<const RecommendationService>(new RecommendationService(std::move(d)));
}

StatusOr<int32_t> RecommendationService::FindCustomer(std::string_view customer) const {
  const Data& d = *d_;
  if (d.directory) {
    if (auto c = d.directory->DenseIdOfKey(customer)) return *c;
  } else if (auto it = d.raw_customers.find(std::string(customer)); it != d.raw_customers.end()) {
    return it->second;
  }
  if (customer.find(':') == std::string_view::npos) {
    return NotFound("unknown customer '" + std::string(customer) + "' (a customer key like C000000123, or TYPE:VALUE)");
  }
  StatusOr<ingest::Identity> id = [&] {
    std::lock_guard<std::mutex> lock(d.pseudonymiser_mu);
    return identity::ParseIdentifier(customer, *d.pseudonymiser);
  }();
  if (!id.ok()) return id.status();
  // Never echo a raw phone or e-mail: name the type only.
  const std::string shown = std::string(ingest::IdentityTypeName(id->type)) + " identifier";
  if (d.directory) {
    if (auto c = d.directory->CustomerOf(*id)) return *c;
    return NotFound("no customer with this " + shown +
                    " (unknown, shared by several people, or newer than the last resolution)");
  }
  const std::string key = std::string(ingest::IdentityTypeName(id->type)) + ":" + id->value;
  if (auto it = d.raw_customers.find(key); it != d.raw_customers.end()) return it->second;
  return NotFound("no customer with this " + shown);
}

namespace {

enum class Source : uint8_t { kModel, kRule, kPopular };

struct Candidate {
  int32_t item;
  float score;
  Source source;
  int32_t detail;  // kRule: index into the rule list; kPopular: index into scope names
};

}  // namespace

StatusOr<RecommendResponse> RecommendationService::Recommend(const RecommendRequest& request) const {
  const Data& d = *d_;
  const ServingRules& rules = d.options.rules;
  if (request.k < 1 || request.k > 1000) return InvalidArgument("k must be 1..1000");
  RecommendResponse resp;
  resp.model = d.info.model;
  resp.model_version = d.info.model_version;
  int32_t c = -1;
  if (request.dense_id >= 0) {
    if (request.dense_id >= customer_count()) return NotFound("no customer with dense id " + std::to_string(request.dense_id));
    c = request.dense_id;
  } else if (!request.customer.empty()) {
    OMNI_ASSIGN_OR_RETURN(c, FindCustomer(request.customer));
  }
  std::span<const int32_t> h_items;
  std::span<const float> h_weights;
  std::span<const uint8_t> h_flags;
  if (c >= 0) {
    resp.dense_id = c;
    resp.customer_key = d.customer_keys[c];
    const size_t b = static_cast<size_t>(d.indptr[c]), n = static_cast<size_t>(d.indptr[c + 1] - d.indptr[c]);
    h_items = {d.hist_items.data() + b, n};
    h_weights = {d.hist_weights.data() + b, n};
    h_flags = {d.hist_flags.data() + b, n};
  }
  resp.history_items = static_cast<int64_t>(h_items.size());

  // Rules 1-3 (hard exclusions) for one service item.
  auto excluded = [&](int32_t item) {
    auto it = std::lower_bound(h_items.begin(), h_items.end(), item);
    if (it != h_items.end() && *it == item) {
      const uint8_t f = h_flags[it - h_items.begin()];
      if (f & kRefunded) return true;
      if ((f & kBought) && !d.items[item].repeat) return true;
    }
    return !d.Available(item, request.channel, request.store_id);
  };

  const int pool = std::max(50, request.k * std::max(1, rules.candidate_factor));
  std::vector<Candidate> cands;
  cands.reserve(static_cast<size_t>(pool) * 3);
  // Items already candidates: a per-thread mark array (one byte per service
  // item, reset after use) instead of a hash set per request.
  thread_local std::vector<uint8_t> taken_mark;
  if (taken_mark.size() < d.items.size()) taken_mark.assign(d.items.size(), 0);
  auto taken = [&](int32_t item) { return taken_mark[item] != 0; };
  auto take = [&](int32_t item) { taken_mark[item] = 1; };
  struct ClearMarks {
    std::vector<Candidate>& cands;
    std::vector<uint8_t>& mark;
    ~ClearMarks() {
      for (const Candidate& x : cands) mark[x.item] = 0;
    }
  } clear_marks{cands, taken_mark};

  // Recency cap (ServingRules::max_history_items): a customer with more
  // history items than the cap is scored by item-to-item models, explained
  // and matched against FBT rules from their `cap` most recent items only
  // (by each item's newest event; ties at the cut go to lower item ids).
  // Exclusions always use the whole history.
  thread_local std::vector<uint8_t> recent;
  recent.assign(h_items.size(), 1);
  const size_t cap = static_cast<size_t>(rules.max_history_items);
  if (cap > 0 && h_items.size() > cap) {
    const size_t b = static_cast<size_t>(d.indptr[c]);
    thread_local std::vector<int64_t> ts;
    ts.assign(d.hist_last_ms.begin() + static_cast<std::ptrdiff_t>(b),
              d.hist_last_ms.begin() + static_cast<std::ptrdiff_t>(b + h_items.size()));
    std::nth_element(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(cap - 1), ts.end(), std::greater<>());
    const int64_t threshold = ts[cap - 1];  // the cap-th newest time
    size_t at_threshold = cap;
    for (size_t a = 0; a < h_items.size(); ++a) at_threshold -= d.hist_last_ms[b + a] > threshold ? 1 : 0;
    for (size_t a = 0; a < h_items.size(); ++a) {
      const int64_t t = d.hist_last_ms[b + a];
      recent[a] = t > threshold || (t == threshold && at_threshold > 0 && at_threshold--);
    }
  }

  // The model, on the customer's positive history in model space (ascending
  // model ids: service ids start with the model's items, so the order of
  // h_items is kept). Models that keep per-customer state (ALS) get the
  // whole row, so a customer they were trained on is recognised; the
  // explanation always names recent items.
  thread_local std::vector<float> scores;
  thread_local std::vector<int32_t> model_items, explain_items;
  thread_local std::vector<float> model_values, explain_values;
  thread_local std::vector<ScoredItem> top;
  model_items.clear();
  model_values.clear();
  explain_items.clear();
  explain_values.clear();
  if (d.model) {
    const bool whole = d.model->UsesTrainingRows();
    for (size_t a = 0; a < h_items.size(); ++a) {
      const int32_t j = d.item_to_model[h_items[a]];
      if (j < 0 || !(h_weights[a] > 0)) continue;
      const float v = d.binary_values ? 1.0f : h_weights[a];
      if (whole || recent[a]) {
        model_items.push_back(j);
        model_values.push_back(v);
      }
      if (recent[a]) {
        explain_items.push_back(j);
        explain_values.push_back(v);
      }
    }
  }
  if (!model_items.empty()) {
    const int32_t row = c >= 0 && !d.model_row.empty() ? d.model_row[c] : -1;
    scores.resize(static_cast<size_t>(d.model->item_count()));
    d.model->ScoreCustomer(row, model_items, model_values, scores.data());
    PositiveTopK(scores.data(), d.model->item_count(), pool, [&](int32_t j) { return excluded(d.model_to_item[j]); },
                 top, model_items.size());
    for (const ScoredItem& x : top) {
      cands.push_back({d.model_to_item[x.item], x.score, Source::kModel, -1});
      take(d.model_to_item[x.item]);
    }
  }

  // FBT rules on what the customer bought.
  std::vector<AssociationRule> rule_list;
  if (d.fbt && !h_items.empty()) {
    std::vector<int32_t> basket;
    for (size_t a = 0; a < h_items.size(); ++a) {
      if (recent[a] && (h_flags[a] & kBought) && !(h_flags[a] & kRefunded) && d.item_to_fbt[h_items[a]] >= 0) {
        basket.push_back(d.item_to_fbt[h_items[a]]);
      }
    }
    if (!basket.empty()) {
      rule_list = d.fbt->ForBasket(basket, pool);
      for (size_t r = 0; r < rule_list.size(); ++r) {
        const int32_t item = d.fbt_to_item[rule_list[r].consequent];
        if (taken(item) || excluded(item)) continue;
        cands.push_back({item, static_cast<float>(rule_list[r].lift), Source::kRule, static_cast<int32_t>(r)});
        take(item);
      }
    }
  }
  const bool personalised = !cands.empty();
  resp.fallback = !personalised;

  // Popularity, most specific scope first.
  std::vector<std::string> scopes;
  const std::string& by = d.fallback.by;
  auto want = [&](const char* s) { return by == "auto" || by == s; };
  if (want("store") && !request.store_id.empty()) scopes.push_back("store:" + request.store_id);
  if (want("channel") && !request.channel.empty()) scopes.push_back("channel:" + request.channel);
  if (want("segment") && c >= 0 && !d.segment.empty() && d.segment[c] != 0) {
    scopes.push_back("segment:" + std::string(profile::RfmGroupName(static_cast<profile::RfmGroup>(d.segment[c]))));
  }
  if (by == "category" && c >= 0) {
    // The customer's own categories, strongest (summed positive weight) first.
    std::unordered_map<int32_t, double> weight_of;
    for (size_t a = 0; a < h_items.size(); ++a) {
      if (d.items[h_items[a]].group >= 0 && h_weights[a] > 0) weight_of[d.items[h_items[a]].group] += h_weights[a];
    }
    std::vector<std::pair<double, int32_t>> order;
    for (const auto& [g, x] : weight_of) order.emplace_back(-x, g);
    std::sort(order.begin(), order.end());
    for (const auto& [x, g] : order) scopes.push_back("category:" + d.groups[g]);
  }
  scopes.push_back("global");
  int popular_added = 0;
  for (size_t s = 0; s < scopes.size() && popular_added < pool; ++s) {
    auto it = d.popular.find(scopes[s]);
    if (it == d.popular.end()) continue;
    for (const ScoredItem& x : it->second.items) {
      if (popular_added >= pool) break;
      if (taken(x.item) || excluded(x.item)) continue;
      cands.push_back({x.item, x.score, Source::kPopular, static_cast<int32_t>(s)});
      take(x.item);
      ++popular_added;
    }
  }

  // Rule 4: diversity cap, then fill without it.
  std::vector<const Candidate*> chosen;
  std::vector<char> used(cands.size(), 0);
  std::unordered_map<int32_t, int> per_group;
  for (int pass = 0; pass < 2 && static_cast<int>(chosen.size()) < request.k; ++pass) {
    for (size_t i = 0; i < cands.size() && static_cast<int>(chosen.size()) < request.k; ++i) {
      if (used[i]) continue;
      const int32_t g = d.items[cands[i].item].group;
      if (pass == 0 && rules.max_per_category > 0 && g >= 0 && per_group[g] >= rules.max_per_category) continue;
      used[i] = 1;
      if (g >= 0) ++per_group[g];
      chosen.push_back(&cands[i]);
    }
  }

  // Explanations (from the same history the model scored).
  thread_local std::vector<ScoredItem> why;
  for (const Candidate* cand : chosen) {
    RecommendedItem out;
    const ItemInfo& info = d.items[cand->item];
    out.item_id = info.id;
    out.title = info.title;
    out.category = info.category;
    out.score = cand->score;
    std::string names;
    switch (cand->source) {
      case Source::kModel: {
        out.reason = "history";
        d.model->Explain(explain_items, explain_values, d.item_to_model[cand->item], rules.explain_items, why);
        for (const ScoredItem& s : why) {
          const int32_t item = d.model_to_item[s.item];
          out.because.push_back(d.items[item].id);
          names += (names.empty() ? "" : ", ") + d.Shown(item);
        }
        out.explanation = names.empty() ? "recommended by " + d.info.model + " from your history"
                                        : "because of " + names + " in your history";
        break;
      }
      case Source::kRule: {
        out.reason = "together";
        const AssociationRule& r = rule_list[cand->detail];
        for (int32_t a : r.antecedent) {
          const int32_t item = d.fbt_to_item[a];
          out.because.push_back(d.items[item].id);
          names += (names.empty() ? "" : " + ") + d.Shown(item);
        }
        out.explanation = fmt::format("often bought with {} (confidence {:.2f}, lift {:.2f})", names, r.confidence, r.lift);
        break;
      }
      case Source::kPopular: {
        out.reason = "popular";
        const std::string& s = scopes[cand->detail];
        const std::string what = d.fallback.trending ? "trending" : "popular";
        if (s == "global") {
          out.explanation = what + " overall";
        } else if (s.starts_with("store:")) {
          out.explanation = what + " in store " + s.substr(6);
        } else if (s.starts_with("channel:")) {
          out.explanation = what + " in channel " + s.substr(8);
        } else if (s.starts_with("segment:")) {
          out.explanation = what + " with " + s.substr(8) + " customers";
        } else {
          out.explanation = what + " in " + s.substr(9);
        }
        break;
      }
    }
    resp.items.push_back(std::move(out));
  }
  return resp;
}

StatusOr<TogetherResponse> RecommendationService::Together(std::string_view item_id, int k, std::string_view channel,
                                                           std::string_view store_id) const {
  const Data& d = *d_;
  if (k < 1 || k > 1000) return InvalidArgument("k must be 1..1000");
  if (!d.fbt) return FailedPrecondition("no frequently-bought-together rules trained (omni train fbt:support=0.001,confidence=0.5)");
  auto it = d.item_index.find(std::string(item_id));
  if (it == d.item_index.end()) return NotFound("unknown item '" + std::string(item_id) + "'");
  TogetherResponse resp;
  resp.item_id = std::string(item_id);
  resp.title = d.items[it->second].title;
  resp.baskets = d.fbt->basket_count();
  const int32_t f = d.item_to_fbt[it->second];
  if (f < 0) return resp;  // never in a frequent itemset: nothing goes with it
  for (const AssociationRule& r : d.fbt->AlsoBought(f, std::numeric_limits<int>::max())) {
    if (static_cast<int>(resp.items.size()) >= k) break;
    const int32_t item = d.fbt_to_item[r.consequent];
    if (!d.Available(item, channel, store_id)) continue;
    const ItemInfo& info = d.items[item];
    resp.items.push_back({info.id, info.title, info.category, r.count, r.support, r.confidence, r.lift});
  }
  return resp;
}

}  // namespace omni::recommend
