// omni propensity train | score | report: who will buy, and why (issue 5).
//
// train   fits every model on a feature table (CSV from `omni features build`
//         or the user's own), measures it on held-out rows and saves the
//         artefacts under DATA_DIR/models/propensity/<name>/.
// score   scores a feature table with the latest training's best (or a named)
//         model, writes the scores to the customer_scores table (segment
//         field propensity.<name>), prints reason codes for a few customers.
// report  prints the latest training again: metrics, reliability, lift.
// The work lives in predict/propensity_training.h; TrainOnTable / ScoreRows
// take a FeatureTable so the table can also come from the store directly.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <unordered_map>

#include "omni/cli/commands.h"
#include "omni/cli/features_build.h"
#include "omni/ingest/timestamp.h"
#include "omni/predict/feature_table.h"
#include "omni/predict/propensity_training.h"
#include "omni/profile/scores_store.h"
#include "omni/store/sqlite_sql.h"

namespace omni::cli {
namespace {

using predict::FeatureTable;
using predict::TrainingResult;

std::string Fixed(double v, int digits = 4) { return std::isnan(v) ? "-" : fmt::format("{:.{}f}", v, digits); }
std::string Percent(double v) { return std::isnan(v) ? "-" : fmt::format("{:.1f}%", 100 * v); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<int64_t> ParseDate(const std::string& text, const char* flag) {
  StatusOr<ingest::ParsedTime> t = ingest::ParseTimestamp(text);
  if (!t.ok()) t = ingest::ParseLocalTimestamp(text, 0);
  if (!t.ok()) return InvalidArgument(std::string(flag) + ": " + t.status().message());
  return t->ts_ms;
}

// The trained name to report on: the given one, else purchase_90d when it
// exists, else the only one.
StatusOr<std::string> ChooseName(const Context& ctx, const std::string& given) {
  if (!given.empty()) return given;
  std::vector<std::string> names = predict::TrainedNames(ctx.data_dir);
  if (names.empty()) return NotFound("no propensity model trained in " + ctx.data_dir + " (omni propensity train)");
  if (std::find(names.begin(), names.end(), "purchase_90d") != names.end()) return std::string("purchase_90d");
  if (names.size() == 1) return names[0];
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return InvalidArgument("several propensity models are trained (" + list + "): choose one with --name");
}

// ---------------------------------------------------------------- report

void PrintMetricsTable(const TrainingResult& r) {
  Table t({"model", "ROC AUC", "lift top 10%", "PR AUC", "log loss", "Brier", "accuracy", "threshold",
           "calibration", "fit s", "fit"});
  for (size_t i = 0; i < r.models.size(); ++i) {
    const predict::ModelResult& m = r.models[i];
    const std::string label = m.model_name + (static_cast<int>(i) == r.best ? " (best)" : "");
    if (!m.error.empty()) {
      t.AddRow({label, "failed: " + m.error, "", "", "", "", "", "", "", Fixed(m.fit_seconds, 2), ""});
      continue;
    }
    t.AddRow({label, Fixed(m.test.roc_auc), Fixed(m.test.lift_top_decile, 2), Fixed(m.test.average_precision),
              Fixed(m.test.log_loss), Fixed(m.test.brier), Percent(m.test.accuracy), Fixed(m.test.threshold, 3),
              m.calibration.calibrator.method_name(), Fixed(m.fit_seconds, 2), m.fit_summary});
  }
  t.Print();
  if (r.best >= 0) {
    const predict::BinaryMetrics& b = r.models[r.best].test;
    std::printf(
        "\nMetrics on the %lld test rows (base rate %s), which played no part in fitting, early stopping, "
        "calibration or the threshold.\nAccuracy misleads at low base rates: always answering the more common outcome "
        "is %s accurate here. Judge the models by ROC AUC (ranking) and lift (how many more buyers the top 10%% holds); "
        "accuracy is at the threshold with the best F1 on validation.\n",
        static_cast<long long>(b.rows), Percent(b.base_rate).c_str(), Percent(b.majority_accuracy).c_str());
  }
}

void PrintReliability(const predict::ModelResult& m) {
  std::printf("\nReliability of %s (test rows, %s calibration): mean predicted vs observed per bin\n",
              m.model_name.c_str(), m.calibration.calibrator.method_name().c_str());
  Table t({"predicted", "customers", "mean predicted", "observed"});
  for (const auto& b : m.reliability) {
    t.AddRow({fmt::format("{:.1f}-{:.1f}", b.lower, b.upper), std::to_string(b.count),
              b.count ? Fixed(b.mean_predicted, 3) : "-", b.count ? Fixed(b.observed_rate, 3) : "-"});
  }
  t.Print();
}

void PrintLift(const predict::ModelResult& m) {
  std::printf("\nLift of %s by decile (test rows, highest scores first)\n", m.model_name.c_str());
  Table t({"decile", "customers", "buyers", "rate", "lift", "cumulative share of buyers"});
  for (const auto& l : m.lift) {
    t.AddRow({std::to_string(l.decile), std::to_string(l.count), std::to_string(l.positives), Percent(l.rate),
              Fixed(l.lift, 2), Percent(l.cumulative_capture)});
  }
  t.Print();
}

void PrintHeader(const TrainingResult& r, const std::string& path) {
  std::printf("propensity %s version %lld, trained %s from %s\n", r.name.c_str(), static_cast<long long>(r.version),
              ingest::FormatTimestamp(r.trained_at_ms, 0).c_str(), r.source.empty() ? "-" : r.source.c_str());
  std::printf("%zu features; %lld train, %lld validation, %lld test rows; train base rate %s\nsplit: %s\n",
              r.columns.size(), static_cast<long long>(r.train_rows), static_cast<long long>(r.validation_rows),
              static_cast<long long>(r.test_rows), Percent(r.train_base_rate).c_str(), r.split_rule.c_str());
  if (!path.empty()) std::printf("artefacts: %s\n", path.c_str());
  std::printf("\n");
}

struct ReportArgs {
  std::string name;
  int64_t version = 0;
  std::string model;  // "best" or a model name
};

StatusOr<int> ModelIndex(const TrainingResult& r, const std::string& model) {
  if (model.empty() || model == "best") {
    if (r.best < 0) return FailedPrecondition("no model of this training fitted");
    return r.best;
  }
  for (size_t i = 0; i < r.models.size(); ++i) {
    if ((r.models[i].model_name == model || r.models[i].spec == model) && r.models[i].error.empty()) {
      return static_cast<int>(i);
    }
  }
  return NotFound("no fitted model '" + model + "' in propensity " + r.name + " version " + std::to_string(r.version));
}

Status RunReport(const Context& ctx, const ReportArgs& a) {
  OMNI_ASSIGN_OR_RETURN(std::string name, ChooseName(ctx, a.name));
  OMNI_ASSIGN_OR_RETURN(TrainingResult r, predict::LoadTraining(ctx.data_dir, name, a.version, false));
  OMNI_ASSIGN_OR_RETURN(int index, ModelIndex(r, a.model));
  if (ctx.json()) {
    JsonWriter w;
    predict::WriteTrainingJson(w, r);
    PrintJson(w);
    return Status::Ok();
  }
  PrintHeader(r, "");
  PrintMetricsTable(r);
  PrintReliability(r.models[index]);
  PrintLift(r.models[index]);
  return Status::Ok();
}

// ---------------------------------------------------------------- train

struct TrainArgs {
  std::string features;
  std::string cutoffs;  // instead of --features: build the table from the store
  std::string horizon = "90d";
  std::string models;              // comma-separated names
  std::vector<std::string> specs;  // full specs (--spec, repeatable)
  std::string name = "purchase_90d";
  uint64_t seed = 42;
  std::string test_cutoff;
  std::string write_split;
  bool no_refit = false;
};

StatusOr<std::vector<std::string>> SpecsOf(const TrainArgs& a) {
  std::vector<std::string> specs = a.specs;
  if (!a.models.empty()) {
    const std::vector<std::string> defaults = predict::DefaultPropensitySpecs();
    size_t start = 0;
    while (start <= a.models.size()) {
      size_t comma = a.models.find(',', start);
      if (comma == std::string::npos) comma = a.models.size();
      std::string m = a.models.substr(start, comma - start);
      start = comma + 1;
      if (m.empty()) continue;
      auto it = std::find_if(defaults.begin(), defaults.end(),
                             [&](const std::string& d) { return d.substr(0, d.find(':')) == m; });
      if (it == defaults.end()) {
        return InvalidArgument("--models: unknown model '" + m +
                               "' (known: xgboost, logistic, tree, naive-bayes, blend; use --spec for parameters)");
      }
      specs.push_back(*it);
    }
  }
  return specs;
}

// Which part each row went to, for checking the split with other tools
// (bench/propensity_reference.py trains scikit-learn on the same rows).
Status WriteSplit(const FeatureTable& table, const predict::RowSplit& split, const std::string& path) {
  std::vector<const char*> part(table.rows(), "");
  for (int64_t r : split.train) part[r] = "train";
  for (int64_t r : split.validation) part[r] = "validation";
  for (int64_t r : split.test) part[r] = "test";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "row,part\n";
  for (int64_t r = 0; r < table.rows(); ++r) out << r << ',' << part[r] << '\n';
  out.close();
  if (!out) return Internal("cannot write " + path);
  return Status::Ok();
}

}  // namespace

// Trains on a table from anywhere (CSV or built from the store) and reports.
Status TrainOnTable(const Context& ctx, const FeatureTable& table, const std::string& source, const TrainArgs& a) {
  OMNI_RETURN_IF_ERROR(predict::ValidateScoreName(a.name));
  predict::TrainOptions o;
  OMNI_ASSIGN_OR_RETURN(o.specs, SpecsOf(a));
  o.split.seed = a.seed;
  o.refit = !a.no_refit;
  if (!a.test_cutoff.empty()) {
    OMNI_ASSIGN_OR_RETURN(o.split.test_cutoff_ms, ParseDate(a.test_cutoff, "--test-cutoff"));
  }
  if (!a.write_split.empty()) {
    OMNI_ASSIGN_OR_RETURN(predict::RowSplit split, predict::SplitRows(table, o.split));
    OMNI_RETURN_IF_ERROR(WriteSplit(table, split, a.write_split));
  }
  OMNI_ASSIGN_OR_RETURN(TrainingResult r, predict::TrainPropensity(table, o));
  r.name = a.name;
  r.source = source;
  OMNI_ASSIGN_OR_RETURN(int64_t version, predict::SaveTraining(ctx.data_dir, r));
  const std::string dir = ctx.data_dir + "/models/propensity/" + a.name;
  if (ctx.json()) {
    JsonWriter w;
    predict::WriteTrainingJson(w, r);
    PrintJson(w);
    return Status::Ok();
  }
  PrintHeader(r, fmt::format("{}/{:06d}.json", dir, version));
  PrintMetricsTable(r);
  PrintLift(r.models[r.best]);
  std::printf("\nnext: omni propensity score --features FILE.csv --name %s   (reliability: omni propensity report)\n",
              a.name.c_str());
  return Status::Ok();
}

namespace {

Status RunTrain(const Context& ctx, const TrainArgs& a) {
  if (!a.cutoffs.empty()) {
    OMNI_ASSIGN_OR_RETURN(FeatureTable built, BuildFeaturesFromStore(ctx, a.cutoffs, a.horizon));
    spdlog::info("features at {} (horizon {}): {} rows x {} features", a.cutoffs, a.horizon, built.rows(),
                 built.cols());
    return TrainOnTable(ctx, built, "store, cutoffs " + a.cutoffs + ", horizon " + a.horizon, a);
  }
  if (a.features.empty()) return InvalidArgument("--features FILE.csv is required (omni features build --out FILE.csv)");
  OMNI_ASSIGN_OR_RETURN(FeatureTable table, predict::ReadFeatureCsv(a.features));
  spdlog::info("{}: {} rows x {} features", a.features, table.rows(), table.cols());
  return TrainOnTable(ctx, table, a.features, a);
}

// ---------------------------------------------------------------- score

struct ScoreArgs {
  std::string features;
  std::string name = "purchase_90d";
  std::string model = "best";
  std::string out;
  int show = 5;
};

// One row per customer: with stacked cutoffs, the latest cutoff's row.
FeatureTable LatestRowPerCustomer(const FeatureTable& t) {
  std::unordered_map<std::string, int64_t> latest;
  for (int64_t r = 0; r < t.rows(); ++r) {
    auto [it, fresh] = latest.try_emplace(t.customer_keys[r], r);
    if (!fresh && t.cutoff_ms[r] >= t.cutoff_ms[it->second]) it->second = r;
  }
  if (static_cast<int64_t>(latest.size()) == t.rows()) return t;
  std::vector<int64_t> rows;
  for (const auto& [k, r] : latest) rows.push_back(r);
  std::sort(rows.begin(), rows.end());
  return predict::Subset(t, rows);
}

std::string ReasonText(const std::vector<predict::Reason>& reasons) {
  std::string s;
  for (const auto& r : reasons) {
    if (!s.empty()) s += "; ";
    s += fmt::format("{}={} ({:+.2f})", r.feature, std::isnan(r.value) ? "missing" : fmt::format("{:g}", r.value),
                     r.contribution);
  }
  return s;
}

}  // namespace

// Scores a table from anywhere with a trained model and writes the scores back.
Status ScoreRows(const Context& ctx, const FeatureTable& input, const ScoreArgs& a) {
  OMNI_ASSIGN_OR_RETURN(TrainingResult r, predict::LoadTraining(ctx.data_dir, a.name, 0, true));
  OMNI_ASSIGN_OR_RETURN(int index, ModelIndex(r, a.model));
  const FeatureTable table = LatestRowPerCustomer(input);
  if (table.rows() == 0) return InvalidArgument("the feature table has no rows to score");
  OMNI_ASSIGN_OR_RETURN(predict::Scored scored, predict::ScoreTable(r, index, table, true));
  for (const auto& c : scored.ignored_columns) spdlog::warn("column '{}' is not a feature of the model: ignored", c);
  const predict::ModelResult& m = r.models[index];
  const std::string field = "propensity." + a.name;
  const std::string model_version = fmt::format("{}/{:06d}/{}", a.name, r.version, m.model_name);
  std::vector<std::pair<std::string, double>> rows;
  rows.reserve(table.rows());
  for (int64_t i = 0; i < table.rows(); ++i) rows.emplace_back(table.customer_keys[i], scored.probability[i]);
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(profile::ScoresStore scores, profile::ScoresStore::Over(*sql));
  OMNI_RETURN_IF_ERROR(scores.Replace(field, model_version, NowMs(), rows));

  const int32_t d = static_cast<int32_t>(r.columns.size());
  std::vector<predict::Reason> up, down;
  auto reasons_of = [&](int64_t i) {
    predict::TopReasons(r.columns, &scored.contributions[static_cast<size_t>(i) * (d + 1)],
                        &scored.aligned.values[static_cast<size_t>(i) * d], 3, up, down);
  };
  if (!a.out.empty()) {
    std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
    out << "customer_key,score,up1,up2,up3,down1,down2,down3\n";
    for (int64_t i = 0; i < table.rows(); ++i) {
      reasons_of(i);
      out << table.customer_keys[i] << ',' << fmt::format("{:.6f}", scored.probability[i]);
      for (size_t k = 0; k < 3; ++k) out << ',' << (k < up.size() ? up[k].feature : "");
      for (size_t k = 0; k < 3; ++k) out << ',' << (k < down.size() ? down[k].feature : "");
      out << '\n';
    }
    out.close();
    if (!out) return Internal("cannot write " + a.out);
  }
  // Summary: how many customers at each level, and the highest-scored ones.
  int64_t at_threshold = 0;
  double sum = 0;
  for (double p : scored.probability) {
    at_threshold += p >= m.test.threshold;
    sum += p;
  }
  std::vector<int64_t> order(table.rows());
  for (int64_t i = 0; i < table.rows(); ++i) order[i] = i;
  const size_t show = std::min<size_t>(order.size(), static_cast<size_t>(std::max(0, a.show)));
  std::partial_sort(order.begin(), order.begin() + show, order.end(),
                    [&](int64_t x, int64_t y) { return scored.probability[x] > scored.probability[y]; });
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("name").String(a.name).Key("field").String(field);
    w.Key("version").Int(r.version).Key("model").String(m.spec).Key("model_version").String(model_version);
    w.Key("customers").Int(table.rows()).Key("rows_read").Int(input.rows());
    w.Key("mean_score").Double(sum / static_cast<double>(table.rows()));
    w.Key("threshold").Double(m.test.threshold).Key("at_or_above_threshold").Int(at_threshold);
    w.Key("customers_shown").BeginArray();
    for (size_t k = 0; k < show; ++k) {
      const int64_t i = order[k];
      reasons_of(i);
      w.BeginObject().Key("customer_key").String(table.customer_keys[i]).Key("score").Double(scored.probability[i]);
      for (const auto* list : {&up, &down}) {
        w.Key(list == &up ? "up" : "down").BeginArray();
        for (const auto& x : *list) {
          w.BeginObject().Key("feature").String(x.feature).Key("value").Double(x.value);
          w.Key("contribution").Double(x.contribution).EndObject();
        }
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  std::printf("scored %lld customers (%lld rows read) with %s, version %lld; written as segment field %s\n",
              static_cast<long long>(table.rows()), static_cast<long long>(input.rows()), m.spec.c_str(),
              static_cast<long long>(r.version), field.c_str());
  std::printf("mean score %.4f; %lld customers at or above the contact threshold %.3f\n\n",
              sum / static_cast<double>(table.rows()), static_cast<long long>(at_threshold), m.test.threshold);
  Table t({"customer", "score", "pushed up by", "pushed down by"});
  for (size_t k = 0; k < show; ++k) {
    const int64_t i = order[k];
    reasons_of(i);
    t.AddRow({table.customer_keys[i], Fixed(scored.probability[i], 3), ReasonText(up), ReasonText(down)});
  }
  t.Print();
  std::printf("\n(reason codes: each feature's contribution to the log-odds; e.g. omni segments create hot '%s > "
              "%.2f')\n",
              field.c_str(), m.test.threshold);
  return Status::Ok();
}

namespace {

Status RunScore(const Context& ctx, const ScoreArgs& a) {
  if (a.features.empty()) return InvalidArgument("--features FILE.csv is required (omni features build --out FILE.csv)");
  OMNI_RETURN_IF_ERROR(predict::ValidateScoreName(a.name));
  OMNI_ASSIGN_OR_RETURN(FeatureTable table, predict::ReadFeatureCsv(a.features));
  return ScoreRows(ctx, table, a);
}

}  // namespace

void AddPropensityCommands(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  CLI::App* p = app.add_subcommand("propensity", "Who will buy: train | score | report propensity models");
  p->require_subcommand(1);

  auto train = std::make_shared<TrainArgs>();
  CLI::App* t = p->add_subcommand("train", "Fit XGBoost, logistic regression, a decision tree and naive Bayes on a "
                                           "feature table; metrics on held-out rows");
  // Exactly one source of rows: a feature table, or cutoffs to build one from
  // the store (CLI11 answers neither or both as a usage error, exit 2).
  CLI::Option_group* rows = t->add_option_group("rows", "where the training rows come from (one of)");
  rows->add_option("--features", train->features, "feature table CSV (omni features build --out, or your own)");
  rows->add_option("--cutoff", train->cutoffs, "build the table from the store at these cutoffs (DATE[,DATE...])");
  rows->require_option(1);
  t->add_option("--horizon", train->horizon, "with --cutoff: the label's horizon (90d, 12w, 48h)")
      ->capture_default_str();
  t->add_option("--models", train->models, "comma-separated: xgboost,logistic,tree,naive-bayes,blend (default: all)");
  t->add_option("--spec", train->specs, "a model with parameters, e.g. xgboost:depth=4,eta=0.05 (repeatable)");
  t->add_option("--name", train->name, "what is predicted; scores become segment field propensity.NAME")
      ->capture_default_str();
  t->add_option("--seed", train->seed, "seed of the stratified random splits")->capture_default_str();
  t->add_option("--test-cutoff", train->test_cutoff, "rows of this cutoff are the test part (several cutoffs)");
  t->add_option("--write-split", train->write_split, "write row,part (train/validation/test) to this CSV");
  t->add_flag("--no-refit", train->no_refit,
               "keep the models fitted on the train rows only (default: refit on train + validation once early "
               "stopping, calibration and the threshold are chosen)");
  registry.emplace_back(t, [&ctx, train]() { return RunTrain(ctx, *train); });

  auto score = std::make_shared<ScoreArgs>();
  CLI::App* s = p->add_subcommand("score", "Score a feature table; write the scores for segments; reason codes");
  s->add_option("--features", score->features, "feature table CSV (label column optional)")->required();
  s->add_option("--name", score->name, "the trained name")->capture_default_str();
  s->add_option("--model", score->model, "best (highest validation AUC) or a model name")->capture_default_str();
  s->add_option("--out", score->out, "also write customer_key,score and top reasons to this CSV");
  s->add_option("--show", score->show, "customers to show with reason codes")->capture_default_str();
  registry.emplace_back(s, [&ctx, score]() { return RunScore(ctx, *score); });

  auto report = std::make_shared<ReportArgs>();
  CLI::App* r = p->add_subcommand("report", "Metrics, reliability table and lift table of the latest training");
  r->add_option("--name", report->name, "the trained name (default: purchase_90d, or the only one)");
  r->add_option("--version", report->version, "a version (default: the latest)");
  r->add_option("--model", report->model, "reliability and lift of this model (default: best)");
  registry.emplace_back(r, [&ctx, report]() { return RunReport(ctx, *report); });
}

}  // namespace omni::cli
