// Gradient-boosted trees through XGBoost's C API (Debian's libxgboost-dev
// 1.7): histogram trees, logistic loss, early stopping on validation AUC,
// SHAP contributions for reason codes.
//   xgboost:depth=3,eta=0.2,rounds=500,early_stop=10,min_child_weight=1,
//           subsample=1,colsample=1,lambda=1,max_bin=256,leaves=0,balance=0,
//           threads=0,seed=0
// Defaults. Shallow trees: on all three bench tables (bench/
// propensity_bench.sh; Hillstrom's 14 columns, Online Retail's 28) depth 3
// scored a higher VALIDATION AUC than depth 4 or 6 (Hillstrom visit 0.6411
// vs 0.6383 vs 0.6367 at eta 0.1; Online Retail 0.9039 vs 0.9034 vs 0.9029),
// and eta 0.2 matched eta 0.1 on validation (visit 0.6409 vs 0.6411, Online
// Retail 0.9053 vs 0.9039, conversion 0.6043 vs 0.6051) in half the rounds.
// Test rows played no part in that choice. early_stop=10 is
// HistGradientBoosting's n_iter_no_change: with 30, every fit boosted 20
// rounds that were then thrown away.
// leaves=N > 0 grows trees leaf-wise (lossguide) up to N leaves; depth=0 then
// lifts the depth limit.
// threads=0 picks one thread per 50,000 training rows, at most OpenMP's
// default (every core, or OMP_NUM_THREADS): XGBoost runs dozens of parallel
// regions per round, and on small tables (or a busy machine) waiting at their
// barriers costs more than the threads gain — measured 19.6 s with 2 threads
// against 0.04 s with 1 for 33 rounds on 1,400 rows while the machine was
// loaded.
// balance=1 sets scale_pos_weight = negatives / positives (off by default;
// propensity_model.h says why).
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "omni/predict/propensity_metrics.h"
#include "omni/predict/propensity_model.h"

namespace omni::predict {
namespace {

Status XgbError(const std::string& what) { return Internal(fmt::format("xgboost {}: {}", what, XGBGetLastError())); }

#define OMNI_XGB(call, what)                 \
  do {                                       \
    if ((call) != 0) return XgbError(what);  \
  } while (0)

// Owns a DMatrix handle.
struct DMatrix {
  DMatrixHandle h = nullptr;
  ~DMatrix() {
    if (h) XGDMatrixFree(h);
  }
};

Status MakeDMatrix(const FeatureTable& t, bool with_label, DMatrix& out) {
  if (t.rows() == 0) return InvalidArgument("empty feature table");
  OMNI_XGB(XGDMatrixCreateFromMat(t.values.data(), static_cast<bst_ulong>(t.rows()),
                                  static_cast<bst_ulong>(t.cols()), std::numeric_limits<float>::quiet_NaN(), &out.h),
           "DMatrix");
  if (with_label) {
    OMNI_XGB(XGDMatrixSetFloatInfo(out.h, "label", t.label.data(), static_cast<bst_ulong>(t.rows())), "label");
  }
  return Status::Ok();
}

class XgboostModel : public PropensityModel {
 public:
  ~XgboostModel() override {
    if (booster_) XGBoosterFree(booster_);
  }

  static StatusOr<std::unique_ptr<PropensityModel>> Make(const Spec& s) {
    OMNI_RETURN_IF_ERROR(s.CheckKnown({"depth", "eta", "rounds", "early_stop", "min_child_weight", "subsample",
                                       "colsample", "lambda", "max_bin", "leaves", "balance", "threads", "seed"}));
    auto m = std::make_unique<XgboostModel>();
    OMNI_ASSIGN_OR_RETURN(m->depth_, s.GetInt("depth", 3, 0, 32));
    OMNI_ASSIGN_OR_RETURN(m->leaves_, s.GetInt("leaves", 0, 0, 1 << 16));
    if (m->depth_ == 0 && m->leaves_ == 0) {
      return InvalidArgument("xgboost: depth=0 (no depth limit) needs leaves=N (grow by loss up to N leaves)");
    }
    OMNI_ASSIGN_OR_RETURN(m->eta_, s.GetDouble("eta", 0.2, 1e-6, 1));
    OMNI_ASSIGN_OR_RETURN(m->rounds_, s.GetInt("rounds", 500, 1, 100000));
    OMNI_ASSIGN_OR_RETURN(m->early_stop_, s.GetInt("early_stop", 10, 0, 100000));
    OMNI_ASSIGN_OR_RETURN(m->min_child_weight_, s.GetDouble("min_child_weight", 1, 0, 1e9));
    OMNI_ASSIGN_OR_RETURN(m->subsample_, s.GetDouble("subsample", 1, 0.01, 1));
    OMNI_ASSIGN_OR_RETURN(m->colsample_, s.GetDouble("colsample", 1, 0.01, 1));
    OMNI_ASSIGN_OR_RETURN(m->lambda_, s.GetDouble("lambda", 1, 0, 1e9));
    OMNI_ASSIGN_OR_RETURN(m->max_bin_, s.GetInt("max_bin", 256, 2, 65536));
    OMNI_ASSIGN_OR_RETURN(m->balance_, s.GetBool("balance", false));
    OMNI_ASSIGN_OR_RETURN(m->threads_, s.GetInt("threads", 0, 0, 1024));
    OMNI_ASSIGN_OR_RETURN(m->seed_, s.GetInt("seed", 0, 0, 1LL << 31));
    return std::unique_ptr<PropensityModel>(std::move(m));
  }

  std::string name() const override { return "xgboost"; }
  std::string spec() const override {
    return fmt::format(
        "xgboost:depth={},eta={},rounds={},early_stop={},min_child_weight={},subsample={},colsample={},lambda={},"
        "max_bin={},leaves={},balance={},threads={},seed={}",
        depth_, eta_, rounds_, early_stop_, min_child_weight_, subsample_, colsample_, lambda_, max_bin_, leaves_,
        balance_ ? 1 : 0, threads_, seed_);
  }

  Status Fit(const FeatureTable& train, const FeatureTable* validation) override {
    if (!train.labelled()) return InvalidArgument("xgboost: the training table has no label column");
    DMatrix dtrain, dvalid;
    OMNI_RETURN_IF_ERROR(MakeDMatrix(train, true, dtrain));
    const bool early = validation && validation->rows() > 0 && early_stop_ > 0;
    // The validation rows are only predicted, never boosted on: they stay out
    // of the booster's cache (no prediction cache to keep up for them).
    if (early) OMNI_RETURN_IF_ERROR(MakeDMatrix(*validation, false, dvalid));
    if (booster_) XGBoosterFree(booster_);
    booster_ = nullptr;
    OMNI_XGB(XGBoosterCreate(&dtrain.h, 1, &booster_), "create");
    const ClassBalance b = BalanceOf(train, balance_);
    const double spw = balance_ && b.positives > 0 ? static_cast<double>(b.negatives) / b.positives : 1.0;
    const std::pair<std::string, std::string> params[] = {
        {"objective", "binary:logistic"},
        {"tree_method", "hist"},
        {"max_bin", std::to_string(max_bin_)},
        {"max_depth", std::to_string(depth_)},
        // leaves > 0: grow the best-gain leaf first up to that many leaves
        // (LightGBM's and HistGradientBoosting's way) instead of level by level.
        {"grow_policy", leaves_ > 0 ? "lossguide" : "depthwise"},
        {"max_leaves", std::to_string(leaves_)},
        {"eta", fmt::format("{}", eta_)},
        {"min_child_weight", fmt::format("{}", min_child_weight_)},
        {"subsample", fmt::format("{}", subsample_)},
        {"colsample_bytree", fmt::format("{}", colsample_)},
        {"lambda", fmt::format("{}", lambda_)},
        {"scale_pos_weight", fmt::format("{}", spw)},
        {"nthread", std::to_string(Threads(train.rows()))},
        {"seed", std::to_string(seed_)},
        {"verbosity", "0"},
    };
    for (const auto& [k, v] : params) OMNI_XGB(XGBoosterSetParam(booster_, k.c_str(), v.c_str()), "set parameter");
    // Early stopping watches validation AUC. XGBoost's own evaluation
    // (XGBoosterEvalOneIter) cost 20 ms a round on Hillstrom's 12,800
    // validation rows — four times the boosting round itself — so the
    // validation margin is kept here instead: each round adds only the new
    // tree's output (a one-tree prediction), and AUC is computed on the sum.
    // (Each one-tree margin carries the same base score; a constant shift
    // leaves AUC unchanged.)
    std::vector<double> margin;
    if (early) margin.assign(static_cast<size_t>(validation->rows()), 0.0);
    double best_auc = -1;
    int64_t best_round = -1, round = 0;
    for (; round < rounds_; ++round) {
      OMNI_XGB(XGBoosterUpdateOneIter(booster_, static_cast<int>(round), dtrain.h), "boosting round");
      if (!early) continue;
      OMNI_RETURN_IF_ERROR(AddTreeMargin(dvalid.h, round, margin));
      const double auc = RocAuc(validation->label, margin);
      if (auc > best_auc) {
        best_auc = auc;
        best_round = round;
      } else if (round - best_round >= early_stop_) {
        ++round;
        break;
      }
    }
    rounds_run_ = round;
    rounds_kept_ = early && best_round >= 0 ? best_round + 1 : round;
    validation_auc_ = best_auc;
    if (rounds_kept_ < rounds_run_) {
      // Keep only the trees up to the best validation round.
      BoosterHandle sliced = nullptr;
      OMNI_XGB(XGBoosterSlice(booster_, 0, static_cast<int>(rounds_kept_), 1, &sliced), "slice");
      XGBoosterFree(booster_);
      booster_ = sliced;
    }
    cols_ = train.cols();
    return Status::Ok();
  }

  Status Refit(const FeatureTable& all) override {
    const int64_t rounds = rounds_, early = early_stop_, kept = rounds_kept_, run = rounds_run_;
    const double auc = validation_auc_;
    rounds_ = std::max<int64_t>(1, rounds_kept_);
    early_stop_ = 0;
    Status s = Fit(all, nullptr);
    rounds_ = rounds;
    early_stop_ = early;
    rounds_kept_ = kept;
    rounds_run_ = run;
    validation_auc_ = auc;
    return s;
  }

  Status Predict(const FeatureTable& rows, std::vector<double>& out) const override {
    const float* r = nullptr;
    bst_ulong n = 0;
    OMNI_RETURN_IF_ERROR(Run(rows, 0, &r, &n));
    out.assign(r, r + n);
    return Status::Ok();
  }

  Status Contributions(const FeatureTable& rows, std::vector<float>& out) const override {
    const float* r = nullptr;
    bst_ulong n = 0;
    OMNI_RETURN_IF_ERROR(Run(rows, 2, &r, &n));
    if (n != static_cast<bst_ulong>(rows.rows()) * static_cast<bst_ulong>(rows.cols() + 1)) {
      return Internal("xgboost: unexpected contribution shape");
    }
    out.assign(r, r + n);
    return Status::Ok();
  }

  std::string FitSummary() const override {
    if (rounds_kept_ < rounds_run_ || validation_auc_ >= 0) {
      return fmt::format("{} rounds kept of {} run (best validation AUC {:.4f})", rounds_kept_, rounds_run_,
                         validation_auc_);
    }
    return fmt::format("{} rounds", rounds_run_);
  }

  Status Save(const std::string& path) const override {
    if (!booster_) return FailedPrecondition("xgboost: not fitted");
    bst_ulong len = 0;
    const char* buf = nullptr;
    OMNI_XGB(XGBoosterSaveModelToBuffer(booster_, R"({"format":"json"})", &len, &buf), "save");
    return WriteTextFile(path, std::string(buf, len));
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
    if (booster_) XGBoosterFree(booster_);
    booster_ = nullptr;
    OMNI_XGB(XGBoosterCreate(nullptr, 0, &booster_), "create");
    OMNI_XGB(XGBoosterLoadModelFromBuffer(booster_, text.data(), text.size()), "load " + path);
    bst_ulong features = 0;
    OMNI_XGB(XGBoosterGetNumFeature(booster_, &features), "feature count");
    cols_ = static_cast<int32_t>(features);
    OMNI_XGB(XGBoosterBoostedRounds(booster_, &boosted_), "rounds");
    rounds_kept_ = rounds_run_ = boosted_;
    return Status::Ok();
  }

 private:
  // margin[i] += the output margin of tree `round` alone on row i.
  Status AddTreeMargin(DMatrixHandle rows, int64_t round, std::vector<double>& margin) const {
    const std::string config = fmt::format(
        R"({{"type":1,"training":false,"iteration_begin":{},"iteration_end":{},"strict_shape":false}})", round,
        round + 1);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    OMNI_XGB(XGBoosterPredictFromDMatrix(booster_, rows, config.c_str(), &shape, &dim, &out), "validation margin");
    bst_ulong total = 1;
    for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
    if (total != margin.size()) return Internal("xgboost: unexpected validation margin shape");
    for (size_t i = 0; i < margin.size(); ++i) margin[i] += out[i];
    return Status::Ok();
  }

  Status Run(const FeatureTable& rows, int type, const float** r, bst_ulong* n) const {
    if (!booster_) return FailedPrecondition("xgboost: not fitted");
    if (rows.cols() != cols_) {
      return InvalidArgument(fmt::format("xgboost: the table has {} features, the model {}", rows.cols(), cols_));
    }
    if (rows.rows() == 0) {
      *n = 0;
      return Status::Ok();
    }
    DMatrix d;
    OMNI_RETURN_IF_ERROR(MakeDMatrix(rows, false, d));
    const std::string config = fmt::format(
        R"({{"type":{},"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false}})", type);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    OMNI_XGB(XGBoosterPredictFromDMatrix(booster_, d.h, config.c_str(), &shape, &dim, r), "predict");
    bst_ulong total = 1;
    for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
    *n = total;
    return Status::Ok();
  }

  int64_t Threads(int64_t rows) const {
    if (threads_ > 0) return threads_;
    // OpenMP's default without linking OpenMP: OMP_NUM_THREADS, else every core.
    int64_t most = std::max<int64_t>(1, std::thread::hardware_concurrency());
    if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0) most = std::atoi(env);
    return std::clamp<int64_t>(rows / 50000, 1, most);
  }

  int64_t depth_ = 3, leaves_ = 0, rounds_ = 500, early_stop_ = 10, max_bin_ = 256, threads_ = 0, seed_ = 0;
  double eta_ = 0.2, min_child_weight_ = 1, subsample_ = 1, colsample_ = 1, lambda_ = 1;
  bool balance_ = false;
  BoosterHandle booster_ = nullptr;
  int32_t cols_ = 0;
  int64_t rounds_run_ = 0, rounds_kept_ = 0;
  int boosted_ = 0;
  double validation_auc_ = -1;
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakeXgboostModel(const Spec& spec) { return XgboostModel::Make(spec); }

}  // namespace omni::predict
