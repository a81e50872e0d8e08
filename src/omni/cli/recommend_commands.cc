// omni evaluate · omni train · omni recommend: the recommendation commands.
// They read events from the store, build the interaction log with
// recommend/interactions.h (customers from the identity directory when
// resolution has run), and hand the numbers to recommend/.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unordered_map>

#include "omni/cli/commands.h"
#include "omni/cli/recommend_training.h"
#include "omni/ingest/timestamp.h"
#include "omni/ingest/config_file.h"
#include "omni/profile/profile_fields.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/segment_expression.h"
#include "omni/profile/segments_store.h"
#include "omni/recommend/artefact_store.h"
#include "omni/recommend/evaluation.h"
#include "omni/recommend/fbt.h"
#include "omni/recommend/serving.h"
#include "omni/recommend/serving_json.h"
#include "omni/recommend/interactions.h"
#include "omni/recommend/recommender.h"

namespace omni::cli {
namespace {

namespace fs = std::filesystem;
using recommend::LoadedInteractions;
using recommend::MatrixValues;

struct Loaded {
  LoadedInteractions data;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<identity::CustomerDirectory> directory;
};

StatusOr<Loaded> LoadFromStore(const std::string& data_dir, double half_life_days) {
  if (!fs::exists(fs::path(data_dir) / "omni.db")) {
    return NotFound("no store in " + data_dir + " (run omni import first)");
  }
  Loaded l;
  store::StoreOptions options;
  options.read_only = true;
  OMNI_ASSIGN_OR_RETURN(l.store, store::Store::OpenSqlite(data_dir, options));
  StatusOr<std::unique_ptr<identity::CustomerDirectory>> dir = identity::LoadDirectory(data_dir);
  if (dir.ok()) {
    l.directory = std::move(*dir);
  } else {
    spdlog::warn("identity directory unavailable ({}); using raw customer identifiers", dir.status().ToString());
  }
  recommend::InteractionWeights weights;
  weights.half_life_days = half_life_days;
  auto t0 = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(l.data, recommend::LoadInteractions(*l.store, l.directory.get(), weights));
  if (!l.data.resolved_customers) {
    spdlog::warn("no resolved customers (run identity resolution for multi-identifier data): events belong to "
                 "their strongest raw identifier");
  }
  spdlog::info("{} interactions of {} customers × {} items from {} events in {:.2f} s", l.data.log.rows.size(),
               l.data.log.customers, l.data.log.items, l.data.events_read,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (l.data.log.rows.empty()) return FailedPrecondition("no events usable for recommendation in " + data_dir);
  return l;
}

// "auto": ratings are implicit feedback (binary) — the published protocols
// score ratings as seen/not seen; retail events keep their weights.
StatusOr<MatrixValues> ParseValues(const std::string& v, const recommend::InteractionLog& log) {
  if (v == "binary") return MatrixValues::kBinary;
  if (v == "weight") return MatrixValues::kWeight;
  if (v != "auto") return InvalidArgument("--values must be auto, binary or weight");
  bool all_ratings = std::all_of(log.rows.begin(), log.rows.end(), [](const auto& x) { return x.rating > 0; });
  return all_ratings ? MatrixValues::kBinary : MatrixValues::kWeight;
}

std::string Fixed(double v, int digits = 4) { return fmt::format("{:.{}f}", v, digits); }

struct EvaluateArgs {
  std::vector<std::string> specs;
  std::string protocol;
  int k = 10;
  std::string cutoff;
  uint32_t seed = 42;
  std::string values = "auto";
  double half_life_days = 0;
  int threads = 2;
  std::string search = "grid";
  int trials = 20;
  std::string budget;
  int max_history = 0;
  double validation = 0;
  int validation_folds = 1;
};

// "120s", "2m", "1h" or plain seconds.
StatusOr<double> ParseBudget(const std::string& text) {
  if (text.empty()) return 0.0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit(end);
  const double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  if (end == text.c_str() || scale < 0 || !(v > 0)) return InvalidArgument("--budget '" + text + "': expected e.g. 120s, 5m");
  return v * scale;
}

}  // namespace

// DATA_DIR/evaluations/<UTC time>.json, written under a temporary name and
// renamed so a reader never sees half a report.
Status SaveEvaluation(const std::string& data_dir, const std::string& json) {
  const fs::path dir = fs::path(data_dir) / "evaluations";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  fs::path path = dir / (std::string(stamp) + ".json");
  for (int n = 2; fs::exists(path, ec); ++n) path = dir / fmt::format("{}-{}.json", stamp, n);
  const fs::path tmp = path.string() + ".tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return Internal("cannot write " + tmp.string());
    const bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
    if (std::fclose(f) != 0 || !ok) return Internal("cannot write " + tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) return Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

std::string EvaluationReportJson(const recommend::EvaluationReport& r, const EvaluationRun& run) {
  const std::string ndcg_key = "ndcg@" + std::to_string(r.k);
  const recommend::ModelResult* best = nullptr;
  for (const auto& m : r.models) {
    if (!m.status.ok()) continue;
    auto v = [&](const recommend::ModelResult& x) {
      for (const auto& [k, val] : x.metrics) {
        if (k == ndcg_key) return val;
      }
      return -1.0;
    };
    // With a validation part the best model is the best on validation (a
    // choice made on test would be optimistic); otherwise the best on test.
    auto chosen_by = [&](const recommend::ModelResult& x) { return x.validation_ndcg >= 0 ? x.validation_ndcg : v(x); };
    if (!best || chosen_by(m) > chosen_by(*best)) best = &m;
  }
  const char* values_name = run.values == MatrixValues::kBinary ? "binary" : "weight";
  const double seconds = run.seconds;
  JsonWriter w;
  w.BeginObject();
  w.Key("protocol").String(r.protocol);
  w.Key("evaluated_at").String(ingest::FormatTimestamp(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count(),
      0));
  w.Key("k").Int(r.k);
  w.Key("seed").Int(r.seed);
  if (r.protocol == "temporal") w.Key("cutoff").String(ingest::FormatTimestamp(r.cutoff_ms, 0));
  w.Key("values").String(values_name);
  if (run.max_history > 0) w.Key("max_history_items").Int(run.max_history);
  if (run.validation > 0) w.Key("validation_ratio").Double(run.validation);
  if (run.validation_folds > 1) w.Key("validation_folds").Int(run.validation_folds);
  w.Key("resolved_customers").Bool(run.resolved_customers);
  w.Key("data").BeginObject();
  w.Key("rows").Int(r.rows).Key("customers").Int(r.customers).Key("items").Int(r.items);
  w.Key("train_rows").Int(r.train_rows).Key("validation_rows").Int(r.validation_rows);
  w.Key("test_rows").Int(r.test_rows).Key("cold_customers").Int(r.cold_customers);
  w.EndObject();
  // The best model's metrics at the top level, keyed by name ("ndcg@10"),
  // so one-model runs read as DESIGN.md promises; every model under "models".
  if (best) {
    w.Key("model").String(best->spec);
    for (const auto& [k, v] : best->metrics) w.Key(k).Double(v);
  }
  w.Key("models").BeginArray();
  for (const auto& m : r.models) {
    w.BeginObject();
    w.Key("spec").String(m.spec);
    if (!m.status.ok()) {
      w.Key("error").BeginObject();
      w.Key("code").String(StatusCodeName(m.status.code())).Key("message").String(m.status.message());
      w.EndObject();
    } else {
      w.Key("model_spec").String(m.model_spec);
      for (const auto& [k, v] : m.metrics) w.Key(k).Double(v);
      w.Key("customers").Int(m.customers);
      if (m.validation_ndcg >= 0) w.Key("validation_" + ndcg_key).Double(m.validation_ndcg);
      w.Key("candidates").Int(m.candidates);
      if (r.protocol == "recbole") {
        w.Key("search_seconds").Double(m.search_seconds).Key("budget_exhausted").Bool(m.budget_exhausted);
      }
    }
    w.Key("fit_seconds").Double(m.fit_seconds);
    w.Key("score_seconds").Double(m.score_seconds);
    w.EndObject();
  }
  w.EndArray();
  w.Key("seconds").Double(seconds);
  w.EndObject();
  return w.str();
}

namespace {

Status RunEvaluate(const Context& ctx, const EvaluateArgs& a) {
  OMNI_ASSIGN_OR_RETURN(Loaded l, LoadFromStore(ctx.data_dir, a.half_life_days));
  recommend::EvaluationOptions o;
  o.protocol = a.protocol;
  o.k = a.k;
  o.seed = a.seed;
  o.threads = a.threads;
  o.search = a.search;
  o.trials = a.trials;
  OMNI_ASSIGN_OR_RETURN(o.budget_seconds, ParseBudget(a.budget));
  o.max_history_items = a.max_history;
  o.validation_ratio = a.validation;
  o.validation_folds = a.validation_folds;
  // Folds carve 1/N each (Evaluate refuses any other --validation).
  const double validation = a.validation_folds > 1 ? 1.0 / a.validation_folds : a.validation;
  OMNI_ASSIGN_OR_RETURN(o.values, ParseValues(a.values, l.data.log));
  if (!a.cutoff.empty()) {
    if (a.protocol != "temporal") return InvalidArgument("--cutoff applies to --protocol temporal only");
    StatusOr<ingest::ParsedTime> t = ingest::ParseTimestamp(a.cutoff);
    if (!t.ok()) t = ingest::ParseLocalTimestamp(a.cutoff, 0);
    if (!t.ok()) return InvalidArgument("--cutoff: " + t.status().message());
    o.cutoff_ms = t->ts_ms;
  }
  auto t0 = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(recommend::EvaluationReport r, recommend::Evaluate(l.data.log, a.specs, o));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const char* values_name = o.values == MatrixValues::kBinary ? "binary" : "weight";
  const std::string ndcg_key = "ndcg@" + std::to_string(a.k);
  {
    EvaluationRun run;
    run.values = o.values;
    run.max_history = a.max_history;
    run.validation = validation;
    run.validation_folds = a.validation_folds;
    run.resolved_customers = l.data.resolved_customers;
    run.seconds = seconds;
    const std::string json = EvaluationReportJson(r, run);
    // Kept for the dashboard's recommendation-quality page (the newest file wins).
    if (Status st = SaveEvaluation(ctx.data_dir, json); !st.ok()) {
      spdlog::warn("evaluation not kept for the dashboard: {}", st.ToString());
    }
    if (ctx.json()) {
      std::fwrite(json.data(), 1, json.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
      return Status::Ok();
    }
  }
  std::printf("protocol %s, k=%d, seed %u, values %s: %lld rows, %lld customers, %lld items; train %lld, "
              "validation %lld, test %lld rows%s\n",
              r.protocol.c_str(), r.k, r.seed, values_name, static_cast<long long>(r.rows),
              static_cast<long long>(r.customers), static_cast<long long>(r.items),
              static_cast<long long>(r.train_rows), static_cast<long long>(r.validation_rows),
              static_cast<long long>(r.test_rows),
              r.cold_customers > 0 ? fmt::format(" ({} cold test customers not evaluated)", r.cold_customers).c_str()
                                   : "");
  const std::string at = "@" + std::to_string(a.k);
  std::vector<std::string> header = {"model"};
  std::vector<std::string> keys = {"ndcg" + at, "precision" + at, "recall" + at, "map" + at,
                                   "hit_rate" + at, "mrr" + at, "coverage" + at};
  for (const auto& k : keys) header.push_back(k);
  header.insert(header.end(), {"customers", "fit s", "score s"});
  Table t(header);
  for (const auto& m : r.models) {
    std::vector<std::string> row = {m.spec};
    if (!m.status.ok()) {
      row.push_back("refused: " + m.status.message());
      while (row.size() < header.size()) row.push_back("");
    } else {
      for (const auto& k : keys) {
        double v = 0;
        for (const auto& [mk, mv] : m.metrics) {
          if (mk == k) v = mv;
        }
        row.push_back(Fixed(v));
      }
      row.push_back(std::to_string(m.customers));
      row.push_back(Fixed(m.fit_seconds, 2));
      row.push_back(Fixed(m.score_seconds, 2));
    }
    t.AddRow(row);
  }
  t.Print();
  if (r.protocol == "recbole" || validation > 0) {
    std::printf("(each model chosen on validation %s%s by %s search%s; test reported)\n", ndcg_key.c_str(),
                a.validation_folds > 1 ? fmt::format(" (mean of {} folds)", a.validation_folds).c_str() : "",
                a.search.c_str(), validation > 0 ? ", refitted on all training rows" : "");
    for (const auto& m : r.models) {
      if (m.status.ok()) {
        std::printf("  %s: %lld points in %.1f s%s, validation %s %.4f\n", m.spec.c_str(),
                    static_cast<long long>(m.candidates), m.search_seconds,
                    m.budget_exhausted ? " (budget reached)" : "", ndcg_key.c_str(), m.validation_ndcg);
      }
    }
  }
  return Status::Ok();
}

// DATA_DIR/models/<name>/<version>.bin, .items, .json (artefact_store.h).
std::string ModelName(const std::string& spec) { return spec.substr(0, spec.find(':')); }

struct TrainArgs {
  std::string spec;
  std::string values = "auto";
  double half_life_days = 0;
};

// Baskets for frequently-bought-together: the purchase lines of one order
// (same customer and order_id: a web order, a till receipt); purchases
// without an order_id are grouped by customer, store and UTC day (one visit).
// A refund with the same customer and order_id takes its item out of the
// basket. Customers are the resolved ones when identity resolution has run,
// else the strongest raw identifier.
struct Baskets {
  std::vector<std::vector<int32_t>> baskets;
  std::vector<std::string> item_ids;
  int64_t purchase_lines = 0;
};

StatusOr<Baskets> ReadBaskets(const std::string& data_dir) {
  if (!fs::exists(fs::path(data_dir) / "omni.db")) return NotFound("no store in " + data_dir + " (run omni import first)");
  store::StoreOptions options;
  options.read_only = true;
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(data_dir, options));
  std::unique_ptr<identity::CustomerDirectory> directory;
  if (auto dir = identity::LoadDirectory(data_dir); dir.ok() && (*dir)->customer_count() > 0) directory = std::move(*dir);
  Baskets out;
  std::unordered_map<std::string, int32_t> item_index;
  std::unordered_map<std::string, std::vector<int32_t>> by_key;
  std::vector<std::pair<std::string, int32_t>> refunds;
  std::string key;
  OMNI_RETURN_IF_ERROR(store->ScanEvents(0, [&](int64_t, const ingest::Event& e) {
    const bool purchase = e.type == "purchase";
    if ((!purchase && e.type != "refund") || e.item_id.empty() || recommend::IsNonProduct(e.properties_json)) {
      return true;
    }
    key.clear();
    if (directory) {
      std::optional<int32_t> c = directory->CustomerOfEvent(e);
      if (c) key = std::to_string(*c);
    }
    if (key.empty()) {
      if (e.identities.empty()) {
        if (e.order_id.empty()) return true;  // no customer and no order: nothing ties the line to a basket
        key = "-";
      } else {
        const ingest::Identity* best = &e.identities[0];
        for (const ingest::Identity& id : e.identities) {
          if (id.type < best->type) best = &id;
        }
        key = std::string(ingest::IdentityTypeName(best->type)) + ":" + best->value;
      }
    }
    key += '\x1f';
    if (!e.order_id.empty()) {
      key += "o:" + e.order_id;
    } else {
      key += "s:" + e.store_id + "\x1f" + std::to_string(e.ts_ms / 86400000);
    }
    auto [it, added] = item_index.try_emplace(e.item_id, static_cast<int32_t>(out.item_ids.size()));
    if (added) out.item_ids.push_back(e.item_id);
    if (purchase) {
      by_key[key].push_back(it->second);
      ++out.purchase_lines;
    } else {
      refunds.emplace_back(key, it->second);
    }
    return true;
  }));
  for (const auto& [k, item] : refunds) {
    auto it = by_key.find(k);
    if (it != by_key.end()) std::erase(it->second, item);
  }
  out.baskets.reserve(by_key.size());
  for (auto& [k, items] : by_key) {
    if (!items.empty()) out.baskets.push_back(std::move(items));
  }
  // Deterministic order (the miner's results do not depend on it, but the
  // artefact bytes then do not either).
  for (auto& b : out.baskets) std::sort(b.begin(), b.end());
  std::sort(out.baskets.begin(), out.baskets.end());
  return out;
}

}  // namespace

StatusOr<TrainedRules> TrainTogetherRules(const std::string& data_dir, const std::string& spec_text) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(spec_text));
  OMNI_ASSIGN_OR_RETURN(recommend::FbtOptions options, recommend::ParseFbtOptions(spec));
  OMNI_ASSIGN_OR_RETURN(Baskets b, ReadBaskets(data_dir));
  if (b.baskets.empty()) return FailedPrecondition("no purchases in " + data_dir + " to build baskets from");
  auto t0 = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(recommend::FrequentlyBoughtTogether fbt,
                        recommend::FrequentlyBoughtTogether::Mine(b.baskets, static_cast<int32_t>(b.item_ids.size()),
                                                                  options));
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t rules = static_cast<int64_t>(fbt.rules().size());
  auto meta = [&](int64_t version) {
    JsonWriter m;
    m.BeginObject().Key("spec").String(fbt.spec()).Key("version").Int(version);
    m.Key("baskets").Int(fbt.basket_count()).Key("items").Int(static_cast<int64_t>(b.item_ids.size()));
    m.Key("min_count").Int(fbt.min_count()).Key("itemsets").Int(static_cast<int64_t>(fbt.itemsets().size()));
    m.Key("rules").Int(rules).Key("fit_seconds").Double(fit_seconds).EndObject();
    return m.str();
  };
  OMNI_ASSIGN_OR_RETURN(recommend::PublishedModel published,
                        recommend::PublishModel(data_dir, "fbt", b.item_ids, meta,
                                                [&](const std::string& tmp) { return fbt.Save(tmp); }));
  TrainedRules out;
  out.spec = fbt.spec();
  out.version = published.version;
  out.path = published.bin_path;
  out.baskets = fbt.basket_count();
  out.purchase_lines = b.purchase_lines;
  out.items = static_cast<int64_t>(b.item_ids.size());
  out.min_count = fbt.min_count();
  out.itemsets = static_cast<int64_t>(fbt.itemsets().size());
  out.rules = rules;
  out.fit_seconds = fit_seconds;
  return out;
}

StatusOr<TrainedModel> TrainRankingModel(const std::string& data_dir, const std::string& spec,
                                         const std::string& values_name, double half_life_days) {
  OMNI_RETURN_IF_ERROR(recommend::MakeRecommender(spec).status());  // a bad spec fails before the store is read
  OMNI_ASSIGN_OR_RETURN(Loaded l, LoadFromStore(data_dir, half_life_days));
  return TrainRankingModel(data_dir, spec, l.data, values_name, half_life_days);
}

StatusOr<TrainedModel> TrainRankingModel(const std::string& data_dir, const std::string& spec,
                                         const recommend::LoadedInteractions& data, const std::string& values_name,
                                         double half_life_days) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<recommend::Recommender> model, recommend::MakeRecommender(spec));
  if (data.log.rows.empty()) return FailedPrecondition("no events usable for recommendation in " + data_dir);
  OMNI_ASSIGN_OR_RETURN(MatrixValues values, ParseValues(values_name, data.log));
  OMNI_ASSIGN_OR_RETURN(recommend::InteractionMatrix m, recommend::ToMatrix(data.log, values));
  auto t0 = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(recommend::FitFromLog(*model, m, data.log));
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto meta = [&](int64_t version) {
    JsonWriter w;
    w.BeginObject().Key("spec").String(model->spec()).Key("version").Int(version);
    w.Key("values").String(values == MatrixValues::kBinary ? "binary" : "weight");
    w.Key("half_life_days").Double(half_life_days);
    w.Key("customers").Int(m.rows).Key("items").Int(m.cols).Key("interactions").Int(m.nnz());
    w.Key("fit_seconds").Double(fit_seconds).EndObject();
    return w.str();
  };
  OMNI_ASSIGN_OR_RETURN(recommend::PublishedModel published,
                        recommend::PublishModel(data_dir, ModelName(spec), data.item_ids, meta,
                                                [&](const std::string& tmp) { return model->Save(tmp); },
                                                // Training rows' customers: serving reuses per-customer state.
                                                static_cast<size_t>(m.rows) == data.customer_keys.size()
                                                    ? data.customer_keys
                                                    : std::vector<std::string>{}));
  TrainedModel out;
  out.spec = model->spec();
  out.version = published.version;
  out.path = published.bin_path;
  out.customers = m.rows;
  out.items = m.cols;
  out.interactions = m.nnz();
  out.fit_seconds = fit_seconds;
  return out;
}

namespace {

Status RunTrainFbt(const Context& ctx, const TrainArgs& a) {
  OMNI_ASSIGN_OR_RETURN(TrainedRules r, TrainTogetherRules(ctx.data_dir, a.spec));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("spec").String(r.spec).Key("version").Int(r.version);
    w.Key("path").String(r.path);
    w.Key("baskets").Int(r.baskets).Key("items").Int(r.items);
    w.Key("min_count").Int(r.min_count).Key("itemsets").Int(r.itemsets);
    w.Key("rules").Int(r.rules).Key("fit_seconds").Double(r.fit_seconds).EndObject();
    PrintJson(w);
  } else {
    Table t({"train", r.spec});
    t.AddRow({"version", std::to_string(r.version)});
    t.AddRow({"artefact", r.path});
    t.AddRow({"baskets", fmt::format("{} ({} purchase lines, {} items)", r.baskets, r.purchase_lines, r.items)});
    t.AddRow({"min count", std::to_string(r.min_count)});
    t.AddRow({"frequent itemsets", std::to_string(r.itemsets)});
    t.AddRow({"rules", std::to_string(r.rules)});
    t.AddRow({"fit", Fixed(r.fit_seconds * 1000, 1) + " ms"});
    t.Print();
  }
  return Status::Ok();
}

Status RunTrain(const Context& ctx, const TrainArgs& a) {
  if (ModelName(a.spec) == "fbt") return RunTrainFbt(ctx, a);
  OMNI_ASSIGN_OR_RETURN(TrainedModel m, TrainRankingModel(ctx.data_dir, a.spec, a.values, a.half_life_days));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("spec").String(m.spec).Key("version").Int(m.version);
    w.Key("path").String(m.path);
    w.Key("customers").Int(m.customers).Key("items").Int(m.items).Key("interactions").Int(m.interactions);
    w.Key("fit_seconds").Double(m.fit_seconds).EndObject();
    PrintJson(w);
  } else {
    Table t({"train", m.spec});
    t.AddRow({"version", std::to_string(m.version)});
    t.AddRow({"artefact", m.path});
    t.AddRow({"customers × items", fmt::format("{} × {} ({} interactions)", m.customers, m.items, m.interactions)});
    t.AddRow({"fit", Fixed(m.fit_seconds, 2) + " s"});
    t.Print();
  }
  return Status::Ok();
}

struct RecommendArgs {
  std::string identifier;
  int k = 10;
  std::string model = "";  // model name; default: the most recently trained
  std::string channel;
  std::string store;
  std::string together;
  std::string segment;
  std::string out;
  std::string fallback;
};

StatusOr<std::shared_ptr<const recommend::RecommendationService>> OpenService(const Context& ctx,
                                                                              const RecommendArgs& a) {
  recommend::ServingOptions options;
  options.model = a.model;
  OMNI_ASSIGN_OR_RETURN(options.rules, recommend::LoadServingRules(ctx.data_dir));
  if (!a.fallback.empty()) options.rules.fallback = a.fallback;
  OMNI_ASSIGN_OR_RETURN(auto service, recommend::RecommendationService::Load(ctx.data_dir, options));
  const auto& info = service->info();
  spdlog::info("recommendation service: {} customers, {} items, {} events; model {} (version {}); rules {}; "
               "fallback {}; loaded in {:.2f} s",
               info.customers, info.items, info.events, info.model.empty() ? "none" : info.model, info.model_version,
               info.rules.empty() ? "none" : fmt::format("{} ({} rules)", info.rules, info.rule_count), info.fallback,
               info.load_seconds);
  return service;
}

void WriteItemsJson(JsonWriter& w, const recommend::RecommendResponse& r) {
  recommend::WriteRecommendedItemsJson(w, r.items);
}

Status RunTogether(const Context& ctx, const RecommendArgs& a,
                   const recommend::RecommendationService& service) {
  OMNI_ASSIGN_OR_RETURN(recommend::TogetherResponse r, service.Together(a.together, a.k, a.channel, a.store));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("item_id").String(r.item_id).Key("title").String(r.title).Key("baskets").Int(r.baskets);
    w.Key("rules").String(service.info().rules).Key("items").BeginArray();
    for (const auto& x : r.items) {
      w.BeginObject().Key("item_id").String(x.item_id).Key("title").String(x.title).Key("category").String(x.category);
      w.Key("count").Int(x.count).Key("support").Double(x.support).Key("confidence").Double(x.confidence);
      w.Key("lift").Double(x.lift).EndObject();
    }
    w.EndArray().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  std::printf("customers who bought %s%s also bought (%lld baskets, %s):\n", r.item_id.c_str(),
              r.title.empty() ? "" : (" (" + r.title + ")").c_str(), static_cast<long long>(r.baskets),
              service.info().rules.c_str());
  Table t({"#", "item", "title", "baskets", "support", "confidence", "lift"});
  for (size_t i = 0; i < r.items.size(); ++i) {
    const auto& x = r.items[i];
    t.AddRow({std::to_string(i + 1), x.item_id, x.title, std::to_string(x.count), Fixed(x.support),
              Fixed(x.confidence, 3), Fixed(x.lift, 2)});
  }
  t.Print();
  if (r.items.empty()) std::printf("(no rule starts from this item at the trained support and confidence)\n");
  return Status::Ok();
}

// Channels that reach a person directly: a campaign there needs consent.
bool NeedsConsent(const std::string& channel) {
  static const char* kDirect[] = {"email", "sms", "app", "social", "miniprogram", "callcenter"};
  return std::find(std::begin(kDirect), std::end(kDirect), channel) != std::end(kDirect);
}

Status RunBatch(const Context& ctx, const RecommendArgs& a, const recommend::RecommendationService& service) {
  if (a.out.empty()) return InvalidArgument("--segment needs --out FILE.jsonl");
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<profile::ProfileStore> profiles, profile::ProfileStore::Open(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(auto build, profiles->LatestBuild());
  if (!build) return FailedPrecondition("no profiles yet: run `omni profiles build` first");
  profile::ProfileFields fields(config.channels);
  OMNI_ASSIGN_OR_RETURN(profile::SegmentStore segments, profile::SegmentStore::Over(profiles->sql()));
  OMNI_ASSIGN_OR_RETURN(auto def, segments.Get(a.segment));
  if (!def) return NotFound("no segment named '" + a.segment + "' (omni segments list)");
  OMNI_ASSIGN_OR_RETURN(profile::SegmentExpression expr,
                        profile::SegmentExpression::Parse(def->expression, fields.catalog()));
  profile::ProfileFields::Row row(fields);
  std::vector<std::string> members;
  int64_t no_consent = 0;
  const bool consent_needed = NeedsConsent(a.channel);
  OMNI_RETURN_IF_ERROR(profiles->ScanProfiles([&](const profile::Profile& p) {
    row.Reset(&p);
    if (!expr.Matches(row)) return true;
    if (consent_needed) {
      const profile::ConsentState* consent = p.ConsentFor(a.channel);
      if (!consent || !consent->granted) {
        ++no_consent;
        return true;
      }
    }
    members.push_back(p.customer_key);
    return true;
  }));
  const std::string tmp = a.out + ".tmp";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) return Internal("cannot create " + tmp);
  auto t0 = std::chrono::steady_clock::now();
  int64_t written = 0, fallback = 0, unknown = 0;
  for (const std::string& key : members) {
    recommend::RecommendRequest req;
    req.customer = key;
    req.channel = a.channel;
    req.store_id = a.store;
    req.k = a.k;
    StatusOr<recommend::RecommendResponse> r = service.Recommend(req);
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kNotFound) return r.status();
      ++unknown;
      continue;
    }
    JsonWriter w;
    w.BeginObject().Key("customer").String(r->customer_key).Key("fallback").Bool(r->fallback);
    WriteItemsJson(w, *r);
    w.EndObject();
    std::string line = w.str();
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), f.get()) != line.size()) return Internal("cannot write " + tmp);
    ++written;
    fallback += r->fallback;
  }
  if (std::fclose(f.release()) != 0) return Internal("cannot write " + tmp);
  std::error_code ec;
  fs::rename(tmp, a.out, ec);
  if (ec) return Internal("cannot publish " + a.out + ": " + ec.message());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("segment").String(a.segment).Key("channel").String(a.channel).Key("out").String(a.out);
    w.Key("members").Int(static_cast<int64_t>(members.size()) + no_consent).Key("written").Int(written);
    w.Key("without_consent").Int(no_consent).Key("fallback").Int(fallback).Key("unknown").Int(unknown);
    w.Key("model").String(service.info().model).Key("seconds").Double(seconds).EndObject();
    PrintJson(w);
  } else {
    std::printf("segment %s: %lld customers written to %s (%lld popularity only%s%s) in %.2f s\n", a.segment.c_str(),
                static_cast<long long>(written), a.out.c_str(), static_cast<long long>(fallback),
                consent_needed ? fmt::format(", {} skipped without {} consent", no_consent, a.channel).c_str() : "",
                unknown ? fmt::format(", {} unknown to the service", unknown).c_str() : "", seconds);
  }
  return Status::Ok();
}

Status RunRecommend(const Context& ctx, const RecommendArgs& a) {
  const int modes = !a.identifier.empty() + !a.together.empty() + !a.segment.empty();
  if (modes != 1) {
    return InvalidArgument("give exactly one of: IDENTIFIER, --together ITEM_ID, --segment NAME --out FILE.jsonl");
  }
  OMNI_ASSIGN_OR_RETURN(auto service, OpenService(ctx, a));
  if (!a.together.empty()) return RunTogether(ctx, a, *service);
  if (!a.segment.empty()) return RunBatch(ctx, a, *service);
  recommend::RecommendRequest req;
  req.customer = a.identifier;
  req.channel = a.channel;
  req.store_id = a.store;
  req.k = a.k;
  auto t0 = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(recommend::RecommendResponse r, service->Recommend(req));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("customer").String(r.customer_key).Key("model").String(r.model);
    w.Key("version").Int(r.model_version).Key("history").Int(r.history_items).Key("fallback").Bool(r.fallback);
    w.Key("channel").String(a.channel).Key("store").String(a.store).Key("milliseconds").Double(ms);
    WriteItemsJson(w, r);
    w.EndObject();
    PrintJson(w);
  } else {
    std::printf("%s: %lld items in history; %s%s%s\n", r.customer_key.c_str(), static_cast<long long>(r.history_items),
                r.model.empty() ? "no trained model" : r.model.c_str(),
                r.model.empty() ? "" : fmt::format(" (version {})", r.model_version).c_str(),
                r.fallback ? "; no personalised candidates: popularity fallback" : "");
    Table t({"#", "item", "title", "category", "score", "why"});
    for (size_t i = 0; i < r.items.size(); ++i) {
      const auto& x = r.items[i];
      t.AddRow({std::to_string(i + 1), x.item_id, x.title, x.category, Fixed(x.score), x.explanation});
    }
    t.Print();
  }
  return Status::Ok();
}

}  // namespace

void AddRecommendCommands(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  auto eval = std::make_shared<EvaluateArgs>();
  CLI::App* e = app.add_subcommand("evaluate", "evaluate recommenders offline on stored events (full ranking)");
  e->add_option("spec", eval->specs, "model specs, e.g. popularity ease:lambda=400 itemknn:k=100 (grids: a|b|c)")
      ->required();
  e->add_option("--protocol", eval->protocol, "msr-stratified, recbole, temporal or leave-last-out")
      ->required()
      ->check(CLI::IsMember({"msr-stratified", "recbole", "temporal", "leave-last-out"}));
  e->add_option("-k", eval->k, "list length")->capture_default_str()->check(CLI::Range(1, 10000));
  e->add_option("--cutoff", eval->cutoff, "temporal: train before this time (default: the 80% time quantile)");
  e->add_option("--seed", eval->seed, "split seed")->capture_default_str();
  e->add_option("--values", eval->values, "auto, binary or weight")->capture_default_str();
  e->add_option("--half-life", eval->half_life_days, "time decay half-life in days (0 = none)");
  e->add_option("--threads", eval->threads, "scoring threads")->capture_default_str()->check(CLI::Range(1, 256));
  e->add_option("--search", eval->search, "recbole: grid (a|b|c) or random (also LO..HI ranges)")
      ->capture_default_str()
      ->check(CLI::IsMember({"grid", "random"}));
  e->add_option("--trials", eval->trials, "random search: points to try")->capture_default_str()->check(CLI::Range(1, 10000));
  e->add_option("--budget", eval->budget, "search time budget per spec, e.g. 120s or 5m (default: none)");
  e->add_option("--validation", eval->validation,
                "msr-stratified: carve this share of each customer's training rows as validation; every SPEC's "
                "points are chosen on it and the winner refitted on all training rows (0 = none)")
      ->check(CLI::Range(0.0, 0.9));
  e->add_option("--validation-folds", eval->validation_folds,
                "msr-stratified: choose on N disjoint validation parts (1/N of each customer's training rows "
                "each), by the mean validation NDCG (1 = one carve)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  e->add_option("--max-history", eval->max_history,
                "item-kNN/EASE score from each customer's N most recent items, as serving's max_history_items "
                "(0 = all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000000));
  registry.emplace_back(e, [&ctx, eval]() { return RunEvaluate(ctx, *eval); });

  auto train = std::make_shared<TrainArgs>();
  CLI::App* t = app.add_subcommand("train", "fit a recommender on all stored events and save a versioned artefact");
  t->add_option("spec", train->spec, "model spec, e.g. ease:lambda=400")->required();
  t->add_option("--values", train->values, "auto, binary or weight")->capture_default_str();
  t->add_option("--half-life", train->half_life_days, "time decay half-life in days (0 = none)");
  registry.emplace_back(t, [&ctx, train]() { return RunTrain(ctx, *train); });

  auto rec = std::make_shared<RecommendArgs>();
  CLI::App* r = app.add_subcommand(
      "recommend", "top-k items for a customer (business rules applied), a segment's batch, or --together ITEM_ID");
  CLI::Option* who = r->add_option("identifier", rec->identifier,
                                   "customer key (C000000123) or TYPE:VALUE (member_card:M0042, phone:+8613800138000)");
  r->add_option("-k", rec->k, "list length")->capture_default_str()->check(CLI::Range(1, 1000));
  r->add_option("--model", rec->model, "model name (default: the most recently trained)");
  r->add_option("--channel", rec->channel, "the channel the list is for (availability, popularity fallback)");
  r->add_option("--store", rec->store, "the store the list is for (availability, popularity fallback)");
  CLI::Option* together =
      r->add_option("--together", rec->together, "customers who bought ITEM_ID also bought (FBT rules)")->excludes(who);
  r->add_option("--segment", rec->segment, "batch: every customer of this stored segment (omni segments list)")
      ->excludes(who)
      ->excludes(together);
  r->add_option("--out", rec->out, "batch: write one JSON line per customer to this file");
  r->add_option("--fallback", rec->fallback,
                "popularity fallback: popularity[:by=channel|store|segment|category|global] or trending:window=7d");
  registry.emplace_back(r, [&ctx, rec]() { return RunRecommend(ctx, *rec); });
}

}  // namespace omni::cli
