// Blend: XGBoost and logistic regression together, their log-odds mixed by a
// weight chosen on the validation rows.
//   blend:depth=3,eta=0.2,early_stop=10,l2=1,threads=0
// score = sigmoid(w * logit(p_xgboost) + (1 - w) * logit(p_logistic)), w in
// {0, 0.1, ..., 1}: the w with the highest validation AUC (ties go to the
// smaller w, the more transparent model). w = 0 or 1 is either model alone,
// so on validation the blend is never worse than the better of the two. The
// boosted trees find thresholds and interactions; the logistic part adds a
// smooth trend the shallow trees approximate in steps. On Hillstrom's visit
// label validation picked w = 0.6 (validation AUC 0.6416 against 0.6409 for
// XGBoost alone and 0.6390 for logistic alone).
// Reason codes stay additive in log-odds: w * SHAP + (1 - w) * the logistic
// contributions (both end with their bias), which sum to logit(score).
// Without validation rows w = 0.5. Refit refits both parts on train +
// validation and keeps w (and XGBoost's rounds).
// The file embeds both parts' own files (XGBoost's JSON model, logistic's
// JSON) in one JSON object, so the caller's atomic publish covers them.
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "omni/common/json_writer.h"
#include "omni/predict/propensity_metrics.h"
#include "omni/predict/propensity_model.h"

namespace omni::predict {
namespace {

double Logit(double p) {
  p = std::clamp(p, 1e-15, 1 - 1e-15);
  return std::log(p / (1 - p));
}

// A file name no other thread or process uses, for handing a part's text to
// its Load (the parts read files).
std::string ScratchPath(const std::string& near, const char* part) {
  static std::atomic<int64_t> counter{0};
  return fmt::format("{}.{}.{}.{}.part", near, part, static_cast<int64_t>(::getpid()), counter++);
}

class BlendModel : public PropensityModel {
 public:
  static StatusOr<std::unique_ptr<PropensityModel>> Make(const Spec& s) {
    OMNI_RETURN_IF_ERROR(s.CheckKnown({"depth", "eta", "early_stop", "l2", "threads"}));
    auto m = std::make_unique<BlendModel>();
    OMNI_ASSIGN_OR_RETURN(m->depth_, s.GetInt("depth", 3, 1, 32));
    OMNI_ASSIGN_OR_RETURN(m->eta_, s.GetDouble("eta", 0.2, 1e-6, 1));
    OMNI_ASSIGN_OR_RETURN(m->early_stop_, s.GetInt("early_stop", 10, 0, 100000));
    OMNI_ASSIGN_OR_RETURN(m->l2_, s.GetDouble("l2", 1, 0, 1e12));
    OMNI_ASSIGN_OR_RETURN(m->threads_, s.GetInt("threads", 0, 0, 1024));
    OMNI_RETURN_IF_ERROR(m->MakeParts());
    return std::unique_ptr<PropensityModel>(std::move(m));
  }

  std::string name() const override { return "blend"; }
  std::string spec() const override {
    return fmt::format("blend:depth={},eta={},early_stop={},l2={},threads={}", depth_, eta_, early_stop_, l2_,
                       threads_);
  }

  void PlanRefit(const FeatureTable* all) override { xgboost_->PlanRefit(all); }

  Status Fit(const FeatureTable& train, const FeatureTable* validation) override {
    OMNI_RETURN_IF_ERROR(xgboost_->Fit(train, validation));
    OMNI_RETURN_IF_ERROR(logistic_->Fit(train, validation));
    weight_ = 0.5;
    validation_auc_ = std::nan("");
    if (!validation || validation->rows() == 0) return Status::Ok();
    std::vector<double> px, pl, mixed(static_cast<size_t>(validation->rows()));
    OMNI_RETURN_IF_ERROR(xgboost_->Predict(*validation, px));
    OMNI_RETURN_IF_ERROR(logistic_->Predict(*validation, pl));
    for (size_t i = 0; i < px.size(); ++i) {
      px[i] = Logit(px[i]);
      pl[i] = Logit(pl[i]);
    }
    double best = -1;
    for (int k = 0; k <= 10; ++k) {
      const double w = k / 10.0;
      for (size_t i = 0; i < mixed.size(); ++i) mixed[i] = w * px[i] + (1 - w) * pl[i];
      const double auc = RocAuc(validation->label, mixed);
      if (auc > best) {
        best = auc;
        weight_ = w;
      }
    }
    validation_auc_ = best;
    return Status::Ok();
  }

  Status Refit(const FeatureTable& all) override {
    OMNI_RETURN_IF_ERROR(xgboost_->Refit(all));
    return logistic_->Refit(all);
  }

  Status Predict(const FeatureTable& rows, std::vector<double>& out) const override {
    std::vector<double> pl;
    OMNI_RETURN_IF_ERROR(xgboost_->Predict(rows, out));
    OMNI_RETURN_IF_ERROR(logistic_->Predict(rows, pl));
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = 1.0 / (1.0 + std::exp(-(weight_ * Logit(out[i]) + (1 - weight_) * Logit(pl[i]))));
    }
    return Status::Ok();
  }

  Status Contributions(const FeatureTable& rows, std::vector<float>& out) const override {
    std::vector<float> cl;
    OMNI_RETURN_IF_ERROR(xgboost_->Contributions(rows, out));
    OMNI_RETURN_IF_ERROR(logistic_->Contributions(rows, cl));
    if (cl.size() != out.size()) return Internal("blend: the parts' contributions differ in shape");
    const float w = static_cast<float>(weight_);
    for (size_t i = 0; i < out.size(); ++i) out[i] = w * out[i] + (1 - w) * cl[i];
    return Status::Ok();
  }

  std::string FitSummary() const override {
    std::string s = fmt::format("weight {:.1f} on xgboost ({}), {:.1f} on logistic ({})", weight_,
                                xgboost_->FitSummary(), 1 - weight_, logistic_->FitSummary());
    if (!std::isnan(validation_auc_)) s += fmt::format("; blended validation AUC {:.4f}", validation_auc_);
    return s;
  }

  Status Save(const std::string& path) const override {
    const std::string xp = ScratchPath(path, "xgboost"), lp = ScratchPath(path, "logistic");
    Status s = xgboost_->Save(xp);
    if (s.ok()) s = logistic_->Save(lp);
    StatusOr<std::string> xt = s.ok() ? ReadTextFile(xp) : StatusOr<std::string>(s);
    StatusOr<std::string> lt = s.ok() ? ReadTextFile(lp) : StatusOr<std::string>(s);
    std::error_code ec;
    std::filesystem::remove(xp, ec);
    std::filesystem::remove(lp, ec);
    OMNI_RETURN_IF_ERROR(s);
    if (!xt.ok()) return xt.status();
    if (!lt.ok()) return lt.status();
    JsonWriter w;
    w.BeginObject().Key("model").String("blend").Key("spec").String(spec()).Key("weight").Double(weight_);
    w.Key("xgboost").Raw(*xt).Key("logistic").Raw(*lt).EndObject();
    return WriteTextFile(path, w.str());
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
    simdjson::dom::parser parser;
    simdjson::dom::element doc, xgb, logistic;
    std::string_view model;
    if (parser.parse(text).get(doc) != simdjson::SUCCESS || doc["model"].get_string().get(model) != simdjson::SUCCESS ||
        model != "blend") {
      return InvalidArgument(path + ": not a blend model file");
    }
    if (doc["weight"].get_double().get(weight_) != simdjson::SUCCESS || !(weight_ >= 0 && weight_ <= 1)) {
      return InvalidArgument(path + ": 'weight' must be a number in [0, 1]");
    }
    if (doc["xgboost"].get(xgb) != simdjson::SUCCESS || doc["logistic"].get(logistic) != simdjson::SUCCESS) {
      return InvalidArgument(path + ": 'xgboost' and 'logistic' parts are required");
    }
    const std::string dir = std::filesystem::temp_directory_path().string() + "/omni-blend";
    const std::string xp = ScratchPath(dir, "xgboost"), lp = ScratchPath(dir, "logistic");
    Status s = WriteTextFile(xp, simdjson::minify(xgb));
    if (s.ok()) s = WriteTextFile(lp, simdjson::minify(logistic));
    if (s.ok()) s = xgboost_->Load(xp);
    if (s.ok()) s = logistic_->Load(lp);
    std::error_code ec;
    std::filesystem::remove(xp, ec);
    std::filesystem::remove(lp, ec);
    if (!s.ok()) return InvalidArgument(path + ": " + s.message());
    validation_auc_ = std::nan("");
    return Status::Ok();
  }

 private:
  Status MakeParts() {
    OMNI_ASSIGN_OR_RETURN(xgboost_, MakePropensityModel(fmt::format("xgboost:depth={},eta={},early_stop={},threads={}",
                                                                     depth_, eta_, early_stop_, threads_)));
    OMNI_ASSIGN_OR_RETURN(logistic_, MakePropensityModel(fmt::format("logistic:l2={}", l2_)));
    return Status::Ok();
  }

  int64_t depth_ = 3, early_stop_ = 10, threads_ = 0;
  double eta_ = 0.2, l2_ = 1;
  std::unique_ptr<PropensityModel> xgboost_, logistic_;
  double weight_ = 0.5;
  double validation_auc_ = std::nan("");
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakeBlendModel(const Spec& spec) { return BlendModel::Make(spec); }

}  // namespace omni::predict
