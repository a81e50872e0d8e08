#include "omni/predict/features.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "omni/predict/feature_table.h"
#include "omni/profile/testdata/fake_directory.h"

namespace omni::predict {
namespace {

using profile::testing::FakeDirectory;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kT = 1'750'032'000'000;  // 2025-06-16T00:00:00Z, a whole day
constexpr int64_t kH = 30 * kDay;

struct Ev {
  int64_t ts_ms;
  std::string channel;
  std::string type;
  std::string who;  // member card; "cookie:..." = an anonymous visitor
  std::string item;
  double price = 0;
  std::string order = {};
  double quantity = 1;
};

ingest::Event ToEvent(const Ev& s, int n) {
  ingest::Event e;
  e.event_id = "e" + std::to_string(n);
  e.ts_ms = s.ts_ms;
  e.channel = s.channel;
  e.type = s.type;
  if (s.who.rfind("cookie:", 0) == 0) {
    e.identities = {{ingest::IdentityType::kCookieId, s.who}};
  } else {
    e.identities = {{ingest::IdentityType::kMemberCard, s.who}};
  }
  e.item_id = s.item;
  if (s.type == "purchase" || s.type == "refund") {
    e.quantity = s.quantity;
    e.price = s.price;
  }
  e.order_id = s.order;
  return e;
}

class FeaturesTest : public ::testing::Test {
 protected:
  FeaturesTest() {
    options_.cutoffs_ms = {kT};
    options_.horizon_ms = kH;
    options_.channels = {"web", "app", "store"};
  }

  FeatureTable Build(const std::vector<Ev>& events) {
    FeatureBuilder builder(directory_, options_);
    for (const auto& i : items_) builder.AddItem(i);
    int n = 0;
    for (const Ev& e : events) builder.AddEvent(ToEvent(e, n++));
    StatusOr<FeatureTable> t = builder.Finish();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    stats_ = builder.stats();
    return t.ok() ? std::move(*t) : FeatureTable{};
  }

  void Item(const std::string& id, const std::string& category) {
    items_.push_back(ingest::Item{id, "t", category, "", std::nullopt, ""});
  }

  // Feature `name` of the row of `key` at cutoff `t`.
  static float Get(const FeatureTable& t, const std::string& key, const std::string& name, int64_t cutoff = kT) {
    const int32_t col = t.ColumnIndex(name);
    EXPECT_GE(col, 0) << "no column " << name;
    for (int64_t r = 0; r < t.rows(); ++r) {
      if (t.customer_keys[r] == key && t.cutoff_ms[r] == cutoff) return col >= 0 ? t.at(r, col) : NAN;
    }
    ADD_FAILURE() << "no row for " << key;
    return NAN;
  }
  static float Label(const FeatureTable& t, const std::string& key, int64_t cutoff = kT) {
    for (int64_t r = 0; r < t.rows(); ++r) {
      if (t.customer_keys[r] == key && t.cutoff_ms[r] == cutoff) return t.label[r];
    }
    ADD_FAILURE() << "no row for " << key;
    return NAN;
  }

  FakeDirectory directory_;
  FeatureOptions options_;
  std::vector<ingest::Item> items_;
  FeatureBuildStats stats_;
};

// Two tables are the same features when every cell is equal (NaN == NaN).
void ExpectSameFeatures(const FeatureTable& a, const FeatureTable& b) {
  ASSERT_EQ(a.columns, b.columns);
  ASSERT_EQ(a.customer_keys, b.customer_keys);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (int64_t r = 0; r < a.rows(); ++r) {
    for (int32_t c = 0; c < a.cols(); ++c) {
      const float x = a.at(r, c), y = b.at(r, c);
      if (std::isnan(x) && std::isnan(y)) continue;
      EXPECT_EQ(x, y) << a.customer_keys[r] << " " << a.columns[c];
    }
  }
}

// Random shoppers over 200 days, enough repeat buyers for BG/NBD to fit.
std::vector<Ev> RandomHistory(std::mt19937_64& rng, int customers, int64_t from, int64_t to) {
  const char* channels[] = {"web", "app", "store"};
  std::vector<Ev> out;
  std::uniform_int_distribution<int64_t> when(from, to - 1);
  std::uniform_int_distribution<int> item(0, 19), ch(0, 2), kind(0, 9);
  for (int c = 0; c < customers; ++c) {
    const std::string who = "M" + std::to_string(c);
    const int n = 5 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      const int k = kind(rng);
      const std::string type = k < 5 ? "view" : k < 7 ? "add_to_cart" : k < 9 ? "purchase" : "refund";
      Ev e{when(rng), channels[ch(rng)], type, who, "sku" + std::to_string(item(rng))};
      if (type == "purchase" || type == "refund") {
        e.price = 5 + static_cast<double>(rng() % 100);
        e.order = "O" + std::to_string(c) + "-" + std::to_string(i / 2);
      }
      out.push_back(e);
    }
  }
  return out;
}

TEST_F(FeaturesTest, EventsAfterTheCutoffChangeNoFeatureAndAPurchaseInTheHorizonFlipsOnlyTheLabel) {
  for (int i = 0; i < 20; ++i) Item("sku" + std::to_string(i), i < 10 ? "服饰 > 女装" : "Home > Kitchen");
  for (int c = 0; c < 60; ++c) directory_.AddCard("M" + std::to_string(c));
  std::mt19937_64 rng(7);
  const std::vector<Ev> before = RandomHistory(rng, 60, kT - 200 * kDay, kT);
  const FeatureTable base = Build(before);
  ASSERT_GT(base.rows(), 50);
  ASSERT_EQ(stats_.cutoffs.size(), 1u);
  ASSERT_TRUE(stats_.cutoffs[0].clv_fitted) << stats_.cutoffs[0].clv_note;  // so the BG/NBD columns are checked too
  for (float l : base.label) EXPECT_EQ(l, 0.0f);

  // Any events at or after T — views, carts, refunds, purchases (also in the
  // horizon), new channels, new items — leave every feature as it was.
  std::vector<Ev> with_future = before;
  std::vector<Ev> future = RandomHistory(rng, 60, kT, kT + 2 * kH);
  for (Ev& e : future) {
    if (rng() % 5 == 0) e.channel = "sms";
    if (rng() % 7 == 0) e.item = "new-item";
  }
  future.push_back(Ev{kT, "web", "purchase", "M1", "sku1", 10, "AT-T"});  // exactly at T: in neither
  with_future.insert(with_future.end(), future.begin(), future.end());
  std::shuffle(with_future.begin(), with_future.end(), rng);
  const FeatureTable after = Build(with_future);
  ExpectSameFeatures(base, after);
  EXPECT_GT(stats_.cutoffs[0].positives, 0);

  // One purchase in (T, T + H] by one customer: that row's label flips, nothing else.
  std::vector<Ev> one = before;
  one.push_back(Ev{kT + kH, "store", "purchase", "M3", "sku4", 20, "NEW"});
  const FeatureTable flipped = Build(one);
  ExpectSameFeatures(base, flipped);
  for (int64_t r = 0; r < flipped.rows(); ++r) {
    EXPECT_EQ(flipped.label[r], flipped.customer_keys[r] == directory_.CustomerKey(3) ? 1.0f : 0.0f)
        << flipped.customer_keys[r];
  }
  // Just past the horizon, or exactly at T: no label.
  std::vector<Ev> late = before;
  late.push_back(Ev{kT + kH + 1, "store", "purchase", "M3", "sku4", 20, "LATE"});
  late.push_back(Ev{kT, "store", "purchase", "M3", "sku4", 20, "AT-T"});
  for (float l : Build(late).label) EXPECT_EQ(l, 0.0f);
}

TEST_F(FeaturesTest, RecencyFrequencyMonetaryPerChannelAndRefunds) {
  directory_.AddCard("A");  // C1000
  directory_.AddCard("B");  // C1001
  const FeatureTable t = Build({
      // A: one web order of two lines (50x2 + 20), a store receipt of 30, a refund of 20.
      {kT - 10 * kDay, "web", "purchase", "A", "s1", 50, "O1", 2},
      {kT - 10 * kDay, "web", "purchase", "A", "s2", 20, "O1"},
      {kT - 3 * kDay, "store", "purchase", "A", "s3", 30, "R1"},
      {kT - 2 * kDay, "web", "refund", "A", "s2", 20, "O1"},
      {kT - 1 * kDay, "app", "view", "A", "s9"},
      // B: only views; first seen 40 days before T.
      {kT - 40 * kDay, "app", "view", "B", "s1"},
      {kT - 12 * kHour, "web", "view", "B", "s2"},
  });
  ASSERT_EQ(t.rows(), 2);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "recency_days"), 3);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "days_since_last_event"), 1);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "tenure_days"), 10);
  EXPECT_EQ(Get(t, "C1000", "events"), 5);
  EXPECT_EQ(Get(t, "C1000", "frequency"), 2);  // distinct orders, not lines
  EXPECT_FLOAT_EQ(Get(t, "C1000", "gross_sales"), 150);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "monetary"), 130);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "avg_basket"), 75);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "refund_rate"), 20.0f / 150);
  EXPECT_EQ(Get(t, "C1000", "orders_web"), 1);
  EXPECT_EQ(Get(t, "C1000", "orders_store"), 1);
  EXPECT_EQ(Get(t, "C1000", "orders_app"), 0);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "monetary_web"), 100);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "monetary_store"), 30);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "event_share_web"), 3.0f / 5);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "event_share_app"), 1.0f / 5);
  EXPECT_EQ(Get(t, "C1000", "identified"), 1);
  // A non-buyer: recency and basket are missing, counts are 0.
  EXPECT_TRUE(std::isnan(Get(t, "C1001", "recency_days")));
  EXPECT_TRUE(std::isnan(Get(t, "C1001", "avg_basket")));
  EXPECT_TRUE(std::isnan(Get(t, "C1001", "bgnbd_expected_purchases")));
  EXPECT_EQ(Get(t, "C1001", "frequency"), 0);
  EXPECT_FLOAT_EQ(Get(t, "C1001", "tenure_days"), 40);
  EXPECT_FLOAT_EQ(Get(t, "C1001", "days_since_last_event"), 0.5f);
  // Only channels with events before T get columns.
  EXPECT_EQ(stats_.channels, (std::vector<std::string>{"web", "app", "store"}));
}

TEST_F(FeaturesTest, OrdersSplitOverTimeCountOnceAndOnlyBeforeTheCutoff) {
  directory_.AddCard("A");
  // One order whose lines straddle the cutoff: it counts (a line is before
  // T), with only the lines before T in the spend; the line after T is a
  // purchase in the horizon, so the label is 1.
  const FeatureTable t = Build({
      {kT - kHour, "web", "purchase", "A", "s1", 10, "O1"},
      {kT + kHour, "web", "purchase", "A", "s2", 15, "O1"},
      {kT - 5 * kDay, "app", "purchase", "A", "s3", 7, "O2"},
      {kT - 5 * kDay + 1, "store", "purchase", "A", "s4", 3, "O2"},  // same order id, another channel
  });
  EXPECT_EQ(Get(t, "C1000", "frequency"), 2);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "gross_sales"), 20);
  EXPECT_EQ(Get(t, "C1000", "orders_app"), 1);
  EXPECT_EQ(Get(t, "C1000", "orders_store"), 1);
  EXPECT_EQ(Label(t, "C1000"), 1);
}

TEST_F(FeaturesTest, BrowseWithoutBuyAndCartAbandonInWindows) {
  directory_.AddCard("A");
  const FeatureTable t = Build({
      // Viewed 20 days ago and again 3 days ago, never bought: in the 7d and 30d windows.
      {kT - 20 * kDay, "web", "view", "A", "s1"},
      {kT - 3 * kDay, "web", "view", "A", "s1"},
      // Viewed 2 days ago, bought a day later: not browse-without-buy.
      {kT - 2 * kDay, "app", "view", "A", "s2"},
      {kT - 1 * kDay, "app", "purchase", "A", "s2", 9, "O1"},
      // Bought 10 days ago, viewed again 5 hours ago: browsing without buying (the purchase was before the view).
      {kT - 10 * kDay, "web", "purchase", "A", "s3", 9, "O0"},
      {kT - 5 * kHour, "web", "view", "A", "s3"},
      // Carts: one abandoned 6 days ago, one bought, one bought only after T (still abandoned at T).
      {kT - 6 * kDay, "web", "add_to_cart", "A", "s4"},
      {kT - 2 * kHour, "web", "add_to_cart", "A", "s2"},
      {kT - 1 * kHour, "web", "purchase", "A", "s2", 9, "O2"},
      {kT - 3 * kHour, "web", "add_to_cart", "A", "s5"},
      {kT + 1 * kHour, "web", "purchase", "A", "s5", 9, "O3"},
      // Older than every window.
      {kT - 45 * kDay, "web", "view", "A", "s6"},
      {kT - 45 * kDay, "web", "add_to_cart", "A", "s6"},
  });
  EXPECT_EQ(Get(t, "C1000", "views_1d"), 1);
  EXPECT_EQ(Get(t, "C1000", "views_7d"), 3);
  EXPECT_EQ(Get(t, "C1000", "views_30d"), 4);
  EXPECT_EQ(Get(t, "C1000", "cart_adds_1d"), 2);
  EXPECT_EQ(Get(t, "C1000", "cart_adds_7d"), 3);
  EXPECT_EQ(Get(t, "C1000", "cart_adds_30d"), 3);
  EXPECT_EQ(Get(t, "C1000", "browse_without_buy_1d"), 1);   // s3
  EXPECT_EQ(Get(t, "C1000", "browse_without_buy_7d"), 2);   // s1, s3
  EXPECT_EQ(Get(t, "C1000", "browse_without_buy_30d"), 2);  // s1, s3
  EXPECT_EQ(Get(t, "C1000", "cart_abandon_1d"), 1);         // s5
  EXPECT_EQ(Get(t, "C1000", "cart_abandon_7d"), 2);         // s4, s5
  EXPECT_EQ(Get(t, "C1000", "cart_abandon_30d"), 2);
  // The latest view of an item not bought since: s3, 5 hours ago.
  EXPECT_FLOAT_EQ(Get(t, "C1000", "days_since_unbought_view"), 5.0f / 24);
}

TEST_F(FeaturesTest, DaysSinceUnboughtViewLooksPastTheWindows) {
  directory_.AddCard("A");
  directory_.AddCard("B");
  const FeatureTable t = Build({
      {kT - 90 * kDay, "web", "view", "A", "s1"},
      {kT - 2 * kDay, "web", "view", "A", "s2"},
      {kT - 1 * kDay, "web", "purchase", "A", "s2", 5, "O1"},
      {kT - 2 * kDay, "web", "view", "B", "s2"},
      {kT - 1 * kDay, "web", "purchase", "B", "s2", 5, "O2"},
  });
  EXPECT_FLOAT_EQ(Get(t, "C1000", "days_since_unbought_view"), 90);
  EXPECT_TRUE(std::isnan(Get(t, "C1001", "days_since_unbought_view")));
}

TEST_F(FeaturesTest, CategorySharesUseTheTopCategoriesBeforeTheEarliestCutoff) {
  options_.top_categories = 2;
  options_.cutoffs_ms = {kT - 30 * kDay, kT};
  Item("a1", "服饰 > 女装 > 连衣裙");
  Item("a2", "服饰 > 男装");
  Item("b1", "食品 > 饮料");
  Item("c1", "数码");
  directory_.AddCard("A");
  directory_.AddCard("B");
  std::vector<Ev> ev = {
      {kT - 60 * kDay, "web", "view", "A", "a1"},
      {kT - 60 * kDay, "web", "view", "A", "a2"},
      {kT - 59 * kDay, "web", "purchase", "A", "a1", 30, "O1"},
      {kT - 58 * kDay, "web", "view", "A", "b1"},
      {kT - 58 * kDay, "web", "purchase", "A", "b1", 10, "O2"},
      {kT - 57 * kDay, "web", "view", "B", "c1"},
      // After the earliest cutoff 数码 takes over; the columns stay 服饰, 食品.
      {kT - 10 * kDay, "web", "view", "B", "c1"},
      {kT - 10 * kDay, "web", "view", "B", "c1"},
      {kT - 10 * kDay, "web", "view", "B", "c1"},
      {kT - 9 * kDay, "web", "purchase", "B", "c1", 100, "O3"},
      {kT - 9 * kDay, "web", "purchase", "B", "b1", 100, "O4"},
  };
  const FeatureTable t = Build(ev);
  EXPECT_EQ(stats_.categories, (std::vector<std::string>{"服饰", "食品"}));
  EXPECT_GE(t.ColumnIndex("spend_share_服饰"), 0);
  EXPECT_LT(t.ColumnIndex("spend_share_数码"), 0);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "spend_share_服饰", kT), 0.75f);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "spend_share_食品", kT), 0.25f);
  EXPECT_FLOAT_EQ(Get(t, "C1000", "view_share_服饰", kT), 2.0f / 3);
  EXPECT_FLOAT_EQ(Get(t, "C1001", "spend_share_食品", kT), 0.5f);
  EXPECT_FLOAT_EQ(Get(t, "C1001", "view_share_服饰", kT), 0.0f);
  // Stacked: both cutoffs' rows, same columns.
  EXPECT_EQ(t.rows(), 4);
  EXPECT_FLOAT_EQ(Get(t, "C1001", "view_share_食品", kT - 30 * kDay), 0.0f);
  EXPECT_EQ(Label(t, "C1001", kT - 30 * kDay), 1);  // bought 9 days before the later cutoff
  ASSERT_EQ(stats_.cutoffs.size(), 2u);
  EXPECT_EQ(stats_.cutoffs[0].positives, 1);
}

TEST_F(FeaturesTest, CustomersAppearOnceTheyHaveAnEventBeforeTheCutoffAndIdentifiedIsPointInTime) {
  options_.cutoffs_ms = {kT - 10 * kDay, kT};
  // One customer known by a cookie first, then by a member card (resolved together).
  directory_.Add({{ingest::IdentityType::kCookieId, "cookie:x"}, {ingest::IdentityType::kMemberCard, "X"}});
  directory_.AddCard("Late");
  const FeatureTable t = Build({
      {kT - 20 * kDay, "web", "view", "cookie:x", "s1"},
      {kT - 5 * kDay, "web", "view", "X", "s1"},
      {kT - 2 * kDay, "web", "view", "Late", "s1"},
  });
  EXPECT_EQ(t.rows(), 3);  // Late only at the second cutoff
  EXPECT_EQ(Get(t, "C1000", "identified", kT - 10 * kDay), 0);
  EXPECT_EQ(Get(t, "C1000", "identified", kT), 1);
  EXPECT_EQ(t.cutoff_ms.front(), kT - 10 * kDay);
}

TEST_F(FeaturesTest, BgNbdColumnsComeFromAFitOnPurchasesBeforeTheCutoff) {
  for (int c = 0; c < 40; ++c) directory_.AddCard("M" + std::to_string(c));
  std::mt19937_64 rng(11);
  std::vector<Ev> ev;
  for (int c = 0; c < 40; ++c) {
    const int n = 1 + c % 6;
    for (int i = 0; i < n; ++i) {
      ev.push_back(Ev{kT - static_cast<int64_t>(rng() % 300) * kDay - kHour, "web", "purchase", "M" + std::to_string(c),
                      "s1", 10, "O" + std::to_string(c) + "-" + std::to_string(i)});
    }
  }
  const FeatureTable t = Build(ev);
  ASSERT_TRUE(stats_.cutoffs[0].clv_fitted) << stats_.cutoffs[0].clv_note;
  const int32_t e = t.ColumnIndex("bgnbd_expected_purchases"), a = t.ColumnIndex("bgnbd_p_alive");
  for (int64_t r = 0; r < t.rows(); ++r) {
    EXPECT_GE(t.at(r, e), 0);
    EXPECT_GT(t.at(r, a), 0);
    EXPECT_LE(t.at(r, a), 1);
  }
  // The columns are the fitted model's predictions for the horizon (30 days)
  // from the customer's purchase days before T (UTC days; T's day excluded).
  const profile::BgNbdParams& p = stats_.cutoffs[0].bgnbd;
  for (int c : {0, 5, 11}) {
    std::vector<int64_t> days;
    for (const Ev& x : ev) {
      if (x.who == "M" + std::to_string(c)) days.push_back((x.ts_ms - kT) / kDay - ((x.ts_ms - kT) % kDay != 0));
    }
    std::sort(days.begin(), days.end());
    days.erase(std::unique(days.begin(), days.end()), days.end());
    const double xr = static_cast<double>(days.size() - 1);
    const double t_x = static_cast<double>(days.back() - days.front());
    const double age = static_cast<double>(-1 - days.front());
    const std::string key = directory_.CustomerKey(c);
    EXPECT_NEAR(Get(t, key, "bgnbd_expected_purchases"), profile::BgNbdExpectedPurchases(p, 30, xr, t_x, age), 1e-5);
    EXPECT_NEAR(Get(t, key, "bgnbd_p_alive"), profile::BgNbdProbabilityAlive(p, xr, t_x, age), 1e-5);
  }
}

TEST_F(FeaturesTest, TheTableRoundTripsThroughCsv) {
  directory_.AddCard("A");
  directory_.AddCard("B,with comma");
  const FeatureTable t = Build({
      {kT - 3 * kDay, "web", "purchase", "A", "s1", 12.5, "O1"},
      {kT + 3 * kDay, "web", "purchase", "A", "s1", 12.5, "O2"},
      {kT - 3 * kDay, "web", "view", "B,with comma", "s1"},
  });
  const std::string path = (std::filesystem::temp_directory_path() / ("features-test-" + std::to_string(getpid()) + ".csv")).string();
  ASSERT_TRUE(WriteFeatureCsv(t, path).ok());
  StatusOr<FeatureTable> back = ReadFeatureCsv(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->columns, t.columns);
  EXPECT_EQ(back->customer_keys, t.customer_keys);
  EXPECT_EQ(back->cutoff_ms, t.cutoff_ms);
  EXPECT_EQ(back->label, t.label);
  ExpectSameFeatures(t, *back);
}

TEST_F(FeaturesTest, BadOptionsAreErrors) {
  options_.cutoffs_ms.clear();
  FeatureBuilder a(directory_, options_);
  EXPECT_EQ(a.Finish().status().code(), StatusCode::kInvalidArgument);
  options_.cutoffs_ms = {kT};
  options_.horizon_ms = 0;
  FeatureBuilder b(directory_, options_);
  EXPECT_EQ(b.Finish().status().code(), StatusCode::kInvalidArgument);
}

TEST(ColumnSlugTest, NamesAreColumnSafe) {
  EXPECT_EQ(ColumnSlug("Home > Kitchen"), "home_kitchen");
  EXPECT_EQ(ColumnSlug("服饰"), "服饰");
  EXPECT_EQ(ColumnSlug("mini-program"), "mini_program");
  EXPECT_EQ(ColumnSlug("--"), "unnamed");
}

// A user's own table: plain dates, no customer_key, empty = missing; bad
// cells are errors naming the line and the column.
TEST(FeatureCsvTest, ReadsAUsersOwnTableAndNamesBadCells) {
  const auto dir = std::filesystem::temp_directory_path() / ("feature-csv-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  StatusOr<FeatureTable> t = ReadFeatureCsv(write("ok.csv", "recency,cutoff,history,label\n3,2011-09-01,,1\n10,2011-09-01,5.5,0\n"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->columns, (std::vector<std::string>{"recency", "history"}));
  EXPECT_EQ(t->customer_keys, (std::vector<std::string>{"row1", "row2"}));
  EXPECT_EQ(t->cutoff_ms[0], 1314835200000);  // 2011-09-01T00:00:00Z
  EXPECT_TRUE(std::isnan(t->at(0, 1)));
  EXPECT_FLOAT_EQ(t->at(1, 1), 5.5f);
  EXPECT_EQ(t->label, (std::vector<float>{1, 0}));

  StatusOr<FeatureTable> bad = ReadFeatureCsv(write("bad.csv", "recency,label\n3,1\nabc,0\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("'recency'"), std::string::npos) << bad.status().message();
  StatusOr<FeatureTable> label = ReadFeatureCsv(write("label.csv", "recency,label\n3,yes\n"));
  ASSERT_FALSE(label.ok());
  EXPECT_NE(label.status().message().find("'label'"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::predict
