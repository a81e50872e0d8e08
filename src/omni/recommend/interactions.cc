#include "omni/recommend/interactions.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

namespace omni::recommend {

std::optional<double> RatingOf(std::string_view p) {
  // The importers write compact JSON objects; a full parser is not needed to
  // find one top-level numeric key, but a nested "rating" must not match, so
  // only depth-1 keys count.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      if (depth == 1 && p.substr(i, 8) == "\"rating\"") {
        size_t j = i + 8;
        while (j < p.size() && (p[j] == ' ' || p[j] == ':')) ++j;
        std::string num(p.substr(j, std::min<size_t>(32, p.size() - j)));
        if (!num.empty() && num[0] == '"') num.erase(0, 1);  // a quoted number
        char* end = nullptr;
        double v = std::strtod(num.c_str(), &end);
        if (end != num.c_str() && std::isfinite(v)) return v;
        return std::nullopt;
      }
      in_string = true;
    }
  }
  return std::nullopt;
}

bool IsNonProduct(std::string_view p) {
  // The importers write compact JSON ("non_product":true, no spaces).
  return p.find("\"non_product\":true") != std::string_view::npos;
}

bool UnresolvedCustomerKey(const ingest::Event& event, std::string& key) {
  if (event.identities.empty()) return false;
  const ingest::Identity* best = &event.identities[0];
  for (const ingest::Identity& id : event.identities) {
    if (id.type < best->type) best = &id;  // a lower IdentityType is a stronger identifier
  }
  key.assign(ingest::IdentityTypeName(best->type));
  key += ':';
  key += best->value;
  return true;
}

StatusOr<LoadedInteractions> LoadInteractions(store::Store& store, const identity::CustomerDirectory* directory,
                                              const InteractionWeights& weights) {
  LoadedInteractions out;
  out.resolved_customers = directory != nullptr && directory->customer_count() > 0;
  std::unordered_map<std::string, int32_t> customer_ids, item_ids;
  if (out.resolved_customers) {
    out.customer_keys.reserve(directory->customer_count());
    for (int32_t c = 0; c < directory->customer_count(); ++c) out.customer_keys.push_back(directory->CustomerKey(c));
  }
  int64_t newest = 0;
  std::string key;
  OMNI_RETURN_IF_ERROR(store.ScanEvents(0, [&](int64_t, const ingest::Event& e) {
    ++out.events_read;
    if (e.item_id.empty()) {
      ++out.events_without_item;
      return true;
    }
    if (IsNonProduct(e.properties_json)) {
      ++out.events_non_product;
      return true;
    }
    auto w = weights.by_type.find(e.type);
    if (w == weights.by_type.end()) {
      ++out.events_not_weighted;
      return true;
    }
    double value = w->second;
    float rating = 0;
    if (e.type == weights.rating_type) {
      std::optional<double> r = RatingOf(e.properties_json);
      if (!r) {
        ++out.events_not_weighted;
        return true;
      }
      value = *r;
      rating = static_cast<float>(*r);
    }
    if (value == 0) {
      ++out.events_not_weighted;
      return true;
    }
    if (auto ch = weights.by_channel.find(e.channel); ch != weights.by_channel.end()) value *= ch->second;
    int32_t customer;
    if (out.resolved_customers) {
      std::optional<int32_t> c = directory->CustomerOfEvent(e);
      if (!c) {
        ++out.events_without_customer;
        return true;
      }
      customer = *c;
    } else {
      if (!UnresolvedCustomerKey(e, key)) {
        ++out.events_without_customer;
        return true;
      }
      auto [it, added] = customer_ids.try_emplace(key, static_cast<int32_t>(out.customer_keys.size()));
      if (added) out.customer_keys.push_back(key);
      customer = it->second;
    }
    auto [it, added] = item_ids.try_emplace(e.item_id, static_cast<int32_t>(out.item_ids.size()));
    if (added) out.item_ids.push_back(e.item_id);
    out.log.rows.push_back({customer, it->second, static_cast<float>(value), rating, e.ts_ms});
    newest = std::max(newest, e.ts_ms);
    ++out.events_used;
    return true;
  }));
  if (weights.half_life_days > 0) {
    const double half_life_ms = weights.half_life_days * 86400e3;
    for (Interaction& x : out.log.rows) {
      x.value *= static_cast<float>(std::exp2(-static_cast<double>(newest - x.ts_ms) / half_life_ms));
    }
  }
  out.log.customers = static_cast<int32_t>(out.customer_keys.size());
  out.log.items = static_cast<int32_t>(out.item_ids.size());
  return out;
}

}  // namespace omni::recommend
