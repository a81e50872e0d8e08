// omni demo generate --out FILE ...   writes the synthetic retailer
// omni demo                           the whole pipeline as it exists, with a report
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "omni/cli/commands.h"
#include "omni/cli/importing.h"
#include "omni/cli/profile_build.h"
#include "omni/common/progress.h"
#include "omni/demo/generator.h"
#include "omni/identity/evaluation.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::cli {
namespace {

void AddSizeFlags(CLI::App* sub, demo::DemoOptions& o) {
  sub->add_option("--customers", o.customers, "persons to simulate")->capture_default_str();
  sub->add_option("--items", o.items, "catalogue size")->capture_default_str();
  sub->add_option("--events", o.events, "valid events (noise comes on top)")->capture_default_str();
  sub->add_option("--seed", o.seed, "random seed (same seed, same bytes)")->capture_default_str();
  sub->add_option("--stores", o.stores, "physical stores")->capture_default_str();
  sub->add_option("--days", o.days, "days of history")->capture_default_str();
}

StatusOr<demo::DemoSummary> Generate(const demo::DemoOptions& options, const demo::DemoPaths& paths) {
  OMNI_RETURN_IF_ERROR(options.Validate());
  ProgressReporter progress("generate", "events", options.events);
  auto summary = demo::GenerateDemo(options, paths, [&](int64_t done, int64_t) { progress.Update(done, done); });
  progress.Finish();
  return summary;
}

void PrintGeneration(const demo::DemoSummary& s, const demo::DemoPaths& paths) {
  Table t({"generated", paths.events});
  t.AddRow({"lines", std::to_string(s.lines)});
  t.AddRow({"valid events", std::to_string(s.events)});
  t.AddRow({"duplicate deliveries", std::to_string(s.duplicates)});
  t.AddRow({"malformed lines", std::to_string(s.malformed)});
  t.AddRow({"persons (active)", fmt::format("{} ({})", s.customers, s.active_customers)});
  t.AddRow({"items / stores", fmt::format("{} / {}", s.items, s.stores)});
  t.AddRow({"orders", std::to_string(s.orders)});
  t.AddRow({"households sharing a device", fmt::format("{} ({} members)", s.households, s.household_members)});
  t.AddRow({"guest checkouts", std::to_string(s.guest_checkouts)});
  t.AddRow({"online browse → store purchase", std::to_string(s.o2o_purchases)});
  t.AddRow({"truth file", paths.truth});
  t.Print();
}

Status RunDemo(const Context& ctx, const demo::DemoOptions& options) {
  std::filesystem::path dir = std::filesystem::path(ctx.data_dir) / "demo";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  demo::DemoPaths paths = demo::DemoPaths::Beside((dir / "events.jsonl").string());

  spdlog::info("step 1/4: generating a synthetic omnichannel retailer in {}", dir.string());
  OMNI_ASSIGN_OR_RETURN(demo::DemoSummary gen, Generate(options, paths));

  spdlog::info("step 2/4: importing catalogue, availability and events into {}/omni.db", ctx.data_dir);
  OMNI_ASSIGN_OR_RETURN(ImportOutcome catalogue,
                        ImportIntoStore(ctx.data_dir, paths.catalogue, "demo.catalogue.csv", "catalogue", 50000));
  OMNI_ASSIGN_OR_RETURN(ImportOutcome availability, ImportIntoStore(ctx.data_dir, paths.availability,
                                                                    "demo.availability.csv", "availability", 50000));
  OMNI_ASSIGN_OR_RETURN(ImportOutcome events,
                        ImportIntoStore(ctx.data_dir, paths.events, "demo.events.jsonl", "jsonl", 50000));

  // Every planted defect must be quarantined under the reason it was planted for.
  std::map<std::string, std::pair<int64_t, int64_t>> by_reason;  // reason -> planted, quarantined
  for (const auto& [reason, n] : gen.malformed_by_reason) by_reason[reason].first = n;
  for (int r = 0; r < ingest::kRejectReasonCount; ++r) {
    int64_t n = events.summary.rejected_by_reason[r];
    if (n > 0) by_reason[std::string(ingest::RejectReasonName(static_cast<ingest::RejectReason>(r)))].second = n;
  }

  OMNI_ASSIGN_OR_RETURN(auto store, store::Store::OpenSqlite(ctx.data_dir));
  std::map<std::string, int64_t> by_channel;
  std::map<std::string, int64_t> by_type;
  OMNI_RETURN_IF_ERROR(store->ScanEvents(0, [&](int64_t, const ingest::Event& e) {
    ++by_channel[e.channel];
    ++by_type[e.type];
    return true;
  }));
  OMNI_ASSIGN_OR_RETURN(store::StoreStats stats, store->Stats());

  spdlog::info("step 3/4: resolving one customer across channels (One-ID) and checking against the truth");
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::ResolveStats resolved, identity::Resolve(*store, *sql, id_config));
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig ingest_config, ingest::LoadIngestConfig(ctx.data_dir));
  ingest::Pseudonymiser pseudonymiser(ingest_config);
  OMNI_ASSIGN_OR_RETURN(identity::Evaluation eval, identity::EvaluateResolution(*sql, paths.truth, pseudonymiser));
  sql.reset();
  store.reset();  // the profile build opens its own handles

  spdlog::info("step 4/4: profiles — RFM, channel mix, affinities, consent, lifetime value (BG/NBD + Gamma-Gamma)");
  OMNI_ASSIGN_OR_RETURN(ProfileBuildOutcome profiles, ComputeProfiles(ctx, BuildFlags{}));

  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("generated").Raw(demo::DemoSummaryJson(gen));
    w.Key("import").BeginObject();
    w.Key("catalogue");
    WriteImportSummaryJson(w, catalogue);
    w.Key("availability");
    WriteImportSummaryJson(w, availability);
    w.Key("events");
    WriteImportSummaryJson(w, events);
    w.EndObject();
    w.Key("quarantine_check").BeginObject();
    for (const auto& [reason, pq] : by_reason) {
      w.Key(reason).BeginObject().Key("planted").Int(pq.first).Key("quarantined").Int(pq.second).EndObject();
    }
    w.EndObject();
    w.Key("store").BeginObject().Key("events").Int(stats.events).Key("items").Int(stats.items);
    w.Key("quarantined").Int(stats.quarantined).EndObject();
    w.Key("identity").BeginObject();
    w.Key("customers").Int(resolved.customers).Key("persons").Int(eval.persons);
    w.Key("shared_identifiers").Int(resolved.shared).Key("seconds").Double(resolved.seconds);
    w.Key("precision").Double(eval.precision).Key("recall").Double(eval.recall).Key("f1").Double(eval.f1);
    w.EndObject();
    w.Key("events_by_channel").BeginObject();
    for (const auto& [k, n] : by_channel) w.Key(k).Int(n);
    w.EndObject().Key("events_by_type").BeginObject();
    for (const auto& [k, n] : by_type) w.Key(k).Int(n);
    w.EndObject();
    w.Key("profiles");
    WriteProfileBuildJson(w, profiles);
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }

  std::printf("omni demo — the pipeline on a synthetic omnichannel retailer\n\n");
  std::printf("1. Data: %s\n\n", dir.string().c_str());
  PrintGeneration(gen, paths);
  std::printf("\n2. Collection & cleaning: %s/omni.db\n\n", ctx.data_dir.c_str());
  Table imp({"file", "records", "accepted", "duplicates", "rejected", "records/s"});
  for (const ImportOutcome* o : {&catalogue, &availability, &events}) {
    const auto& s = o->summary;
    imp.AddRow({o->source, std::to_string(s.records), std::to_string(s.accepted + s.items + s.availability),
                std::to_string(s.duplicates), std::to_string(s.rejected),
                HumanCount(s.seconds > 0 ? s.records / s.seconds : 0)});
  }
  imp.Print();
  std::printf("\nPlanted defects vs quarantine (every bad line is kept with its reason):\n");
  Table q({"reason", "planted", "quarantined", ""});
  for (const auto& [reason, pq] : by_reason) {
    q.AddRow({reason, std::to_string(pq.first), std::to_string(pq.second), pq.first == pq.second ? "ok" : "MISMATCH"});
  }
  q.Print();
  std::printf("\nDuplicate deliveries planted %lld, detected %lld.\n", static_cast<long long>(gen.duplicates),
              static_cast<long long>(events.summary.duplicates));
  std::printf("\nEvents stored by channel:\n");
  Table ch({"channel", "events"});
  for (const auto& [k, n] : by_channel) ch.AddRow({k, std::to_string(n)});
  ch.Print();
  std::printf("\nEvents stored by type:\n");
  Table ty({"type", "events"});
  for (const auto& [k, n] : by_type) ty.AddRow({k, std::to_string(n)});
  ty.Print();
  std::printf("\n3. One customer across channels (One-ID)\n\n");
  Table id({"identity resolution", ""});
  id.AddRow({"identifiers", std::to_string(resolved.identifiers)});
  id.AddRow({"customers resolved", std::to_string(resolved.customers)});
  id.AddRow({"persons in the truth", std::to_string(eval.persons)});
  id.AddRow({"shared identifiers flagged", fmt::format("{} (household screens {}/{}, kiosks {}/{})", resolved.shared,
                                                        eval.household_flagged, eval.household_multi_person,
                                                        eval.kiosk_flagged, eval.kiosk_multi_person)});
  id.AddRow({"pairwise precision", fmt::format("{:.4f}", eval.precision)});
  id.AddRow({"pairwise recall", fmt::format("{:.4f}", eval.recall)});
  id.AddRow({"time", fmt::format("{:.2f} s", resolved.seconds)});
  id.Print();
  std::printf("\n4. Customer profiles and lifetime value\n\n");
  PrintProfileBuildTable(profiles);
  std::printf("\nNext: omni --data %s customers show phone:<number> · segments create NAME EXPR · "
              "clv fit · quarantine list · status\n",
              ctx.data_dir.c_str());
  return Status::Ok();
}

}  // namespace

void AddDemoCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  auto run_opts = std::make_shared<demo::DemoOptions>();
  CLI::App* demo_cmd = app.add_subcommand("demo", "Run the whole pipeline on a generated omnichannel retailer");
  AddSizeFlags(demo_cmd, *run_opts);
  registry.emplace_back(demo_cmd, [&ctx, run_opts]() { return RunDemo(ctx, *run_opts); });

  auto gen_opts = std::make_shared<demo::DemoOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* gen = demo_cmd->add_subcommand("generate", "Write demo events (JSONL) plus truth, catalogue, availability");
  gen->add_option("--out", *out, "events file; the other files are written beside it")->required();
  AddSizeFlags(gen, *gen_opts);
  registry.emplace_back(gen, [&ctx, gen_opts, out]() -> Status {
    demo::DemoPaths paths = demo::DemoPaths::Beside(*out);
    OMNI_ASSIGN_OR_RETURN(demo::DemoSummary s, Generate(*gen_opts, paths));
    if (ctx.json()) {
      std::printf("%s\n", demo::DemoSummaryJson(s).c_str());
    } else {
      PrintGeneration(s, paths);
    }
    return Status::Ok();
  });
}

}  // namespace omni::cli
