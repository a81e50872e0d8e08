// A store filled with a random omnichannel event stream and resolved by
// One-ID, for tests that compare the two event inputs of the profile and
// feature builds (ScanEvents rows vs the columnar snapshot): several
// batches with duplicates, customers with member cards, phones, cookies and
// devices (some shared), anonymous cookies, every event type incl. consent,
// refunds, orders with several lines, absent quantities and prices, items
// outside the catalogue, UTF-8 names.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "omni/identity/identity.h"
#include "omni/profile/testdata/temp_dir.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::profile::testing {

struct RandomStore {
  static constexpr int64_t kStart = 1'735'689'600'000;  // 2025-01-01T00:00:00Z
  static constexpr int64_t kSpanMs = 200LL * 86'400'000;

  TempDir dir{"random-store"};
  std::unique_ptr<store::Store> store;
  std::unique_ptr<identity::CustomerDirectory> directory;
  std::vector<ingest::Item> items;

  explicit RandomStore(int events, uint32_t seed = 7) {
    auto opened = store::Store::OpenSqlite(dir.str());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(opened).value();
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    const char* channels[] = {"web", "app", "store", "miniprogram", "kiosk", "sms"};
    const char* types[] = {"view", "view", "view", "add_to_cart", "purchase", "purchase", "refund",
                           "store_visit", "consent", "search"};
    for (int i = 0; i < 40; ++i) {
      items.push_back(ingest::Item{"SKU-" + std::to_string(i), "商品 " + std::to_string(i),
                                   i % 3 == 0 ? "服饰 > 女装" : (i % 3 == 1 ? "Home > Kitchen" : "食品 > 饮料"),
                                   i % 2 ? "Brand" + std::to_string(i % 4) : "", std::nullopt, ""});
    }
    ingest::Batch catalogue;
    catalogue.items = items;
    EXPECT_TRUE(store->Write("catalogue", catalogue).ok());
    std::vector<ingest::Event> all;
    for (int n = 0; n < events; ++n) {
      ingest::Event e;
      e.event_id = "ev-" + std::to_string(n);
      e.ts_ms = kStart + static_cast<int64_t>(rng() % static_cast<uint32_t>(kSpanMs / 1000)) * 1000 + pick(3) * 250;
      e.tz_offset_min = pick(4) == 0 ? 0 : 480;
      e.channel = channels[pick(6)];
      e.type = types[pick(10)];
      const int person = pick(300);
      const int shape = pick(6);
      if (shape == 0) {
        e.identities.push_back({ingest::IdentityType::kCookieId, "anon-" + std::to_string(pick(2000))});
      } else {
        e.identities.push_back({ingest::IdentityType::kMemberCard, "会员-" + std::to_string(person)});
        if (shape == 2) e.identities.push_back({ingest::IdentityType::kCookieId, "ck-" + std::to_string(person)});
        if (shape == 3) {  // a store kiosk many members tap: shared
          e.identities.push_back({ingest::IdentityType::kDeviceId, "kiosk-" + std::to_string(pick(3))});
        }
        if (shape == 4) e.identities.push_back({ingest::IdentityType::kPhone, "phone-" + std::to_string(person / 2)});
      }
      if (shape == 5 && pick(3) == 0) {  // the shared kiosk alone: no customer
        e.identities = {{ingest::IdentityType::kDeviceId, "kiosk-" + std::to_string(pick(3))}};
      }
      if (e.type == "view" || e.type == "add_to_cart" || e.type == "purchase" || e.type == "refund") {
        if (pick(12) != 0) e.item_id = "SKU-" + std::to_string(pick(46));  // 40..45: not in the catalogue
      }
      if (e.type == "purchase" || e.type == "refund") {
        if (pick(5) != 0) e.quantity = 1 + pick(3);
        if (pick(9) != 0) e.price = 0.5 * (1 + pick(200));
        if (pick(4) != 0) e.order_id = "ORD-" + std::to_string(person) + "-" + std::to_string(pick(8));
      }
      if (e.type == "consent") {
        e.properties_json = pick(7) == 0 ? std::string("{}")
                                         : R"({"channel":")" + std::string(pick(2) ? "sms" : "email") +
                                               R"(","granted":)" + (pick(2) ? "true}" : "false}");
      }
      all.push_back(std::move(e));
    }
    // Batches of uneven size, each repeating a few earlier events.
    for (size_t at = 0; at < all.size();) {
      ingest::Batch batch;
      const size_t size = 1 + rng() % 700;
      for (size_t k = at; k < std::min(all.size(), at + size); ++k) batch.events.push_back(all[k]);
      for (int d = 0; d < 5 && at > 0; ++d) batch.events.push_back(all[rng() % at]);
      at += size;
      auto written = store->Write("random", batch);
      EXPECT_TRUE(written.ok()) << written.status().ToString();
    }
    auto sql = store::OpenSqliteSql(dir.str());
    EXPECT_TRUE(sql.ok());
    auto resolved = identity::Resolve(*store, **sql, identity::IdentityConfig{});
    EXPECT_TRUE(resolved.ok()) << resolved.status().ToString();
    auto loaded = identity::LoadDirectory(**sql, identity::IdentityConfig{});
    EXPECT_TRUE(loaded.ok());
    directory = std::move(loaded).value();
  }
};

}  // namespace omni::profile::testing
