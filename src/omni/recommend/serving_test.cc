#include "omni/recommend/serving.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "omni/recommend/als.h"
#include "omni/recommend/artefact_store.h"
#include "omni/recommend/interactions.h"
#include "omni/recommend/recommender.h"
#include "omni/store/store.h"

namespace omni::recommend {
namespace {

namespace fs = std::filesystem;

// 30 customers over 20 items in two categories; customer c buys items
// c % 10, (c + 1) % 10 (category A) and 10 + c % 7 (category B) in one order.
// Raw customer ids (no identity resolution), an item-kNN model published as
// `omni train` does.
fs::path MakeDataDir(const std::string& name, const std::string& spec = "itemknn:k=20",
                     std::unique_ptr<Recommender>* fitted = nullptr) {
  fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto store = store::Store::OpenSqlite(dir.string());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  ingest::Batch batch;
  int n = 0;
  for (int c = 0; c < 30; ++c) {
    for (int item : {c % 10, (c + 1) % 10, 10 + c % 7}) {
      ingest::Event e;
      e.event_id = "e" + std::to_string(++n);
      e.ts_ms = 1'700'000'000'000 + n * 60'000;
      e.channel = "web";
      e.type = "purchase";
      e.identities = {ingest::Identity{ingest::IdentityType::kCustomerId, "c" + std::to_string(c)}};
      e.item_id = "I" + std::to_string(item);
      e.order_id = "o" + std::to_string(c);
      batch.events.push_back(e);
    }
  }
  for (int i = 0; i < 20; ++i) {
    ingest::Item item;
    item.item_id = "I" + std::to_string(i);
    item.title = "item " + std::to_string(i);
    item.category_path = i < 10 ? "A > x" : "B > y";
    batch.items.push_back(item);
  }
  auto written = (*store)->Write("test", batch);
  EXPECT_TRUE(written.ok()) << written.status().ToString();

  auto loaded = LoadInteractions(**store, nullptr, InteractionWeights{});
  EXPECT_TRUE(loaded.ok());
  auto matrix = ToMatrix(loaded->log, MatrixValues::kBinary);
  auto model = MakeRecommender(spec);
  EXPECT_TRUE((*model)->Fit(*matrix).ok());
  auto published = PublishModel(
      dir.string(), spec.substr(0, spec.find(':')), loaded->item_ids,
      [](int64_t) { return std::string("{\"values\":\"binary\"}"); },
      [&](const std::string& tmp) { return (*model)->Save(tmp); }, loaded->customer_keys);
  EXPECT_TRUE(published.ok()) << published.status().ToString();
  if (fitted) *fitted = std::move(*model);
  return dir;
}

// Dense model id of an item (its line in the published item list).
int32_t ModelItem(const fs::path& dir, const std::string& item_id) {
  auto m = LatestModel(dir.string(), "");
  if (!m.ok() || !m->has_value()) return -1;
  auto ids = ReadItemList((*m)->items_path);
  if (!ids.ok()) return -1;
  for (size_t j = 0; j < ids->size(); ++j) {
    if ((*ids)[j] == item_id) return static_cast<int32_t>(j);
  }
  return -1;
}

std::vector<std::string> Ids(const RecommendResponse& r) {
  std::vector<std::string> out;
  for (const auto& it : r.items) out.push_back(it.item_id + "|" + it.explanation);
  return out;
}

TEST(ServingTest, ConcurrentReadersSeeWhatOneReaderSees) {
  fs::path dir = MakeDataDir("serving_concurrent");
  auto service = RecommendationService::Load(dir.string());
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  const RecommendationService& s = **service;
  ASSERT_EQ(s.customer_count(), 30);
  EXPECT_EQ(s.info().model_version, 1);

  std::vector<std::vector<std::string>> expected(30);
  for (int32_t c = 0; c < 30; ++c) {
    RecommendRequest req;
    req.dense_id = c;
    req.k = 5;
    auto r = s.Recommend(req);
    ASSERT_TRUE(r.ok());
    expected[c] = Ids(*r);
    EXPECT_EQ(r->items.size(), 5u);
    // Never an item the customer bought.
    for (const auto& it : r->items) {
      const int id = std::stoi(it.item_id.substr(1));
      const int k = std::stoi(s.CustomerKey(c).substr(std::string("customer_id:c").size()));
      EXPECT_NE(id, k % 10);
      EXPECT_NE(id, (k + 1) % 10);
      EXPECT_NE(id, 10 + k % 7);
    }
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (int32_t c = (t + round) % 30, i = 0; i < 30; ++i, c = (c + 1) % 30) {
          RecommendRequest req;
          req.dense_id = c;
          req.k = 5;
          auto r = s.Recommend(req);
          if (!r.ok() || Ids(*r) != expected[c]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(mismatches.load(), 0);

  // A reload is a swap: readers holding the old service keep it.
  ServiceSlot slot;
  slot.Publish(*service);
  std::shared_ptr<const RecommendationService> held = slot.Get();
  auto reloaded = RecommendationService::Load(dir.string());
  ASSERT_TRUE(reloaded.ok());
  slot.Publish(*reloaded);
  EXPECT_EQ(slot.Get().get(), reloaded->get());
  EXPECT_EQ(held->customer_count(), 30);
  fs::remove_all(dir);
}

TEST(ServingTest, CategoryFallbackFillsFromTheCustomersCategories) {
  fs::path dir = MakeDataDir("serving_category");
  ServingOptions options;
  options.rules.fallback = "popularity:by=category";
  options.rules.max_per_category = 0;
  auto service = RecommendationService::Load(dir.string(), options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  RecommendRequest req;
  req.customer = "customer_id:c0";  // bought I0, I1 (A) and I10 (B)
  req.k = 17;                       // the 17 items the customer did not buy...
  auto r = (*service)->Recommend(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // ...less I17..I19, which nobody bought: no model score, no popularity, so
  // nothing recommends them.
  EXPECT_EQ(r->items.size(), 14u);
  int popular = 0;
  for (const auto& it : r->items) {
    if (it.reason != "popular") continue;
    ++popular;
    EXPECT_TRUE(it.explanation == "popular in A" || it.explanation == "popular in B") << it.explanation;
  }
  EXPECT_GT(popular, 0);
  // Unknown customers and bad fallbacks are errors, not empty lists.
  req.customer = "customer_id:nobody";
  EXPECT_EQ((*service)->Recommend(req).status().code(), StatusCode::kNotFound);
  options.rules.fallback = "trending:window=soon";
  EXPECT_EQ(RecommendationService::Load(dir.string(), options).status().code(), StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

TEST(ServingTest, RecencyCapScoresFromRecentItemsAndExcludesTheWholeHistory) {
  fs::path dir = MakeDataDir("serving_cap");
  ServingOptions options;
  options.rules.max_history_items = 1;
  options.rules.max_per_category = 0;
  auto service = RecommendationService::Load(dir.string(), options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  RecommendRequest req;
  req.customer = "customer_id:c0";  // bought I0, then I1, then I10 (newest)
  req.k = 10;
  auto r = (*service)->Recommend(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->history_items, 3);
  int from_model = 0;
  for (const auto& it : r->items) {
    EXPECT_NE(it.item_id, "I0");
    EXPECT_NE(it.item_id, "I1");
    EXPECT_NE(it.item_id, "I10");
    if (it.reason != "history") continue;
    ++from_model;
    // Scored and explained from the newest item only.
    EXPECT_EQ(it.because, std::vector<std::string>{"I10"}) << it.item_id;
  }
  EXPECT_GT(from_model, 0);
  // Without the cap the older items contribute too.
  options.rules.max_history_items = 0;
  auto whole = RecommendationService::Load(dir.string(), options);
  ASSERT_TRUE(whole.ok());
  auto w = (*whole)->Recommend(req);
  ASSERT_TRUE(w.ok());
  bool older = false;
  for (const auto& it : w->items) {
    for (const auto& b : it.because) older |= b == "I0" || b == "I1";
  }
  EXPECT_TRUE(older);
  fs::remove_all(dir);
}

TEST(ServingTest, AlsScoresTrainedCustomersFromTheirFittedFactors) {
  std::unique_ptr<Recommender> fitted;
  fs::path dir = MakeDataDir("serving_als", "als:factors=8,iters=5", &fitted);
  ASSERT_TRUE(fs::exists(dir / "models" / "als" / "000001.customers"));
  ServingOptions options;
  options.rules.max_per_category = 0;
  auto service = RecommendationService::Load(dir.string(), options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  const auto& als = static_cast<const AlsModel&>(*fitted);
  int checked = 0;
  for (int32_t c = 0; c < 30; c += 7) {
    RecommendRequest req;
    req.dense_id = c;
    req.k = 3;
    auto r = (*service)->Recommend(req);
    ASSERT_TRUE(r.ok());
    // Training row c (raw customers in arrival order, as omni train saw them)
    // scored from its fitted factors (half-precision item factors: 2⁻¹¹).
    std::span<const float> x = als.CustomerFactors(c);
    for (const auto& it : r->items) {
      if (it.reason != "history") continue;
      double exact = 0, bound = 0;
      // The model's item ids follow the item list: look the item up in it.
      const int32_t j = ModelItem(dir, it.item_id);
      ASSERT_GE(j, 0);
      std::span<const float> yj = als.ItemFactors(j);
      for (size_t f = 0; f < x.size(); ++f) {
        exact += static_cast<double>(x[f]) * yj[f];
        bound += std::abs(static_cast<double>(x[f]) * yj[f]);
      }
      EXPECT_NEAR(it.score, exact, bound / 2048 + 1e-6) << c << " " << it.item_id;
      ++checked;
    }
  }
  EXPECT_GT(checked, 5);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace omni::recommend
