// Logistic regression with an L2 penalty on standardised features — the
// transparent model: each coefficient says how many log-odds one standard
// deviation of a feature is worth.
//   logistic:l2=1,balance=0,iters=100
// Objective: sum_i w_i logloss_i + l2/2 * |beta|^2 (intercept not penalised),
// which is scikit-learn's LogisticRegression with C = 1/l2. Fitted by Newton's
// method (IRLS) with Eigen, halving the step when the objective would rise.
// Features are standardised with the training mean and standard deviation;
// a missing value is replaced by the mean (0 after standardising), so it
// contributes nothing; a constant column gets coefficient 0.
#include <Eigen/Dense>

#include <cmath>

#include <fmt/format.h>

#include "omni/common/json_writer.h"
#include "omni/predict/model_json.h"
#include "omni/predict/propensity_model.h"

namespace omni::predict {
namespace {

class LogisticModel : public PropensityModel {
 public:
  static StatusOr<std::unique_ptr<PropensityModel>> Make(const Spec& s) {
    OMNI_RETURN_IF_ERROR(s.CheckKnown({"l2", "balance", "iters"}));
    auto m = std::make_unique<LogisticModel>();
    OMNI_ASSIGN_OR_RETURN(m->l2_, s.GetDouble("l2", 1, 0, 1e12));
    OMNI_ASSIGN_OR_RETURN(m->balance_, s.GetBool("balance", false));
    OMNI_ASSIGN_OR_RETURN(m->iters_, s.GetInt("iters", 100, 1, 10000));
    return std::unique_ptr<PropensityModel>(std::move(m));
  }

  std::string name() const override { return "logistic"; }
  std::string spec() const override {
    return fmt::format("logistic:l2={},balance={},iters={}", l2_, balance_ ? 1 : 0, iters_);
  }

  Status Fit(const FeatureTable& train, const FeatureTable*) override {
    if (!train.labelled()) return InvalidArgument("logistic: the training table has no label column");
    const int64_t n = train.rows();
    const int32_t d = train.cols();
    if (n == 0) return InvalidArgument("logistic: empty training table");
    mean_.assign(d, 0);
    scale_.assign(d, 1);
    for (int32_t j = 0; j < d; ++j) {
      double s = 0, ss = 0;
      int64_t c = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float v = train.at(i, j);
        if (std::isnan(v)) continue;
        s += v;
        ss += static_cast<double>(v) * v;
        ++c;
      }
      if (c == 0) continue;
      mean_[j] = s / c;
      const double var = ss / c - mean_[j] * mean_[j];
      scale_[j] = var > 1e-24 ? std::sqrt(var) : 0;  // 0 marks a constant column
    }
    Eigen::MatrixXd z = Standardise(train);
    Eigen::VectorXd y(n), sw(n);
    const ClassBalance b = BalanceOf(train, balance_);
    for (int64_t i = 0; i < n; ++i) {
      y[i] = train.label[i] > 0.5f ? 1 : 0;
      sw[i] = y[i] > 0 ? b.positive_weight : b.negative_weight;
    }
    Eigen::VectorXd beta = Eigen::VectorXd::Zero(d + 1);  // last = intercept
    Eigen::VectorXd penalty = Eigen::VectorXd::Constant(d + 1, l2_);
    penalty[d] = 0;
    for (int32_t j = 0; j < d; ++j) {
      if (scale_[j] == 0) penalty[j] = 1e12;  // pins a constant column's coefficient at 0
    }
    auto objective = [&](const Eigen::VectorXd& bt) {
      Eigen::VectorXd eta = z * bt;
      double f = 0;
      for (int64_t i = 0; i < n; ++i) {
        // log(1 + exp(eta)) - y * eta, computed stably.
        const double e = eta[i];
        f += sw[i] * ((e > 0 ? e + std::log1p(std::exp(-e)) : std::log1p(std::exp(e))) - y[i] * e);
      }
      return f + 0.5 * (penalty.array() * bt.array().square()).sum();
    };
    double f = objective(beta);
    iterations_ = 0;
    for (int it = 0; it < iters_; ++it) {
      Eigen::VectorXd eta = z * beta;
      Eigen::VectorXd p = (1.0 + (-eta.array()).exp()).inverse().matrix();
      Eigen::VectorXd w = (sw.array() * p.array() * (1 - p.array())).matrix();
      Eigen::VectorXd grad = z.transpose() * (sw.array() * (p - y).array()).matrix() +
                             (penalty.array() * beta.array()).matrix();
      Eigen::MatrixXd h = Eigen::MatrixXd(d + 1, d + 1).setZero();
      Eigen::MatrixXd zw = z.array().colwise() * w.array().sqrt();
      h.selfadjointView<Eigen::Lower>().rankUpdate(zw.transpose());
      h = h.selfadjointView<Eigen::Lower>();
      h.diagonal() += penalty;
      h.diagonal().array() += 1e-10;
      Eigen::VectorXd step = h.ldlt().solve(grad);
      double t = 1;
      Eigen::VectorXd next = beta - step;
      double fn = objective(next);
      while (fn > f && t > 1e-8) {
        t *= 0.5;
        next = beta - t * step;
        fn = objective(next);
      }
      ++iterations_;
      const double change = f - fn;
      if (fn <= f) {
        beta = next;
        f = fn;
      }
      if (change >= 0 && change < 1e-10 * (1 + std::abs(f))) break;
      if (fn > f) break;
    }
    coef_.assign(beta.data(), beta.data() + d);
    intercept_ = beta[d];
    return Status::Ok();
  }

  Status Predict(const FeatureTable& rows, std::vector<double>& out) const override {
    OMNI_RETURN_IF_ERROR(CheckColumns(rows));
    out.resize(rows.rows());
    for (int64_t i = 0; i < rows.rows(); ++i) {
      double eta = intercept_;
      for (int32_t j = 0; j < rows.cols(); ++j) eta += coef_[j] * Z(rows.at(i, j), j);
      out[i] = 1.0 / (1.0 + std::exp(-eta));
    }
    return Status::Ok();
  }

  Status Contributions(const FeatureTable& rows, std::vector<float>& out) const override {
    OMNI_RETURN_IF_ERROR(CheckColumns(rows));
    const int32_t d = rows.cols();
    out.assign(static_cast<size_t>(rows.rows()) * (d + 1), 0.0f);
    for (int64_t i = 0; i < rows.rows(); ++i) {
      float* r = &out[static_cast<size_t>(i) * (d + 1)];
      for (int32_t j = 0; j < d; ++j) r[j] = static_cast<float>(coef_[j] * Z(rows.at(i, j), j));
      r[d] = static_cast<float>(intercept_);
    }
    return Status::Ok();
  }

  std::string FitSummary() const override { return fmt::format("{} Newton iterations", iterations_); }

  Status Save(const std::string& path) const override {
    JsonWriter w;
    w.BeginObject().Key("model").String("logistic").Key("spec").String(spec());
    w.Key("intercept").Double(intercept_);
    auto array = [&](const char* key, const std::vector<double>& v) {
      w.Key(key).BeginArray();
      for (double x : v) w.Double(x);
      w.EndArray();
    };
    array("mean", mean_);
    array("scale", scale_);
    array("coef", coef_);
    w.EndObject();
    return WriteTextFile(path, w.str());
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ModelJson j, ModelJson::Open(path, "logistic"));
    OMNI_ASSIGN_OR_RETURN(intercept_, j.Number("intercept"));
    OMNI_ASSIGN_OR_RETURN(mean_, j.Numbers("mean"));
    OMNI_ASSIGN_OR_RETURN(scale_, j.Numbers("scale"));
    OMNI_ASSIGN_OR_RETURN(coef_, j.Numbers("coef"));
    if (mean_.size() != coef_.size() || scale_.size() != coef_.size()) {
      return InvalidArgument(path + ": arrays of different lengths");
    }
    return Status::Ok();
  }

 private:
  double Z(float v, int32_t j) const {
    if (std::isnan(v) || scale_[j] == 0) return 0;
    return (v - mean_[j]) / scale_[j];
  }

  Eigen::MatrixXd Standardise(const FeatureTable& t) const {
    Eigen::MatrixXd z(t.rows(), t.cols() + 1);
    for (int64_t i = 0; i < t.rows(); ++i) {
      for (int32_t j = 0; j < t.cols(); ++j) z(i, j) = Z(t.at(i, j), j);
      z(i, t.cols()) = 1;
    }
    return z;
  }

  Status CheckColumns(const FeatureTable& rows) const {
    if (static_cast<size_t>(rows.cols()) != coef_.size()) {
      return InvalidArgument(fmt::format("logistic: the table has {} features, the model {}", rows.cols(), coef_.size()));
    }
    return Status::Ok();
  }

  double l2_ = 1;
  bool balance_ = false;
  int64_t iters_ = 100;
  int iterations_ = 0;
  std::vector<double> mean_, scale_, coef_;
  double intercept_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakeLogisticModel(const Spec& spec) { return LogisticModel::Make(spec); }

}  // namespace omni::predict
