// omni customers resolve | explain | split | forget | evaluate | show
//
// IDENTIFIER is type:value with the raw value as a person types it
// ("phone:+86 138 0013 8000", "email:Wei.Li@163.com", "member_card:M0042");
// phones and e-mails are normalised and hashed with the data directory's key
// before lookup, and never printed: hashed identifiers show as the type and
// a hash prefix.
#include <fmt/format.h>

#include "omni/cli/commands.h"
#include "omni/cli/customer_show.h"
#include "omni/identity/erasure.h"
#include "omni/identity/evaluation.h"
#include "omni/identity/explain.h"
#include "omni/identity/identifier.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"
#include "omni/ingest/timestamp.h"
#include "omni/store/sqlite_sql.h"

namespace omni::cli {
namespace {

// What every customers subcommand opens.
struct Session {
  ingest::IngestConfig ingest;
  identity::IdentityConfig identity;
  std::unique_ptr<ingest::Pseudonymiser> pseudonymiser;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::Sql> sql;

  std::string Show(const ingest::Identity& id) const { return identity::DisplayIdentifier(id, ingest); }
};

StatusOr<Session> Open(const Context& ctx) {
  Session s;
  OMNI_ASSIGN_OR_RETURN(s.ingest, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(s.identity, identity::LoadIdentityConfig(ctx.data_dir));
  s.pseudonymiser = std::make_unique<ingest::Pseudonymiser>(s.ingest);
  OMNI_ASSIGN_OR_RETURN(s.store, store::Store::OpenSqlite(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(s.sql, store::OpenSqliteSql(ctx.data_dir));
  return s;
}

std::string Percent(double x) { return fmt::format("{:.4f}", x); }

void WriteStatsJson(JsonWriter& w, const identity::ResolveStats& s) {
  w.Key("events_read").Int(s.events_read).Key("watermark").Int(s.watermark);
  w.Key("identifiers").Int(s.identifiers).Key("new_identifiers").Int(s.new_identifiers);
  w.Key("links").Int(s.links).Key("new_links").Int(s.new_links);
  w.Key("customers").Int(s.customers).Key("new_customers").Int(s.new_customers);
  w.Key("merges").Int(s.merges).Key("splits").Int(s.splits);
  w.Key("changed_identifiers").Int(s.changed_identifiers);
  w.Key("shared").Int(s.shared).Key("newly_shared").Int(s.newly_shared);
  w.Key("blocked").Int(s.blocked).Key("refused_links").Int(s.refused_links);
  w.Key("seconds").Double(s.seconds);
}

void PrintStats(const identity::ResolveStats& s) {
  Table t({"identity resolution", ""});
  t.AddRow({"events read", std::to_string(s.events_read)});
  t.AddRow({"identifiers (new)", fmt::format("{} ({})", s.identifiers, s.new_identifiers)});
  t.AddRow({"links (new)", fmt::format("{} ({})", s.links, s.new_links)});
  t.AddRow({"customers (new)", fmt::format("{} ({})", s.customers, s.new_customers)});
  t.AddRow({"merges / splits this run", fmt::format("{} / {}", s.merges, s.splits)});
  t.AddRow({"identifiers that changed customer", std::to_string(s.changed_identifiers)});
  t.AddRow({"shared identifiers (new)", fmt::format("{} ({})", s.shared, s.newly_shared)});
  t.AddRow({"blocked by hand", std::to_string(s.blocked)});
  t.AddRow({"links refused (two customer_ids)", std::to_string(s.refused_links)});
  t.AddRow({"time", fmt::format("{:.2f} s", s.seconds)});
  t.Print();
}

void WriteRecordJson(JsonWriter& w, const Session& s, const identity::IdentifierRecord& r) {
  w.BeginObject();
  w.Key("identifier")
      .String(s.Show(r.identity))
      .Key("type")
      .String(ingest::IdentityTypeName(r.identity.type));
  w.Key("id").Int(r.id).Key("first_seq").Int(r.first_seq);
  w.Key("shared").Bool(r.shared).Key("blocked").Bool(r.blocked);
  if (r.shared) w.Key("shared_reason").String(r.shared_reason);
  if (!r.customer_key.empty()) w.Key("customer_key").String(r.customer_key);
  w.EndObject();
}

std::string FirstEventTime(const identity::ExplainedLink& l) {
  return l.first_ts_ms ? ingest::FormatTimestamp(*l.first_ts_ms, l.first_tz_offset_min) : "(event erased)";
}

std::string WhyText(const Session& s, const identity::ExplainedLink& l) {
  using Kind = identity::ExplainedLink::Kind;
  switch (l.kind) {
    case Kind::kToShared:
      return "shared: " + l.b.shared_reason;
    case Kind::kToBlocked:
      return "split off by hand";
    case Kind::kRefused:
      return "refused: would join " + s.Show(l.holder_a->identity) + " and " + s.Show(l.holder_b->identity);
    case Kind::kOther:
      return "customer " + l.b.customer_key;
    case Kind::kLinked:
      return "";
  }
  return "";
}

void WriteLinkJson(JsonWriter& w, const Session& s, const identity::ExplainedLink& l) {
  w.BeginObject();
  w.Key("kind").String(identity::LinkKindName(l.kind));
  w.Key("a").String(s.Show(l.a.identity)).Key("b").String(s.Show(l.b.identity));
  w.Key("events").Int(l.events);
  w.Key("first_event").BeginObject().Key("event_id").String(l.first_event_id).Key("seq").Int(l.first_seq);
  if (l.first_ts_ms) {
    w.Key("time").String(ingest::FormatTimestamp(*l.first_ts_ms, l.first_tz_offset_min));
    w.Key("channel").String(l.first_channel);
  } else {
    w.Key("erased").Bool(true);
  }
  w.EndObject();
  if (l.kind != identity::ExplainedLink::Kind::kLinked) w.Key("why").String(WhyText(s, l));
  if (!l.b.customer_key.empty()) w.Key("b_customer_key").String(l.b.customer_key);
  w.EndObject();
}

Status RunResolve(const Context& ctx) {
  OMNI_ASSIGN_OR_RETURN(Session s, Open(ctx));
  OMNI_ASSIGN_OR_RETURN(identity::ResolveStats stats, identity::Resolve(*s.store, *s.sql, s.identity));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    WriteStatsJson(w, stats);
    w.EndObject();
    PrintJson(w);
  } else {
    PrintStats(stats);
  }
  return Status::Ok();
}

// IDENTIFIER, or a customer key (explained through its oldest identifier).
StatusOr<ingest::Identity> ExplainTarget(Session& s, const std::string& argument) {
  if (argument.find(':') != std::string::npos || !identity::ParseCustomerKey(argument)) {
    return identity::ParseIdentifier(argument, *s.pseudonymiser);
  }
  OMNI_ASSIGN_OR_RETURN(std::string key,
                        identity::CustomerKeyForArgument(*s.sql, *s.pseudonymiser, argument));
  OMNI_ASSIGN_OR_RETURN(auto record, identity::FindIdentifierById(*s.sql, *identity::ParseCustomerKey(key)));
  if (!record) return Internal("identity: customer " + key + " has lost its oldest identifier");
  return record->identity;
}

Status RunExplain(const Context& ctx, const std::string& argument, int64_t limit) {
  OMNI_ASSIGN_OR_RETURN(Session s, Open(ctx));
  OMNI_ASSIGN_OR_RETURN(ingest::Identity id, ExplainTarget(s, argument));
  OMNI_ASSIGN_OR_RETURN(identity::Explanation e, identity::Explain(*s.sql, id, limit));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("asked");
    WriteRecordJson(w, s, e.asked);
    if (e.customer_key.empty()) {
      w.Key("customer_key").Null();
    } else {
      w.Key("customer_key").String(e.customer_key);
    }
    w.Key("aliases").BeginArray();
    for (const auto& k : e.alias_keys) w.String(k);
    w.EndArray().Key("identifiers").BeginArray();
    for (const auto& r : e.identifiers) WriteRecordJson(w, s, r);
    w.EndArray().Key("links").BeginArray();
    for (const auto& l : e.links) WriteLinkJson(w, s, l);
    w.EndArray().Key("adjacent").BeginArray();
    for (const auto& l : e.adjacent) WriteLinkJson(w, s, l);
    w.EndArray().Key("adjacent_customers").BeginArray();
    for (const auto& k : e.adjacent_customers) w.String(k);
    w.EndArray().Key("links_not_shown").Int(e.links_not_shown);
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  const std::string asked = s.Show(e.asked.identity);
  if (e.customer_key.empty()) {
    std::printf(
        "%s belongs to no customer: %s\n", asked.c_str(),
        e.asked.shared ? ("shared — " + e.asked.shared_reason).c_str() : "split off by hand (blocked)");
    if (!e.adjacent_customers.empty()) {
      std::printf("linked to %zu customers:", e.adjacent_customers.size());
      for (size_t i = 0; i < e.adjacent_customers.size() && i < 20; ++i)
        std::printf(" %s", e.adjacent_customers[i].c_str());
      std::printf(e.adjacent_customers.size() > 20 ? " …\n" : "\n");
    }
  } else {
    std::printf("%s belongs to customer %s", asked.c_str(), e.customer_key.c_str());
    if (!e.alias_keys.empty()) {
      std::printf(" (also known as");
      for (const auto& k : e.alias_keys) std::printf(" %s", k.c_str());
      std::printf(")");
    }
    std::printf("\n\n");
    Table ids({"identifier", "first seen (event seq)"});
    for (const auto& r : e.identifiers) ids.AddRow({s.Show(r.identity), std::to_string(r.first_seq)});
    ids.Print();
  }
  if (!e.links.empty()) {
    std::printf("\nlinks (what merged them)\n");
    Table t({"identifier", "identifier", "events", "first event", "time", "channel"});
    for (const auto& l : e.links) {
      t.AddRow({s.Show(l.a.identity), s.Show(l.b.identity), std::to_string(l.events), l.first_event_id,
                FirstEventTime(l), l.first_channel});
    }
    t.Print();
  }
  if (!e.adjacent.empty()) {
    std::printf(e.customer_key.empty()
                    ? "\nits links (not followed: it links nothing)\n"
                    : "\nnot followed (shared identifiers, refused merges, other customers)\n");
    Table t({"identifier", "identifier", "events", "first event", "why"});
    for (const auto& l : e.adjacent) {
      t.AddRow({s.Show(l.a.identity), s.Show(l.b.identity), std::to_string(l.events), l.first_event_id,
                WhyText(s, l)});
    }
    t.Print();
  }
  if (e.links_not_shown > 0)
    std::printf("(%lld more links not shown; --limit)\n", static_cast<long long>(e.links_not_shown));
  return Status::Ok();
}

void PrintCustomers(const Session& s, const std::vector<identity::CustomerSummary>& customers) {
  Table t({"customer", "identifiers"});
  for (const auto& c : customers) {
    std::string list;
    for (const auto& id : c.identifiers) list += (list.empty() ? "" : ", ") + s.Show(id);
    t.AddRow({c.key, list});
  }
  t.Print();
}

Status RunSplit(const Context& ctx, const std::string& argument, bool undo) {
  OMNI_ASSIGN_OR_RETURN(Session s, Open(ctx));
  OMNI_ASSIGN_OR_RETURN(ingest::Identity id, identity::ParseIdentifier(argument, *s.pseudonymiser));
  OMNI_ASSIGN_OR_RETURN(identity::SplitResult r, identity::Split(*s.store, *s.sql, s.identity, id, undo));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("identifier").String(s.Show(id)).Key("blocked").Bool(!undo);
    if (r.old_key.empty()) {
      w.Key("previous_customer_key").Null();
    } else {
      w.Key("previous_customer_key").String(r.old_key);
    }
    w.Key("customers").BeginArray();
    for (const auto& c : r.customers) {
      w.BeginObject().Key("customer_key").String(c.key).Key("identifiers").BeginArray();
      for (const auto& i : c.identifiers) w.String(s.Show(i));
      w.EndArray().EndObject();
    }
    w.EndArray().Key("stats").BeginObject();
    WriteStatsJson(w, r.stats);
    w.EndObject().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  if (undo) {
    std::printf("%s may link again; it now belongs to:\n", s.Show(id).c_str());
  } else {
    std::printf("%s is split off and links nothing%s; customer %s is now:\n", s.Show(id).c_str(),
                " (undo: omni customers split --undo)", r.old_key.empty() ? "(none)" : r.old_key.c_str());
  }
  PrintCustomers(s, r.customers);
  if (!undo && !r.old_key.empty()) {
    OMNI_ASSIGN_OR_RETURN(std::optional<std::string> now, identity::ResolveCustomerKey(*s.sql, r.old_key));
    if (now && *now != r.old_key)
      std::printf("the key %s now resolves to %s\n", r.old_key.c_str(), now->c_str());
  }
  return Status::Ok();
}

Status RunForget(const Context& ctx, const std::string& argument) {
  OMNI_ASSIGN_OR_RETURN(Session s, Open(ctx));
  OMNI_ASSIGN_OR_RETURN(ingest::Identity id, identity::ParseIdentifier(argument, *s.pseudonymiser));
  OMNI_ASSIGN_OR_RETURN(identity::ForgetResult r, identity::Forget(*s.store, *s.sql, s.identity, id));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    if (r.customer_key.empty()) {
      w.Key("customer_key").Null();
    } else {
      w.Key("customer_key").String(r.customer_key);
    }
    w.Key("already_forgotten").Bool(r.already_forgotten);
    w.Key("identifiers").BeginArray();
    for (const auto& i : r.identifiers) w.String(s.Show(i));
    w.EndArray();
    w.Key("events_deleted").Int(r.events_deleted).Key("identifiers_deleted").Int(r.identifiers_deleted);
    w.Key("tombstones").Int(static_cast<int64_t>(r.identifiers.size()));
    w.Key("links_deleted").Int(r.links_deleted).Key("aliases_deleted").Int(r.aliases_deleted);
    w.Key("quarantine_deleted")
        .Int(r.quarantine_deleted)
        .Key("profile_rows_deleted")
        .Int(r.profile_rows_deleted);
    w.Key("shared_kept").BeginArray();
    for (const auto& i : r.shared_kept) w.String(s.Show(i));
    w.EndArray().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  if (r.already_forgotten) std::printf("already forgotten; removed anything left behind\n");
  Table t({"forgotten", r.customer_key.empty() ? "(no customer)" : r.customer_key});
  std::string list;
  for (const auto& i : r.identifiers) list += (list.empty() ? "" : ", ") + s.Show(i);
  t.AddRow({"identifiers tombstoned", list});
  t.AddRow({"events deleted", std::to_string(r.events_deleted)});
  t.AddRow({"identity rows deleted", fmt::format("{} identifiers, {} links, {} key aliases",
                                                 r.identifiers_deleted, r.links_deleted, r.aliases_deleted)});
  t.AddRow({"quarantined records deleted", std::to_string(r.quarantine_deleted)});
  t.AddRow({"profile rows deleted", std::to_string(r.profile_rows_deleted)});
  if (!r.shared_kept.empty()) {
    std::string kept;
    for (const auto& i : r.shared_kept) kept += (kept.empty() ? "" : ", ") + s.Show(i);
    t.AddRow({"shared identifiers kept", kept});
  }
  t.Print();
  std::printf("re-importing old files will not bring these identifiers back (counted as erased)\n");
  return Status::Ok();
}

Status RunEvaluate(const Context& ctx, const std::string& truth) {
  OMNI_ASSIGN_OR_RETURN(Session s, Open(ctx));
  OMNI_ASSIGN_OR_RETURN(identity::Evaluation e,
                        identity::EvaluateResolution(*s.sql, truth, *s.pseudonymiser));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("precision").Double(e.precision).Key("recall").Double(e.recall).Key("f1").Double(e.f1);
    w.Key("customers").Int(e.customers).Key("persons").Int(e.persons);
    w.Key("resolved_customers").Int(e.resolved_customers);
    w.Key("identifiers").Int(e.identifiers).Key("guest_identifiers").Int(e.guest_identifiers);
    w.Key("unseen_identifiers").Int(e.unseen_identifiers);
    w.Key("own_flagged_shared").Int(e.own_flagged_shared).Key("own_blocked").Int(e.own_blocked);
    w.Key("pairs").BeginObject();
    w.Key("predicted_together").Int(e.precision_pairs.predicted_together);
    w.Key("correct_of_predicted").Int(e.precision_pairs.together_both);
    w.Key("truly_together").Int(e.recall_pairs.truly_together);
    w.Key("found_of_true").Int(e.recall_pairs.together_both);
    w.EndObject();
    w.Key("household").BeginObject().Key("identifiers").Int(e.household_identifiers);
    w.Key("used_by_several").Int(e.household_multi_person).Key("flagged_shared").Int(e.household_flagged);
    w.EndObject();
    w.Key("kiosk").BeginObject().Key("identifiers").Int(e.kiosk_identifiers);
    w.Key("used_by_several").Int(e.kiosk_multi_person).Key("flagged_shared").Int(e.kiosk_flagged);
    w.EndObject();
    w.Key("truth_rows").Int(e.truth_rows).Key("invalid_rows").Int(e.invalid_rows);
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  Table t({"identity resolution vs truth", ""});
  t.AddRow({"pairwise precision", Percent(e.precision)});
  t.AddRow({"pairwise recall", Percent(e.recall)});
  t.AddRow({"F1", Percent(e.f1)});
  t.AddRow({"customers / persons", fmt::format("{} / {}", e.customers, e.persons)});
  t.AddRow({"identifiers evaluated",
            fmt::format("{} ({} guest phones: precision only)", e.identifiers, e.guest_identifiers)});
  t.AddRow({"pairs predicted together (correct)",
            fmt::format("{} ({})", e.precision_pairs.predicted_together, e.precision_pairs.together_both)});
  t.AddRow({"pairs truly together (found)",
            fmt::format("{} ({})", e.recall_pairs.truly_together, e.recall_pairs.together_both)});
  t.AddRow({"household screens flagged shared",
            fmt::format("{} of {} used by several persons ({} in all)", e.household_flagged,
                        e.household_multi_person, e.household_identifiers)});
  t.AddRow(
      {"kiosks flagged shared", fmt::format("{} of {} used by several persons ({} in all)", e.kiosk_flagged,
                                            e.kiosk_multi_person, e.kiosk_identifiers)});
  t.AddRow({"own identifiers flagged shared", std::to_string(e.own_flagged_shared)});
  if (e.own_blocked > 0) t.AddRow({"own identifiers split off by hand", std::to_string(e.own_blocked)});
  if (e.unseen_identifiers > 0)
    t.AddRow({"truth identifiers never seen", std::to_string(e.unseen_identifiers)});
  if (e.invalid_rows > 0) t.AddRow({"truth rows skipped (invalid)", std::to_string(e.invalid_rows)});
  t.Print();
  return Status::Ok();
}

}  // namespace

void AddCustomersCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  CLI::App* group = app.add_subcommand(
      "customers", "One customer across channels: resolve | explain | split | forget | evaluate | show");
  group->require_subcommand(1);

  CLI::App* resolve = group->add_subcommand("resolve", "Resolve identities over events not yet processed");
  registry.emplace_back(resolve, [&ctx]() { return RunResolve(ctx); });

  struct Flags {
    std::string identifier;
    int64_t limit = 200;
    bool undo = false;
    std::string truth;
  };
  auto flags = std::make_shared<Flags>();
  const char* kIdHelp = "type:value, e.g. phone:+8613800138000 or member_card:M0042";

  CLI::App* explain = group->add_subcommand("explain", "Why an identifier belongs to its customer");
  explain->add_option("identifier", flags->identifier, kIdHelp + std::string(", or a customer key"))
      ->required();
  explain->add_option("--limit", flags->limit, "links to list per kind")->capture_default_str();
  registry.emplace_back(explain,
                        [&ctx, flags]() { return RunExplain(ctx, flags->identifier, flags->limit); });

  CLI::App* split = group->add_subcommand("split", "Stop an identifier from linking (undo a wrong merge)");
  split->add_option("identifier", flags->identifier, kIdHelp)->required();
  split->add_flag("--undo", flags->undo, "let the identifier link again");
  registry.emplace_back(split, [&ctx, flags]() { return RunSplit(ctx, flags->identifier, flags->undo); });

  CLI::App* forget = group->add_subcommand(
      "forget", "Erase a person: events, identifiers, profile rows; tombstones stop re-imports");
  forget->add_option("identifier", flags->identifier, kIdHelp)->required();
  registry.emplace_back(forget, [&ctx, flags]() { return RunForget(ctx, flags->identifier); });

  CLI::App* evaluate = group->add_subcommand("evaluate", "Pairwise precision/recall against a truth CSV");
  evaluate->add_option("--truth", flags->truth, "truth CSV of omni demo generate")->required();
  registry.emplace_back(evaluate, [&ctx, flags]() { return RunEvaluate(ctx, flags->truth); });

  CLI::App* show = group->add_subcommand("show", "The unified profile of a customer");
  show->add_option("identifier", flags->identifier, kIdHelp + std::string(", or a customer key"))->required();
  registry.emplace_back(show, [&ctx, flags]() { return ShowCustomer(ctx, flags->identifier); });
}

}  // namespace omni::cli
