// omni demo generate --out FILE ...   writes the synthetic retailer
// omni demo                           the whole pipeline as it exists, with a report
#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "omni/cli/commands.h"
#include "omni/cli/importing.h"
#include "omni/cli/profile_build.h"
#include "omni/cli/recommend_training.h"
#include "omni/common/progress.h"
#include "omni/demo/generator.h"
#include "omni/identity/evaluation.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"
#include "omni/ingest/timestamp.h"
#include "omni/predict/browse_window.h"
#include "omni/predict/features.h"
#include "omni/predict/propensity_training.h"
#include "omni/recommend/evaluation.h"
#include "omni/recommend/interactions.h"
#include "omni/recommend/serving.h"
#include "omni/recommend/serving_json.h"
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

// Steps 5 and 6: who will buy in the next 30 days, and when after a view.
struct BehaviourStep {
  std::vector<predict::CutoffSummary> cutoffs;
  int64_t rows = 0;
  int32_t columns = 0;
  predict::TrainingResult training;
  int64_t training_version = 0;
  predict::WindowReport window;
  double seconds = 0;
};

StatusOr<BehaviourStep> RunBehaviour(const std::string& data_dir) {
  const auto start = std::chrono::steady_clock::now();
  BehaviourStep out;
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(data_dir));
  OMNI_ASSIGN_OR_RETURN(auto store, store::Store::OpenSqlite(data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(data_dir));
  OMNI_ASSIGN_OR_RETURN(auto directory, identity::LoadDirectory(*sql, id_config));
  OMNI_ASSIGN_OR_RETURN(store::StoreStats stats, store->Stats());

  // Three monthly cutoffs ending one horizon before the data does, so every
  // label is complete; the latest cutoff's rows are held out by the split.
  constexpr int64_t kHorizon = 30 * predict::kDayMs;
  predict::FeatureOptions fo;
  const int64_t last = stats.max_ts_ms / 1000 * 1000;
  for (int i = 3; i >= 1; --i) fo.cutoffs_ms.push_back(last - kHorizon * i);
  fo.horizon_ms = kHorizon;
  fo.channels = config.channels;
  fo.strong_types = id_config.strong;
  fo.expected_events = stats.events;
  predict::FeatureBuildStats fstats;
  OMNI_ASSIGN_OR_RETURN(predict::FeatureTable table, predict::BuildFeatures(data_dir, *store, *directory, fo, &fstats));
  out.cutoffs = fstats.cutoffs;
  out.rows = table.rows();
  out.columns = table.cols();

  predict::TrainOptions to;
  OMNI_ASSIGN_OR_RETURN(out.training, predict::TrainPropensity(table, to));
  out.training.name = "purchase_30d";
  out.training.source = "omni demo";
  OMNI_ASSIGN_OR_RETURN(out.training_version, predict::SaveTraining(data_dir, out.training));

  predict::WindowOptions wo;
  OMNI_ASSIGN_OR_RETURN(out.window, predict::ComputeBrowseWindow(*store, *directory, wo));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

void WriteBehaviourJson(JsonWriter& w, const BehaviourStep& b) {
  w.BeginObject();
  w.Key("features").BeginObject().Key("rows").Int(b.rows).Key("columns").Int(b.columns);
  w.Key("cutoffs").BeginArray();
  for (const auto& c : b.cutoffs) {
    w.BeginObject().Key("cutoff").String(ingest::FormatTimestamp(c.cutoff_ms, 0)).Key("rows").Int(c.rows);
    w.Key("positives").Int(c.positives).EndObject();
  }
  w.EndArray().EndObject();
  w.Key("propensity").BeginObject().Key("name").String(b.training.name).Key("version").Int(b.training_version);
  w.Key("best").String(b.training.best >= 0 ? b.training.models[b.training.best].model_name : "");
  w.Key("models").BeginObject();
  for (const auto& m : b.training.models) {
    w.Key(m.model_name).BeginObject();
    if (!m.error.empty()) {
      w.Key("error").String(m.error);
    } else {
      w.Key("auc").Double(m.test.roc_auc).Key("pr_auc").Double(m.test.average_precision);
      w.Key("log_loss").Double(m.test.log_loss).Key("brier").Double(m.test.brier);
      w.Key("lift_top_decile").Double(m.test.lift_top_decile);
    }
    w.EndObject();
  }
  w.EndObject().EndObject();
  w.Key("browse_window").BeginArray();
  for (const auto& c : b.window.curves) {
    if (c.category != predict::kAllGroup) continue;
    w.BeginObject().Key("after").String(c.anchor).Key("channel").String(c.channel).Key("anchors").Int(c.anchors);
    w.Key("p_within").BeginObject();
    for (size_t i = 0; i < b.window.hours.size() && i < c.p_within.size(); ++i) {
      w.Key(fmt::format("{}h", b.window.hours[i])).Double(c.p_within[i]);
    }
    w.EndObject().Key("remind_until_hours").Double(c.window_close_hours).EndObject();
  }
  w.EndArray();
  w.Key("seconds").Double(b.seconds);
  w.EndObject();
}

void PrintBehaviour(const BehaviourStep& b) {
  std::printf("\n5. Who will buy in the next 30 days (propensity)\n\n");
  std::printf("Point-in-time features: %lld rows x %d columns at %zu monthly cutoffs (only events before each\n"
              "cutoff; label = a purchase in the following 30 days):\n",
              static_cast<long long>(b.rows), b.columns, b.cutoffs.size());
  for (const auto& c : b.cutoffs) {
    std::printf("  %s  %lld customers, %.1f%% bought\n", ingest::FormatTimestamp(c.cutoff_ms, 0).substr(0, 10).c_str(),
                static_cast<long long>(c.rows), c.rows > 0 ? 100.0 * c.positives / c.rows : 0.0);
  }
  std::printf("\nOn the held-out test rows (accuracy misleads when few convert: read AUC and lift):\n");
  Table t({"model", "ROC AUC", "PR AUC", "lift top 10%", "log loss", "Brier", ""});
  for (size_t i = 0; i < b.training.models.size(); ++i) {
    const auto& m = b.training.models[i];
    if (!m.error.empty()) {
      t.AddRow({m.model_name, "-", "-", "-", "-", "-", m.error});
      continue;
    }
    t.AddRow({m.model_name, fmt::format("{:.3f}", m.test.roc_auc), fmt::format("{:.3f}", m.test.average_precision),
              fmt::format("{:.2f}x", m.test.lift_top_decile), fmt::format("{:.3f}", m.test.log_loss),
              fmt::format("{:.3f}", m.test.brier),
              static_cast<int>(i) == b.training.best ? "best on validation" : ""});
  }
  t.Print();
  std::printf("Saved as propensity model '%s' version %lld (omni propensity report / score).\n",
              b.training.name.c_str(), static_cast<long long>(b.training_version));

  std::printf("\n6. When to remind: purchase after a view (same customer, same item)\n\n");
  std::vector<std::string> header = {"after", "channel", "anchors"};
  for (double h : b.window.hours) {
    if (h == 1 || h == 4 || h == 24 || h == 72 || h == 168) header.push_back(fmt::format("<= {}h", h));
  }
  header.push_back("remind until");
  Table w(header);
  for (const auto& c : b.window.curves) {
    if (c.category != predict::kAllGroup) continue;
    std::vector<std::string> row = {c.anchor, c.channel, std::to_string(c.anchors)};
    for (size_t i = 0; i < b.window.hours.size() && i < c.p_within.size(); ++i) {
      const double h = b.window.hours[i];
      if (h == 1 || h == 4 || h == 24 || h == 72 || h == 168) row.push_back(fmt::format("{:.1f}%", 100 * c.p_within[i]));
    }
    row.push_back(fmt::format("{:.0f} h", c.window_close_hours));
    w.AddRow(row);
  }
  w.Print();
  std::printf("'remind until': after this hour fewer than 5 in 1,000 views still lead to a purchase within a week.\n");
}

// Step 7: what to recommend to whom. A few models are compared offline on a
// temporal split (the past predicts the last fifth of the interactions, as
// `omni evaluate --protocol temporal`), the best one by NDCG is trained on
// everything and published (as `omni train`), frequently-bought-together
// rules are mined (as `omni train fbt`), and the serving layer — the same
// rules and explanations as `omni recommend` and the HTTP API — answers for a
// few example customers.
struct RecommendStep {
  recommend::EvaluationReport evaluation;
  std::string metric;  // "ndcg@10"
  int best = -1;       // in evaluation.models
  TrainedModel model;
  TrainedRules rules;
  std::vector<recommend::RecommendResponse> examples;
  std::optional<recommend::TogetherResponse> together;
  double seconds = 0;
};

// Models compared: the popularity baseline every recommender must beat, and
// item-to-item neighbours with a narrow and a wide neighbourhood: they fit
// in a fraction of a second on the demo's catalogue (EASE scores a little
// higher there but takes seconds: omni evaluate ease compares it).
const std::vector<std::string> kDemoRecommenders = {"popularity", "itemknn:k=50", "itemknn:k=200"};
constexpr int kDemoK = 10;

double MetricOf(const recommend::ModelResult& m, std::string_view name) {
  for (const auto& [k, v] : m.metrics) {
    if (k == name) return v;
  }
  return -1;
}

StatusOr<RecommendStep> RunRecommendations(const std::string& data_dir) {
  const auto start = std::chrono::steady_clock::now();
  RecommendStep out;
  out.metric = "ndcg@" + std::to_string(kDemoK);
  store::StoreOptions options;
  options.read_only = true;
  OMNI_ASSIGN_OR_RETURN(auto store, store::Store::OpenSqlite(data_dir, options));
  OMNI_ASSIGN_OR_RETURN(auto directory, identity::LoadDirectory(data_dir));
  OMNI_ASSIGN_OR_RETURN(recommend::LoadedInteractions data,
                        recommend::LoadInteractions(*store, directory.get(), recommend::InteractionWeights{}));
  store.reset();
  recommend::EvaluationOptions eo;
  eo.protocol = "temporal";
  eo.k = kDemoK;
  eo.values = recommend::MatrixValues::kWeight;  // retail events keep their weights (omni evaluate's "auto")
  const auto eval_start = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(out.evaluation, recommend::Evaluate(data.log, kDemoRecommenders, eo));
  {
    // Kept like `omni evaluate`'s, so the dashboard's recommendation-quality
    // page has the demo's comparison to show.
    EvaluationRun run;
    run.values = eo.values;
    run.resolved_customers = data.resolved_customers;
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
    if (Status st = SaveEvaluation(data_dir, EvaluationReportJson(out.evaluation, run)); !st.ok()) {
      spdlog::warn("demo evaluation not kept for the dashboard: {}", st.ToString());
    }
  }
  for (size_t i = 0; i < out.evaluation.models.size(); ++i) {
    const auto& m = out.evaluation.models[i];
    if (m.status.ok() &&
        (out.best < 0 || MetricOf(m, out.metric) > MetricOf(out.evaluation.models[static_cast<size_t>(out.best)], out.metric))) {
      out.best = static_cast<int>(i);
    }
  }
  if (out.best < 0) return FailedPrecondition("no recommender could be evaluated on the demo store");
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  spdlog::info("recommendations: {} interactions loaded, {} models evaluated ({:.1f} s)", data.log.rows.size(),
               out.evaluation.models.size(), since());
  OMNI_ASSIGN_OR_RETURN(out.model,
                        TrainRankingModel(data_dir, out.evaluation.models[static_cast<size_t>(out.best)].spec, data));
  OMNI_ASSIGN_OR_RETURN(out.rules, TrainTogetherRules(data_dir, "fbt"));
  spdlog::info("recommendations: {} trained, {} together-rules mined ({:.1f} s)", out.model.spec, out.rules.rules,
               since());

  OMNI_ASSIGN_OR_RETURN(std::shared_ptr<const recommend::RecommendationService> service,
                        recommend::RecommendationService::Load(data_dir));
  // Three customers with a few purchases behind them and a personalised
  // list, spread over the customer base.
  const int32_t n = service->customer_count();
  const int32_t stride = std::max<int32_t>(1, n / 97);
  for (int32_t i = 0; i < n && out.examples.size() < 3; i += stride) {
    recommend::RecommendRequest request;
    request.dense_id = i;
    request.k = 5;
    StatusOr<recommend::RecommendResponse> r = service->Recommend(request);
    if (!r.ok() || r->fallback || r->history_items < 4 || r->items.size() < 5 || r->items[0].reason != "history") {
      continue;
    }
    out.examples.push_back(std::move(*r));
  }
  // Frequently bought together: the first item of the examples' lists (or
  // their history) that has rules.
  for (const auto& e : out.examples) {
    for (const auto& item : e.items) {
      std::vector<std::string> candidates = item.because;
      candidates.insert(candidates.begin(), item.item_id);
      for (const std::string& id : candidates) {
        if (out.together) break;
        StatusOr<recommend::TogetherResponse> t = service->Together(id, 3);
        if (t.ok() && !t->items.empty()) out.together = std::move(*t);
      }
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

void WriteRecommendJson(JsonWriter& w, const RecommendStep& r) {
  const auto& ev = r.evaluation;
  w.BeginObject();
  w.Key("evaluation").BeginObject().Key("protocol").String(ev.protocol);
  w.Key("cutoff").String(ingest::FormatTimestamp(ev.cutoff_ms, 0)).Key("k").Int(ev.k);
  w.Key("train_rows").Int(ev.train_rows).Key("test_rows").Int(ev.test_rows);
  w.Key("customers").Int(ev.customers).Key("items").Int(ev.items).Key("cold_customers").Int(ev.cold_customers);
  w.Key("models").BeginArray();
  for (const auto& m : ev.models) {
    w.BeginObject().Key("spec").String(m.spec);
    if (!m.status.ok()) {
      w.Key("error").String(m.status.message());
    } else {
      for (const auto& [k, v] : m.metrics) w.Key(k).Double(v);
      w.Key("customers").Int(m.customers).Key("fit_seconds").Double(m.fit_seconds);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("best").String(ev.models[static_cast<size_t>(r.best)].spec).Key("metric").String(r.metric);
  w.EndObject();
  w.Key("model").BeginObject().Key("spec").String(r.model.spec).Key("version").Int(r.model.version);
  w.Key("customers").Int(r.model.customers).Key("items").Int(r.model.items);
  w.Key("interactions").Int(r.model.interactions).Key("fit_seconds").Double(r.model.fit_seconds).EndObject();
  w.Key("together_rules").BeginObject().Key("spec").String(r.rules.spec).Key("version").Int(r.rules.version);
  w.Key("baskets").Int(r.rules.baskets).Key("rules").Int(r.rules.rules).EndObject();
  w.Key("examples").BeginArray();
  for (const auto& e : r.examples) {
    w.BeginObject().Key("customer").String(e.customer_key).Key("history_items").Int(e.history_items);
    w.Key("model").String(e.model);
    recommend::WriteRecommendedItemsJson(w, e.items);
    w.EndObject();
  }
  w.EndArray();
  w.Key("together");
  if (r.together) {
    w.BeginObject().Key("item_id").String(r.together->item_id).Key("title").String(r.together->title);
    w.Key("baskets").Int(r.together->baskets).Key("items").BeginArray();
    for (const auto& t : r.together->items) {
      w.BeginObject().Key("item_id").String(t.item_id).Key("title").String(t.title).Key("count").Int(t.count);
      w.Key("confidence").Double(t.confidence).Key("lift").Double(t.lift).EndObject();
    }
    w.EndArray().EndObject();
  } else {
    w.Null();
  }
  w.Key("seconds").Double(r.seconds);
  w.EndObject();
}

void PrintRecommendations(const RecommendStep& r) {
  const auto& ev = r.evaluation;
  std::printf("\n7. What to recommend to whom (recommendations)\n\n");
  std::printf("Offline comparison on a temporal split: interactions before %s train the models, the %lld after it\n"
              "test them (top %d of the whole catalogue, items a customer already had excluded; %lld customers "
              "evaluated):\n",
              ingest::FormatTimestamp(ev.cutoff_ms, 0).substr(0, 10).c_str(), static_cast<long long>(ev.test_rows), ev.k,
              static_cast<long long>(ev.models[static_cast<size_t>(r.best)].customers));
  const std::string at = "@" + std::to_string(ev.k);
  Table t({"model", "NDCG" + at, "precision" + at, "recall" + at, "hit rate" + at, "coverage" + at, "fit", ""});
  for (size_t i = 0; i < ev.models.size(); ++i) {
    const auto& m = ev.models[i];
    if (!m.status.ok()) {
      t.AddRow({m.spec, "-", "-", "-", "-", "-", "-", m.status.message()});
      continue;
    }
    auto f = [&](const std::string& k) { return fmt::format("{:.4f}", MetricOf(m, k)); };
    t.AddRow({m.spec, f("ndcg" + at), f("precision" + at), f("recall" + at), f("hit_rate" + at), f("coverage" + at),
              fmt::format("{:.2f} s", m.fit_seconds), static_cast<int>(i) == r.best ? "best" : ""});
  }
  t.Print();
  std::printf("Trained %s on every event: version %lld, %lld customers x %lld items. Frequently bought together:\n"
              "%lld rules from %lld baskets (omni recommend, GET /v1/customers/{id}/recommendations serve them).\n",
              r.model.spec.c_str(), static_cast<long long>(r.model.version), static_cast<long long>(r.model.customers),
              static_cast<long long>(r.model.items), static_cast<long long>(r.rules.rules),
              static_cast<long long>(r.rules.baskets));
  for (const auto& e : r.examples) {
    std::printf("\nFor customer %s (%lld items in their history):\n", e.customer_key.c_str(),
                static_cast<long long>(e.history_items));
    Table list({"#", "item", "name", "category", "why"});
    for (size_t i = 0; i < e.items.size(); ++i) {
      const auto& item = e.items[i];
      list.AddRow({std::to_string(i + 1), item.item_id, item.title, item.category, item.explanation});
    }
    list.Print();
  }
  if (r.together) {
    std::printf("\nCustomers who bought %s %s also bought:\n", r.together->item_id.c_str(), r.together->title.c_str());
    Table tt({"item", "name", "baskets with both", "confidence", "lift"});
    for (const auto& i : r.together->items) {
      tt.AddRow({i.item_id, i.title, std::to_string(i.count), fmt::format("{:.2f}", i.confidence),
                 fmt::format("{:.1f}", i.lift)});
    }
    tt.Print();
  }
}

Status RunDemo(const Context& ctx, const demo::DemoOptions& options) {
  std::filesystem::path dir = std::filesystem::path(ctx.data_dir) / "demo";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  demo::DemoPaths paths = demo::DemoPaths::Beside((dir / "events.jsonl").string());

  spdlog::info("step 1/7: generating a synthetic omnichannel retailer in {}", dir.string());
  OMNI_ASSIGN_OR_RETURN(demo::DemoSummary gen, Generate(options, paths));

  spdlog::info("step 2/7: importing catalogue, availability and events into {}/omni.db", ctx.data_dir);
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

  spdlog::info("step 3/7: resolving one customer across channels (One-ID) and checking against the truth");
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::ResolveStats resolved, identity::Resolve(*store, *sql, id_config));
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig ingest_config, ingest::LoadIngestConfig(ctx.data_dir));
  ingest::Pseudonymiser pseudonymiser(ingest_config);
  OMNI_ASSIGN_OR_RETURN(identity::Evaluation eval, identity::EvaluateResolution(*sql, paths.truth, pseudonymiser));
  sql.reset();
  store.reset();  // the profile build opens its own handles

  spdlog::info("step 4/7: profiles — RFM, channel mix, affinities, consent, lifetime value (BG/NBD + Gamma-Gamma)");
  OMNI_ASSIGN_OR_RETURN(ProfileBuildOutcome profiles, ComputeProfiles(ctx, BuildFlags{}));

  spdlog::info("step 5/7: point-in-time features and propensity models (XGBoost, logistic, tree, naive Bayes)");
  spdlog::info("step 6/7: the purchase-after-browse window");
  OMNI_ASSIGN_OR_RETURN(BehaviourStep behaviour, RunBehaviour(ctx.data_dir));

  spdlog::info("step 7/7: recommendations — models compared on a temporal split, the best trained, rules mined");
  OMNI_ASSIGN_OR_RETURN(RecommendStep recommendations, RunRecommendations(ctx.data_dir));

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
    w.Key("behaviour");
    WriteBehaviourJson(w, behaviour);
    w.Key("recommendations");
    WriteRecommendJson(w, recommendations);
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
  PrintBehaviour(behaviour);
  PrintRecommendations(recommendations);
  std::printf("\nNext: omni --data %s customers show phone:<number> · recommend CUSTOMER · segments create NAME EXPR · "
              "clv fit · quarantine list · serve\n",
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
