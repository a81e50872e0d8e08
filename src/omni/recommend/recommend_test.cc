// Unit tests of the recommend module: matrices, top-k, models on tiny
// hand-checked inputs, artefacts, splits and metrics.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "omni/recommend/evaluation.h"
#include "omni/recommend/interactions.h"
#include "omni/recommend/low_pass_filter.h"
#include "omni/recommend/metrics.h"
#include "omni/recommend/models.h"
#include "omni/recommend/recommender.h"
#include "omni/recommend/splits.h"

namespace omni::recommend {
namespace {

InteractionMatrix Make(int32_t rows, int32_t cols, std::vector<std::tuple<int, int, float>> t) {
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (auto [a, b, x] : t) {
    r.push_back(a);
    c.push_back(b);
    v.push_back(x);
  }
  auto m = InteractionMatrix::FromTriplets(rows, cols, r, c, v);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  std::filesystem::create_directories(root);
  return (root / (name + "-" + std::to_string(::getpid()))).string();
}

TEST(InteractionMatrixTest, SumsDuplicatesSortsColumnsAndTransposes) {
  InteractionMatrix m = Make(2, 3, {{1, 2, 1}, {0, 1, 2}, {1, 0, 3}, {0, 1, 0.5}});
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(m.indices, (std::vector<int32_t>{1, 0, 2}));
  EXPECT_EQ(m.values, (std::vector<float>{2.5f, 3, 1}));
  InteractionMatrix t = m.Transpose();
  EXPECT_EQ(t.rows, 3);
  EXPECT_EQ(t.indptr, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(t.indices, (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(t.values, (std::vector<float>{3, 2.5f, 1}));
}

TEST(InteractionMatrixTest, RejectsOutOfRangeAndNonFinite) {
  EXPECT_EQ(InteractionMatrix::FromTriplets(2, 2, {2}, {0}, {1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(InteractionMatrix::FromTriplets(2, 2, {0}, {-1}, {1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(InteractionMatrix::FromTriplets(2, 2, {0}, {0}, {NAN}).status().code(), StatusCode::kInvalidArgument);
}

TEST(TopKTest, OrdersByScoreThenIdAndExcludes) {
  std::vector<float> s = {1, 3, 3, 2, 3, 0};
  std::vector<ScoredItem> out;
  TopK(s.data(), 6, 3, nullptr, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].item, 1);
  EXPECT_EQ(out[1].item, 2);
  EXPECT_EQ(out[2].item, 4);
  TopK(s.data(), 6, 3, [](int32_t j) { return j == 2; }, out);
  EXPECT_EQ(out[0].item, 1);
  EXPECT_EQ(out[1].item, 4);
  EXPECT_EQ(out[2].item, 3);
  TopK(s.data(), 6, 10, nullptr, out);
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(out.back().item, 5);
}

TEST(TopKTest, PositiveTopKMatchesTopKOverPositiveScores) {
  // Dense random scores with ties, negatives, zeros and a NaN; exclusions
  // that eat more than the first slice force the wider pass.
  std::vector<float> s(5000);
  uint32_t state = 7;
  for (float& x : s) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(static_cast<int>(state >> 20) % 400 - 100) / 8.0f;
  }
  s[17] = NAN;
  for (auto exclude : std::vector<std::function<bool(int32_t)>>{
           nullptr, [](int32_t j) { return j % 3 == 0; }, [&](int32_t j) { return s[j] > 30; }}) {
    for (int k : {1, 10, 50, 4000}) {
      // likely_excluded only sizes the first pass: the list is the same.
      for (size_t likely : {size_t{0}, size_t{300}, size_t{100000}}) {
        std::vector<ScoredItem> want, got;
        TopK(s.data(), 5000, k, [&](int32_t j) { return !(s[j] > 0) || (exclude && exclude(j)); }, want);
        PositiveTopK(s.data(), 5000, k, exclude, got, likely);
        ASSERT_EQ(got.size(), want.size()) << k << " " << likely;
        for (size_t i = 0; i < got.size(); ++i) {
          EXPECT_EQ(got[i].item, want[i].item) << k << " " << likely << " " << i;
          EXPECT_EQ(got[i].score, want[i].score);
        }
      }
    }
  }
}

TEST(RegistryTest, KnowsEveryModelAndRejectsUnknown) {
  for (std::string_view n : {"popularity", "itemknn", "ease", "als", "dense-cosine", "rp3beta"}) {
    auto names = RecommenderNames();
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  EXPECT_EQ(MakeRecommender("nope").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeRecommender("ease:lamda=3").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeRecommender("itemknn:weighting=x").status().code(), StatusCode::kInvalidArgument);
}

// 4 customers × 4 items.
InteractionMatrix Small() {
  return Make(4, 4, {{0, 0, 1}, {0, 1, 1}, {1, 0, 1}, {1, 1, 1}, {1, 2, 1}, {2, 2, 1}, {2, 3, 1}, {3, 1, 1}, {3, 3, 1}});
}

TEST(PopularityTest, CountsCustomers) {
  auto m = MakeRecommender("popularity");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Fit(Small()).ok());
  std::vector<float> s(4);
  int32_t u = 0;
  (*m)->Score({&u, 1}, Small(), s.data());
  EXPECT_EQ(s, (std::vector<float>{2, 3, 2, 2}));
}

TEST(Rp3BetaTest, MatchesNumpyReference) {
  // Golden values from tests/reference/rp3beta_reference.py (Small() with
  // customer 0's item 1 weighted 2).
  const InteractionMatrix x =
      Make(4, 4, {{0, 0, 1}, {0, 1, 2}, {1, 0, 1}, {1, 1, 1}, {1, 2, 1}, {2, 2, 1}, {2, 3, 1}, {3, 1, 1}, {3, 3, 1}});
  auto m = MakeRecommender("rp3beta:alpha=0.8,beta=0.5,k=2");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->Fit(x).ok());
  EXPECT_EQ((*m)->spec(), "rp3beta:alpha=0.8,beta=0.5,k=2");
  std::vector<float> s(4);
  const int32_t u = 0;
  (*m)->Score({&u, 1}, x, s.data());
  const float want[] = {0.531000658f, 0.377436095f, 0.168641323f, 0.267943366f};
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(s[j], want[j], 1e-6) << j;
  // Row 1 kept its 2 best weights (0.2655 to item 0, 0.1340 to item 3), not item 2.
  std::vector<ScoredItem> why;
  const int32_t h[] = {1};
  const float v[] = {1};
  (*m)->Explain(h, v, 2, 3, why);
  EXPECT_TRUE(why.empty());
  (*m)->Explain(h, v, 3, 3, why);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NEAR(why[0].score, 0.133971683f, 1e-6);
  // The serving path agrees, and the artefact round-trips.
  std::vector<float> one(4);
  (*m)->ScoreCustomer(-1, x.RowIndices(0), x.RowValues(0), one.data());
  EXPECT_EQ(one, s);
  const std::string path = TempPath("rp3beta.bin");
  ASSERT_TRUE((*m)->Save(path).ok());
  auto loaded = MakeRecommender("rp3beta");
  ASSERT_TRUE((*loaded)->Load(path).ok());
  EXPECT_EQ((*loaded)->spec(), "rp3beta:alpha=0.8,beta=0.5,k=2");
  (*loaded)->Score({&u, 1}, x, one.data());
  EXPECT_EQ(one, s);
  std::filesystem::remove(path);
  EXPECT_EQ(MakeRecommender("rp3beta:beta=-1").status().code(), StatusCode::kInvalidArgument);
}

TEST(EaseTest, MatchesDirectEigenComputation) {
  InteractionMatrix x = Small();
  const double lambda = 0.7;
  Eigen::MatrixXd X = Eigen::MatrixXd::Zero(4, 4);
  for (int r = 0; r < 4; ++r) {
    for (int64_t p = x.indptr[r]; p < x.indptr[r + 1]; ++p) X(r, x.indices[p]) = x.values[p];
  }
  Eigen::MatrixXd G = X.transpose() * X + lambda * Eigen::MatrixXd::Identity(4, 4);
  Eigen::MatrixXd P = G.inverse();
  Eigen::MatrixXd B(4, 4);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) B(i, j) = i == j ? 0 : -P(i, j) / P(j, j);
  }
  Eigen::MatrixXd expected = X * B;
  auto m = MakeRecommender("ease:lambda=0.7");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Fit(x).ok());
  std::vector<int32_t> all = {0, 1, 2, 3};
  std::vector<float> s(16);
  (*m)->Score(all, x, s.data());
  for (int r = 0; r < 4; ++r) {
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(s[r * 4 + j], expected(r, j), 1e-5) << r << "," << j;
  }
  // Save/Load round trip scores identically.
  std::string path = TempPath("ease.bin");
  ASSERT_TRUE((*m)->Save(path).ok());
  auto loaded = MakeRecommender("ease");
  ASSERT_TRUE((*loaded)->Load(path).ok());
  std::vector<float> s2(16);
  (*loaded)->Score(all, x, s2.data());
  EXPECT_EQ(s, s2);
  EXPECT_EQ((*loaded)->spec(), "ease:lambda=0.7");
  // Another model's artefact is refused.
  auto pop = MakeRecommender("popularity");
  EXPECT_FALSE((*pop)->Load(path).ok());
  std::filesystem::remove(path);
}

TEST(EaseTest, DropoutPenalisesTheDiagonalAsPublished) {
  // EDLAE (Steck 2020): Λ = λI + p/(1-p)·diag(XᵀX), then the same zero-diagonal solution.
  InteractionMatrix x = Small();
  const double lambda = 0.7, p = 0.25;
  Eigen::MatrixXd X = Eigen::MatrixXd::Zero(4, 4);
  for (int r = 0; r < 4; ++r) {
    for (int64_t q = x.indptr[r]; q < x.indptr[r + 1]; ++q) X(r, x.indices[q]) = x.values[q];
  }
  Eigen::MatrixXd G = X.transpose() * X;
  Eigen::MatrixXd L = lambda * Eigen::MatrixXd::Identity(4, 4);
  L.diagonal() += (p / (1 - p)) * G.diagonal();
  Eigen::MatrixXd P = (G + L).inverse();
  Eigen::MatrixXd B(4, 4);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) B(i, j) = i == j ? 0 : -P(i, j) / P(j, j);
  }
  Eigen::MatrixXd expected = X * B;
  auto m = MakeRecommender("ease:lambda=0.7,dropout=0.25");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Fit(x).ok());
  std::vector<int32_t> all = {0, 1, 2, 3};
  std::vector<float> s(16);
  (*m)->Score(all, x, s.data());
  for (int r = 0; r < 4; ++r) {
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(s[r * 4 + j], expected(r, j), 1e-5) << r << "," << j;
  }
  std::string path = TempPath("ease_dropout.bin");
  ASSERT_TRUE((*m)->Save(path).ok());
  auto loaded = MakeRecommender("ease");
  ASSERT_TRUE((*loaded)->Load(path).ok());
  EXPECT_EQ((*loaded)->spec(), "ease:lambda=0.7,dropout=0.25");
  std::filesystem::remove(path);
}

TEST(EaseTest, RefusesCatalogueOverMemoryBudget) {
  InteractionMatrix x = Make(1, 2000, {{0, 1, 1}});
  auto m = MakeRecommender("ease:max_memory_mb=1");
  ASSERT_TRUE(m.ok());
  Status s = (*m)->Fit(x);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("MiB"), std::string::npos);
}

// tests/reference/ease_session_reference.py's log: items 1 and 2 are
// interchangeable in XᵀX, but customers 0 and 1 take up items 0 and 1 within
// a minute while only customer 2 takes up 0 and 2 together.
InteractionLog SessionLog() {
  InteractionLog l;
  l.customers = 5;
  l.items = 4;
  const int rows[][3] = {{0, 0, 0},      {0, 1, 60}, {0, 2, 86400}, {1, 0, 0}, {1, 1, 30},
                         {1, 2, 200000}, {2, 0, 0},  {2, 2, 120},   {2, 1, 500000},
                         {3, 1, 0},      {3, 2, 10}, {3, 3, 100},   {4, 0, 0}, {4, 3, 50}};
  for (const auto& r : rows) l.rows.push_back({r[0], r[1], 1.0f, 0.0f, int64_t{r[2]} * 1000});
  return l;
}

TEST(EaseSessionTest, MatchesNumpyReferenceAndRanksTheSessionNeighbourFirst) {
  const InteractionLog log = SessionLog();
  auto x = ToMatrix(log, MatrixValues::kBinary);
  ASSERT_TRUE(x.ok());
  auto plain = MakeRecommender("ease:lambda=0.5");
  auto timed = MakeRecommender("ease:lambda=0.5,session_weight=1,session_seconds=600");
  ASSERT_TRUE(plain.ok() && timed.ok());
  EXPECT_FALSE((*plain)->UsesEventTimes());
  EXPECT_TRUE((*timed)->UsesEventTimes());
  ASSERT_TRUE((*plain)->Fit(*x).ok());
  ASSERT_TRUE((*timed)->FitTimed(*x, EntryTimes(*x, log)).ok());
  std::vector<int32_t> all = {0, 1, 2, 3, 4};
  std::vector<float> p(20), t(20);
  (*plain)->Score(all, *x, p.data());
  (*timed)->Score(all, *x, t.data());
  // Golden values: tests/reference/ease_session_reference.py.
  const double want[5][4] = {{0.593093928, 0.772329375, 0.614175212, 0.321771972},
                             {0.593093928, 0.772329375, 0.614175212, 0.321771972},
                             {0.593093928, 0.772329375, 0.614175212, 0.321771972},
                             {0.775936621, 0.486391095, 0.627608066, 0.190464773},
                             {0.182842693, 0.458084268, 0.304757965, 0.131307198}};
  for (int r = 0; r < 5; ++r) {
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(t[r * 4 + j], want[r][j], 1e-5) << r << "," << j;
  }
  // Customer 4 holds items 0 and 3: plain EASE cannot tell 1 from 2, the
  // session term ranks 1 (taken up with 0 in the same minute) first.
  EXPECT_NEAR(p[4 * 4 + 1], p[4 * 4 + 2], 1e-6);
  std::vector<ScoredItem> top;
  TopK(t.data() + 4 * 4, 4, 1, [](int32_t j) { return j == 0 || j == 3; }, top);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].item, 1);
  // FitTimed on a model without the session term is plain Fit.
  auto plain2 = MakeRecommender("ease:lambda=0.5");
  ASSERT_TRUE((*plain2)->FitTimed(*x, EntryTimes(*x, log)).ok());
  std::vector<float> p2(20);
  (*plain2)->Score(all, *x, p2.data());
  EXPECT_EQ(p, p2);
  // omni evaluate fits it with the split's times.
  EvaluationOptions o;
  o.protocol = "leave-last-out";
  auto report = Evaluate(log, {"ease:lambda=0.5,session_weight=1"}, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->models.size(), 1u);
  EXPECT_TRUE(report->models[0].status.ok()) << report->models[0].status.ToString();
}

TEST(EaseSessionTest, SpecRefusalAndArtefact) {
  auto m = MakeRecommender("ease:lambda=0.5,session_weight=2,session_seconds=110");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->spec(), "ease:lambda=0.5,session_weight=2,session_seconds=110");
  EXPECT_EQ((*MakeRecommender("ease:lambda=0.5,session_seconds=110"))->spec(), "ease:lambda=0.5");
  EXPECT_EQ(MakeRecommender("ease:session_weight=-1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeRecommender("ease:session_seconds=0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeRecommender("ease:session=1").status().code(), StatusCode::kInvalidArgument);
  const InteractionLog log = SessionLog();
  auto x = ToMatrix(log, MatrixValues::kBinary);
  ASSERT_TRUE(x.ok());
  // Without times the session term cannot be built: a clear refusal, not a silent plain EASE.
  Status s = (*m)->Fit(*x);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("session_weight"), std::string::npos) << s.message();
  EXPECT_EQ((*m)->FitTimed(*x, std::vector<int64_t>(3, 0)).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*m)->FitTimed(*x, EntryTimes(*x, log)).ok());
  std::string path = TempPath("ease_session.bin");
  ASSERT_TRUE((*m)->Save(path).ok());
  auto loaded = MakeRecommender("ease");
  ASSERT_TRUE((*loaded)->Load(path).ok());
  EXPECT_EQ((*loaded)->spec(), "ease:lambda=0.5,session_weight=2,session_seconds=110");
  std::vector<int32_t> all = {0, 1, 2, 3, 4};
  std::vector<float> a(20), b(20);
  (*m)->Score(all, *x, a.data());
  (*loaded)->Score(all, *x, b.data());
  EXPECT_EQ(a, b);
  std::filesystem::remove(path);
}

// tests/reference/ease_lowpass_reference.py's log: SessionLog plus customer
// 5 holding items 1, 3 and 4 (the filter's spectrum has a gap after k = 2).
InteractionLog LowPassLog() {
  InteractionLog l = SessionLog();
  l.customers = 6;
  l.items = 5;
  for (int r : {1, 3, 4}) l.rows.push_back({5, r, 1.0f, 0.0f, int64_t{r == 1 ? 0 : r == 3 ? 40 : 90} * 1000});
  return l;
}

TEST(EaseLowPassTest, FilterAndBlendMatchNumpyReference) {
  const InteractionLog log = LowPassLog();
  auto x = ToMatrix(log, MatrixValues::kBinary);
  ASSERT_TRUE(x.ok());
  // Golden values: tests/reference/ease_lowpass_reference.py.
  Eigen::MatrixXd w = ItemLowPassFilter(*x, 2, 3.0);
  const double want_w[5][5] = {{0, 1.148707673, 1.363722682, 0.213905716, -0.188621807},
                               {0.963687498, 0, 1.041282795, 0.659535579, 0.292188957},
                               {1.363722682, 1.227067895, 0, 0.124651367, -0.22128632},
                               {0.237095099, 0.984470903, 0.134126808, 0, 0.966886637},
                               {-0.754487228, 0.864659992, -0.885145282, 2.51575973, 0}};
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      if (i == j) continue;  // the reference prints the filter with its diagonal zeroed, as EASE uses it
      EXPECT_NEAR(w(i, j), want_w[i][j], 1e-7) << i << "," << j;
    }
  }
  auto m = MakeRecommender("ease:lambda=0.5,session_weight=1,session_seconds=600,lowpass_weight=0.5,lowpass_k=2,"
                           "lowpass_alpha=3");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->FitTimed(*x, EntryTimes(*x, log)).ok());
  std::vector<int32_t> all = {0, 1, 2, 3, 4, 5};
  std::vector<float> got(30);
  (*m)->Score(all, *x, got.data());
  const double want[6][5] = {{0.956951491, 1.119355116, 0.990513923, 0.498840387, -0.055383851},
                             {0.956951491, 1.119355116, 0.990513923, 0.498840387, -0.055383851},
                             {0.956951491, 1.119355116, 0.990513923, 0.498840387, -0.055383851},
                             {1.121065472, 0.927574812, 0.711138456, 0.367729996, 0.493335156},
                             {0.164113981, 0.885456317, 0.526219184, 0.131110391, 0.256922147},
                             {0.201951833, 1.083210315, 0.177784566, 1.316018918, 0.646659398}};
  for (int r = 0; r < 6; ++r) {
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(got[r * 5 + j], want[r][j], 1e-5) << r << "," << j;
  }
  // The term changes a ranking: customer 5 (items 1, 3, 4) is offered 2
  // before 0 by the session EASE alone (0.1315 against 0.1308); with the
  // filter, 0 comes first (0.2020 against 0.1778).
  auto own = [](int32_t j) { return j == 1 || j == 3 || j == 4; };
  auto alone = MakeRecommender("ease:lambda=0.5,session_weight=1,session_seconds=600");
  ASSERT_TRUE((*alone)->FitTimed(*x, EntryTimes(*x, log)).ok());
  std::vector<float> base(30);
  (*alone)->Score(all, *x, base.data());
  std::vector<ScoredItem> top;
  TopK(base.data() + 5 * 5, 5, 1, own, top);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].item, 2);
  TopK(got.data() + 5 * 5, 5, 1, own, top);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].item, 0);
}

TEST(EaseLowPassTest, SpecAndArtefact) {
  auto m = MakeRecommender("ease:lambda=0.5,lowpass_weight=0.5,lowpass_k=2,lowpass_alpha=3");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->spec(), "ease:lambda=0.5,lowpass_weight=0.5,lowpass_k=2,lowpass_alpha=3");
  EXPECT_EQ((*MakeRecommender("ease:lambda=0.5,lowpass_k=2"))->spec(), "ease:lambda=0.5");
  EXPECT_EQ(MakeRecommender("ease:lowpass_weight=-1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeRecommender("ease:lowpass_k=0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE((*m)->UsesEventTimes());
  const InteractionLog log = LowPassLog();
  auto x = ToMatrix(log, MatrixValues::kBinary);
  ASSERT_TRUE(x.ok());
  ASSERT_TRUE((*m)->Fit(*x).ok());
  std::string path = TempPath("ease_lowpass.bin");
  ASSERT_TRUE((*m)->Save(path).ok());
  auto loaded = MakeRecommender("ease");
  ASSERT_TRUE((*loaded)->Load(path).ok());
  EXPECT_EQ((*loaded)->spec(), (*m)->spec());
  std::vector<int32_t> all = {0, 1, 2, 3, 4, 5};
  std::vector<float> a(30), b(30);
  (*m)->Score(all, *x, a.data());
  (*loaded)->Score(all, *x, b.data());
  EXPECT_EQ(a, b);
  // More components than items: the whole spectrum, no failure.
  auto wide = MakeRecommender("ease:lambda=0.5,lowpass_weight=0.5,lowpass_k=50");
  EXPECT_TRUE((*wide)->Fit(*x).ok());
  std::filesystem::remove(path);
}

TEST(SplitsTest, EntryTimesAreEachEntrysNewestEvent) {
  InteractionLog l;
  l.customers = 2;
  l.items = 3;
  l.rows = {{0, 2, 1, 0, 50}, {0, 0, 1, 0, 70}, {0, 2, 1, 0, 90}, {0, 2, 1, 0, 10}, {1, 1, 1, 0, 5}};
  auto m = ToMatrix(l, MatrixValues::kBinary);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(EntryTimes(*m, l), (std::vector<int64_t>{70, 90, 5}));
  // An entry no row of the log names has no time.
  InteractionLog other = l;
  other.rows.resize(1);
  EXPECT_EQ(EntryTimes(*m, other), (std::vector<int64_t>{INT64_MIN, 50, INT64_MIN}));
}

TEST(DenseCosineTest, CosineScoresAndRefusal) {
  InteractionMatrix x = Small();
  auto m = MakeRecommender("dense-cosine");
  ASSERT_TRUE((*m)->Fit(x).ok());
  std::vector<float> s(4);
  int32_t u = 0;  // items 0, 1
  (*m)->Score({&u, 1}, x, s.data());
  // cos(0,2) = 1/(√2·√2) = 0.5; cos(1,2) = 1/(√3·√2); cos(0,3) = 0; cos(1,3) = 1/(√3·√2)
  EXPECT_NEAR(s[2], 0.5 + 1 / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(s[3], 1 / std::sqrt(6.0), 1e-6);
  auto big = MakeRecommender("dense-cosine:max_memory_mb=1");
  EXPECT_EQ((*big)->Fit(Make(1000, 1000, {{0, 1, 1}})).code(), StatusCode::kResourceExhausted);
}

TEST(ItemKnnTest, SimilaritiesAreSymmetricAndMatchCosine) {
  InteractionMatrix x = Small();
  auto m = MakeRecommender("itemknn:k=10,threads=2");
  ASSERT_TRUE((*m)->Fit(x).ok());
  // A one-item history reads one row of the similarity matrix.
  auto sim = [&](int i, int j) {
    InteractionMatrix h = Make(1, 4, {{0, i, 1}});
    std::vector<float> s(4);
    int32_t u = 0;
    (*m)->Score({&u, 1}, h, s.data());
    return s[j];
  };
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(sim(i, i), 0.0f);
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(sim(i, j), sim(j, i), 1e-6);
  }
  EXPECT_NEAR(sim(0, 1), 2 / (std::sqrt(2.0) * std::sqrt(3.0)), 1e-6);
  EXPECT_NEAR(sim(0, 3), 0, 1e-9);
  // Shrinkage lowers every similarity; k=1 keeps one neighbour per item.
  auto shrunk = MakeRecommender("itemknn:k=1,shrink=10,weighting=bm25");
  ASSERT_TRUE((*shrunk)->Fit(x).ok());
  InteractionMatrix h = Make(1, 4, {{0, 1, 1}});
  std::vector<float> s(4);
  int32_t u = 0;
  (*shrunk)->Score({&u, 1}, h, s.data());
  EXPECT_EQ(std::count_if(s.begin(), s.end(), [](float v) { return v != 0; }), 1);
  // Save/Load round trip.
  std::string path = TempPath("knn.bin");
  ASSERT_TRUE((*shrunk)->Save(path).ok());
  auto loaded = MakeRecommender("itemknn");
  ASSERT_TRUE((*loaded)->Load(path).ok());
  std::vector<float> s2(4);
  (*loaded)->Score({&u, 1}, h, s2.data());
  EXPECT_EQ(s, s2);
  std::filesystem::remove(path);
}

TEST(SplitsTest, NumpyPermutationMatchesNumpy) {
  // numpy.random.RandomState(42).permutation(10) and RandomState(7).permutation(5).
  EXPECT_EQ(NumpyPermutation(10, 42), (std::vector<int64_t>{8, 1, 5, 0, 7, 2, 9, 4, 3, 6}));
  EXPECT_EQ(NumpyPermutation(5, 7), (std::vector<int64_t>{0, 3, 2, 1, 4}));
}

InteractionLog LogOf(std::vector<Interaction> rows, int32_t customers, int32_t items) {
  InteractionLog l;
  l.customers = customers;
  l.items = items;
  l.rows = std::move(rows);
  return l;
}

TEST(SplitsTest, MsrStratifiedUsesPerCustomerPermutationAndHalfEvenRounding) {
  std::vector<Interaction> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({0, i, 1, 5, i});
  for (int i = 0; i < 6; ++i) rows.push_back({1, i, 1, 5, i});  // 0.75·6 = 4.5 → 4 (half to even)
  Split s = MsrStratifiedSplit(LogOf(rows, 2, 10), 0.75, 42);
  // Customer 0: round(7.5) = 8 train rows: permutation [8,1,5,0,7,2,9,4 | 3,6].
  std::vector<int> test0, test1;
  int train1 = 0;
  for (auto& x : s.test.rows) (x.customer == 0 ? test0 : test1).push_back(x.item);
  for (auto& x : s.train.rows) train1 += x.customer == 1;
  EXPECT_EQ(test0, (std::vector<int>{3, 6}));
  EXPECT_EQ(train1, 4);
  EXPECT_EQ(test1.size(), 2u);
}

TEST(SplitsTest, MsrStratifiedFoldsAreDisjointAndTheLastIsTheSingleCarve) {
  std::vector<Interaction> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({0, i, 1, 5, i});
  for (int i = 0; i < 6; ++i) rows.push_back({1, i, 1, 5, i});
  const InteractionLog log = LogOf(rows, 2, 10);
  std::vector<Split> folds = MsrStratifiedFolds(log, 4, 42);
  ASSERT_EQ(folds.size(), 4u);
  // Customer 0's permutation [8,1,5,0,7,2,9,4,3,6] cut at round(f·10/4) =
  // 0, 2, 5 (2.5 → 2, half to even), 8 (7.5 → 8), 10.
  const std::vector<std::vector<int>> want0 = {{8, 1}, {5, 0, 7}, {2, 9, 4}, {3, 6}};
  std::vector<int> seen(16, 0);
  for (int f = 0; f < 4; ++f) {
    std::vector<int> got0;
    for (const auto& x : folds[f].test.rows) {
      if (x.customer == 0) got0.push_back(x.item);
      ++seen[x.customer * 10 + x.item];
    }
    EXPECT_EQ(got0, want0[f]) << f;
    EXPECT_EQ(folds[f].train.rows.size() + folds[f].test.rows.size(), rows.size());
  }
  // Every row is validation in exactly one fold.
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < (c == 0 ? 10 : 6); ++i) EXPECT_EQ(seen[c * 10 + i], 1) << c << "," << i;
  }
  // The last of 4 folds is the 75/25 carve's validation part, row for row.
  Split single = MsrStratifiedSplit(log, 0.75, 42);
  ASSERT_EQ(single.test.rows.size(), folds[3].test.rows.size());
  for (size_t r = 0; r < single.test.rows.size(); ++r) {
    EXPECT_EQ(single.test.rows[r].customer, folds[3].test.rows[r].customer);
    EXPECT_EQ(single.test.rows[r].item, folds[3].test.rows[r].item);
  }
}

TEST(SplitsTest, KCoreIsIterativeAndRecBoleCounts) {
  // Item 2 has one row; dropping it leaves customer 1 with one row, which then goes.
  auto log = LogOf({{0, 0, 1, 5, 0}, {0, 1, 1, 5, 0}, {1, 0, 1, 5, 0}, {1, 2, 1, 5, 0}, {2, 1, 1, 5, 0}, {2, 0, 1, 5, 0}}, 3, 3);
  InteractionLog k = KCore(log, 2, 2);
  for (auto& x : k.rows) {
    EXPECT_NE(x.customer, 1);
    EXPECT_NE(x.item, 2);
  }
  EXPECT_EQ(k.rows.size(), 4u);
  std::vector<Interaction> rows;
  for (int i = 0; i < 25; ++i) rows.push_back({0, i, 1, 5, i});
  Split s = RecBoleRatioSplit(LogOf(rows, 1, 25), 0.1, 0.1, 1);
  EXPECT_EQ(s.train.rows.size(), 21u);  // floor(2.5) = 2 each
  EXPECT_EQ(s.validation.rows.size(), 2u);
  EXPECT_EQ(s.test.rows.size(), 2u);
  EXPECT_EQ(FilterMinRating(LogOf({{0, 0, 1, 2, 0}, {0, 1, 1, 3, 0}}, 1, 2), 3).rows.size(), 1u);
}

TEST(SplitsTest, TemporalAndLeaveLastOut) {
  auto log = LogOf({{0, 0, 1, 0, 10}, {0, 1, 1, 0, 20}, {0, 2, 1, 0, 20}, {1, 0, 1, 0, 30}}, 2, 3);
  Split t = TemporalSplit(log, 20);
  EXPECT_EQ(t.train.rows.size(), 1u);
  EXPECT_EQ(t.test.rows.size(), 3u);
  Split l = LeaveLastOutSplit(log);
  EXPECT_EQ(l.test.rows.size(), 2u);  // customer 0's basket at t=20; customer 1 has no earlier rows
  EXPECT_EQ(l.train.rows.size(), 2u);
}

TEST(SplitsTest, RefundsCancelPurchasesInTheMatrix) {
  auto log = LogOf({{0, 0, 1, 0, 1}, {0, 0, -1, 0, 2}, {0, 1, 1, 0, 3}}, 1, 2);
  auto m = ToMatrix(log, MatrixValues::kWeight);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->indices, (std::vector<int32_t>{1}));
}

TEST(MetricsTest, HandComputedRanking) {
  // Ranked [5, 1, 7, 2], relevant {1, 2, 9}, k = 4.
  std::vector<int32_t> ranked = {5, 1, 7, 2}, relevant = {1, 2, 9};
  CustomerMetrics m = ScoreRanking(ranked, relevant, 4);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3);
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_NEAR(m.ndcg, dcg / idcg, 1e-12);
  EXPECT_NEAR(m.map, (1.0 / 2 + 2.0 / 4) / 3, 1e-12);
  EXPECT_NEAR(m.map_full, (1.0 / 2 + 2.0 / 4) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.mrr, 0.5);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1);
  // k = 2: ideal over min(k, |relevant|) = 2 positions; map divides by 2.
  CustomerMetrics m2 = ScoreRanking(ranked, relevant, 2);
  EXPECT_DOUBLE_EQ(m2.precision, 0.5);
  EXPECT_NEAR(m2.ndcg, (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0)), 1e-12);
  EXPECT_NEAR(m2.map, 0.5 / 2, 1e-12);
  EXPECT_NEAR(m2.map_full, 0.5 / 3, 1e-12);
  // No hit.
  CustomerMetrics m3 = ScoreRanking(std::vector<int32_t>{4}, relevant, 1);
  EXPECT_EQ(m3.ndcg, 0);
  EXPECT_EQ(m3.mrr, 0);
}

TEST(MetricsTest, AccumulatorAveragesAndCoverage) {
  MetricAccumulator a(2, 10), b(2, 10);
  a.Add(std::vector<int32_t>{0, 1}, std::vector<int32_t>{0});
  b.Add(std::vector<int32_t>{2, 3}, std::vector<int32_t>{9});
  a.Merge(b);
  auto r = a.Result();
  EXPECT_EQ(a.customers(), 2);
  EXPECT_EQ(r[0].first, "precision@2");
  EXPECT_DOUBLE_EQ(r[0].second, 0.25);
  EXPECT_EQ(r.back().first, "coverage@2");
  EXPECT_DOUBLE_EQ(r.back().second, 0.4);
}

TEST(EvaluationTest, GridExpansion) {
  auto g = ExpandGrid("ease:lambda=1|2,max_memory_mb=10|20");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (std::vector<std::string>{"ease:lambda=1,max_memory_mb=10", "ease:lambda=1,max_memory_mb=20",
                                          "ease:lambda=2,max_memory_mb=10", "ease:lambda=2,max_memory_mb=20"}));
  EXPECT_EQ(*ExpandGrid("popularity"), (std::vector<std::string>{"popularity"}));
}

// Planted structure: two groups of customers, each liking one half of the
// catalogue; EASE must find it, popularity cannot.
InteractionLog Planted() {
  InteractionLog l;
  l.customers = 200;
  l.items = 40;
  uint32_t state = 12345;
  auto rnd = [&]() { return (state = state * 1664525u + 1013904223u) >> 8; };
  for (int u = 0; u < 200; ++u) {
    int base = u % 2 == 0 ? 0 : 20;
    for (int i = 0; i < 20; ++i) {
      if (rnd() % 100 < 45) l.rows.push_back({u, base + i, 1, 5, int64_t{i}});
    }
    // Items 0..3 are popular with everyone.
    for (int i = 0; i < 4; ++i) {
      if (u % 2 == 1 && rnd() % 100 < 60) l.rows.push_back({u, i, 1, 5, 100});
    }
  }
  return l;
}

TEST(EvaluationTest, EaseBeatsPopularityOnPlantedStructure) {
  EvaluationOptions o;
  o.protocol = "msr-stratified";
  auto r = Evaluate(Planted(), {"popularity", "ease:lambda=10", "itemknn:k=20"}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->models.size(), 3u);
  auto ndcg = [&](int i) {
    for (auto& [k, v] : r->models[i].metrics) {
      if (k == "ndcg@10") return v;
    }
    return -1.0;
  };
  EXPECT_GT(ndcg(1), ndcg(0) + 0.1);
  EXPECT_GT(ndcg(2), ndcg(0) + 0.1);
  // RecBole protocol chooses on validation.
  o.protocol = "recbole";
  auto rb = Evaluate(Planted(), {"ease:lambda=1|10|100"}, o);
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->models[0].candidates, 3);
  EXPECT_GE(rb->models[0].validation_ndcg, 0);
  EXPECT_EQ(Evaluate(Planted(), {"ease"}, EvaluationOptions{.protocol = "nope"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EvaluationTest, MsrValidationChoosesOnTrainingRowsOnly) {
  EvaluationOptions o;
  o.protocol = "msr-stratified";
  o.validation_ratio = 0.25;
  auto r = Evaluate(Planted(), {"ease:lambda=1|10|100", "popularity"}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->models.size(), 2u);
  EXPECT_EQ(r->models[0].candidates, 3);
  EXPECT_GE(r->models[0].validation_ndcg, 0);
  EXPECT_GT(r->validation_rows, 0);
  // Test rows are the protocol's own: the same as without validation.
  EvaluationOptions plain;
  plain.protocol = "msr-stratified";
  auto p = Evaluate(Planted(), {r->models[0].spec}, plain);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->test_rows, r->test_rows);
  EXPECT_EQ(p->train_rows, r->train_rows);
  // The winner is refitted on all training rows: its test metrics are those
  // of the plain run of the chosen point.
  ASSERT_EQ(p->models[0].metrics.size(), r->models[0].metrics.size());
  for (size_t i = 0; i < p->models[0].metrics.size(); ++i) {
    EXPECT_DOUBLE_EQ(p->models[0].metrics[i].second, r->models[0].metrics[i].second) << p->models[0].metrics[i].first;
  }
  o.validation_ratio = 0;
  o.search = "random";
  EXPECT_EQ(Evaluate(Planted(), {"ease:lambda=1..100"}, o).status().code(), StatusCode::kInvalidArgument);
}

TEST(EvaluationTest, ValidationFoldsChooseOnTheMeanAndReportTheRefit) {
  EvaluationOptions o;
  o.protocol = "msr-stratified";
  o.validation_folds = 4;
  auto r = Evaluate(Planted(), {"ease:lambda=1|10|100"}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->models.size(), 1u);
  EXPECT_EQ(r->models[0].candidates, 3);
  EXPECT_GE(r->models[0].validation_ndcg, 0);
  // One carve (the last fold) scores the same points differently.
  EvaluationOptions one = o;
  one.validation_folds = 1;
  one.validation_ratio = 0.25;
  auto s = Evaluate(Planted(), {r->models[0].spec}, one);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->validation_rows, r->validation_rows);  // the reported part is the last fold
  EXPECT_NE(s->models[0].validation_ndcg, r->models[0].validation_ndcg);
  // The chosen point is refitted on all training rows and reported on test.
  EvaluationOptions plain;
  plain.protocol = "msr-stratified";
  auto p = Evaluate(Planted(), {r->models[0].spec}, plain);
  ASSERT_TRUE(p.ok());
  for (size_t i = 0; i < p->models[0].metrics.size(); ++i) {
    EXPECT_DOUBLE_EQ(p->models[0].metrics[i].second, r->models[0].metrics[i].second);
  }
  // Folds carve 1/N each: another ratio, another protocol or 0 folds are refused.
  o.validation_ratio = 0.3;
  EXPECT_EQ(Evaluate(Planted(), {"ease"}, o).status().code(), StatusCode::kInvalidArgument);
  o.validation_ratio = 0.25;
  EXPECT_TRUE(Evaluate(Planted(), {"ease"}, o).ok());
  o.protocol = "recbole";
  o.validation_ratio = 0;
  EXPECT_EQ(Evaluate(Planted(), {"ease"}, o).status().code(), StatusCode::kInvalidArgument);
  o.protocol = "msr-stratified";
  o.validation_folds = 0;
  EXPECT_EQ(Evaluate(Planted(), {"ease"}, o).status().code(), StatusCode::kInvalidArgument);
  // Random search is allowed: the folds are a validation part.
  o.validation_folds = 2;
  o.search = "random";
  o.trials = 2;
  EXPECT_TRUE(Evaluate(Planted(), {"ease:lambda=1..100"}, o).ok());
}

TEST(EvaluationTest, RecentRowsKeepsEachCustomersNewestItems) {
  InteractionLog l;
  l.customers = 2;
  l.items = 5;
  // Customer 0: items 0..4 at times 50, 10, 40, 30, 20, item 4 seen again at 60.
  const int64_t ts[] = {50, 10, 40, 30, 20};
  for (int i = 0; i < 5; ++i) l.rows.push_back({0, i, 1, 0, ts[i]});
  l.rows.push_back({0, 4, 1, 0, 60});
  l.rows.push_back({1, 1, 1, 0, 1});
  auto m = ToMatrix(l, MatrixValues::kBinary);
  ASSERT_TRUE(m.ok());
  const InteractionMatrix r = RecentRows(*m, l, 3);
  EXPECT_EQ(r.indptr, (std::vector<int64_t>{0, 3, 4}));
  EXPECT_EQ(r.indices, (std::vector<int32_t>{0, 2, 4, 1}));
  EXPECT_EQ(RecentRows(*m, l, 0).indices, m->indices);
}

TEST(InteractionsTest, RatingOfReadsTopLevelKeyOnly) {
  EXPECT_EQ(RatingOf(R"({"rating":4})"), 4.0);
  EXPECT_EQ(RatingOf(R"({"x":{"rating":2},"rating": 3.5})"), 3.5);
  EXPECT_EQ(RatingOf(R"({"x":"rating"})"), std::nullopt);
  EXPECT_EQ(RatingOf(""), std::nullopt);
}


TEST(EvaluationTest, RandomSearchSamplesRangesAndAlternatives) {
  auto points = SampleSearchSpace("ease:lambda=50..2000", 20, 7);
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  EXPECT_EQ(points->size(), 20u);
  for (const std::string& p : *points) {
    auto spec = Spec::Parse(p);
    ASSERT_TRUE(spec.ok());
    auto lambda = spec->GetInt("lambda", -1, 50, 2000);  // integer bounds give integers, in range
    EXPECT_TRUE(lambda.ok()) << p;
  }
  EXPECT_EQ(*SampleSearchSpace("ease:lambda=50..2000", 20, 7), *points);  // deterministic
  // Log-uniform: about half the draws of 50..2000 fall under sqrt(50·2000) ≈ 316.
  auto many = SampleSearchSpace("ease:lambda=50..2000", 400, 1);
  int low = 0;
  for (const std::string& p : *many) low += *Spec::Parse(p)->GetInt("lambda", 0, 0, 5000) < 316;
  EXPECT_GT(low, 120);
  EXPECT_LT(low, 280);
  // A small discrete space yields each point once.
  auto small = SampleSearchSpace("itemknn:k=10|20,weighting=none|bm25", 50, 3);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->size(), 4u);
  EXPECT_FALSE(SampleSearchSpace("ease:lambda=9..3", 5, 1).ok());
}
}  // namespace
}  // namespace omni::recommend
