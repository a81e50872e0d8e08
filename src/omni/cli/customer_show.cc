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
#include "omni/serve/customer_view.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::cli {
namespace {

std::string Num(double v, int decimals = 2) {
  if (std::isnan(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

std::string Date(int64_t ts_ms) { return ts_ms == 0 ? "-" : profile::DateOf(ts_ms); }

}  // namespace

// The look-up itself is shared with the HTTP API (serve/customer_view.h).
Status ShowCustomer(const Context& ctx, const std::string& identifier) {
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<identity::CustomerDirectory> directory,
                        identity::LoadDirectory(*sql, id_config));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<profile::ProfileStore> profiles, profile::ProfileStore::Over(std::move(sql)));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(ctx.data_dir));
  ingest::Pseudonymiser pseudonymiser(config);
  const serve::CustomerSources sources{config, pseudonymiser, *directory, *store, *profiles};
  OMNI_ASSIGN_OR_RETURN(serve::CustomerView view, serve::LoadCustomerView(sources, identifier));

  if (ctx.json()) {
    JsonWriter w;
    serve::WriteCustomerViewJson(w, view, config);
    PrintJson(w);
    return Status::Ok();
  }

  const std::string& key = view.customer_key;
  const auto& identifiers = view.identifiers;
  const auto& profile = view.profile;
  const auto& build = view.build;
  const auto& timeline = view.timeline;
  auto titles = view.titles;
  auto amount = [](const ingest::Event& e) -> double {
    if (!e.price) return std::nan("");
    return e.quantity.value_or(1.0) * *e.price;
  };
  std::printf("customer %s\n\n", key.c_str());
  Table ids({"identifier", "value"});
  for (const auto& id : identifiers) ids.AddRow({std::string(ingest::IdentityTypeName(id.type)), serve::MaskedIdentifierValue(config, id)});
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
  if (!view.scores.empty()) {
    std::printf("\nscores\n");
    Table sc({"score", "value", "model", "scored"});
    for (const auto& x : view.scores) sc.AddRow({x.name, Num(x.value, 3), x.model_version, Date(x.scored_at_ms)});
    sc.Print();
  }
  std::printf("\nlatest events\n");
  Table tl({"time", "channel", "type", "item", "store", "amount"});
  for (const auto& t : timeline) {
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
