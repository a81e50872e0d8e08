#include "omni/recommend/als.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

// CSR from per-customer {item: weight} maps (sorted, unique by construction).
InteractionMatrix FromRows(int32_t cols, const std::vector<std::map<int32_t, float>>& rows) {
  InteractionMatrix m;
  m.rows = static_cast<int32_t>(rows.size());
  m.cols = cols;
  for (const auto& row : rows) {
    for (const auto& [item, w] : row) {
      m.indices.push_back(item);
      m.values.push_back(w);
    }
    m.indptr.push_back(m.nnz());
  }
  return m;
}

// Customers in `groups` taste groups; each buys items of its own group with
// probability `p_in` and any other item with probability `p_out`: a rank-
// `groups` implicit matrix with noise.
std::vector<std::map<int32_t, float>> PlantedRows(int customers, int items, int groups, double p_in,
                                                  double p_out, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::map<int32_t, float>> rows(customers);
  for (int c = 0; c < customers; ++c) {
    for (int i = 0; i < items; ++i) {
      const bool same = c % groups == i % groups;
      if (u(rng) < (same ? p_in : p_out)) rows[c][i] = 1.0f + static_cast<float>(rng() % 3);
    }
  }
  return rows;
}

AlsModel MakeModel(const std::string& spec) {
  auto parsed = Spec::Parse(spec);
  EXPECT_TRUE(parsed.ok());
  auto o = ParseAlsOptions(*parsed);
  EXPECT_TRUE(o.ok()) << o.status().message();
  return AlsModel(*o);
}

double Dot(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double Cosine(std::span<const float> a, std::span<const float> b) {
  return Dot(a, b) / std::sqrt(Dot(a, a) * Dot(b, b));
}

TEST(AlsSpecTest, DefaultsCanonicalFormAndErrors) {
  auto spec = Spec::Parse("als");
  ASSERT_TRUE(spec.ok());
  auto model = MakeAls(*spec);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->spec(), "als:factors=64,reg=0.05,alpha=1,iters=15,cg_steps=3,seed=42,threads=2");

  auto custom = Spec::Parse("als:factors=8,reg=0.5,alpha=40,iters=3,cg_steps=0,seed=7,threads=1");
  ASSERT_TRUE(custom.ok());
  auto o = ParseAlsOptions(*custom);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->factors, 8);
  EXPECT_DOUBLE_EQ(o->alpha, 40);
  EXPECT_EQ(o->cg_steps, 0);
  EXPECT_EQ(AlsModel(*o).spec(), "als:factors=8,reg=0.5,alpha=40,iters=3,cg_steps=0,seed=7,threads=1");

  for (const char* bad : {"als:factor=8", "als:factors=0", "als:factors=300", "als:reg=-1", "als:iters=x",
                          "ease:lambda=1"}) {
    auto s = Spec::Parse(bad);
    ASSERT_TRUE(s.ok()) << bad;
    EXPECT_EQ(ParseAlsOptions(*s).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(AlsParameterHelp().find("cg_steps (default 3"), std::string::npos);
}

TEST(AlsTest, RejectsMalformedMatrices) {
  AlsModel model = MakeModel("als:factors=4,iters=1");
  InteractionMatrix empty;
  EXPECT_EQ(model.Fit(empty).code(), StatusCode::kInvalidArgument);
  InteractionMatrix m = FromRows(3, {{{0, 1.0f}}, {{2, 1.0f}}});
  m.indices[1] = 3;
  EXPECT_EQ(model.Fit(m).code(), StatusCode::kInvalidArgument);
  m.indices[1] = 2;
  m.values[0] = NAN;
  EXPECT_EQ(model.Fit(m).code(), StatusCode::kInvalidArgument);
}

TEST(AlsTest, LossNeverIncreases) {
  const InteractionMatrix train = FromRows(120, PlantedRows(200, 120, 4, 0.3, 0.02, 1));
  AlsModel model = MakeModel("als:factors=16,reg=0.1,alpha=2,iters=8,cg_steps=3");
  std::vector<double> losses;
  model.set_iteration_callback([&](int, double) { losses.push_back(model.Loss(train)); });
  ASSERT_TRUE(model.Fit(train).ok());
  ASSERT_EQ(losses.size(), 8u);
  for (size_t i = 1; i < losses.size(); ++i) EXPECT_LE(losses[i], losses[i - 1] * (1 + 1e-5)) << i;
  EXPECT_LT(losses.back(), 0.8 * losses.front());
}

TEST(AlsTest, RecoversPlantedGroupsOnHeldOutItems) {
  constexpr int kCustomers = 300, kItems = 200, kGroups = 5;
  auto rows = PlantedRows(kCustomers, kItems, kGroups, 0.25, 0.01, 2);
  // Hold out one in-group item per customer, picked at random so that no
  // item loses all its buyers.
  std::mt19937 rng(12);
  std::vector<int32_t> held(kCustomers, -1);
  for (int c = 0; c < kCustomers; ++c) {
    std::vector<int32_t> in_group;
    for (const auto& [item, w] : rows[c]) {
      if (item % kGroups == c % kGroups) in_group.push_back(item);
    }
    if (in_group.empty()) continue;
    held[c] = in_group[rng() % in_group.size()];
    rows[c].erase(held[c]);
  }
  const InteractionMatrix train = FromRows(kItems, rows);
  AlsModel model = MakeModel("als:factors=16,reg=0.1,alpha=5,iters=15");
  ASSERT_TRUE(model.Fit(train).ok());
  std::vector<int32_t> all(kCustomers);
  for (int c = 0; c < kCustomers; ++c) all[c] = c;
  std::vector<float> scores(static_cast<size_t>(kCustomers) * kItems);
  model.Score(all, train, scores.data());
  // Percentile rank of the held-out item among the customer's unseen items:
  // 0.5 at random; a recovered group structure puts it in the top ~15%.
  double percentile_sum = 0;
  int counted = 0;
  for (int c = 0; c < kCustomers; ++c) {
    if (held[c] < 0) continue;
    const float s = scores[static_cast<size_t>(c) * kItems + held[c]];
    int above = 0, unseen = 0;
    for (int i = 0; i < kItems; ++i) {
      if (rows[c].count(i) || i == held[c]) continue;
      ++unseen;
      above += scores[static_cast<size_t>(c) * kItems + i] > s;
    }
    percentile_sum += static_cast<double>(above) / unseen;
    ++counted;
  }
  ASSERT_GT(counted, 250);
  EXPECT_LT(percentile_sum / counted, 0.15);
}

TEST(AlsTest, ConjugateGradientAgreesWithCholesky) {
  const InteractionMatrix train = FromRows(60, PlantedRows(80, 60, 3, 0.3, 0.05, 3));
  AlsModel model = MakeModel("als:factors=8,reg=0.1,alpha=3,iters=10");
  ASSERT_TRUE(model.Fit(train).ok());
  for (int32_t c = 0; c < 10; ++c) {
    const auto exact = model.RecalculateCustomer(train.RowIndices(c), train.RowValues(c));
    // From zero, k steps solve a k-dimensional system up to rounding.
    const auto cg = model.RecalculateCustomerCg(train.RowIndices(c), train.RowValues(c), 16);
    const double norm = std::sqrt(Dot(exact, exact));
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(cg[i], exact[i], 1e-3 * norm) << c << " " << i;
    // Three warm-started steps from the fitted factors land close as well.
    const auto warm = model.RecalculateCustomerCg(train.RowIndices(c), train.RowValues(c), 3,
                                                  model.CustomerFactors(c));
    EXPECT_GT(Cosine(warm, exact), 0.999) << c;
  }
  // Whole fits: 3 CG steps per solve versus exact solves reach the same loss.
  AlsModel exact_model = MakeModel("als:factors=8,reg=0.1,alpha=3,iters=10,cg_steps=0");
  ASSERT_TRUE(exact_model.Fit(train).ok());
  EXPECT_NEAR(model.Loss(train), exact_model.Loss(train), 0.01 * exact_model.Loss(train));
}

TEST(AlsTest, FoldInReproducesFittedCustomers) {
  const InteractionMatrix train = FromRows(100, PlantedRows(150, 100, 4, 0.3, 0.03, 4));
  AlsModel model = MakeModel("als:factors=12,reg=0.1,alpha=2,iters=30");
  ASSERT_TRUE(model.Fit(train).ok());
  for (int32_t c = 0; c < 20; ++c) {
    const auto folded = model.RecalculateCustomer(train.RowIndices(c), train.RowValues(c));
    const auto fitted = model.CustomerFactors(c);
    EXPECT_GT(Cosine(folded, fitted), 0.99) << c;
    EXPECT_NEAR(std::sqrt(Dot(folded, folded)), std::sqrt(Dot(fitted, fitted)), 0.05 * std::sqrt(Dot(fitted, fitted)));
  }
}

TEST(AlsTest, DeterministicForASeedWhateverTheThreads) {
  const InteractionMatrix train = FromRows(90, PlantedRows(3000, 90, 3, 0.2, 0.02, 5));
  auto fit = [&](const std::string& spec) {
    AlsModel m = MakeModel(spec);
    EXPECT_TRUE(m.Fit(train).ok());
    std::vector<float> all;
    for (int32_t c = 0; c < m.customer_count(); ++c) {
      auto f = m.CustomerFactors(c);
      all.insert(all.end(), f.begin(), f.end());
    }
    for (int32_t i = 0; i < m.item_count(); ++i) {
      auto f = m.ItemFactors(i);
      all.insert(all.end(), f.begin(), f.end());
    }
    return all;
  };
  const auto one = fit("als:factors=20,iters=4,threads=1,seed=9");
  const auto two = fit("als:factors=20,iters=4,threads=2,seed=9");
  const auto again = fit("als:factors=20,iters=4,threads=2,seed=9");
  const auto other = fit("als:factors=20,iters=4,threads=2,seed=10");
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  EXPECT_EQ(two, again);
  EXPECT_NE(two, other);
}

TEST(AlsTest, ScoreUsesFittedFactorsAndFoldsInFreshRows) {
  auto rows = PlantedRows(50, 40, 2, 0.3, 0.05, 6);
  const InteractionMatrix train = FromRows(40, rows);
  AlsModel model = MakeModel("als:factors=8,iters=10");
  ASSERT_TRUE(model.Fit(train).ok());

  // Fresh history: customer 0 bought one more item; customer 50 is new.
  auto fresh_rows = rows;
  for (int32_t i = 0; i < 40; ++i) {
    if (!fresh_rows[0].count(i)) {
      fresh_rows[0][i] = 1.0f;
      break;
    }
  }
  fresh_rows.push_back({{1, 1.0f}, {3, 2.0f}});
  const InteractionMatrix fresh = FromRows(40, fresh_rows);

  const std::vector<int32_t> who = {1, 0, 50, 51};  // unchanged, fresh row, new id, unknown
  std::vector<float> scores(who.size() * 40);
  model.Score(who, fresh, scores.data());
  const auto f0 = model.RecalculateCustomer(fresh.RowIndices(0), fresh.RowValues(0));
  const auto f50 = model.RecalculateCustomer(fresh.RowIndices(50), fresh.RowValues(50));
  for (int32_t i = 0; i < 40; ++i) {
    EXPECT_NEAR(scores[i], Dot(model.CustomerFactors(1), model.ItemFactors(i)), 1e-4);
    EXPECT_NEAR(scores[40 + i], Dot(f0, model.ItemFactors(i)), 1e-4);
    EXPECT_NEAR(scores[80 + i], Dot(f50, model.ItemFactors(i)), 1e-4);
    EXPECT_EQ(scores[120 + i], 0.0f);
  }
  // One customer at a time (the request path) agrees with the batch path.
  for (size_t t = 0; t < who.size(); ++t) {
    std::vector<float> one(40);
    model.Score(std::span<const int32_t>(&who[t], 1), fresh, one.data());
    for (int32_t i = 0; i < 40; ++i) EXPECT_NEAR(one[i], scores[t * 40 + i], 1e-5) << t << " " << i;
  }
  // The refreshed customer differs from the fitted one.
  EXPECT_LT(Cosine(f0, model.CustomerFactors(0)), 0.99999);
}

TEST(AlsTest, ScoreCustomerReusesTrainingRowsAndWarmStartsFreshOnes) {
  auto rows = PlantedRows(50, 40, 2, 0.3, 0.05, 6);
  const InteractionMatrix train = FromRows(40, rows);
  AlsModel model = MakeModel("als:factors=8,iters=10");
  ASSERT_TRUE(model.Fit(train).ok());
  EXPECT_TRUE(model.UsesTrainingRows());
  // ScoreCustomer reads half-precision item factors: each factor is within a
  // relative 2⁻¹¹ of the float one, so a score within 2⁻¹¹ Σ|x_f y_f|.
  auto near = [&](float got, std::span<const float> x, int32_t i) {
    std::span<const float> y = model.ItemFactors(i);
    double exact = 0, bound = 0;
    for (size_t f = 0; f < x.size(); ++f) {
      exact += static_cast<double>(x[f]) * y[f];
      bound += std::abs(static_cast<double>(x[f]) * y[f]);
    }
    EXPECT_NEAR(got, exact, bound / 2048 + 1e-6) << i;
  };
  std::vector<float> s(40);
  // Row 1 unchanged: exactly the fitted factors, not a fold-in.
  model.ScoreCustomer(1, train.RowIndices(1), train.RowValues(1), s.data());
  for (int32_t i = 0; i < 40; ++i) near(s[i], model.CustomerFactors(1), i);
  // The same history under a wrong row number is not mistaken for row 2.
  model.ScoreCustomer(2, train.RowIndices(1), train.RowValues(1), s.data());
  const auto warm = model.RecalculateCustomerCg(train.RowIndices(1), train.RowValues(1), 3, model.CustomerFactors(2));
  for (int32_t i = 0; i < 40; ++i) near(s[i], warm, i);
  // A fresh event on row 0: conjugate-gradient steps from its fitted factors.
  auto fresh = rows[0];
  for (int32_t i = 0; i < 40; ++i) {
    if (!fresh.count(i)) {
      fresh[i] = 1.0f;
      break;
    }
  }
  std::vector<int32_t> idx;
  std::vector<float> val;
  for (auto [i, v] : fresh) idx.push_back(i), val.push_back(v);
  model.ScoreCustomer(0, idx, val, s.data());
  const auto f0 = model.RecalculateCustomerCg(idx, val, 3, model.CustomerFactors(0));
  for (int32_t i = 0; i < 40; ++i) near(s[i], f0, i);
  EXPECT_LT(Cosine(f0, model.CustomerFactors(0)), 0.99999);
  // Never trained on: the exact fold-in.
  model.ScoreCustomer(-1, idx, val, s.data());
  const auto exact = model.RecalculateCustomer(idx, val);
  for (int32_t i = 0; i < 40; ++i) near(s[i], exact, i);
}

TEST(AlsTest, SaveLoadRoundTripAndCorruptFiles) {
  const InteractionMatrix train = FromRows(30, PlantedRows(40, 30, 2, 0.3, 0.05, 7));
  AlsModel model = MakeModel("als:factors=6,iters=5,seed=3");
  const std::string dir = std::getenv("OMNI_TEST_TMP") ? std::getenv("OMNI_TEST_TMP") : ::testing::TempDir();
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/als_roundtrip.bin";
  EXPECT_EQ(model.Save(path).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(model.Fit(train).ok());
  ASSERT_TRUE(model.Save(path).ok());

  AlsModel loaded = MakeModel("als");
  ASSERT_TRUE(loaded.Load(path).ok());
  EXPECT_EQ(loaded.spec(), model.spec());
  std::vector<int32_t> who = {0, 5, 39};
  std::vector<float> a(who.size() * 30), b(who.size() * 30);
  model.Score(who, train, a.data());
  loaded.Score(who, train, b.data());
  EXPECT_EQ(a, b);

  // Truncated, bad magic, missing.
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 3);
  EXPECT_EQ(loaded.Load(path).code(), StatusCode::kInvalidArgument);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "NOTAMODEL-------------------------";
  }
  EXPECT_EQ(loaded.Load(path).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(loaded.Load(dir + "/does_not_exist.bin").code(), StatusCode::kNotFound);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace omni::recommend
