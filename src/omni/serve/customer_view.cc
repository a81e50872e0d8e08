#include "omni/serve/customer_view.h"

#include "omni/identity/identifier.h"

#include <algorithm>
#include <cmath>

#include "omni/ingest/timestamp.h"

namespace omni::serve {
namespace {

// Reads one stored event by sequence number through the store's scan.
StatusOr<std::optional<ingest::Event>> EventAt(store::Store& store, int64_t seq) {
  std::optional<ingest::Event> out;
  OMNI_RETURN_IF_ERROR(store.ScanEvents(seq - 1, [&](int64_t s, const ingest::Event& e) {
    if (s == seq) out = e;
    return false;
  }));
  return out;
}

// The timeline's fields of one event by seq (identities are not needed).
StatusOr<std::optional<ingest::Event>> EventAtSql(store::Sql& sql, int64_t seq) {
  std::optional<ingest::Event> out;
  OMNI_RETURN_IF_ERROR(sql.Query(
      "SELECT event_id, ts_ms, tz_offset_min, channel, type, item_id, quantity, price, currency, order_id, "
      "store_id FROM events WHERE seq = ?",
      {seq}, [&](const store::SqlRow& r) {
        ingest::Event e;
        e.event_id = std::string(r.Text(0));
        e.ts_ms = r.Int(1);
        e.tz_offset_min = static_cast<int32_t>(r.Int(2));
        e.channel = std::string(r.Text(3));
        e.type = std::string(r.Text(4));
        e.item_id = std::string(r.Text(5));
        if (!r.IsNull(6)) e.quantity = r.Double(6);
        if (!r.IsNull(7)) e.price = r.Double(7);
        e.currency = std::string(r.Text(8));
        e.order_id = std::string(r.Text(9));
        e.store_id = std::string(r.Text(10));
        out = std::move(e);
        return false;
      }));
  return out;
}

}  // namespace

std::string MaskedIdentifierValue(const ingest::IngestConfig& config, const ingest::Identity& id) {
  if (!config.IsHashed(id.type) || id.value.size() < 8) return id.value;
  return "#" + id.value.substr(0, 4) + "…" + id.value.substr(id.value.size() - 4);
}

StatusOr<CustomerView> LoadCustomerView(const CustomerSources& src, std::string_view identifier,
                                        const CustomerViewOptions& options) {
  // A bare customer key ("C000000042", as `profiles export` and segment
  // exports list them) reads as key:C000000042.
  const std::string keyed = identity::ParseCustomerKey(identifier) ? "key:" + std::string(identifier) : "";
  if (!keyed.empty()) identifier = keyed;
  const size_t colon = identifier.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == identifier.size()) {
    // Echoing the argument is safe only when it cannot be a raw phone/e-mail.
    return InvalidArgument("identifier: expected type:value, e.g. phone:+8613800138000 or member_card:M0042");
  }
  const std::string type_name(identifier.substr(0, colon));
  const std::string_view raw = identifier.substr(colon + 1);

  std::optional<int32_t> dense;
  const std::optional<ingest::IdentityType> type = ingest::ParseIdentityType(type_name);
  if (type_name == "customer" || type_name == "key") {
    dense = src.directory.DenseIdOfKey(raw);
  } else {
    if (!type) {
      return InvalidArgument("identifier type '" + type_name +
                             "': expected customer_id, member_card, phone, email, social_id, device_id, "
                             "cookie_id or customer (a customer key)");
    }
    StatusOr<std::string> value = src.pseudonymiser.Normalise(*type, raw);
    if (!value.ok()) return InvalidArgument(value.status().message());
    dense = src.directory.CustomerOf(ingest::Identity{*type, *value});
  }
  // Never echo a raw phone or e-mail, even in an error.
  const bool raw_is_pii = type && src.config.IsHashed(*type);
  if (!dense) {
    return NotFound("no customer with " + type_name + " " + (raw_is_pii ? std::string("(given value)") : std::string(raw)) +
                    " (unknown, shared by several people, or not resolved yet: omni profiles build)");
  }
  CustomerView view;
  view.customer_key = src.directory.CustomerKey(*dense);
  view.identifiers = src.directory.IdentifiersOf(*dense);
  OMNI_ASSIGN_OR_RETURN(view.build, src.profiles.LatestBuild());
  OMNI_ASSIGN_OR_RETURN(view.profile, src.profiles.GetProfile(view.customer_key));
  {
    OMNI_ASSIGN_OR_RETURN(profile::ScoresStore scores, profile::ScoresStore::Over(src.profiles.sql()));
    OMNI_ASSIGN_OR_RETURN(view.scores, scores.ScoresOf(view.customer_key));
  }

  // Timeline: the latest events the build saw, plus anything stored since.
  std::vector<CustomerView::TimelineEvent>& timeline = view.timeline;
  if (view.profile) {
    for (int64_t seq : view.profile->recent_event_seqs) {
      OMNI_ASSIGN_OR_RETURN(std::optional<ingest::Event> e,
                            src.sql ? EventAtSql(*src.sql, seq) : EventAt(src.store, seq));
      if (e) timeline.push_back({seq, std::move(*e)});
    }
  }
  const int64_t after = view.build ? view.build->last_seq : 0;
  int64_t scanned = 0;
  OMNI_RETURN_IF_ERROR(src.store.ScanEvents(after, [&](int64_t seq, const ingest::Event& e) {
    if (options.max_new_events >= 0 && scanned >= options.max_new_events) {
      view.timeline_complete = false;
      return false;
    }
    ++scanned;
    if (src.directory.CustomerOfEvent(e) == dense) timeline.push_back({seq, e});
    return true;
  }));
  std::sort(timeline.begin(), timeline.end(), [](const auto& a, const auto& b) {
    return a.event.ts_ms != b.event.ts_ms ? a.event.ts_ms > b.event.ts_ms : a.seq > b.seq;
  });
  if (timeline.size() > options.timeline_events) timeline.resize(options.timeline_events);
  for (const auto& t : timeline) {
    if (t.event.item_id.empty() || view.titles.count(t.event.item_id)) continue;
    OMNI_ASSIGN_OR_RETURN(std::optional<ingest::Item> item, src.store.GetItem(t.event.item_id));
    view.titles[t.event.item_id] = item ? item->title : "";
  }
  return view;
}

void WriteProfileJson(JsonWriter& w, const profile::Profile& p, int64_t as_of_ms) {
  w.BeginObject();
  w.Key("as_of").String(as_of_ms > 0 ? ingest::FormatTimestamp(as_of_ms, 0) : "");
  w.Key("identified").Bool(p.identified);
  w.Key("first_seen").String(ingest::FormatTimestamp(p.first_seen_ms, 0));
  w.Key("last_seen").String(ingest::FormatTimestamp(p.last_seen_ms, 0));
  w.Key("tenure_days").Double(p.tenure_days).Key("events").Int(p.events);
  w.Key("rfm").BeginObject();
  w.Key("recency_days").Double(p.recency_days).Key("frequency").Int(p.frequency).Key("monetary").Double(p.monetary);
  w.Key("r").Int(p.r_score).Key("f").Int(p.f_score).Key("m").Int(p.m_score);
  w.Key("cell").String(p.RfmCell()).Key("group").String(profile::RfmGroupName(p.rfm_group));
  w.EndObject();
  w.Key("gross_sales").Double(p.gross_sales).Key("refunds").Double(p.refunds);
  w.Key("avg_basket").Double(p.avg_basket).Key("refund_rate").Double(p.refund_rate);
  w.Key("clv").BeginObject().Key("12m").Double(p.clv_12m).Key("p_alive").Double(p.p_alive);
  w.Key("purchases_90d").Double(p.expected_purchases_90d).EndObject();
  w.Key("preferred_channel").String(p.preferred_channel);
  w.Key("channels").BeginArray();
  for (const auto& c : p.channels) {
    w.BeginObject().Key("channel").String(c.channel).Key("events").Int(c.events).Key("orders").Int(c.orders);
    w.Key("monetary").Double(c.monetary).Key("recency_days").Double(c.recency_days);
    w.Key("event_share").Double(c.event_share).Key("order_share").Double(c.order_share).EndObject();
  }
  w.EndArray();
  w.Key("o2o").BeginObject().Key("online_to_store").Int(p.online_to_store);
  w.Key("store_to_online").Int(p.store_to_online).EndObject();
  auto affinities = [&](const char* name, const std::vector<profile::Affinity>& list) {
    w.Key(name).BeginArray();
    for (const auto& a : list) {
      w.BeginObject().Key("name").String(a.name).Key("weight").Double(a.weight).Key("share").Double(a.share).EndObject();
    }
    w.EndArray();
  };
  affinities("categories", p.categories);
  affinities("brands", p.brands);
  w.Key("browse_without_buy").BeginObject();
  for (int i = 0; i < 3; ++i) w.Key(std::to_string(profile::kRecentWindowDays[i]) + "d").Int(p.browse_without_buy[i]);
  w.EndObject().Key("cart_abandon").BeginObject();
  for (int i = 0; i < 3; ++i) w.Key(std::to_string(profile::kRecentWindowDays[i]) + "d").Int(p.cart_abandon[i]);
  w.EndObject();
  w.Key("consent").BeginObject();
  for (const auto& c : p.consent) {
    w.Key(c.channel).BeginObject().Key("granted").Bool(c.granted);
    w.Key("since").String(ingest::FormatTimestamp(c.ts_ms, 0)).EndObject();
  }
  w.EndObject();
  w.EndObject();
}

void WriteCustomerViewJson(JsonWriter& w, const CustomerView& view, const ingest::IngestConfig& config) {
  auto amount = [](const ingest::Event& e) -> double {
    if (!e.price) return std::nan("");
    return e.quantity.value_or(1.0) * *e.price;
  };
  w.BeginObject();
  w.Key("customer_key").String(view.customer_key);
  w.Key("identifiers").BeginArray();
  for (const auto& id : view.identifiers) {
    w.BeginObject()
        .Key("type")
        .String(ingest::IdentityTypeName(id.type))
        .Key("value")
        .String(MaskedIdentifierValue(config, id));
    w.Key("hashed").Bool(config.IsHashed(id.type)).EndObject();
  }
  w.EndArray();
  w.Key("profile");
  if (!view.profile) {
    w.Null();
  } else {
    WriteProfileJson(w, *view.profile, view.build ? view.build->as_of_ms : 0);
  }
  w.Key("scores").BeginObject();
  for (const auto& sc : view.scores) w.Key(sc.name).Double(sc.value);
  w.EndObject();
  w.Key("timeline").BeginArray();
  for (const auto& t : view.timeline) {
    const ingest::Event& e = t.event;
    w.BeginObject().Key("ts").String(ingest::FormatTimestamp(e.ts_ms, e.tz_offset_min));
    w.Key("channel").String(e.channel).Key("type").String(e.type);
    if (!e.item_id.empty()) {
      auto title = view.titles.find(e.item_id);
      w.Key("item_id").String(e.item_id).Key("title").String(title == view.titles.end() ? "" : title->second);
    }
    if (!e.store_id.empty()) w.Key("store_id").String(e.store_id);
    if (!e.order_id.empty()) w.Key("order_id").String(e.order_id);
    if (e.price) w.Key("amount").Double(amount(e)).Key("currency").String(e.currency);
    w.EndObject();
  }
  w.EndArray();
  w.Key("timeline_complete").Bool(view.timeline_complete);
  w.EndObject();
}

}  // namespace omni::serve
