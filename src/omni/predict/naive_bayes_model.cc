// Gaussian naive Bayes — the seed's P(B | H, U, S) factorisation, kept as a
// baseline. Each feature is normal within each class, features independent
// given the class:
//   logit P(1 | x) = log(pi1/pi0) + sum_j [log N(x_j; mu1j, s1j) - log N(x_j; mu0j, s0j)]
// A missing value is left out of the sum (integrating a density over all
// values gives 1), which is exactly "this feature says nothing". Variances get
// 1e-9 x the largest feature variance added, as sklearn's GaussianNB
// (var_smoothing). Reason codes are the per-feature terms of the sum.
//   naive-bayes   (no parameters; class weights would only shift the prior)
#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "omni/common/json_writer.h"
#include "omni/predict/model_json.h"
#include "omni/predict/propensity_model.h"

namespace omni::predict {
namespace {

class NaiveBayesModel : public PropensityModel {
 public:
  static StatusOr<std::unique_ptr<PropensityModel>> Make(const Spec& s) {
    OMNI_RETURN_IF_ERROR(s.CheckKnown({}));
    return std::unique_ptr<PropensityModel>(std::make_unique<NaiveBayesModel>());
  }

  std::string name() const override { return "naive-bayes"; }
  std::string spec() const override { return "naive-bayes"; }

  Status Fit(const FeatureTable& train, const FeatureTable*) override {
    if (!train.labelled()) return InvalidArgument("naive-bayes: the training table has no label column");
    const ClassBalance b = BalanceOf(train, false);
    if (b.positives == 0 || b.negatives == 0) {
      return InvalidArgument("naive-bayes: the training rows hold only one class");
    }
    const int32_t d = train.cols();
    for (int c = 0; c < 2; ++c) {
      mean_[c].assign(d, 0);
      var_[c].assign(d, 0);
    }
    double max_var = 0;
    for (int32_t j = 0; j < d; ++j) {
      double s[2] = {0, 0}, ss[2] = {0, 0}, n[2] = {0, 0};
      double all_s = 0, all_ss = 0, all_n = 0;
      for (int64_t i = 0; i < train.rows(); ++i) {
        const float v = train.at(i, j);
        if (std::isnan(v)) continue;
        const int c = train.label[i] > 0.5f;
        s[c] += v;
        ss[c] += static_cast<double>(v) * v;
        n[c] += 1;
        all_s += v;
        all_ss += static_cast<double>(v) * v;
        all_n += 1;
      }
      for (int c = 0; c < 2; ++c) {
        if (n[c] == 0) {
          mean_[c][j] = std::nan("");  // never observed in this class: the feature is ignored
          continue;
        }
        mean_[c][j] = s[c] / n[c];
        var_[c][j] = std::max(0.0, ss[c] / n[c] - mean_[c][j] * mean_[c][j]);
      }
      if (all_n > 0) max_var = std::max(max_var, all_ss / all_n - (all_s / all_n) * (all_s / all_n));
    }
    const double eps = 1e-9 * std::max(max_var, 1e-300);
    for (int c = 0; c < 2; ++c) {
      for (double& v : var_[c]) v += eps;
    }
    prior_log_odds_ = std::log(static_cast<double>(b.positives) / static_cast<double>(b.negatives));
    return Status::Ok();
  }

  Status Predict(const FeatureTable& rows, std::vector<double>& out) const override {
    OMNI_RETURN_IF_ERROR(CheckColumns(rows));
    out.resize(rows.rows());
    for (int64_t i = 0; i < rows.rows(); ++i) {
      double z = prior_log_odds_;
      for (int32_t j = 0; j < rows.cols(); ++j) z += Term(rows.at(i, j), j);
      out[i] = 1.0 / (1.0 + std::exp(-z));
    }
    return Status::Ok();
  }

  Status Contributions(const FeatureTable& rows, std::vector<float>& out) const override {
    OMNI_RETURN_IF_ERROR(CheckColumns(rows));
    const int32_t d = rows.cols();
    out.assign(static_cast<size_t>(rows.rows()) * (d + 1), 0.0f);
    for (int64_t i = 0; i < rows.rows(); ++i) {
      float* r = &out[static_cast<size_t>(i) * (d + 1)];
      for (int32_t j = 0; j < d; ++j) r[j] = static_cast<float>(Term(rows.at(i, j), j));
      r[d] = static_cast<float>(prior_log_odds_);
    }
    return Status::Ok();
  }

  Status Save(const std::string& path) const override {
    JsonWriter w;
    w.BeginObject().Key("model").String("naive-bayes").Key("spec").String(spec());
    w.Key("prior_log_odds").Double(prior_log_odds_);
    const char* names[4] = {"mean0", "var0", "mean1", "var1"};
    const std::vector<double>* arrays[4] = {&mean_[0], &var_[0], &mean_[1], &var_[1]};
    for (int k = 0; k < 4; ++k) {
      w.Key(names[k]).BeginArray();
      for (double x : *arrays[k]) w.Double(x);
      w.EndArray();
    }
    w.EndObject();
    return WriteTextFile(path, w.str());
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ModelJson j, ModelJson::Open(path, "naive-bayes"));
    OMNI_ASSIGN_OR_RETURN(prior_log_odds_, j.Number("prior_log_odds"));
    OMNI_ASSIGN_OR_RETURN(mean_[0], j.Numbers("mean0"));
    OMNI_ASSIGN_OR_RETURN(var_[0], j.Numbers("var0"));
    OMNI_ASSIGN_OR_RETURN(mean_[1], j.Numbers("mean1"));
    OMNI_ASSIGN_OR_RETURN(var_[1], j.Numbers("var1"));
    const size_t d = mean_[0].size();
    if (var_[0].size() != d || mean_[1].size() != d || var_[1].size() != d) {
      return InvalidArgument(path + ": arrays of different lengths");
    }
    return Status::Ok();
  }

 private:
  // log N(v; mu1, s1) - log N(v; mu0, s0); 0 for a missing value.
  double Term(float v, int32_t j) const {
    if (std::isnan(v) || std::isnan(mean_[0][j]) || std::isnan(mean_[1][j])) return 0;
    double t = 0;
    for (int c = 0; c < 2; ++c) {
      const double d = v - mean_[c][j];
      const double ll = -0.5 * std::log(2 * std::numbers::pi * var_[c][j]) - d * d / (2 * var_[c][j]);
      t += c == 1 ? ll : -ll;
    }
    return t;
  }

  Status CheckColumns(const FeatureTable& rows) const {
    if (static_cast<size_t>(rows.cols()) != mean_[0].size()) {
      return InvalidArgument(
          fmt::format("naive-bayes: the table has {} features, the model {}", rows.cols(), mean_[0].size()));
    }
    return Status::Ok();
  }

  double prior_log_odds_ = 0;
  std::vector<double> mean_[2], var_[2];
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakeNaiveBayesModel(const Spec& spec) {
  return NaiveBayesModel::Make(spec);
}

}  // namespace omni::predict
