// Propensity models, metrics and calibration. Golden values come from
// scikit-learn (tests/reference/propensity_metrics_reference.py); behaviour
// tests check what a user relies on: a planted signal is found, early
// stopping stops, saved models score the same, reason codes add up.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>

#include "omni/predict/calibration.h"
#include "omni/predict/propensity_metrics.h"
#include "omni/predict/propensity_model.h"
#include "omni/predict/propensity_split.h"
#include "omni/predict/propensity_training.h"

namespace omni::predict {
namespace {

// The fixture of propensity_metrics_reference.py.
const std::vector<float> kY = {0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0};
const std::vector<double> kP = {0.05, 0.1, 0.3, 0.3, 0.7, 0.2, 0.1, 0.9,  0.3,  0.45,
                                0.7,  0.55, 0.15, 0.02, 0.6, 0.35, 0.25, 0.08, 0.85, 0.5};

TEST(PropensityMetricsTest, MatchScikitLearn) {
  const BinaryMetrics m = ComputeMetrics(kY, kP, 0.5);
  EXPECT_NEAR(m.roc_auc, 0.9120879120879122, 1e-12);
  EXPECT_NEAR(m.average_precision, 0.8690476190476191, 1e-12);
  EXPECT_NEAR(m.log_loss, 0.38962146294520134, 1e-12);
  EXPECT_NEAR(m.brier, 0.12371500000000002, 1e-12);
  EXPECT_NEAR(m.accuracy, 0.8, 1e-12);
  EXPECT_NEAR(m.lift_top_decile, 2.857142857142857, 1e-12);
  EXPECT_EQ(m.positives, 7);
  EXPECT_NEAR(m.majority_accuracy, 13.0 / 20, 1e-12);
}

TEST(PropensityMetricsTest, ReliabilityTableMatchesCalibrationCurve) {
  // sklearn's calibration_curve(n_bins=10, strategy="uniform") keeps the
  // non-empty bins only.
  const std::vector<double> observed = {0.0, 0.0, 0.25, 1.0, 0.0, 0.5, 1.0, 1.0};
  const std::vector<double> predicted = {0.07, 0.175, 0.2875, 0.35, 0.475, 0.575, 0.7, 0.875};
  std::vector<ReliabilityBin> bins = ReliabilityTable(kY, kP);
  ASSERT_EQ(bins.size(), 10u);
  std::vector<double> got_observed, got_predicted;
  int64_t total = 0;
  for (const auto& b : bins) {
    total += b.count;
    if (b.count == 0) continue;
    got_observed.push_back(b.observed_rate);
    got_predicted.push_back(b.mean_predicted);
  }
  EXPECT_EQ(total, 20);
  ASSERT_EQ(got_observed.size(), observed.size());
  for (size_t i = 0; i < observed.size(); ++i) {
    EXPECT_NEAR(got_observed[i], observed[i], 1e-12) << i;
    EXPECT_NEAR(got_predicted[i], predicted[i], 1e-12) << i;
  }
}

// RocAuc sorts by the scores' bit patterns: check it against the definition
// (the share of positive/negative pairs ordered right, ties counting half) on
// margins of both signs, -0 beside +0, many ties and large magnitudes.
TEST(PropensityMetricsTest, RocAucIsThePairwiseDefinitionForAnyScores) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> pick(0, 9);
  std::normal_distribution<double> margin(0, 3);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> y;
    std::vector<double> s;
    for (int i = 0; i < 300; ++i) {
      const int k = pick(rng);
      double v = k == 0 ? -0.0 : k == 1 ? 0.0 : k == 2 ? std::round(margin(rng)) : margin(rng) * (k == 3 ? 1e6 : 1);
      s.push_back(v);
      y.push_back((v + margin(rng)) > 0 ? 1.0f : 0.0f);
    }
    double ordered = 0, pairs = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      for (size_t j = 0; j < s.size(); ++j) {
        if (y[i] > 0.5f && y[j] < 0.5f) {
          pairs += 1;
          ordered += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        }
      }
    }
    EXPECT_NEAR(RocAuc(y, s), ordered / pairs, 1e-12) << "trial " << trial;
  }
}

// RunningAuc keeps the rows in margin order by merging the groups a tree's
// few outputs make: it must give RocAuc's value on the summed margins every
// round — with ties, -0 beside +0, a constant tree, and a tree with too many
// outputs to group (where it falls back to RocAuc for good).
TEST(PropensityMetricsTest, RunningAucIsRocAucOfTheSummedMargins) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> g(0, 1);
  const int n = 2000;
  std::vector<float> y(n), x(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(g(rng));
    y[i] = u(rng) < 1 / (1 + std::exp(-x[i])) ? 1.0f : 0.0f;
  }
  RunningAuc running(y);
  std::vector<double> sum(n, 0.0);
  std::vector<float> delta(n);
  for (int round = 0; round < 40; ++round) {
    // A "tree": leaves = 1..8 (and 40 outputs in round 30), each row's leaf
    // from x and noise; round 5 maps leaves onto -0 and +0 only.
    const int leaves = round == 30 ? 40 : 1 + round % 8;
    std::vector<float> value(leaves);
    for (float& v : value) v = round == 5 ? (u(rng) < 0.5 ? -0.0f : 0.0f) : static_cast<float>(std::round(g(rng) * 8) / 64);
    for (int i = 0; i < n; ++i) {
      const int leaf = std::min(leaves - 1, static_cast<int>(leaves * (0.5 + 0.5 * std::tanh(x[i] + 0.3 * g(rng)))));
      delta[i] = value[leaf];
      sum[i] += delta[i];
    }
    const double got = running.Add(delta);
    EXPECT_DOUBLE_EQ(got, RocAuc(y, sum)) << "round " << round;
    ASSERT_EQ(running.margins(), sum);
    EXPECT_EQ(running.ordered(), round < 30) << "round " << round;
  }
}

TEST(PropensityMetricsTest, EdgeCases) {
  // One class only: no ranking to measure.
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<float>{0, 0}, std::vector<double>{0.1, 0.2})));
  // All scores tied: AUC one half.
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<float>{0, 1, 0, 1}, std::vector<double>{0.3, 0.3, 0.3, 0.3}), 0.5);
  // Lift table covers every row once, capture ends at 100%.
  auto lift = LiftTable(kY, kP);
  ASSERT_EQ(lift.size(), 10u);
  int64_t rows = 0, pos = 0;
  for (const auto& l : lift) {
    rows += l.count;
    pos += l.positives;
  }
  EXPECT_EQ(rows, 20);
  EXPECT_EQ(pos, 7);
  EXPECT_DOUBLE_EQ(lift.back().cumulative_capture, 1.0);
  // Best-F1 threshold: predicting yes from 0.55 up catches 5 of 7 with 1 false alarm.
  EXPECT_DOUBLE_EQ(BestF1Threshold(kY, kP), 0.55);
}

TEST(CalibrationTest, IsotonicAndPlattMatchScikitLearn) {
  const Calibrator iso = Calibrator::Fit(Calibrator::Method::kIsotonic, kY, kP);
  const std::vector<double> q = {0.0, 0.12, 0.3, 0.4, 0.58, 0.65, 0.8, 1.0};
  const std::vector<double> want = {0.0, 0.0, 0.3333333333333333, 0.3333333333333333, 0.5, 0.7500000000000002, 1.0,
                                    1.0};
  for (size_t i = 0; i < q.size(); ++i) {
    // Ours clips away from exactly 0 and 1 (calibration.h).
    EXPECT_NEAR(iso.Apply(q[i]), std::clamp(want[i], 1e-4, 1 - 1e-4), 1e-12) << q[i];
  }
  const Calibrator platt = Calibrator::Fit(Calibrator::Method::kPlatt, kY, kP);
  // sklearn's lbfgs stops a little short of the optimum Newton reaches.
  EXPECT_NEAR(platt.a(), 1.7529076529853616, 1e-5);
  EXPECT_NEAR(platt.b(), 0.06321620145896394, 1e-5);
}

TEST(CalibrationTest, ChoosesPlattOrIsotonicForADistortedScore) {
  // Scores that rank well but are squashed towards 0.5: any calibrator beats none.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> y;
  std::vector<double> s;
  for (int i = 0; i < 4000; ++i) {
    const double p = u(rng) * 0.2;  // true probability 0..0.2
    y.push_back(u(rng) < p ? 1.0f : 0.0f);
    s.push_back(0.4 + p);  // raw score far too high
  }
  CalibrationChoice c = ChooseCalibration(y, s, 1);
  EXPECT_NE(c.calibrator.method(), Calibrator::Method::kNone);
  EXPECT_LT(std::min(c.cv_log_loss_platt, c.cv_log_loss_isotonic), c.cv_log_loss_none - 0.05);
}

// Features: x0 drives the label, x1 is noise, x2 missing a third of the time
// and weakly informative.
FeatureTable Planted(int n, uint64_t seed, double base = -2.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  FeatureTable t;
  t.columns = {"signal", "noise", "sometimes"};
  for (int i = 0; i < n; ++i) {
    const double x0 = g(rng), x1 = g(rng), x2 = g(rng);
    const bool missing = u(rng) < 0.33;
    const double logit = base + 2.0 * x0 + (missing ? 0 : 0.5 * x2);
    t.customer_keys.push_back("C" + std::to_string(i));
    t.cutoff_ms.push_back(0);
    t.values.push_back(static_cast<float>(x0));
    t.values.push_back(static_cast<float>(x1));
    t.values.push_back(missing ? std::nanf("") : static_cast<float>(x2));
    t.label.push_back(u(rng) < 1 / (1 + std::exp(-logit)) ? 1.0f : 0.0f);
  }
  return t;
}

// Parameters for the models that boost (one thread keeps the tests quick on
// a shared machine); none for the others.
std::string Boosted(const std::string& name, const std::string& params) {
  return name == "xgboost" || name == "blend" ? params : "";
}

TEST(PropensityModelTest, EveryModelFindsThePlantedSignal) {
  const FeatureTable train = Planted(3000, 1), valid = Planted(1000, 2), test = Planted(2000, 3);
  for (const std::string& name : PropensityModelNames()) {
    auto model = MakePropensityModel(name + Boosted(name, ":threads=1"));
    ASSERT_TRUE(model.ok()) << model.status().message();
    ASSERT_TRUE((*model)->Fit(train, &valid).ok()) << name;
    std::vector<double> p;
    ASSERT_TRUE((*model)->Predict(test, p).ok()) << name;
    ASSERT_EQ(p.size(), 2000u);
    // The true model's AUC on this data is about 0.9.
    EXPECT_GT(RocAuc(test.label, p), 0.82) << name;
    for (double v : p) ASSERT_TRUE(v >= 0 && v <= 1) << name;
  }
}

TEST(PropensityModelTest, ContributionsAddUpToTheScoreAndBlameTheSignal) {
  const FeatureTable train = Planted(3000, 4), rows = Planted(200, 5);
  for (const std::string& name : PropensityModelNames()) {
    auto model = MakePropensityModel(name + Boosted(name, name == "xgboost" ? ":threads=1,rounds=50" : ":threads=1"));
    ASSERT_TRUE(model.ok());
    ASSERT_TRUE((*model)->Fit(train, nullptr).ok()) << name;
    std::vector<double> p;
    std::vector<float> c;
    ASSERT_TRUE((*model)->Predict(rows, p).ok());
    ASSERT_TRUE((*model)->Contributions(rows, c).ok()) << name;
    ASSERT_EQ(c.size(), 200u * 4);
    double signal = 0, noise = 0;
    for (int64_t i = 0; i < rows.rows(); ++i) {
      double sum = 0;
      for (int j = 0; j < 4; ++j) sum += c[i * 4 + j];
      EXPECT_NEAR(sum, std::log(p[i] / (1 - p[i])), 1e-3) << name << " row " << i;
      signal += std::abs(c[i * 4 + 0]);
      noise += std::abs(c[i * 4 + 1]);
    }
    EXPECT_GT(signal, 3 * noise) << name;
  }
}

TEST(PropensityModelTest, LogisticRegressionMatchesScikitLearn) {
  // propensity_metrics_reference.py: StandardScaler + LogisticRegression(C=1).
  const double x[12][3] = {{1, 200, 0}, {2, 150, 1}, {3, 400, 0}, {4, 90, 1},   {5, 310, 1},  {6, 120, 0},
                           {7, 500, 1}, {8, 60, 0},  {9, 260, 1}, {10, 80, 0}, {11, 330, 0}, {12, 45, 1}};
  const float y[12] = {0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0};
  FeatureTable t;
  t.columns = {"a", "b", "c"};
  for (int i = 0; i < 12; ++i) {
    t.customer_keys.push_back(std::to_string(i));
    t.cutoff_ms.push_back(0);
    for (double v : x[i]) t.values.push_back(static_cast<float>(v));
    t.label.push_back(y[i]);
  }
  const std::vector<double> lr = {0.26184807127580756, 0.2980323444833036, 0.6150626613941181, 0.24236682749607197,
                                  0.6077918961846389,  0.220521430900626,  0.86695458569646,   0.1757093576309649,
                                  0.58742381577663,    0.21779341743658495, 0.6237587556788577, 0.28273696630250245};
  auto logistic = MakePropensityModel("logistic:l2=1");
  ASSERT_TRUE(logistic.ok());
  ASSERT_TRUE((*logistic)->Fit(t, nullptr).ok());
  std::vector<double> p;
  ASSERT_TRUE((*logistic)->Predict(t, p).ok());
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(p[i], lr[i], 1e-6) << i;

  const std::vector<double> nb = {0.07745764257214127, 0.14134632440519557, 0.9123251865579123, 0.18570169671995476,
                                  0.818587184446881,   0.1641450396001107,  0.9989159644814826, 0.13204875318371245,
                                  0.655697574670118,   0.10533235181618066, 0.6851451196619909, 0.09908898743973768};
  auto bayes = MakePropensityModel("naive-bayes");
  ASSERT_TRUE(bayes.ok());
  ASSERT_TRUE((*bayes)->Fit(t, nullptr).ok());
  ASSERT_TRUE((*bayes)->Predict(t, p).ok());
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(p[i], nb[i], 1e-6) << i;
}

TEST(PropensityModelTest, XgboostStopsEarlyOnValidation) {
  const FeatureTable train = Planted(2000, 6), valid = Planted(1000, 7);
  auto model = MakePropensityModel("xgboost:depth=6,eta=0.3,rounds=1000,early_stop=10,threads=1");
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->Fit(train, &valid).ok());
  // Pure-noise trees stop improving long before 1000 rounds.
  EXPECT_NE((*model)->FitSummary().find("kept of"), std::string::npos) << (*model)->FitSummary();
  int kept = std::atoi((*model)->FitSummary().c_str());
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 200);
}

// "K rounds kept of R run (best validation AUC 0.xxxx)" -> {K, R, auc}.
struct Stopped {
  int kept = 0, run = 0;
  double auc = -1;
};
Stopped ParseStopped(const std::string& summary) {
  Stopped s;
  std::sscanf(summary.c_str(), "%d rounds kept of %d run (best validation AUC %lf", &s.kept, &s.run, &s.auc);
  return s;
}

TEST(PropensityModelTest, XgboostPatienceIsEarlyStopRounds) {
  const FeatureTable train = Planted(2000, 6), valid = Planted(1000, 7);
  for (int patience : {3, 10}) {
    auto model = MakePropensityModel("xgboost:eta=0.3,rounds=1000,threads=1,early_stop=" + std::to_string(patience));
    ASSERT_TRUE(model.ok());
    ASSERT_TRUE((*model)->Fit(train, &valid).ok());
    const Stopped s = ParseStopped((*model)->FitSummary());
    ASSERT_GT(s.kept, 0) << (*model)->FitSummary();
    ASSERT_LT(s.run, 1000) << (*model)->FitSummary();
    // Boosting stops exactly `patience` rounds after the best one, no later.
    EXPECT_EQ(s.run - s.kept, patience) << (*model)->FitSummary();
    // The kept trees are the best round's: their validation AUC is the one
    // early stopping saw (kept incrementally, one tree's margin at a time).
    std::vector<double> p;
    ASSERT_TRUE((*model)->Predict(valid, p).ok());
    EXPECT_NEAR(RocAuc(valid.label, p), s.auc, 6e-5) << (*model)->FitSummary();
  }
  // Without validation rows there is nothing to stop on: every round runs.
  auto model = MakePropensityModel("xgboost:rounds=25,threads=1");
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->Fit(train, nullptr).ok());
  EXPECT_EQ((*model)->FitSummary(), "25 rounds");
}

// With two threads, Fit boosts the refit on train + validation beside the
// early-stopped fit and keeps the rounds early stopping chose: the result must
// be the refit one thread would boost afterwards, prediction for prediction
// (row subsampling included: XGBoost's random engine is per thread and seeded
// per booster).
TEST(PropensityModelTest, XgboostRefitBesideTheFitIsTheRefitAfterIt) {
  const FeatureTable train = Planted(2000, 6), valid = Planted(1000, 7), rows = Planted(500, 8);
  FeatureTable all = train;
  ASSERT_TRUE(all.Append(valid).ok());
  for (const std::string params : {"", ",subsample=0.7"}) {
    std::vector<double> p[2];
    std::string summary[2];
    for (int threads : {1, 2}) {
      auto model = MakePropensityModel("xgboost:threads=" + std::to_string(threads) + params);
      ASSERT_TRUE(model.ok());
      (*model)->PlanRefit(&all);
      ASSERT_TRUE((*model)->Fit(train, &valid).ok());
      summary[threads - 1] = (*model)->FitSummary();
      ASSERT_TRUE((*model)->Refit(all).ok());
      ASSERT_TRUE((*model)->Predict(rows, p[threads - 1]).ok());
    }
    EXPECT_EQ(summary[0].find("beside"), std::string::npos) << summary[0];
    EXPECT_NE(summary[1].find("the refit boosted beside on a second thread"), std::string::npos) << summary[1];
    const Stopped one = ParseStopped(summary[0]), two = ParseStopped(summary[1]);
    ASSERT_GT(one.kept, 0) << summary[0];
    EXPECT_LT(one.kept, one.run) << summary[0];
    EXPECT_EQ(one.kept, two.kept);
    EXPECT_EQ(one.run, two.run);
    for (int64_t i = 0; i < rows.rows(); ++i) ASSERT_EQ(p[0][i], p[1][i]) << params << " row " << i;
  }
  // Refit on a table other than the planned one: fitted afresh on it.
  auto model = MakePropensityModel("xgboost:threads=2");
  ASSERT_TRUE(model.ok());
  (*model)->PlanRefit(&all);
  ASSERT_TRUE((*model)->Fit(train, &valid).ok());
  const FeatureTable other = Planted(3000, 9);
  ASSERT_TRUE((*model)->Refit(other).ok());
  auto fresh = MakePropensityModel("xgboost:threads=1");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->Fit(train, &valid).ok());
  ASSERT_TRUE((*fresh)->Refit(other).ok());
  std::vector<double> a, b;
  ASSERT_TRUE((*model)->Predict(rows, a).ok());
  ASSERT_TRUE((*fresh)->Predict(rows, b).ok());
  for (int64_t i = 0; i < rows.rows(); ++i) ASSERT_EQ(a[i], b[i]) << "row " << i;
}

TEST(PropensityModelTest, XgboostGrowsByLeavesWhenAsked) {
  const FeatureTable train = Planted(2000, 6), valid = Planted(1000, 7);
  auto model = MakePropensityModel("xgboost:depth=0,leaves=7,threads=1");
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE((*model)->Fit(train, &valid).ok());
  std::vector<double> p;
  ASSERT_TRUE((*model)->Predict(valid, p).ok());
  EXPECT_GT(RocAuc(valid.label, p), 0.82);
  // No depth limit and no leaf limit would grow each tree without bound.
  EXPECT_FALSE(MakePropensityModel("xgboost:depth=0").ok());
}

TEST(PropensityModelTest, BlendIsNeverWorseOnValidationThanItsParts) {
  // x0 linear, plus a step in x2 the trees see and the line does not.
  FeatureTable train = Planted(3000, 15), valid = Planted(1500, 16);
  auto alone = [&](const std::string& spec) {
    auto m = MakePropensityModel(spec);
    EXPECT_TRUE(m.ok() && (*m)->Fit(train, &valid).ok());
    std::vector<double> p;
    EXPECT_TRUE((*m)->Predict(valid, p).ok());
    return RocAuc(valid.label, p);
  };
  const double xgb = alone("xgboost:threads=1"), logistic = alone("logistic");
  auto blend = MakePropensityModel("blend:threads=1");
  ASSERT_TRUE(blend.ok());
  ASSERT_TRUE((*blend)->Fit(train, &valid).ok());
  std::vector<double> p;
  ASSERT_TRUE((*blend)->Predict(valid, p).ok());
  // The weight grid holds 0 and 1 (either part alone), so the chosen weight
  // cannot do worse on the rows it was chosen on.
  EXPECT_GE(RocAuc(valid.label, p), std::max(xgb, logistic) - 1e-9) << (*blend)->FitSummary();
  EXPECT_NE((*blend)->FitSummary().find("on xgboost"), std::string::npos);
  EXPECT_FALSE(MakePropensityModel("blend:depth=3,rounds=5").ok());  // unknown parameter named
}

TEST(PropensityModelTest, SavedModelsScoreTheSame) {
  const FeatureTable train = Planted(1500, 8), rows = Planted(300, 9);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "omni_propensity_save_test";
  std::filesystem::create_directories(dir);
  for (const std::string& name : PropensityModelNames()) {
    auto a = MakePropensityModel(name + Boosted(name, name == "xgboost" ? ":threads=1,rounds=30" : ":threads=1"));
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->Fit(train, nullptr).ok());
    const std::string path = (dir / (name + ".model")).string();
    ASSERT_TRUE((*a)->Save(path).ok()) << name;
    auto b = MakePropensityModel(name);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->Load(path).ok()) << name;
    std::vector<double> pa, pb;
    ASSERT_TRUE((*a)->Predict(rows, pa).ok());
    ASSERT_TRUE((*b)->Predict(rows, pb).ok());
    for (size_t i = 0; i < pa.size(); ++i) ASSERT_NEAR(pa[i], pb[i], 1e-6) << name << " row " << i;
    // Another model's file is refused.
    if (name != "xgboost") {
      auto other = MakePropensityModel(name == "logistic" ? "tree" : "logistic");
      EXPECT_FALSE((*other)->Load(path).ok()) << name;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(PropensityModelTest, SpecsAreCheckedByName) {
  EXPECT_FALSE(MakePropensityModel("xgboost:dept=6").ok());
  EXPECT_FALSE(MakePropensityModel("forest").ok());
  EXPECT_FALSE(MakePropensityModel("logistic:l2=-1").ok());
  auto m = MakePropensityModel("tree:depth=3");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->spec(), "tree:depth=3,min_leaf=50,balance=0");
}

TEST(PropensitySplitTest, LatestCutoffIsHeldOut) {
  FeatureTable t = Planted(900, 10, 0.0);
  for (int64_t r = 0; r < t.rows(); ++r) t.cutoff_ms[r] = (r % 3) * 1000;  // three cutoffs
  auto s = SplitRows(t, SplitOptions{});
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (int64_t r : s->train) EXPECT_LT(t.cutoff_ms[r], 2000);
  for (int64_t r : s->validation) EXPECT_EQ(t.cutoff_ms[r], 2000);
  for (int64_t r : s->test) EXPECT_EQ(t.cutoff_ms[r], 2000);
  EXPECT_EQ(s->validation.size() + s->test.size(), 300u);

  SplitOptions by_test;
  by_test.test_cutoff_ms = 2000;
  auto s2 = SplitRows(t, by_test);
  ASSERT_TRUE(s2.ok()) << s2.status().message();
  for (int64_t r : s2->train) EXPECT_EQ(t.cutoff_ms[r], 0);
  for (int64_t r : s2->validation) EXPECT_EQ(t.cutoff_ms[r], 1000);
  for (int64_t r : s2->test) EXPECT_EQ(t.cutoff_ms[r], 2000);
}

TEST(PropensitySplitTest, OneCutoffIsStratifiedAndSeeded) {
  const FeatureTable t = Planted(5000, 11);
  auto a = SplitRows(t, SplitOptions{7, 0});
  auto b = SplitRows(t, SplitOptions{7, 0});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->test, b->test);
  std::set<int64_t> seen;
  for (const auto* part : {&a->train, &a->validation, &a->test}) {
    for (int64_t r : *part) EXPECT_TRUE(seen.insert(r).second);
  }
  EXPECT_EQ(seen.size(), 5000u);
  auto rate = [&](const std::vector<int64_t>& rows) {
    double p = 0;
    for (int64_t r : rows) p += t.label[r];
    return p / rows.size();
  };
  EXPECT_NEAR(rate(a->test), rate(a->train), 0.005);
  EXPECT_NEAR(static_cast<double>(a->test.size()), 1000, 2);
}

TEST(PropensityTrainingTest, TrainSaveLoadScore) {
  FeatureTable t = Planted(4000, 12);
  TrainOptions o;
  o.specs = {"xgboost:rounds=80,threads=1", "logistic", "tree", "naive-bayes"};
  auto r = TrainPropensity(t, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_GE(r->best, 0);
  for (const auto& m : r->models) {
    EXPECT_TRUE(m.error.empty()) << m.error;
    EXPECT_GT(m.test.roc_auc, 0.8) << m.spec;
    EXPECT_EQ(m.test.rows, 800);
  }
  r->name = "purchase_90d";
  const std::string dir = (std::filesystem::temp_directory_path() / "omni_propensity_train_test").string();
  std::filesystem::remove_all(dir);
  auto v = SaveTraining(dir, *r);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 1);
  auto loaded = LoadTraining(dir, "purchase_90d", 0, true);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->best, r->best);
  EXPECT_EQ(loaded->columns, t.columns);
  EXPECT_DOUBLE_EQ(loaded->models[0].test.roc_auc, r->models[0].test.roc_auc);
  // Columns are matched by name: a reordered table scores the same.
  FeatureTable reordered;
  reordered.columns = {"sometimes", "signal", "noise"};
  reordered.customer_keys = t.customer_keys;
  reordered.cutoff_ms = t.cutoff_ms;
  for (int64_t i = 0; i < t.rows(); ++i) {
    reordered.values.push_back(t.at(i, 2));
    reordered.values.push_back(t.at(i, 0));
    reordered.values.push_back(t.at(i, 1));
  }
  auto a = ScoreTable(*loaded, loaded->best, t, false);
  auto b = ScoreTable(*loaded, loaded->best, reordered, true);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int64_t i = 0; i < t.rows(); ++i) ASSERT_DOUBLE_EQ(a->probability[i], b->probability[i]);
  // A table without a model column is refused, naming it.
  FeatureTable missing = t;
  missing.columns[0] = "other";
  auto c = ScoreTable(*loaded, loaded->best, missing, false);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("signal"), std::string::npos);
  // Reasons: the signal pushes the highest-scored customer up.
  int64_t top = 0;
  for (int64_t i = 0; i < t.rows(); ++i) {
    if (a->probability[i] > a->probability[top]) top = i;
  }
  std::vector<Reason> up, down;
  TopReasons(loaded->columns, &b->contributions[top * 4], &b->aligned.values[top * 3], 3, up, down);
  ASSERT_FALSE(up.empty());
  EXPECT_EQ(up[0].feature, "signal");
  std::filesystem::remove_all(dir);
}

// The test rows measure; they must never steer. With the test part fixed by
// --test-cutoff (so the split itself does not look at labels), scrambling the
// test labels must leave every choice made on validation unchanged: rounds
// kept, calibrator, threshold, validation AUC and the chosen model.
TEST(PropensityTrainingTest, TestLabelsNeverInfluenceAChoice) {
  FeatureTable t = Planted(4500, 13);
  for (int64_t r = 0; r < t.rows(); ++r) t.cutoff_ms[r] = (r % 3) * 1000;  // test = cutoff 2000
  FeatureTable scrambled = t;
  std::mt19937_64 rng(99);
  for (int64_t r = 0; r < t.rows(); ++r) {
    if (t.cutoff_ms[r] == 2000) scrambled.label[r] = rng() % 2 ? 1.0f : 0.0f;
  }
  TrainOptions o;
  o.specs = {"xgboost:threads=1", "logistic", "tree", "naive-bayes", "blend:threads=1"};
  o.split.test_cutoff_ms = 2000;
  auto a = TrainPropensity(t, o);
  auto b = TrainPropensity(scrambled, o);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->models.size(), b->models.size());
  EXPECT_EQ(a->best, b->best);
  for (size_t i = 0; i < a->models.size(); ++i) {
    const ModelResult &x = a->models[i], &y = b->models[i];
    EXPECT_EQ(x.fit_summary, y.fit_summary) << x.spec;
    EXPECT_DOUBLE_EQ(x.validation_auc, y.validation_auc) << x.spec;
    EXPECT_EQ(x.calibration.calibrator.method(), y.calibration.calibrator.method()) << x.spec;
    EXPECT_DOUBLE_EQ(x.test.threshold, y.test.threshold) << x.spec;
    // ...while the test metrics do see the scrambled labels.
    EXPECT_GT(x.test.roc_auc, 0.8) << x.spec;
    EXPECT_LT(y.test.roc_auc, 0.6) << x.spec;
  }
}

TEST(PropensityTrainingTest, NoRefitKeepsTheModelFittedOnTrainOnly) {
  FeatureTable t = Planted(3000, 14);
  for (int64_t r = 0; r < t.rows(); ++r) t.cutoff_ms[r] = (r % 3) * 1000;
  TrainOptions o;
  o.specs = {"xgboost:threads=1"};
  o.split.test_cutoff_ms = 2000;
  o.refit = false;
  auto r = TrainPropensity(t, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->models[0].fit_summary.find("refit"), std::string::npos) << r->models[0].fit_summary;
  // The same as fitting by hand on the train rows with validation stopping.
  auto split = SplitRows(t, o.split);
  ASSERT_TRUE(split.ok());
  const FeatureTable train = Subset(t, split->train), valid = Subset(t, split->validation);
  auto model = MakePropensityModel("xgboost:threads=1");
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->Fit(train, &valid).ok());
  std::vector<double> by_hand, trained;
  ASSERT_TRUE((*model)->Predict(t, by_hand).ok());
  ASSERT_TRUE(r->fitted[0]->Predict(t, trained).ok());
  for (int64_t i = 0; i < t.rows(); ++i) ASSERT_DOUBLE_EQ(by_hand[i], trained[i]) << i;

  // With the refit (the default), the final model learns from train +
  // validation with the rounds early stopping kept: its predictions differ.
  o.refit = true;
  auto refit = TrainPropensity(t, o);
  ASSERT_TRUE(refit.ok());
  EXPECT_NE(refit->models[0].fit_summary.find("refit on train+validation"), std::string::npos);
  EXPECT_EQ(ParseStopped(refit->models[0].fit_summary).kept, ParseStopped(r->models[0].fit_summary).kept);
  ASSERT_TRUE(refit->fitted[0]->Predict(t, trained).ok());
  int64_t differ = 0;
  for (int64_t i = 0; i < t.rows(); ++i) differ += by_hand[i] != trained[i];
  EXPECT_GT(differ, t.rows() / 2);
}

}  // namespace
}  // namespace omni::predict
