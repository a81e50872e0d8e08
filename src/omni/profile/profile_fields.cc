#include "omni/profile/profile_fields.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace omni::profile {
namespace {

constexpr int64_t kDayMs = 86'400'000;

const ChannelActivity* FindChannel(const Profile& p, std::string_view channel) {
  for (const ChannelActivity& c : p.channels) {
    if (c.channel == channel) return &c;
  }
  return nullptr;
}

// Missing when NaN (no purchase, no fit).
bool Available(double v, double* out) {
  if (std::isnan(v)) return false;
  *out = v;
  return true;
}

bool Date(int64_t ts_ms, std::string_view* out, std::string& scratch) {
  if (ts_ms == 0) return false;
  scratch = DateOf(ts_ms);
  *out = scratch;
  return true;
}

// `value` is the category itself or one of its ancestors ("服饰" for
// "服饰 > 女装 > 连衣裙").
bool UnderCategory(std::string_view category, std::string_view value) {
  if (category.size() < value.size() || category.compare(0, value.size(), value) != 0) return false;
  return category.size() == value.size() || category.substr(value.size(), 3) == " > ";
}

}  // namespace

std::string DateOf(int64_t ts_ms) {
  if (ts_ms == 0) return "";
  // Civil date from days since the epoch (Howard Hinnant's algorithm).
  int64_t z = (ts_ms >= 0 ? ts_ms / kDayMs : (ts_ms - kDayMs + 1) / kDayMs) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

void ProfileFields::Number(std::string name, std::string description,
                           std::function<bool(const Profile&, double*)> get) {
  OMNI_CHECK(catalog_.Add(std::move(name), FieldType::kNumber, std::move(description)).ok());
  accessors_.push_back(Accessor{std::move(get), {}, {}, {}});
}

void ProfileFields::Bool(std::string name, std::string description, std::function<bool(const Profile&, bool*)> get) {
  OMNI_CHECK(catalog_.Add(std::move(name), FieldType::kBool, std::move(description)).ok());
  accessors_.push_back(Accessor{{}, std::move(get), {}, {}});
}

void ProfileFields::String(std::string name, std::string description,
                           std::function<bool(const Profile&, std::string_view*, std::string&)> get) {
  OMNI_CHECK(catalog_.Add(std::move(name), FieldType::kString, std::move(description)).ok());
  accessors_.push_back(Accessor{{}, {}, std::move(get), {}});
}

void ProfileFields::Set(std::string name, std::string description,
                        std::function<bool(const Profile&, std::string_view)> contains) {
  OMNI_CHECK(catalog_.Add(std::move(name), FieldType::kStringSet, std::move(description)).ok());
  accessors_.push_back(Accessor{{}, {}, {}, std::move(contains)});
}

ProfileFields::ProfileFields(const std::vector<std::string>& configured_channels,
                             std::shared_ptr<const CustomerScores> scores)
    : scores_(std::move(scores)) {
  using P = const Profile&;
  // A channel name becomes one part of a dotted field path, so only names
  // the expression language can spell get per-channel fields.
  std::vector<std::string> channels;
  for (const std::string& ch : configured_channels) {
    bool ok = !ch.empty();
    for (char c : ch) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (ok && std::find(channels.begin(), channels.end(), ch) == channels.end()) channels.push_back(ch);
  }
  String("key", "the customer key (C000123)", [](P p, std::string_view* v, std::string&) {
    *v = p.customer_key;
    return true;
  });
  Bool("identified", "seen with a member card, account, phone, e-mail or WeChat id (not only cookies/devices)",
       [](P p, bool* v) {
         *v = p.identified;
         return true;
       });
  Number("events", "events of every type and channel", [](P p, double* v) { return Available(double(p.events), v); });
  Number("tenure_days", "days since the first event", [](P p, double* v) { return Available(p.tenure_days, v); });
  String("first_seen", "date of the first event, YYYY-MM-DD (UTC)",
         [](P p, std::string_view* v, std::string& s) { return Date(p.first_seen_ms, v, s); });
  String("last_seen", "date of the latest event, YYYY-MM-DD (UTC)",
         [](P p, std::string_view* v, std::string& s) { return Date(p.last_seen_ms, v, s); });

  Number("recency_days", "days since the last purchase (missing without one)",
         [](P p, double* v) { return Available(p.recency_days, v); });
  Number("frequency", "distinct orders (web orders, till receipts)",
         [](P p, double* v) { return Available(double(p.frequency), v); });
  Number("monetary", "purchases minus refunds, quantity x unit price",
         [](P p, double* v) { return Available(p.monetary, v); });
  Number("gross_sales", "purchases before refunds", [](P p, double* v) { return Available(p.gross_sales, v); });
  Number("refunds", "refunded value", [](P p, double* v) { return Available(p.refunds, v); });
  Number("avg_basket", "gross sales per order (missing without an order)",
         [](P p, double* v) { return Available(p.avg_basket, v); });
  Number("refund_rate", "refunded value / gross sales, 0..1 (missing without an order)",
         [](P p, double* v) { return Available(p.refund_rate, v); });
  String("last_purchase", "date of the last purchase, YYYY-MM-DD (UTC)",
         [](P p, std::string_view* v, std::string& s) { return Date(p.last_purchase_ms, v, s); });

  auto score = [](int s, double* v) {
    if (s < 1) return false;
    *v = s;
    return true;
  };
  Number("rfm.recency", "recency score 1..5 by quintile (5 = bought most recently)",
         [score](P p, double* v) { return score(p.r_score, v); });
  Number("rfm.frequency", "frequency score 1..5 by quintile (5 = most orders)",
         [score](P p, double* v) { return score(p.f_score, v); });
  Number("rfm.monetary", "monetary score 1..5 by quintile (5 = highest spend)",
         [score](P p, double* v) { return score(p.m_score, v); });
  Number("rfm.fm", "combined frequency-monetary score ceil((F + M) / 2), 1..5",
         [score](P p, double* v) { return score(FmScore(p.f_score, p.m_score), v); });
  String("rfm.cell", "the 5x5x5 cell, R F M digits (\"545\")", [](P p, std::string_view* v, std::string& s) {
    s = p.RfmCell();
    *v = s;
    return !s.empty();
  });
  String("rfm.group",
         "named group: champions, loyal_customers, potential_loyalists, new_customers, promising, "
         "need_attention, about_to_sleep, at_risk, cant_lose_them, hibernating, lost",
         [](P p, std::string_view* v, std::string&) {
           if (p.rfm_group == RfmGroup::kNone) return false;
           *v = RfmGroupName(p.rfm_group);
           return true;
         });

  Set("channels", "channels with any event", [](P p, std::string_view c) { return FindChannel(p, c) != nullptr; });
  Set("purchase_channels", "channels with at least one order", [](P p, std::string_view c) {
    const ChannelActivity* a = FindChannel(p, c);
    return a && a->orders > 0;
  });
  String("preferred_channel", "channel with the most orders (then spend, events); most events without orders",
         [](P p, std::string_view* v, std::string&) {
           *v = p.preferred_channel;
           return !p.preferred_channel.empty();
         });
  for (const std::string& ch : channels) {
    Number("channel." + ch + ".events", "events in " + ch, [ch](P p, double* v) {
      const ChannelActivity* a = FindChannel(p, ch);
      *v = a ? double(a->events) : 0;
      return true;
    });
    Number("channel." + ch + ".orders", "orders placed in " + ch, [ch](P p, double* v) {
      const ChannelActivity* a = FindChannel(p, ch);
      *v = a ? double(a->orders) : 0;
      return true;
    });
    Number("channel." + ch + ".monetary", "purchases minus refunds in " + ch, [ch](P p, double* v) {
      const ChannelActivity* a = FindChannel(p, ch);
      *v = a ? a->monetary : 0;
      return true;
    });
    Number("channel." + ch + ".recency_days", "days since the last purchase in " + ch + " (missing without one)",
           [ch](P p, double* v) {
             const ChannelActivity* a = FindChannel(p, ch);
             return a && Available(a->recency_days, v);
           });
    Number("mix." + ch + ".events", "share of the customer's events in " + ch + ", 0..1", [ch](P p, double* v) {
      const ChannelActivity* a = FindChannel(p, ch);
      *v = a ? a->event_share : 0;
      return true;
    });
    Number("mix." + ch + ".orders", "share of the customer's orders placed in " + ch + ", 0..1 (missing without orders)",
           [ch](P p, double* v) {
             if (p.frequency == 0) return false;
             const ChannelActivity* a = FindChannel(p, ch);
             *v = a ? a->order_share : 0;
             return true;
           });
  }

  Bool("o2o.online_to_store", "bought in a store an item viewed online in the 30 days before (ROPO)",
       [](P p, bool* v) {
         *v = p.online_to_store > 0;
         return true;
       });
  Bool("o2o.store_to_online", "ordered online within 7 days after a store visit (showrooming)", [](P p, bool* v) {
    *v = p.store_to_online > 0;
    return true;
  });
  Number("o2o.online_to_store_purchases", "store purchase lines of items viewed online in the 30 days before",
         [](P p, double* v) { return Available(double(p.online_to_store), v); });
  Number("o2o.store_to_online_orders", "online orders within 7 days after a store visit",
         [](P p, double* v) { return Available(double(p.store_to_online), v); });

  Set("categories", "top categories by weighted events; a parent matches too (\"服饰\" in categories)",
      [](P p, std::string_view c) {
        for (const Affinity& a : p.categories) {
          if (UnderCategory(a.name, c)) return true;
        }
        return false;
      });
  String("top_category", "the category with the highest affinity (full path)",
         [](P p, std::string_view* v, std::string&) {
           if (p.categories.empty()) return false;
           *v = p.categories[0].name;
           return true;
         });
  Set("brands", "top brands by weighted events", [](P p, std::string_view b) {
    for (const Affinity& a : p.brands) {
      if (a.name == b) return true;
    }
    return false;
  });
  String("top_brand", "the brand with the highest affinity", [](P p, std::string_view* v, std::string&) {
    if (p.brands.empty()) return false;
    *v = p.brands[0].name;
    return true;
  });

  for (int w = 0; w < 3; ++w) {
    const std::string days = std::to_string(kRecentWindowDays[w]) + "d";
    Number("browse_no_buy." + days,
           "distinct items viewed in the last " + days + " and not bought after the view",
           [w](P p, double* v) { return Available(double(p.browse_without_buy[w]), v); });
    Number("cart_abandon." + days,
           "add-to-carts in the last " + days + " without a purchase of the item within 24 hours",
           [w](P p, double* v) { return Available(double(p.cart_abandon[w]), v); });
  }

  for (const std::string& ch : channels) {
    Bool("consent." + ch, "may be marketed to on " + ch + " (latest consent event; missing = never asked)",
         [ch](P p, bool* v) {
           const ConsentState* c = p.ConsentFor(ch);
           if (!c) return false;
           *v = c->granted;
           return true;
         });
  }

  Number("clv.12m", "expected revenue over 12 months, discounted 1% a month (BG/NBD x Gamma-Gamma)",
         [](P p, double* v) { return Available(p.clv_12m, v); });
  Number("clv.p_alive", "probability the customer is still active (BG/NBD)",
         [](P p, double* v) { return Available(p.p_alive, v); });
  Number("clv.purchases_90d", "expected purchase days in the next 90 days (BG/NBD)",
         [](P p, double* v) { return Available(p.expected_purchases_90d, v); });

  if (scores_) {
    const CustomerScores* all = scores_.get();
    for (size_t i = 0; i < all->names.size(); ++i) {
      const std::string& name = all->names[i];
      // A stored name the expression language cannot spell is skipped, not fatal.
      if (!catalog_.Add(name, FieldType::kNumber, "score written back by a model (omni propensity score)").ok()) {
        continue;
      }
      accessors_.push_back(Accessor{[all, i](P p, double* v) { return all->Get(p.customer_key, i, v); }, {}, {}, {}});
    }
  }
}

ProfileFields::Row::Row(const ProfileFields& fields)
    : fields_(fields), scratch_(static_cast<size_t>(fields.catalog_.size())) {}

bool ProfileFields::Row::GetNumber(int field, double* value) const {
  const auto& get = fields_.accessors_[static_cast<size_t>(field)].number;
  return profile_ && get && get(*profile_, value);
}

bool ProfileFields::Row::GetBool(int field, bool* value) const {
  const auto& get = fields_.accessors_[static_cast<size_t>(field)].boolean;
  return profile_ && get && get(*profile_, value);
}

bool ProfileFields::Row::GetString(int field, std::string_view* value) const {
  const auto& get = fields_.accessors_[static_cast<size_t>(field)].string;
  return profile_ && get && get(*profile_, value, scratch_[static_cast<size_t>(field)]);
}

bool ProfileFields::Row::SetContains(int field, std::string_view value) const {
  const auto& contains = fields_.accessors_[static_cast<size_t>(field)].contains;
  return profile_ && contains && contains(*profile_, value);
}

}  // namespace omni::profile
