#include "omni/profile/profile_builder.h"

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "omni/profile/testdata/fake_directory.h"

namespace omni::profile {
namespace {

using testing::FakeDirectory;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kAsOf = 1'750'000'000'000;  // 2025-06-15T15:06:40Z

struct EventSpec {
  int64_t ts_ms;
  std::string channel;
  std::string type;
  std::string card;
  std::string item;
  double quantity = 1;
  double price = 0;
  std::string order_id = {};
  std::string properties = {};
  int32_t tz_offset_min = 0;
};

class ProfileBuilderTest : public ::testing::Test {
 protected:
  ProfileBuilderTest() {
    options_.as_of_ms = kAsOf;
    options_.channels = {"web", "app", "miniprogram", "store", "kiosk", "sms", "email"};
  }

  void Item(const std::string& id, const std::string& category, const std::string& brand = "") {
    items_.push_back(ingest::Item{id, "title " + id, category, brand, std::nullopt, ""});
  }

  void Add(const EventSpec& s) { events_.push_back(s); }
  void Buy(int64_t ts, const std::string& channel, const std::string& card, const std::string& item, double price,
           const std::string& order = "", double qty = 1) {
    Add({ts, channel, "purchase", card, item, qty, price, order, ""});
  }
  void View(int64_t ts, const std::string& channel, const std::string& card, const std::string& item) {
    Add({ts, channel, "view", card, item});
  }
  void Cart(int64_t ts, const std::string& channel, const std::string& card, const std::string& item) {
    Add({ts, channel, "add_to_cart", card, item});
  }

  // Builds and returns profiles by customer key.
  std::map<std::string, Profile> Build() {
    ProfileBuilder builder(directory_, options_);
    for (const auto& i : items_) builder.AddItem(i);
    int64_t seq = 100;
    for (const EventSpec& s : events_) {
      ingest::Event e;
      e.event_id = "e" + std::to_string(seq);
      e.ts_ms = s.ts_ms;
      e.channel = s.channel;
      e.type = s.type;
      // Cards starting "cookie:" are anonymous visitors.
      if (s.card.rfind("cookie:", 0) == 0) {
        e.identities = {{ingest::IdentityType::kCookieId, s.card}};
      } else {
        e.identities = {{ingest::IdentityType::kMemberCard, s.card}};
      }
      e.item_id = s.item;
      if (s.type == "purchase" || s.type == "refund") {
        e.quantity = s.quantity;
        e.price = s.price;
      }
      e.order_id = s.order_id;
      e.properties_json = s.properties;
      e.tz_offset_min = s.tz_offset_min;
      builder.AddEvent(seq++, e);
    }
    Status st = builder.Finish();
    EXPECT_TRUE(st.ok()) << st.message();
    stats_ = builder.stats();
    std::map<std::string, Profile> out;
    st = builder.Emit([&](const Profile& p) {
      out[p.customer_key] = p;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }

  const ChannelActivity* Channel(const Profile& p, const std::string& name) {
    for (const auto& c : p.channels) {
      if (c.channel == name) return &c;
    }
    return nullptr;
  }

  FakeDirectory directory_;
  ProfileOptions options_;
  std::vector<ingest::Item> items_;
  std::vector<EventSpec> events_;
  ProfileBuildStats stats_;
};

// CLV counts days in the UTC offset most purchases carry (the smaller on a
// tie), whether or not the offset is one in use on Earth today.
TEST_F(ProfileBuilderTest, TheClvDayIsTheOffsetMostPurchasesCarry) {
  directory_.AddCard("A");
  auto buy = [&](int i, int32_t tz) {
    Add({kAsOf - (10 + i) * kDay, "web", "purchase", "A", "sku1", 1, 10, "O" + std::to_string(i), "", tz});
  };
  for (int i = 0; i < 3; ++i) buy(i, 480);     // +08:00
  for (int i = 3; i < 7; ++i) buy(i, 900);     // +15:00: beyond any zone in use
  buy(7, -300);                                // -05:00
  Build();
  EXPECT_EQ(stats_.clv_utc_offset_min, 900);
  events_.clear();
  for (int i = 0; i < 4; ++i) buy(i, 480);
  for (int i = 4; i < 8; ++i) buy(i, -300);    // a tie: the smaller offset
  Build();
  EXPECT_EQ(stats_.clv_utc_offset_min, -300);
}

TEST_F(ProfileBuilderTest, OrdersMonetaryRecencyAndRefunds) {
  directory_.AddCard("A");  // C1000
  directory_.AddCard("B");  // C1001
  // A: one web order of two lines, one store receipt, one refunded line.
  Buy(kAsOf - 10 * kDay, "web", "A", "sku1", 50, "O1", 2);
  Buy(kAsOf - 10 * kDay, "web", "A", "sku2", 20, "O1");
  Buy(kAsOf - 3 * kDay - kHour, "store", "A", "sku3", 30, "R-1");
  Add({kAsOf - 2 * kDay, "web", "refund", "A", "sku2", 1, 20, "O1", ""});
  // B: purchases without an order id are an order each.
  Buy(kAsOf - 40 * kDay, "app", "B", "sku1", 10);
  Buy(kAsOf - 40 * kDay, "app", "B", "sku1", 10);
  auto p = Build();
  const Profile& a = p.at("C1000");
  EXPECT_EQ(a.frequency, 2);
  EXPECT_DOUBLE_EQ(a.gross_sales, 150);
  EXPECT_DOUBLE_EQ(a.refunds, 20);
  EXPECT_DOUBLE_EQ(a.monetary, 130);
  EXPECT_DOUBLE_EQ(a.avg_basket, 75);
  EXPECT_NEAR(a.refund_rate, 20.0 / 150, 1e-12);
  EXPECT_DOUBLE_EQ(a.recency_days, 3);  // 3 days and an hour ago: whole days
  EXPECT_DOUBLE_EQ(a.tenure_days, 10);
  EXPECT_EQ(a.events, 4);
  const Profile& b = p.at("C1001");
  EXPECT_EQ(b.frequency, 2);
  EXPECT_DOUBLE_EQ(b.monetary, 20);
  EXPECT_DOUBLE_EQ(b.recency_days, 40);
  // Two buyers: A is better on recency and spend; they tie on frequency.
  EXPECT_EQ(a.RfmCell(), "313");
  EXPECT_EQ(b.r_score, 1);
  EXPECT_EQ(b.m_score, 1);
  EXPECT_EQ(b.f_score, 1);  // tied with A on frequency: same score
  EXPECT_EQ(a.f_score, 1);
  EXPECT_EQ(stats_.buyers, 2);
  EXPECT_EQ(stats_.orders, 4);
}

TEST_F(ProfileBuilderTest, NonBuyersHaveNoRfm) {
  directory_.AddCard("A");
  View(kAsOf - kDay, "web", "A", "sku1");
  auto p = Build();
  const Profile& a = p.at("C1000");
  EXPECT_EQ(a.frequency, 0);
  EXPECT_TRUE(std::isnan(a.recency_days));
  EXPECT_TRUE(std::isnan(a.avg_basket));
  EXPECT_EQ(a.r_score, 0);
  EXPECT_EQ(a.rfm_group, RfmGroup::kNone);
  EXPECT_EQ(a.RfmCell(), "");
  EXPECT_TRUE(std::isnan(a.clv_12m));
}

TEST_F(ProfileBuilderTest, ChannelMixAndPreferredChannel) {
  directory_.AddCard("A");
  for (int i = 0; i < 6; ++i) View(kAsOf - (i + 1) * kHour, "app", "A", "sku1");
  View(kAsOf - 2 * kDay, "web", "A", "sku2");
  Buy(kAsOf - kDay, "store", "A", "sku1", 10, "R-1");
  Buy(kAsOf - 2 * kDay, "store", "A", "sku1", 10, "R-2");
  Buy(kAsOf - 3 * kDay, "web", "A", "sku2", 99, "O-1");
  auto p = Build();
  const Profile& a = p.at("C1000");
  ASSERT_EQ(a.channels.size(), 3u);
  EXPECT_EQ(a.channels[0].channel, "app");  // most events first
  EXPECT_NEAR(a.channels[0].event_share, 6.0 / 10, 1e-12);
  const ChannelActivity* store = Channel(a, "store");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->orders, 2);
  EXPECT_NEAR(store->order_share, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(store->monetary, 20);
  EXPECT_DOUBLE_EQ(store->recency_days, 1);
  const ChannelActivity* app = Channel(a, "app");
  EXPECT_EQ(app->orders, 0);
  EXPECT_TRUE(std::isnan(app->recency_days));
  // Most orders wins over most spend and most events.
  EXPECT_EQ(a.preferred_channel, "store");
}

TEST_F(ProfileBuilderTest, PreferredChannelWithoutOrdersIsTheBusiestOne) {
  directory_.AddCard("A");
  View(kAsOf - kDay, "web", "A", "sku1");
  View(kAsOf - kDay, "app", "A", "sku1");
  View(kAsOf - kDay, "app", "A", "sku2");
  auto p = Build();
  EXPECT_EQ(p.at("C1000").preferred_channel, "app");
}

TEST_F(ProfileBuilderTest, ConsentLatestEventWins) {
  directory_.AddCard("A");
  directory_.AddCard("B");
  // Stored out of time order: the later revocation arrives first.
  Add({kAsOf - 1 * kDay, "app", "consent", "A", "", 1, 0, "", R"({"channel":"sms","granted":false})"});
  Add({kAsOf - 5 * kDay, "store", "consent", "A", "", 1, 0, "", R"({"channel":"sms","granted":true})"});
  Add({kAsOf - 5 * kDay, "web", "consent", "A", "", 1, 0, "", R"({"channel":"email","granted":true})"});
  // Equal times: the one stored later is the correction.
  Add({kAsOf - 2 * kDay, "web", "consent", "B", "", 1, 0, "", R"({"channel":"email","granted":true})"});
  Add({kAsOf - 2 * kDay, "web", "consent", "B", "", 1, 0, "", R"({"channel":"email","granted":false})"});
  // Malformed: counted, ignored.
  Add({kAsOf - kDay, "web", "consent", "B", "", 1, 0, "", R"({"channel":"sms"})"});
  Add({kAsOf - kDay, "web", "consent", "B", "", 1, 0, "", ""});
  auto p = Build();
  const Profile& a = p.at("C1000");
  ASSERT_NE(a.ConsentFor("sms"), nullptr);
  EXPECT_FALSE(a.ConsentFor("sms")->granted);
  EXPECT_EQ(a.ConsentFor("sms")->ts_ms, kAsOf - kDay);
  ASSERT_NE(a.ConsentFor("email"), nullptr);
  EXPECT_TRUE(a.ConsentFor("email")->granted);
  const Profile& b = p.at("C1001");
  EXPECT_FALSE(b.ConsentFor("email")->granted);
  EXPECT_EQ(b.ConsentFor("sms"), nullptr);  // never validly asked
  EXPECT_EQ(stats_.consent_events_invalid, 2);
}

TEST_F(ProfileBuilderTest, OnlineToOfflineFlags) {
  directory_.AddCard("ropo");
  directory_.AddCard("late");
  directory_.AddCard("showroom");
  directory_.AddCard("stale");
  // Viewed online, bought the same item in a store 2 days later.
  View(kAsOf - 20 * kDay, "app", "ropo", "sku1");
  Buy(kAsOf - 18 * kDay, "store", "ropo", "sku1", 10, "R-1");
  Buy(kAsOf - 18 * kDay, "store", "ropo", "sku9", 10, "R-1");  // not viewed: does not count
  // Viewed online 40 days before the store purchase: outside the 30 days.
  View(kAsOf - 60 * kDay, "web", "late", "sku1");
  Buy(kAsOf - 20 * kDay, "store", "late", "sku1", 10, "R-2");
  // Visited a store, ordered online 3 days later (two lines of one order).
  Add({kAsOf - 10 * kDay, "store", "store_visit", "showroom", ""});
  Buy(kAsOf - 7 * kDay, "web", "showroom", "sku2", 10, "O-1");
  Buy(kAsOf - 7 * kDay, "web", "showroom", "sku3", 10, "O-1");
  // Store visit 8 days before the online order: outside the 7 days.
  Add({kAsOf - 18 * kDay, "store", "store_visit", "stale", ""});
  Buy(kAsOf - 10 * kDay, "web", "stale", "sku2", 10, "O-2");
  auto p = Build();
  EXPECT_EQ(p.at("C1000").online_to_store, 1);
  EXPECT_EQ(p.at("C1000").store_to_online, 0);
  EXPECT_EQ(p.at("C1001").online_to_store, 0);
  EXPECT_EQ(p.at("C1002").store_to_online, 1);
  EXPECT_EQ(p.at("C1002").online_to_store, 0);
  EXPECT_EQ(p.at("C1003").store_to_online, 0);
}

TEST_F(ProfileBuilderTest, BrowseWithoutBuyWindows) {
  directory_.AddCard("A");
  View(kAsOf - 12 * kHour, "web", "A", "i1");   // not bought: 1d, 7d, 30d
  View(kAsOf - 3 * kDay, "web", "A", "i2");     // bought a day later: none
  Buy(kAsOf - 2 * kDay, "web", "A", "i2", 5, "O1");
  View(kAsOf - 10 * kDay, "app", "A", "i3");    // 30d only
  View(kAsOf - 20 * kDay, "web", "A", "i4");    // bought before the view: counts (30d)
  Buy(kAsOf - 25 * kDay, "web", "A", "i4", 5, "O2");
  View(kAsOf - 40 * kDay, "web", "A", "i5");    // outside every window
  // Viewed 5 days and 12 hours ago, bought 4 days ago: in the 7-day window
  // the purchase follows the first view; in the 1-day window it does not.
  View(kAsOf - 5 * kDay, "store", "A", "i6");
  Buy(kAsOf - 4 * kDay, "store", "A", "i6", 5, "R1");
  View(kAsOf - 12 * kHour, "app", "A", "i6");
  View(kAsOf - 11 * kHour, "app", "A", "i1");   // a second view of i1: still one item
  auto p = Build();
  const Profile& a = p.at("C1000");
  EXPECT_EQ(a.browse_without_buy[0], 2);  // i1, i6
  EXPECT_EQ(a.browse_without_buy[1], 1);  // i1
  EXPECT_EQ(a.browse_without_buy[2], 3);  // i1, i3, i4
}

TEST_F(ProfileBuilderTest, CartAbandonWindows) {
  directory_.AddCard("A");
  Cart(kAsOf - 3 * kDay, "app", "A", "i7");                    // bought 2 h later: kept
  Buy(kAsOf - 3 * kDay + 2 * kHour, "app", "A", "i7", 5, "O1");
  Cart(kAsOf - 3 * kDay, "web", "A", "i8");                    // bought 2 days later: abandoned
  Buy(kAsOf - kDay, "web", "A", "i8", 5, "O2");
  Cart(kAsOf - 2 * kHour, "web", "A", "i9");                   // young, not bought yet: abandoned
  Cart(kAsOf - 20 * kDay, "web", "A", "i9");                   // 30d only
  Cart(kAsOf - 45 * kDay, "web", "A", "i9");                   // outside
  auto p = Build();
  const Profile& a = p.at("C1000");
  EXPECT_EQ(a.cart_abandon[0], 1);
  EXPECT_EQ(a.cart_abandon[1], 2);
  EXPECT_EQ(a.cart_abandon[2], 3);
}

TEST_F(ProfileBuilderTest, CategoryAndBrandAffinity) {
  Item("d1", "服饰 > 女装 > 连衣裙", "Brand A");
  Item("d2", "服饰 > 女装 > 连衣裙", "Brand B");
  Item("f1", "食品 > 饮料 > 茶", "Brand B");
  directory_.AddCard("A");
  View(kAsOf - 5 * kDay, "web", "A", "d1");
  View(kAsOf - 5 * kDay, "web", "A", "d2");
  Cart(kAsOf - 5 * kDay, "web", "A", "d2");
  Buy(kAsOf - 4 * kDay, "store", "A", "f1", 5, "R1");
  View(kAsOf - 4 * kDay, "web", "A", "unknown-item");  // not in the catalogue: no category
  auto p = Build();
  const Profile& a = p.at("C1000");
  ASSERT_EQ(a.categories.size(), 2u);
  EXPECT_EQ(a.categories[0].name, "服饰 > 女装 > 连衣裙");
  EXPECT_DOUBLE_EQ(a.categories[0].weight, 5);  // 1 + 1 + 3
  EXPECT_DOUBLE_EQ(a.categories[1].weight, 5);  // one purchase
  EXPECT_DOUBLE_EQ(a.categories[0].share, 0.5);
  ASSERT_EQ(a.brands.size(), 2u);
  EXPECT_EQ(a.brands[0].name, "Brand B");  // 1 + 3 + 5
  EXPECT_DOUBLE_EQ(a.brands[0].weight, 9);
  EXPECT_EQ(stats_.items, 3);
}

// More names than the profile keeps: exactly the strongest few, strongest
// first, equal weights in name order; a second customer's tally starts from
// nothing (the tally is reused from one profile to the next).
TEST_F(ProfileBuilderTest, AffinitiesKeepTheStrongestFewInOrder) {
  options_.top_categories = 3;
  // Views per category path (weight 1 each); names inserted out of name order.
  const std::vector<std::pair<std::string, int>> views = {
      {"K8", 1}, {"K3", 4}, {"K5", 2}, {"K7", 4}, {"K1", 3}, {"K2", 2}, {"K6", 1}, {"K4", 1}};
  for (const auto& [category, n] : views) Item("i" + category, category);
  directory_.AddCard("A");
  directory_.AddCard("B");
  for (const auto& [category, n] : views) {
    for (int k = 0; k < n; ++k) View(kAsOf - kDay, "web", "A", "i" + category);
  }
  View(kAsOf - kDay, "web", "B", "iK6");
  View(kAsOf - kDay, "web", "B", "iK2");
  View(kAsOf - kDay, "web", "B", "iK2");
  auto p = Build();
  const Profile& a = p.at("C1000");
  ASSERT_EQ(a.categories.size(), 3u);
  EXPECT_EQ(a.categories[0].name, "K3");  // 4, before K7 (4) by name
  EXPECT_EQ(a.categories[1].name, "K7");
  EXPECT_EQ(a.categories[2].name, "K1");  // 3
  EXPECT_DOUBLE_EQ(a.categories[2].weight, 3);
  EXPECT_DOUBLE_EQ(a.categories[0].share, 4.0 / 18);
  const Profile& b = p.at("C1001");
  ASSERT_EQ(b.categories.size(), 2u);
  EXPECT_EQ(b.categories[0].name, "K2");
  EXPECT_DOUBLE_EQ(b.categories[0].weight, 2);
  EXPECT_DOUBLE_EQ(b.categories[0].share, 2.0 / 3);
  EXPECT_EQ(b.categories[1].name, "K6");
}

TEST_F(ProfileBuilderTest, EventsAfterAsOfAndUnknownIdentifiersAreCounted) {
  directory_.AddCard("A");
  Buy(kAsOf - kDay, "web", "A", "i1", 5, "O1");
  Buy(kAsOf + kHour, "web", "A", "i1", 500, "O2");  // after the as-of instant
  View(kAsOf - kDay, "web", "stranger", "i1");      // nobody in the directory
  auto p = Build();
  EXPECT_EQ(p.at("C1000").frequency, 1);
  EXPECT_DOUBLE_EQ(p.at("C1000").monetary, 5);
  EXPECT_EQ(stats_.events_read, 3);
  EXPECT_EQ(stats_.events_after_as_of, 1);
  EXPECT_EQ(stats_.events_unattributed, 1);
  EXPECT_EQ(stats_.customers, 1);
}

TEST_F(ProfileBuilderTest, CustomersWithoutEventsGetNoProfile) {
  directory_.AddCard("A");
  directory_.AddCard("B");
  View(kAsOf - kDay, "web", "B", "i1");
  auto p = Build();
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(p.count("C1001"), 1u);
}

TEST_F(ProfileBuilderTest, RecentEventsNewestFirstAndBounded) {
  options_.recent_events = 3;
  directory_.AddCard("A");
  directory_.AddCard("B");
  for (int i = 0; i < 5; ++i) {
    View(kAsOf - (10 - i) * kHour, "web", "A", "i1");  // seqs 100, 102, 104, 106, 108
    View(kAsOf - (10 - i) * kHour, "web", "B", "i1");
  }
  auto p = Build();
  EXPECT_THAT(p.at("C1000").recent_event_seqs, ::testing::ElementsAre(108, 106, 104));
  EXPECT_THAT(p.at("C1001").recent_event_seqs, ::testing::ElementsAre(109, 107, 105));
}

TEST_F(ProfileBuilderTest, ManyCustomersAreSortedApartCorrectly) {
  // More customers than one radix digit (2048) holds, events interleaved.
  options_.fit_clv = false;
  constexpr int kCustomers = 5000;
  for (int c = 0; c < kCustomers; ++c) directory_.AddCard("M" + std::to_string(c));
  for (int round = 0; round < 3; ++round) {
    for (int c = kCustomers - 1; c >= 0; --c) {
      Buy(kAsOf - (10 - round) * kDay, "web", "M" + std::to_string(c), "i1", c + 1,
          "O" + std::to_string(c) + "-" + std::to_string(round));
    }
  }
  auto p = Build();
  ASSERT_EQ(p.size(), static_cast<size_t>(kCustomers));
  for (int c = 0; c < kCustomers; c += 499) {
    const Profile& profile = p.at("C" + std::to_string(1000 + c));
    EXPECT_EQ(profile.frequency, 3);
    EXPECT_DOUBLE_EQ(profile.monetary, 3.0 * (c + 1));
    EXPECT_DOUBLE_EQ(profile.recency_days, 8);
  }
}

TEST_F(ProfileBuilderTest, AsOfIsRequired) {
  options_.as_of_ms = 0;
  ProfileBuilder builder(directory_, options_);
  EXPECT_EQ(builder.Finish().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.Emit([](const Profile&) { return Status::Ok(); }).code(), StatusCode::kFailedPrecondition);
}

TEST_F(ProfileBuilderTest, LifetimeValueIsFittedOnEnoughBuyers) {
  // 300 customers buying as a Poisson process with Gamma-distributed rates,
  // some of them dropping out: the shape BG/NBD expects.
  std::mt19937_64 rng(11);
  std::gamma_distribution<double> rate(0.8, 1.0 / 20);  // purchases per day
  std::uniform_real_distribution<double> u(0, 1);
  for (int c = 0; c < 300; ++c) {
    const std::string card = "M" + std::to_string(c);
    directory_.AddCard(card);
    double t = -300 + u(rng) * 200;  // first purchase 300..100 days before as-of
    const double lambda = rate(rng);
    const bool drops = u(rng) < 0.4;
    int n = 0;
    while (t < 0) {
      Buy(kAsOf + static_cast<int64_t>(t * kDay), "web", card, "i1", 10 + 40 * u(rng), "O" + std::to_string(c) + "-" + std::to_string(n++));
      if (drops && u(rng) < 0.3) break;
      t += -std::log(1 - u(rng)) / lambda;
    }
  }
  // An anonymous guest (cookie only) buys too: scored by RFM, not modelled by CLV.
  directory_.Add({{ingest::IdentityType::kCookieId, "cookie:guest"}});
  Buy(kAsOf - 5 * kDay, "web", "cookie:guest", "i1", 30, "G1");
  auto p = Build();
  const Profile& guest = p.at("C1300");
  EXPECT_FALSE(guest.identified);
  EXPECT_EQ(guest.frequency, 1);
  EXPECT_GT(guest.r_score, 0);
  EXPECT_TRUE(std::isnan(guest.clv_12m));
  EXPECT_TRUE(std::isnan(guest.p_alive));
  p.erase("C1300");
  EXPECT_EQ(stats_.identified, 300);
  ASSERT_TRUE(stats_.clv_fitted) << stats_.clv_note;
  ASSERT_TRUE(stats_.spend_fitted) << stats_.clv_note;
  EXPECT_GT(stats_.bgnbd.params.r, 0);
  int with_clv = 0;
  for (const auto& [key, profile] : p) {
    ASSERT_FALSE(std::isnan(profile.p_alive)) << key;
    EXPECT_GE(profile.p_alive, 0);
    EXPECT_LE(profile.p_alive, 1);
    EXPECT_GE(profile.expected_purchases_90d, 0);
    if (!std::isnan(profile.clv_12m)) {
      EXPECT_GE(profile.clv_12m, 0);
      ++with_clv;
    }
  }
  EXPECT_EQ(with_clv, 300);
}

TEST_F(ProfileBuilderTest, TooFewBuyersLeavesClvMissingAndSaysWhy) {
  directory_.AddCard("A");
  Buy(kAsOf - kDay, "web", "A", "i1", 5, "O1");
  auto p = Build();
  EXPECT_FALSE(stats_.clv_fitted);
  EXPECT_FALSE(stats_.clv_note.empty());
  EXPECT_TRUE(std::isnan(p.at("C1000").clv_12m));
}

}  // namespace
}  // namespace omni::profile
