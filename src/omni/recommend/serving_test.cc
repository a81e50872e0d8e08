#include "omni/recommend/serving.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

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
fs::path MakeDataDir(const std::string& name) {
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
  auto model = MakeRecommender("itemknn:k=20");
  EXPECT_TRUE((*model)->Fit(*matrix).ok());
  auto published = PublishModel(
      dir.string(), "itemknn", loaded->item_ids, [](int64_t) { return std::string("{\"values\":\"binary\"}"); },
      [&](const std::string& tmp) { return (*model)->Save(tmp); });
  EXPECT_TRUE(published.ok()) << published.status().ToString();
  return dir;
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

}  // namespace
}  // namespace omni::recommend
