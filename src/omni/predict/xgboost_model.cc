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
// threads: the thread budget; 0 = OpenMP's default (every core, or
// OMP_NUM_THREADS). A booster gets one OpenMP thread per 50,000 of its rows,
// at most its share of the budget: XGBoost runs dozens of parallel regions a
// round, and libgomp's idle threads spin at every barrier (libgomp reads
// OMP_WAIT_POLICY once, when it loads, before omni's code runs), so on small
// tables or a busy machine the barriers cost more than the threads gain —
// 19.6 s with 2 threads against 0.04 s with 1 for 33 rounds on 1,400 rows,
// and 5-9x slower rounds on Hillstrom's 38,400 rows, while the machine was
// loaded.
// The refit beside the fit. When the caller announces the refit table
// (PlanRefit) and the budget holds two threads, Fit boosts the refit on
// train + validation on a second thread, round for round beside the
// early-stopped fit (two independent single-threaded boosters: no barrier
// between them), and keeps its first `kept` trees once early stopping has
// chosen `kept`. Tree k depends only on trees 0..k-1, so that is exactly the
// model a refit of `kept` rounds boosts afterwards (a test checks the
// predictions are identical). The refit boosts at most one round past the
// best so far, so it costs at most one round more than a refit after the
// fit, and on two free cores fit + refit take the time of the longer one.
// Not done: the refit could take the fit's histogram bin edges (a
// QuantileDMatrix with the train rows as reference) instead of sketching
// train + validation again — 30 ms less CPU on Hillstrom, but other bins make
// another model (test AUC on Hillstrom conversion 0.6358 against 0.6452),
// and a refit's job is to learn from the validation rows too.
// balance=1 sets scale_pos_weight = negatives / positives (off by default;
// propensity_model.h says why).
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// Owns a Booster handle.
struct Booster {
  BoosterHandle h = nullptr;
  ~Booster() { Reset(); }
  void Reset(BoosterHandle to = nullptr) {
    if (h) XGBoosterFree(h);
    h = to;
  }
  BoosterHandle Release() { return std::exchange(h, nullptr); }
};

using Params = std::vector<std::pair<std::string, std::string>>;

// Creates a booster on `data` with `params`.
Status MakeBooster(DMatrixHandle data, const Params& params, Booster& out) {
  out.Reset();
  OMNI_XGB(XGBoosterCreate(&data, 1, &out.h), "create");
  for (const auto& [k, v] : params) OMNI_XGB(XGBoosterSetParam(out.h, k.c_str(), v.c_str()), "set parameter");
  return Status::Ok();
}

// Keeps the first `rounds` trees of `b` (a no-op when it holds no more).
Status KeepRounds(Booster& b, int64_t rounds) {
  int boosted = 0;
  OMNI_XGB(XGBoosterBoostedRounds(b.h, &boosted), "rounds");
  if (boosted <= rounds) return Status::Ok();
  BoosterHandle sliced = nullptr;
  OMNI_XGB(XGBoosterSlice(b.h, 0, static_cast<int>(rounds), 1, &sliced), "slice");
  b.Reset(sliced);
  return Status::Ok();
}

// The refit boosted on its own thread beside the early-stopped fit (see the
// file comment). The fit thread lets it boost the rounds below Allow(n)'s n,
// and Finish(kept) lets it complete `kept` rounds, joins it and keeps `kept`
// trees. Destroyed unfinished (the fit failed), it stops after the round it
// is boosting.
class RefitBeside {
 public:
  RefitBeside(const FeatureTable& all, Params params) : all_(all), params_(std::move(params)) {
    thread_ = std::thread([this] { status_ = Run(); });
  }
  ~RefitBeside() { Stop(0); }

  void Allow(int64_t rounds) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      allowed_ = rounds;
    }
    cv_.notify_one();
  }

  // The refit with exactly `kept` rounds, or the error that stopped it.
  Status Finish(int64_t kept, Booster& out) {
    Stop(kept);
    OMNI_RETURN_IF_ERROR(status_);
    if (boosted_ < kept) return Internal("xgboost: the refit stopped early");
    OMNI_RETURN_IF_ERROR(KeepRounds(booster_, kept));
    out.Reset(booster_.Release());
    return Status::Ok();
  }

 private:
  void Stop(int64_t rounds) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      allowed_ = rounds;
      finished_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  Status Run() {
    DMatrix data;
    OMNI_RETURN_IF_ERROR(MakeDMatrix(all_, true, data));
    OMNI_RETURN_IF_ERROR(MakeBooster(data.h, params_, booster_));
    for (int64_t round = 0;; ++round) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return round < allowed_ || finished_; });
        if (round >= allowed_) return Status::Ok();
      }
      OMNI_XGB(XGBoosterUpdateOneIter(booster_.h, static_cast<int>(round), data.h), "refit round");
      boosted_ = round + 1;
    }
  }

  const FeatureTable& all_;
  const Params params_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t allowed_ = 0;
  bool finished_ = false;
  Booster booster_;
  int64_t boosted_ = 0;  // written by the refit thread, read after the join
  Status status_;
  std::thread thread_;
};

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

  void PlanRefit(const FeatureTable* all) override { planned_refit_ = all; }

  Status Fit(const FeatureTable& train, const FeatureTable* validation) override {
    if (!train.labelled()) return InvalidArgument("xgboost: the training table has no label column");
    refit_.Reset();
    DMatrix dtrain, dvalid;
    OMNI_RETURN_IF_ERROR(MakeDMatrix(train, true, dtrain));
    const bool early = validation && validation->rows() > 0 && early_stop_ > 0;
    // The validation rows are only predicted, never boosted on: they stay out
    // of the booster's cache (no prediction cache to keep up for them).
    if (early) OMNI_RETURN_IF_ERROR(MakeDMatrix(*validation, false, dvalid));
    const FeatureTable* all = std::exchange(planned_refit_, nullptr);
    // Without early stopping the refit's rounds are known up front: nothing
    // to overlap with.
    const int boosters = early && all && all->rows() > 0 && Budget() >= 2 ? 2 : 1;
    if (booster_) XGBoosterFree(booster_);
    booster_ = nullptr;
    {
      Booster b;
      OMNI_RETURN_IF_ERROR(MakeBooster(dtrain.h, BoosterParams(train, boosters), b));
      booster_ = b.Release();
    }
    std::unique_ptr<RefitBeside> beside;
    if (boosters == 2) beside = std::make_unique<RefitBeside>(*all, BoosterParams(*all, boosters));
    // Early stopping watches validation AUC. XGBoost's own evaluation
    // (XGBoosterEvalOneIter) cost 20 ms a round on Hillstrom's 12,800
    // validation rows — four times the boosting round itself — so the
    // validation margin is kept here instead: each round adds only the new
    // tree's output (a one-tree prediction), and RunningAuc keeps the rows
    // in margin order from round to round. (Each one-tree margin carries the
    // same base score; a constant shift leaves AUC unchanged.)
    std::optional<RunningAuc> auc;
    if (early) auc.emplace(validation->label);
    double best_auc = -1;
    int64_t best_round = -1, round = 0;
    for (; round < rounds_; ++round) {
      // The refit may boost this round too, but at most one round past the
      // best so far: it pauses while validation AUC does not improve (those
      // rounds are thrown away unless it improves again), then catches up —
      // by the patience rounds at the end at the latest.
      if (beside) beside->Allow(std::min(round + 1, best_round + 2));
      OMNI_XGB(XGBoosterUpdateOneIter(booster_, static_cast<int>(round), dtrain.h), "boosting round");
      if (!early) continue;
      OMNI_ASSIGN_OR_RETURN(std::span<const float> tree, TreeMargin(dvalid.h, round, validation->rows()));
      const double a = auc->Add(tree);
      if (a > best_auc) {
        best_auc = a;
        best_round = round;
      } else if (round - best_round >= early_stop_) {
        ++round;
        break;
      }
    }
    rounds_run_ = round;
    rounds_kept_ = early && best_round >= 0 ? best_round + 1 : round;
    validation_auc_ = best_auc;
    refit_beside_ = beside != nullptr;
    if (beside) {
      OMNI_RETURN_IF_ERROR(beside->Finish(rounds_kept_, refit_));
      refit_rows_ = all;
    }
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
    if (refit_.h && refit_rows_ == &all) {  // boosted beside the fit
      if (booster_) XGBoosterFree(booster_);
      booster_ = refit_.Release();
      cols_ = all.cols();
      return Status::Ok();
    }
    refit_.Reset();
    planned_refit_ = nullptr;
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
      return fmt::format("{} rounds kept of {} run (best validation AUC {:.4f}){}", rounds_kept_, rounds_run_,
                         validation_auc_, refit_beside_ ? ", the refit boosted beside on a second thread" : "");
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
  // The output margin of tree `round` alone on each of the `rows` rows
  // (XGBoost's buffer, valid until the next prediction).
  StatusOr<std::span<const float>> TreeMargin(DMatrixHandle data, int64_t round, int64_t rows) const {
    const std::string config = fmt::format(
        R"({{"type":1,"training":false,"iteration_begin":{},"iteration_end":{},"strict_shape":false}})", round,
        round + 1);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    OMNI_XGB(XGBoosterPredictFromDMatrix(booster_, data, config.c_str(), &shape, &dim, &out), "validation margin");
    bst_ulong total = 1;
    for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
    if (total != static_cast<bst_ulong>(rows)) return Internal("xgboost: unexpected validation margin shape");
    return std::span<const float>(out, static_cast<size_t>(rows));
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

  // The thread budget: threads=N, else OpenMP's default without linking
  // OpenMP (OMP_NUM_THREADS, else every core).
  int64_t Budget() const {
    if (threads_ > 0) return threads_;
    int64_t most = std::max<int64_t>(1, std::thread::hardware_concurrency());
    if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0) most = std::atoi(env);
    return most;
  }

  // OpenMP threads for one of `boosters` boosters running at once on `rows`
  // rows: one per 50,000 rows, within its share of the budget.
  int64_t Threads(int64_t rows, int boosters) const {
    return std::clamp<int64_t>(rows / 50000, 1, std::max<int64_t>(1, Budget() / boosters));
  }

  // The booster parameters for fitting on `train` with `boosters` boosters
  // at once.
  Params BoosterParams(const FeatureTable& train, int boosters) const {
    const ClassBalance b = BalanceOf(train, balance_);
    const double spw = balance_ && b.positives > 0 ? static_cast<double>(b.negatives) / b.positives : 1.0;
    return {
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
        {"nthread", std::to_string(Threads(train.rows(), boosters))},
        {"seed", std::to_string(seed_)},
        {"verbosity", "0"},
    };
  }

  int64_t depth_ = 3, leaves_ = 0, rounds_ = 500, early_stop_ = 10, max_bin_ = 256, threads_ = 0, seed_ = 0;
  double eta_ = 0.2, min_child_weight_ = 1, subsample_ = 1, colsample_ = 1, lambda_ = 1;
  bool balance_ = false;
  BoosterHandle booster_ = nullptr;
  int32_t cols_ = 0;
  int64_t rounds_run_ = 0, rounds_kept_ = 0;
  int boosted_ = 0;
  const FeatureTable* planned_refit_ = nullptr;  // PlanRefit's table, until Fit
  Booster refit_;                                // boosted beside the fit, on refit_rows_
  const FeatureTable* refit_rows_ = nullptr;
  bool refit_beside_ = false;  // the last Fit boosted the refit beside it
  double validation_auc_ = -1;
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakeXgboostModel(const Spec& spec) { return XgboostModel::Make(spec); }

}  // namespace omni::predict
