#include "omni/predict/propensity_training.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <filesystem>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "omni/common/json_writer.h"
#include "omni/ingest/timestamp.h"

namespace omni::predict {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kManifestFormat = 1;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// std::clock is the CPU time of the whole process (all threads): beside the
// wall time it shows what a fit costs on a shared machine.
double CpuSecondsSince(std::clock_t start) { return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC; }

fs::path ModelDir(const std::string& data_dir, const std::string& name) {
  return fs::path(data_dir) / "models" / "propensity" / name;
}

int64_t LatestVersion(const fs::path& dir) {
  int64_t latest = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    // NNNNNN.json (the manifest), not NNNNNN.json.tmp or a model file.
    if (f.size() == 11 && f.ends_with(".json")) latest = std::max<int64_t>(latest, std::strtoll(f.c_str(), nullptr, 10));
  }
  return latest;
}

Status Publish(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  OMNI_RETURN_IF_ERROR(WriteTextFile(tmp.string(), text));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Internal("cannot publish " + path.string() + ": " + ec.message());
  return Status::Ok();
}

void WriteMetrics(JsonWriter& w, const BinaryMetrics& m) {
  w.Key("rows").Int(m.rows).Key("positives").Int(m.positives).Key("base_rate").Double(m.base_rate);
  w.Key("auc").Double(m.roc_auc).Key("pr_auc").Double(m.average_precision);
  w.Key("log_loss").Double(m.log_loss).Key("brier").Double(m.brier);
  w.Key("threshold").Double(m.threshold).Key("accuracy").Double(m.accuracy);
  w.Key("precision").Double(m.precision).Key("recall").Double(m.recall);
  w.Key("majority_accuracy").Double(m.majority_accuracy).Key("lift_top_decile").Double(m.lift_top_decile);
}

// simdjson helpers: missing or null numbers read as NaN.
double Num(simdjson::dom::element e, const char* key) {
  double v = kNaN;
  simdjson::dom::element x;
  if (e[key].get(x) != simdjson::SUCCESS) return kNaN;
  if (x.get_double().get(v) == simdjson::SUCCESS) return v;
  int64_t i = 0;
  if (x.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  return kNaN;
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  if (e[key].get_string().get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}

std::vector<double> Nums(simdjson::dom::element e, const char* key) {
  std::vector<double> out;
  simdjson::dom::array a;
  if (e[key].get_array().get(a) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element x : a) {
    double v = kNaN;
    if (x.get_double().get(v) != simdjson::SUCCESS) {
      int64_t i = 0;
      v = x.get_int64().get(i) == simdjson::SUCCESS ? static_cast<double>(i) : kNaN;
    }
    out.push_back(v);
  }
  return out;
}

BinaryMetrics ReadMetrics(simdjson::dom::element e) {
  BinaryMetrics m;
  m.rows = static_cast<int64_t>(Num(e, "rows"));
  m.positives = static_cast<int64_t>(Num(e, "positives"));
  m.base_rate = Num(e, "base_rate");
  m.roc_auc = Num(e, "auc");
  m.average_precision = Num(e, "pr_auc");
  m.log_loss = Num(e, "log_loss");
  m.brier = Num(e, "brier");
  m.threshold = Num(e, "threshold");
  m.accuracy = Num(e, "accuracy");
  m.precision = Num(e, "precision");
  m.recall = Num(e, "recall");
  m.majority_accuracy = Num(e, "majority_accuracy");
  m.lift_top_decile = Num(e, "lift_top_decile");
  return m;
}

}  // namespace

std::vector<std::string> DefaultPropensitySpecs() {
  return {"xgboost:depth=3,eta=0.2,rounds=500,early_stop=10", "logistic:l2=1", "tree:depth=6,min_leaf=50",
          "naive-bayes", "blend:depth=3,eta=0.2,early_stop=10,l2=1"};
}

Status ValidateScoreName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) {
    return InvalidArgument("--name '" + name +
                           "': use 1-64 letters, digits or '_', starting with a letter (it becomes the segment "
                           "field propensity.NAME)");
  }
  return Status::Ok();
}

StatusOr<TrainingResult> TrainPropensity(const FeatureTable& table, const TrainOptions& options) {
  if (!table.labelled()) return InvalidArgument("the feature table has no label column: nothing to learn from");
  if (table.cols() == 0) return InvalidArgument("the feature table has no feature columns");
  std::vector<std::string> specs = options.specs.empty() ? DefaultPropensitySpecs() : options.specs;
  // Build every model first, so a typo fails before minutes of training.
  std::vector<std::unique_ptr<PropensityModel>> models;
  for (const std::string& s : specs) {
    OMNI_ASSIGN_OR_RETURN(auto m, MakePropensityModel(s));
    models.push_back(std::move(m));
  }
  OMNI_ASSIGN_OR_RETURN(RowSplit split, SplitRows(table, options.split));
  const FeatureTable train = Subset(table, split.train);
  const FeatureTable valid = Subset(table, split.validation);
  const FeatureTable test = Subset(table, split.test);
  FeatureTable train_and_valid;
  if (options.refit) {
    std::vector<int64_t> rows = split.train;
    rows.insert(rows.end(), split.validation.begin(), split.validation.end());
    std::sort(rows.begin(), rows.end());
    train_and_valid = Subset(table, rows);
  }
  TrainingResult r;
  r.trained_at_ms = NowMs();
  r.columns = table.columns;
  r.split_rule = split.rule;
  r.train_rows = train.rows();
  r.validation_rows = valid.rows();
  r.test_rows = test.rows();
  r.train_base_rate = BalanceOf(train, false).positives / static_cast<double>(std::max<int64_t>(1, train.rows()));
  spdlog::info("split: {} train, {} validation, {} test rows ({})", train.rows(), valid.rows(), test.rows(),
               split.rule);
  for (auto& model : models) {
    ModelResult m;
    m.spec = model->spec();
    m.model_name = model->name();
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    if (options.refit) model->PlanRefit(&train_and_valid);
    Status s = model->Fit(train, &valid);
    m.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.fit_cpu_seconds = CpuSecondsSince(c0);
    std::vector<double> pv, pt;
    if (s.ok()) s = model->Predict(valid, pv);
    if (s.ok()) {
      m.fit_summary = model->FitSummary();
      m.validation_auc = RocAuc(valid.label, pv);
      m.calibration = ChooseCalibration(valid.label, pv, options.split.seed);
      m.calibration.calibrator.ApplyAll(pv);
    }
    if (s.ok() && options.refit) {
      const auto t1 = std::chrono::steady_clock::now();
      const std::clock_t c1 = std::clock();
      s = model->Refit(train_and_valid);
      m.fit_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      m.fit_cpu_seconds += CpuSecondsSince(c1);
      if (s.ok()) m.fit_summary += (m.fit_summary.empty() ? "" : "; ") + std::string("refit on train+validation");
    }
    if (s.ok()) s = model->Predict(test, pt);
    if (!s.ok()) {
      spdlog::warn("{}: {}", m.spec, s.ToString());
      m.error = s.message();
      r.models.push_back(std::move(m));
      r.fitted.emplace_back();
      continue;
    }
    m.calibration.calibrator.ApplyAll(pt);
    const double threshold = BestF1Threshold(valid.label, pv);
    m.test = ComputeMetrics(test.label, pt, threshold);
    m.reliability = ReliabilityTable(test.label, pt);
    m.lift = LiftTable(test.label, pt);
    spdlog::info("{}: fit {:.2f} s ({:.2f} s CPU), {}; validation AUC {:.4f}, test AUC {:.4f}, calibration {}", m.spec,
                 m.fit_seconds, m.fit_cpu_seconds, m.fit_summary, m.validation_auc, m.test.roc_auc,
                 m.calibration.calibrator.method_name());
    if (r.best < 0 || m.validation_auc > r.models[r.best].validation_auc) r.best = static_cast<int>(r.models.size());
    r.models.push_back(std::move(m));
    r.fitted.push_back(std::move(model));
  }
  if (r.best < 0) return FailedPrecondition("no model could be fitted (see the warnings above)");
  return r;
}

void WriteTrainingJson(JsonWriter& w, const TrainingResult& r) {
  w.BeginObject();
  w.Key("format").String("omni-propensity").Key("format_version").Int(kManifestFormat);
  w.Key("name").String(r.name).Key("version").Int(r.version);
  w.Key("trained_at").String(ingest::FormatTimestamp(r.trained_at_ms, 0)).Key("trained_at_ms").Int(r.trained_at_ms);
  w.Key("source").String(r.source);
  w.Key("columns").BeginArray();
  for (const auto& c : r.columns) w.String(c);
  w.EndArray();
  w.Key("split").BeginObject().Key("rule").String(r.split_rule);
  w.Key("train").Int(r.train_rows).Key("validation").Int(r.validation_rows).Key("test").Int(r.test_rows);
  w.Key("train_base_rate").Double(r.train_base_rate).EndObject();
  w.Key("best");
  if (r.best >= 0) {
    w.String(r.models[r.best].spec);
  } else {
    w.Null();
  }
  w.Key("best_index").Int(r.best);
  w.Key("models").BeginArray();
  for (const ModelResult& m : r.models) {
    w.BeginObject().Key("spec").String(m.spec).Key("model").String(m.model_name).Key("file").String(m.file);
    w.Key("fit_seconds").Double(m.fit_seconds).Key("fit_cpu_seconds").Double(m.fit_cpu_seconds);
    if (!m.error.empty()) {
      w.Key("error").String(m.error).EndObject();
      continue;
    }
    w.Key("fit_summary").String(m.fit_summary).Key("validation_auc").Double(m.validation_auc);
    WriteMetrics(w, m.test);
    const Calibrator& c = m.calibration.calibrator;
    w.Key("calibration").BeginObject().Key("method").String(c.method_name()).Key("a").Double(c.a());
    w.Key("b").Double(c.b()).Key("x").BeginArray();
    for (double v : c.x()) w.Double(v);
    w.EndArray().Key("y").BeginArray();
    for (double v : c.y()) w.Double(v);
    w.EndArray().Key("cv_log_loss").BeginObject();
    w.Key("none").Double(m.calibration.cv_log_loss_none).Key("platt").Double(m.calibration.cv_log_loss_platt);
    w.Key("isotonic").Double(m.calibration.cv_log_loss_isotonic).EndObject().EndObject();
    w.Key("reliability").BeginArray();
    for (const ReliabilityBin& b : m.reliability) {
      w.BeginObject().Key("lower").Double(b.lower).Key("upper").Double(b.upper).Key("count").Int(b.count);
      w.Key("mean_predicted").Double(b.count ? b.mean_predicted : kNaN);
      w.Key("observed_rate").Double(b.count ? b.observed_rate : kNaN).EndObject();
    }
    w.EndArray().Key("lift").BeginArray();
    for (const LiftRow& l : m.lift) {
      w.BeginObject().Key("decile").Int(l.decile).Key("count").Int(l.count).Key("positives").Int(l.positives);
      w.Key("rate").Double(l.rate).Key("lift").Double(l.lift);
      w.Key("cumulative_capture").Double(l.cumulative_capture).EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
}

StatusOr<int64_t> SaveTraining(const std::string& data_dir, TrainingResult& r) {
  OMNI_RETURN_IF_ERROR(ValidateScoreName(r.name));
  const fs::path dir = ModelDir(data_dir, r.name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  r.version = LatestVersion(dir) + 1;
  const std::string stem = fmt::format("{:06d}", r.version);
  for (size_t i = 0; i < r.models.size(); ++i) {
    if (!r.fitted[i]) continue;
    r.models[i].file = fmt::format("{}.{}.{}.model", stem, i, r.models[i].model_name);
    const fs::path path = dir / r.models[i].file;
    const fs::path tmp = path.string() + ".tmp";
    OMNI_RETURN_IF_ERROR(r.fitted[i]->Save(tmp.string()));
    fs::rename(tmp, path, ec);
    if (ec) return Internal("cannot publish " + path.string() + ": " + ec.message());
  }
  JsonWriter w;
  WriteTrainingJson(w, r);
  OMNI_RETURN_IF_ERROR(Publish(dir / (stem + ".json"), w.str()));
  return r.version;
}

std::vector<std::string> TrainedNames(const std::string& data_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  const fs::path root = fs::path(data_dir) / "models" / "propensity";
  if (!fs::exists(root, ec)) return names;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (e.is_directory() && LatestVersion(e.path()) > 0) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<TrainingResult> LoadTraining(const std::string& data_dir, const std::string& name, int64_t version,
                                      bool load_models) {
  OMNI_RETURN_IF_ERROR(ValidateScoreName(name));
  const fs::path dir = ModelDir(data_dir, name);
  if (version == 0) version = LatestVersion(dir);
  if (version == 0) {
    return NotFound("no propensity model named '" + name + "' in " + data_dir +
                    " (run omni propensity train --features FILE.csv --name " + name + ")");
  }
  const fs::path manifest = dir / fmt::format("{:06d}.json", version);
  OMNI_ASSIGN_OR_RETURN(std::string text, ReadTextFile(manifest.string()));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS || Str(doc, "format") != "omni-propensity") {
    return InvalidArgument(manifest.string() + ": not an omni propensity manifest");
  }
  if (Num(doc, "format_version") > kManifestFormat) {
    return FailedPrecondition(manifest.string() + ": written by a newer omni");
  }
  TrainingResult r;
  r.name = Str(doc, "name");
  r.version = version;
  r.trained_at_ms = static_cast<int64_t>(Num(doc, "trained_at_ms"));
  r.source = Str(doc, "source");
  simdjson::dom::array cols;
  if (doc["columns"].get_array().get(cols) == simdjson::SUCCESS) {
    for (simdjson::dom::element c : cols) {
      std::string_view s;
      if (c.get_string().get(s) == simdjson::SUCCESS) r.columns.emplace_back(s);
    }
  }
  simdjson::dom::element split;
  if (doc["split"].get(split) == simdjson::SUCCESS) {
    r.split_rule = Str(split, "rule");
    r.train_rows = static_cast<int64_t>(Num(split, "train"));
    r.validation_rows = static_cast<int64_t>(Num(split, "validation"));
    r.test_rows = static_cast<int64_t>(Num(split, "test"));
    r.train_base_rate = Num(split, "train_base_rate");
  }
  r.best = static_cast<int>(Num(doc, "best_index"));
  simdjson::dom::array models;
  if (doc["models"].get_array().get(models) != simdjson::SUCCESS) {
    return InvalidArgument(manifest.string() + ": no models");
  }
  for (simdjson::dom::element e : models) {
    ModelResult m;
    m.spec = Str(e, "spec");
    m.model_name = Str(e, "model");
    m.file = Str(e, "file");
    m.error = Str(e, "error");
    m.fit_seconds = Num(e, "fit_seconds");
    m.fit_cpu_seconds = Num(e, "fit_cpu_seconds");
    m.fit_summary = Str(e, "fit_summary");
    m.validation_auc = Num(e, "validation_auc");
    std::unique_ptr<PropensityModel> fitted;
    if (m.error.empty()) {
      m.test = ReadMetrics(e);
      simdjson::dom::element c;
      if (e["calibration"].get(c) != simdjson::SUCCESS) return InvalidArgument(manifest.string() + ": no calibration");
      OMNI_ASSIGN_OR_RETURN(m.calibration.calibrator,
                            Calibrator::FromParts(Str(c, "method"), Num(c, "a"), Num(c, "b"), Nums(c, "x"), Nums(c, "y")));
      simdjson::dom::element cv;
      if (c["cv_log_loss"].get(cv) == simdjson::SUCCESS) {
        m.calibration.cv_log_loss_none = Num(cv, "none");
        m.calibration.cv_log_loss_platt = Num(cv, "platt");
        m.calibration.cv_log_loss_isotonic = Num(cv, "isotonic");
      }
      simdjson::dom::array rel, lift;
      if (e["reliability"].get_array().get(rel) == simdjson::SUCCESS) {
        for (simdjson::dom::element b : rel) {
          ReliabilityBin x;
          x.lower = Num(b, "lower");
          x.upper = Num(b, "upper");
          x.count = static_cast<int64_t>(Num(b, "count"));
          x.mean_predicted = Num(b, "mean_predicted");
          x.observed_rate = Num(b, "observed_rate");
          m.reliability.push_back(x);
        }
      }
      if (e["lift"].get_array().get(lift) == simdjson::SUCCESS) {
        for (simdjson::dom::element b : lift) {
          LiftRow x;
          x.decile = static_cast<int>(Num(b, "decile"));
          x.count = static_cast<int64_t>(Num(b, "count"));
          x.positives = static_cast<int64_t>(Num(b, "positives"));
          x.rate = Num(b, "rate");
          x.lift = Num(b, "lift");
          x.cumulative_capture = Num(b, "cumulative_capture");
          m.lift.push_back(x);
        }
      }
      if (load_models) {
        OMNI_ASSIGN_OR_RETURN(fitted, MakePropensityModel(m.spec));
        OMNI_RETURN_IF_ERROR(fitted->Load((dir / m.file).string()));
      }
    }
    r.models.push_back(std::move(m));
    r.fitted.push_back(std::move(fitted));
  }
  if (r.best >= static_cast<int>(r.models.size())) r.best = -1;
  return r;
}

StatusOr<Scored> ScoreTable(const TrainingResult& training, int index, const FeatureTable& table,
                            bool contributions) {
  if (index < 0 || index >= static_cast<int>(training.models.size()) || !training.fitted[index]) {
    return FailedPrecondition("that model was not fitted or not loaded");
  }
  Scored out;
  // Columns in the model's order.
  std::unordered_map<std::string, int32_t> have;
  for (int32_t j = 0; j < table.cols(); ++j) have.emplace(table.columns[j], j);
  std::vector<int32_t> source;
  for (const std::string& c : training.columns) {
    auto it = have.find(c);
    if (it == have.end()) {
      return InvalidArgument("the feature table lacks column '" + c + "' the model was trained with");
    }
    source.push_back(it->second);
    have.erase(it);
  }
  for (const auto& [c, j] : have) out.ignored_columns.push_back(c);
  std::sort(out.ignored_columns.begin(), out.ignored_columns.end());
  FeatureTable& aligned = out.aligned;
  aligned.columns = training.columns;
  aligned.customer_keys = table.customer_keys;
  aligned.cutoff_ms = table.cutoff_ms;
  aligned.values.resize(static_cast<size_t>(table.rows()) * source.size());
  for (int64_t i = 0; i < table.rows(); ++i) {
    for (size_t j = 0; j < source.size(); ++j) aligned.values[i * source.size() + j] = table.at(i, source[j]);
  }
  const PropensityModel& model = *training.fitted[index];
  OMNI_RETURN_IF_ERROR(model.Predict(aligned, out.probability));
  training.models[index].calibration.calibrator.ApplyAll(out.probability);
  if (contributions) OMNI_RETURN_IF_ERROR(model.Contributions(aligned, out.contributions));
  return out;
}

void TopReasons(const std::vector<std::string>& columns, const float* contributions, const float* values, int k,
                std::vector<Reason>& up, std::vector<Reason>& down) {
  up.clear();
  down.clear();
  std::vector<int32_t> order(columns.size());
  for (size_t j = 0; j < columns.size(); ++j) order[j] = static_cast<int32_t>(j);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return contributions[a] > contributions[b]; });
  for (int32_t j : order) {
    if (static_cast<int>(up.size()) == k || !(contributions[j] > 0)) break;
    up.push_back({columns[j], values ? values[j] : kNaN, contributions[j]});
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (static_cast<int>(down.size()) == k || !(contributions[*it] < 0)) break;
    down.push_back({columns[*it], values ? values[*it] : kNaN, contributions[*it]});
  }
}

}  // namespace omni::predict
