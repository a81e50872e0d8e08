// `omni customers show IDENTIFIER`: one customer across every channel, as a
// store clerk or a CRM agent wants to see them — who (identifiers, hashed ones
// masked), how valuable (RFM group, CLV), where they shop (channels), what
// they like (categories, brands), what we may do (consent) and what they did
// last (a timeline across channels, with item titles from the catalogue).
//
// IDENTIFIER is type:value as the person gives it (phone:+86 138 0013 8000,
// email:Wei.Li@163.com, member_card:M0042, customer:C000000123 for a customer
// key); phones and e-mails are normalised and hashed exactly as ingest does
// before the look-up, so the raw value is never stored or printed.
#include "omni/cli/customer_show.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"
#include "omni/ingest/timestamp.h"
#include "omni/profile/profile_fields.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/scores_store.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::cli {
namespace {

constexpr size_t kTimelineEvents = 20;

std::string Masked(const ingest::IngestConfig& config, const ingest::Identity& id) {
  if (!config.IsHashed(id.type) || id.value.size() < 8) return id.value;
  return "#" + id.value.substr(0, 4) + "…" + id.value.substr(id.value.size() - 4);
}

std::string Num(double v, int decimals = 2) {
  if (std::isnan(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

std::string Date(int64_t ts_ms) { return ts_ms == 0 ? "-" : profile::DateOf(ts_ms); }

struct TimelineEvent {
  int64_t seq = 0;
  ingest::Event event;
};

// Reads one stored event by sequence number through the store's scan.
StatusOr<std::optional<ingest::Event>> EventAt(store::Store& store, int64_t seq) {
  std::optional<ingest::Event> out;
  OMNI_RETURN_IF_ERROR(store.ScanEvents(seq - 1, [&](int64_t s, const ingest::Event& e) {
    if (s == seq) out = e;
    return false;
  }));
  return out;
}

}  // namespace

Status ShowCustomer(const Context& ctx, const std::string& identifier) {
  const size_t colon = identifier.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == identifier.size()) {
    return InvalidArgument("identifier '" + identifier +
                           "': expected type:value, e.g. phone:+8613800138000 or member_card:M0042");
  }
  const std::string type_name = identifier.substr(0, colon);
  const std::string raw = identifier.substr(colon + 1);

  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<identity::CustomerDirectory> directory,
                        identity::LoadDirectory(*sql, id_config));

  std::optional<int32_t> dense;
  if (type_name == "customer" || type_name == "key") {
    dense = directory->DenseIdOfKey(raw);
  } else {
    std::optional<ingest::IdentityType> type = ingest::ParseIdentityType(type_name);
    if (!type) {
      return InvalidArgument("identifier type '" + type_name +
                             "': expected customer_id, member_card, phone, email, social_id, device_id, "
                             "cookie_id or customer (a customer key)");
    }
    ingest::Pseudonymiser pseudonymiser(config);
    StatusOr<std::string> value = pseudonymiser.Normalise(*type, raw);
    if (!value.ok()) return InvalidArgument(value.status().message());
    dense = directory->CustomerOf(ingest::Identity{*type, *value});
  }
  // Never echo a raw phone or e-mail, even in an error.
  const ingest::IdentityType shown_type = ingest::ParseIdentityType(type_name).value_or(ingest::IdentityType::kCustomerId);
  const bool raw_is_pii = ingest::ParseIdentityType(type_name) && config.IsHashed(shown_type);
  if (!dense) {
    return NotFound("no customer with " + type_name + " " + (raw_is_pii ? std::string("(given value)") : raw) +
                    " (unknown, shared by several people, or not resolved yet: omni profiles build)");
  }
  const std::string key = directory->CustomerKey(*dense);
  const std::vector<ingest::Identity> identifiers = directory->IdentifiersOf(*dense);

  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<profile::ProfileStore> profiles, profile::ProfileStore::Over(std::move(sql)));
  OMNI_ASSIGN_OR_RETURN(std::optional<profile::ProfileBuildInfo> build, profiles->LatestBuild());
  OMNI_ASSIGN_OR_RETURN(std::optional<profile::Profile> profile, profiles->GetProfile(key));
  // Scores written back by models (omni propensity score).
  OMNI_ASSIGN_OR_RETURN(profile::ScoresStore scores_store, profile::ScoresStore::Over(profiles->sql()));
  OMNI_ASSIGN_OR_RETURN(std::vector<profile::CustomerScore> scores, scores_store.ScoresOf(key));

  // Timeline: the latest events the build saw, plus anything stored since.
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(ctx.data_dir));
  std::vector<TimelineEvent> timeline;
  if (profile) {
    for (int64_t seq : profile->recent_event_seqs) {
      OMNI_ASSIGN_OR_RETURN(std::optional<ingest::Event> e, EventAt(*store, seq));
      if (e) timeline.push_back({seq, std::move(*e)});
    }
  }
  const int64_t after = build ? build->last_seq : 0;
  OMNI_RETURN_IF_ERROR(store->ScanEvents(after, [&](int64_t seq, const ingest::Event& e) {
    if (directory->CustomerOfEvent(e) == dense) timeline.push_back({seq, e});
    return true;
  }));
  std::sort(timeline.begin(), timeline.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
    return a.event.ts_ms != b.event.ts_ms ? a.event.ts_ms > b.event.ts_ms : a.seq > b.seq;
  });
  if (timeline.size() > kTimelineEvents) timeline.resize(kTimelineEvents);
  std::map<std::string, std::string> titles;
  for (const TimelineEvent& t : timeline) {
    if (t.event.item_id.empty() || titles.count(t.event.item_id)) continue;
    OMNI_ASSIGN_OR_RETURN(std::optional<ingest::Item> item, store->GetItem(t.event.item_id));
    titles[t.event.item_id] = item ? item->title : "";
  }
  auto amount = [](const ingest::Event& e) -> double {
    if (!e.price) return std::nan("");
    return e.quantity.value_or(1.0) * *e.price;
  };

  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("customer_key").String(key);
    w.Key("identifiers").BeginArray();
    for (const auto& id : identifiers) {
      w.BeginObject().Key("type").String(ingest::IdentityTypeName(id.type)).Key("value").String(Masked(config, id));
      w.Key("hashed").Bool(config.IsHashed(id.type)).EndObject();
    }
    w.EndArray();
    w.Key("profile");
    if (!profile) {
      w.Null();
    } else {
      const profile::Profile& p = *profile;
      w.BeginObject();
      w.Key("as_of").String(build ? ingest::FormatTimestamp(build->as_of_ms, 0) : "");
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
    w.Key("scores").BeginObject();
    for (const auto& sc : scores) w.Key(sc.name).Double(sc.value);
    w.EndObject();
    w.Key("timeline").BeginArray();
    for (const TimelineEvent& t : timeline) {
      const ingest::Event& e = t.event;
      w.BeginObject().Key("ts").String(ingest::FormatTimestamp(e.ts_ms, e.tz_offset_min));
      w.Key("channel").String(e.channel).Key("type").String(e.type);
      if (!e.item_id.empty()) w.Key("item_id").String(e.item_id).Key("title").String(titles[e.item_id]);
      if (!e.store_id.empty()) w.Key("store_id").String(e.store_id);
      if (!e.order_id.empty()) w.Key("order_id").String(e.order_id);
      if (e.price) w.Key("amount").Double(amount(e)).Key("currency").String(e.currency);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }

  std::printf("customer %s\n\n", key.c_str());
  Table ids({"identifier", "value"});
  for (const auto& id : identifiers) ids.AddRow({std::string(ingest::IdentityTypeName(id.type)), Masked(config, id)});
  ids.Print();
  if (!profile) {
    std::printf("\nno profile yet: run `omni profiles build`\n");
  } else {
    const profile::Profile& p = *profile;
    std::printf("\nprofile as of %s\n", build ? ingest::FormatTimestamp(build->as_of_ms, 0).c_str() : "?");
    Table t({"", ""});
    t.AddRow({"seen", fmt::format("{} .. {} ({} days, {} events){}", Date(p.first_seen_ms), Date(p.last_seen_ms),
                                  Num(p.tenure_days, 0), p.events, p.identified ? "" : "  anonymous")});
    if (p.frequency > 0) {
      t.AddRow({"RFM", fmt::format("R{} F{} M{}  {}  ({})", p.r_score, p.f_score, p.m_score,
                                   profile::RfmGroupName(p.rfm_group), profile::RfmGroupDescription(p.rfm_group))});
      t.AddRow({"purchases", fmt::format("{} order{}, last {} days ago ({}); spent {} net, {} gross; avg basket {}; "
                                         "refunds {:.1f}%",
                                         p.frequency, p.frequency == 1 ? "" : "s", Num(p.recency_days, 0), Date(p.last_purchase_ms),
                                         Num(p.monetary), Num(p.gross_sales), Num(p.avg_basket),
                                         100 * (std::isnan(p.refund_rate) ? 0 : p.refund_rate))});
    } else {
      t.AddRow({"purchases", "none yet"});
    }
    if (!std::isnan(p.p_alive)) {
      t.AddRow({"lifetime value", fmt::format("CLV 12 months {}; P(alive) {}; expected purchases in 90 days {}",
                                              Num(p.clv_12m), Num(p.p_alive, 3), Num(p.expected_purchases_90d))});
    }
    t.AddRow({"preferred channel", p.preferred_channel.empty() ? "-" : p.preferred_channel});
    t.AddRow({"online to offline", fmt::format("viewed online, bought in store: {}; store visit, then ordered "
                                               "online: {}",
                                               p.online_to_store, p.store_to_online)});
    t.AddRow({"browse, no buy", fmt::format("{} / {} / {} items (1 / 7 / 30 days)", p.browse_without_buy[0],
                                            p.browse_without_buy[1], p.browse_without_buy[2])});
    t.AddRow({"cart abandoned", fmt::format("{} / {} / {} (1 / 7 / 30 days)", p.cart_abandon[0], p.cart_abandon[1],
                                            p.cart_abandon[2])});
    std::string cats;
    for (const auto& a : p.categories) cats += (cats.empty() ? "" : " · ") + fmt::format("{} {:.0f}%", a.name, 100 * a.share);
    t.AddRow({"top categories", cats.empty() ? "-" : cats});
    std::string brands;
    for (const auto& a : p.brands) brands += (brands.empty() ? "" : " · ") + fmt::format("{} {:.0f}%", a.name, 100 * a.share);
    t.AddRow({"top brands", brands.empty() ? "-" : brands});
    std::string consent;
    for (const auto& c : p.consent) {
      consent += (consent.empty() ? "" : " · ") +
                 fmt::format("{} {} since {}", c.channel, c.granted ? "yes" : "NO", Date(c.ts_ms));
    }
    t.AddRow({"consent", consent.empty() ? "none recorded (do not market)" : consent});
    t.Print();
    if (!p.channels.empty()) {
      std::printf("\n");
      Table ch({"channel", "events", "share", "orders", "spent", "last purchase"});
      for (const auto& c : p.channels) {
        ch.AddRow({c.channel, std::to_string(c.events), fmt::format("{:.0f}%", 100 * c.event_share),
                   std::to_string(c.orders), Num(c.monetary), Date(c.last_purchase_ms)});
      }
      ch.Print();
    }
  }
  if (!scores.empty()) {
    std::printf("\nscores\n");
    Table sc({"score", "value", "model", "scored"});
    for (const auto& x : scores) sc.AddRow({x.name, Num(x.value, 3), x.model_version, Date(x.scored_at_ms)});
    sc.Print();
  }
  std::printf("\nlatest events\n");
  Table tl({"time", "channel", "type", "item", "store", "amount"});
  for (const TimelineEvent& t : timeline) {
    const ingest::Event& e = t.event;
    std::string item = e.item_id;
    if (!titles[e.item_id].empty()) item = titles[e.item_id] + " (" + e.item_id + ")";
    tl.AddRow({ingest::FormatTimestamp(e.ts_ms, e.tz_offset_min).substr(0, 19), e.channel, e.type, item, e.store_id,
               e.price ? Num(amount(e)) + (e.currency.empty() ? "" : " " + e.currency) : ""});
  }
  tl.Print();
  return Status::Ok();
}

}  // namespace omni::cli
