// omni evaluate · omni train · omni recommend: the recommendation commands.
// They read events from the store, build the interaction log with
// recommend/interactions.h (customers from the identity directory when
// resolution has run), and hand the numbers to recommend/.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unordered_map>

#include "omni/cli/commands.h"
#include "omni/ingest/timestamp.h"
#include "omni/recommend/evaluation.h"
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
};

Status RunEvaluate(const Context& ctx, const EvaluateArgs& a) {
  OMNI_ASSIGN_OR_RETURN(Loaded l, LoadFromStore(ctx.data_dir, a.half_life_days));
  recommend::EvaluationOptions o;
  o.protocol = a.protocol;
  o.k = a.k;
  o.seed = a.seed;
  o.threads = a.threads;
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
  const std::string ndcg_key = "ndcg@" + std::to_string(a.k);
  const recommend::ModelResult* best = nullptr;
  for (const auto& m : r.models) {
    if (!m.status.ok()) continue;
    auto v = [&](const recommend::ModelResult& x) {
      for (const auto& [k, val] : x.metrics) {
        if (k == ndcg_key) return val;
      }
      return -1.0;
    };
    if (!best || v(m) > v(*best)) best = &m;
  }
  const char* values_name = o.values == MatrixValues::kBinary ? "binary" : "weight";
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("protocol").String(r.protocol);
    w.Key("k").Int(r.k);
    w.Key("seed").Int(r.seed);
    if (r.protocol == "temporal") w.Key("cutoff").String(ingest::FormatTimestamp(r.cutoff_ms, 0));
    w.Key("values").String(values_name);
    w.Key("resolved_customers").Bool(l.data.resolved_customers);
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
      }
      w.Key("fit_seconds").Double(m.fit_seconds);
      w.Key("score_seconds").Double(m.score_seconds);
      w.EndObject();
    }
    w.EndArray();
    w.Key("seconds").Double(seconds);
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
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
  if (r.protocol == "recbole") std::printf("(each model's grid chosen on validation %s; test reported)\n", ndcg_key.c_str());
  return Status::Ok();
}

// DATA_DIR/models/<name>/ and the next version number in it.
std::string ModelName(const std::string& spec) { return spec.substr(0, spec.find(':')); }

StatusOr<int64_t> LatestVersion(const fs::path& dir) {
  int64_t latest = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return latest;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 4 && name.ends_with(".bin") && name.find(".tmp") == std::string::npos) {
      latest = std::max<int64_t>(latest, std::strtoll(name.c_str(), nullptr, 10));
    }
  }
  if (ec) return Internal("cannot list " + dir.string() + ": " + ec.message());
  return latest;
}

Status WriteText(const fs::path& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Internal("cannot create " + path.string());
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? Status::Ok() : Internal("cannot write " + path.string());
}

struct TrainArgs {
  std::string spec;
  std::string values = "auto";
  double half_life_days = 0;
};

Status RunTrain(const Context& ctx, const TrainArgs& a) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<recommend::Recommender> model, recommend::MakeRecommender(a.spec));
  OMNI_ASSIGN_OR_RETURN(Loaded l, LoadFromStore(ctx.data_dir, a.half_life_days));
  OMNI_ASSIGN_OR_RETURN(MatrixValues values, ParseValues(a.values, l.data.log));
  OMNI_ASSIGN_OR_RETURN(recommend::InteractionMatrix m, recommend::ToMatrix(l.data.log, values));
  auto t0 = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(model->Fit(m));
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const fs::path dir = fs::path(ctx.data_dir) / "models" / ModelName(a.spec);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  OMNI_ASSIGN_OR_RETURN(int64_t latest, LatestVersion(dir));
  const int64_t version = latest + 1;
  const std::string stem = fmt::format("{:06d}", version);
  // The item list and metadata go first, the model last: a reader keys on
  // the .bin, so it never sees a version without its sidecars. Each file is
  // written under a temporary name and renamed (atomic publish).
  std::string items;
  for (const std::string& id : l.data.item_ids) items += id + "\n";
  JsonWriter meta;
  meta.BeginObject().Key("spec").String(model->spec()).Key("version").Int(version);
  meta.Key("values").String(values == MatrixValues::kBinary ? "binary" : "weight");
  meta.Key("half_life_days").Double(a.half_life_days);
  meta.Key("customers").Int(m.rows).Key("items").Int(m.cols).Key("interactions").Int(m.nnz());
  meta.Key("fit_seconds").Double(fit_seconds).EndObject();
  const std::vector<std::pair<std::string, std::string>> sidecars = {{stem + ".items", items},
                                                                     {stem + ".json", meta.str()}};
  for (const auto& [name, text] : sidecars) {
    OMNI_RETURN_IF_ERROR(WriteText(dir / (name + ".tmp"), text));
    fs::rename(dir / (name + ".tmp"), dir / name, ec);
    if (ec) return Internal("cannot publish " + (dir / name).string() + ": " + ec.message());
  }
  const fs::path final_path = dir / (stem + ".bin");
  const fs::path tmp = dir / (stem + ".bin.tmp");
  OMNI_RETURN_IF_ERROR(model->Save(tmp.string()));
  fs::rename(tmp, final_path, ec);
  if (ec) return Internal("cannot publish " + final_path.string() + ": " + ec.message());

  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("spec").String(model->spec()).Key("version").Int(version);
    w.Key("path").String(final_path.string());
    w.Key("customers").Int(m.rows).Key("items").Int(m.cols).Key("interactions").Int(m.nnz());
    w.Key("fit_seconds").Double(fit_seconds).EndObject();
    PrintJson(w);
  } else {
    Table t({"train", model->spec()});
    t.AddRow({"version", std::to_string(version)});
    t.AddRow({"artefact", final_path.string()});
    t.AddRow({"customers × items", fmt::format("{} × {} ({} interactions)", m.rows, m.cols, m.nnz())});
    t.AddRow({"fit", Fixed(fit_seconds, 2) + " s"});
    t.Print();
  }
  return Status::Ok();
}

struct RecommendArgs {
  std::string identifier;
  int k = 10;
  std::string model = "";  // model name; default: the most recently trained
};

Status RunRecommend(const Context& ctx, const RecommendArgs& a) {
  // The artefact: the newest version of the named model, or of any model.
  const fs::path models = fs::path(ctx.data_dir) / "models";
  fs::path chosen_dir;
  int64_t version = 0;
  fs::file_time_type newest{};
  std::error_code ec;
  if (fs::exists(models, ec)) {
    for (const auto& e : fs::directory_iterator(models, ec)) {
      if (!e.is_directory() || (!a.model.empty() && e.path().filename() != a.model)) continue;
      OMNI_ASSIGN_OR_RETURN(int64_t v, LatestVersion(e.path()));
      if (v == 0) continue;
      auto when = fs::last_write_time(e.path() / fmt::format("{:06d}.bin", v), ec);
      if (chosen_dir.empty() || when > newest) {
        chosen_dir = e.path();
        version = v;
        newest = when;
      }
    }
  }
  if (chosen_dir.empty()) return FailedPrecondition("no trained model in " + models.string() + " (run omni train SPEC)");
  const std::string stem = fmt::format("{:06d}", version);
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<recommend::Recommender> model,
                        recommend::MakeRecommender(chosen_dir.filename().string()));
  OMNI_RETURN_IF_ERROR(model->Load((chosen_dir / (stem + ".bin")).string()));
  std::vector<std::string> model_items;
  {
    std::FILE* f = std::fopen((chosen_dir / (stem + ".items")).c_str(), "rb");
    if (!f) return NotFound("model item list missing: " + (chosen_dir / (stem + ".items")).string());
    std::string text;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
      model_items.push_back(text.substr(start, nl - start));
    }
  }
  if (static_cast<int32_t>(model_items.size()) != model->item_count()) {
    return Internal("model and its item list disagree on the item count");
  }
  // The customer's history, fresh from the store (events since training count).
  OMNI_ASSIGN_OR_RETURN(Loaded l, LoadFromStore(ctx.data_dir, 0));
  std::optional<int32_t> customer;
  if (l.data.resolved_customers) {
    if (auto c = l.directory->DenseIdOfKey(a.identifier)) {
      customer = c;
    } else if (size_t colon = a.identifier.find(':'); colon != std::string::npos) {
      // TODO(issue 4): hashed identifier types (phone, email) need the
      // pseudonymiser (identity::ParseIdentifier) to find their stored form.
      if (auto type = ingest::ParseIdentityType(a.identifier.substr(0, colon))) {
        customer = l.directory->CustomerOf(ingest::Identity{*type, a.identifier.substr(colon + 1)});
      }
    }
  } else {
    for (size_t c = 0; c < l.data.customer_keys.size(); ++c) {
      if (l.data.customer_keys[c] == a.identifier) customer = static_cast<int32_t>(c);
    }
  }
  if (!customer) return NotFound("unknown customer '" + a.identifier + "'");
  std::unordered_map<std::string, int32_t> index;
  for (size_t j = 0; j < model_items.size(); ++j) index.emplace(model_items[j], static_cast<int32_t>(j));
  recommend::InteractionLog mine;
  mine.customers = 1;
  mine.items = model->item_count();
  for (const auto& x : l.data.log.rows) {
    if (x.customer != *customer) continue;
    auto it = index.find(l.data.item_ids[x.item]);
    if (it == index.end()) continue;  // an item newer than the model
    recommend::Interaction y = x;
    y.customer = 0;
    y.item = it->second;
    mine.rows.push_back(y);
  }
  OMNI_ASSIGN_OR_RETURN(recommend::InteractionMatrix history, recommend::ToMatrix(mine, MatrixValues::kWeight));
  std::vector<float> scores(model->item_count());
  const int32_t row = 0;
  auto t0 = std::chrono::steady_clock::now();
  model->Score(std::span<const int32_t>(&row, 1), history, scores.data());
  std::vector<char> bought(model->item_count(), 0);
  for (int32_t j : history.RowIndices(0)) bought[j] = 1;
  std::vector<recommend::ScoredItem> top;
  recommend::TopK(scores.data(), model->item_count(), a.k, [&](int32_t j) { return bought[j] != 0; }, top);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // TODO(issue 4): business rules — stock and channel/store availability,
  // repeat-purchase categories, refunded items, category diversity,
  // popularity fallback for customers with no history, explanations.
  std::vector<std::string> titles;
  for (const auto& s : top) {
    StatusOr<std::optional<ingest::Item>> item = l.store->GetItem(model_items[s.item]);
    titles.push_back(item.ok() && item->has_value() ? (*item)->title : "");
  }
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("customer").String(a.identifier).Key("model").String(model->spec());
    w.Key("version").Int(version).Key("history").Int(history.nnz()).Key("milliseconds").Double(ms);
    w.Key("items").BeginArray();
    for (size_t i = 0; i < top.size(); ++i) {
      w.BeginObject().Key("item_id").String(model_items[top[i].item]).Key("title").String(titles[i]);
      w.Key("score").Double(top[i].score).EndObject();
    }
    w.EndArray().EndObject();
    PrintJson(w);
  } else {
    std::printf("%s: %lld items in history; %s (version %lld)\n", a.identifier.c_str(),
                static_cast<long long>(history.nnz()), model->spec().c_str(), static_cast<long long>(version));
    Table t({"#", "item", "title", "score"});
    for (size_t i = 0; i < top.size(); ++i) {
      t.AddRow({std::to_string(i + 1), model_items[top[i].item], titles[i], Fixed(top[i].score)});
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
  registry.emplace_back(e, [&ctx, eval]() { return RunEvaluate(ctx, *eval); });

  auto train = std::make_shared<TrainArgs>();
  CLI::App* t = app.add_subcommand("train", "fit a recommender on all stored events and save a versioned artefact");
  t->add_option("spec", train->spec, "model spec, e.g. ease:lambda=400")->required();
  t->add_option("--values", train->values, "auto, binary or weight")->capture_default_str();
  t->add_option("--half-life", train->half_life_days, "time decay half-life in days (0 = none)");
  registry.emplace_back(t, [&ctx, train]() { return RunTrain(ctx, *train); });

  auto rec = std::make_shared<RecommendArgs>();
  CLI::App* r = app.add_subcommand("recommend", "top-k items for one customer from the latest trained model");
  r->add_option("identifier", rec->identifier, "customer key (C000000123) or type:value")->required();
  r->add_option("-k", rec->k, "list length")->capture_default_str()->check(CLI::Range(1, 10000));
  r->add_option("--model", rec->model, "model name (default: the most recently trained)");
  registry.emplace_back(r, [&ctx, rec]() { return RunRecommend(ctx, *rec); });
}

}  // namespace omni::cli
