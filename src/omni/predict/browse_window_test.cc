#include "omni/predict/browse_window.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "omni/profile/testdata/fake_directory.h"

namespace omni::predict {
namespace {

using profile::testing::FakeDirectory;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kStart = 1'750'000'000'000;

struct Ev {
  int64_t ts_ms;
  std::string channel;
  std::string type;
  std::string who;
  std::string item;
};

class BrowseWindowTest : public ::testing::Test {
 protected:
  BrowseWindowTest() {
    options_.hours = {1, 2, 4, 8, 24, 168};
    options_.max_hours = 168;
  }
  WindowReport Run(std::vector<Ev> events) {
    // Something far later, so no anchor is censored unless a test wants it.
    events.push_back(Ev{end_ms_, "web", "search", "nobody", ""});
    BrowseWindowBuilder b(directory_, options_);
    for (const auto& i : items_) b.AddItem(i);
    int n = 0;
    for (const Ev& s : events) {
      ingest::Event e;
      e.event_id = std::to_string(n++);
      e.ts_ms = s.ts_ms;
      e.channel = s.channel;
      e.type = s.type;
      e.identities = {{ingest::IdentityType::kMemberCard, s.who}};
      e.item_id = s.item;
      b.AddEvent(e);
    }
    StatusOr<WindowReport> r = b.Finish();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : WindowReport{};
  }
  static const WindowCurve* Find(const WindowReport& r, const std::string& anchor, const std::string& channel,
                                 const std::string& category = kAllGroup) {
    for (const auto& c : r.curves) {
      if (c.anchor == anchor && c.channel == channel && c.category == category) return &c;
    }
    return nullptr;
  }
  FakeDirectory directory_;
  WindowOptions options_;
  std::vector<ingest::Item> items_;
  int64_t end_ms_ = kStart + 100 * kDay;
};

TEST_F(BrowseWindowTest, AnEpisodeStartsAtTheFirstViewAndEndsAtThePurchaseOfThatItem) {
  directory_.AddCard("A");
  directory_.AddCard("B");
  const WindowReport r = Run({
      // A: views s1 twice, buys it 3 hours after the first view: one anchor, 3 h.
      {kStart, "web", "view", "A", "s1"},
      {kStart + 2 * kHour, "web", "view", "A", "s1"},
      {kStart + 3 * kHour, "web", "purchase", "A", "s1"},
      // A views s1 again after buying it: a new episode, never bought.
      {kStart + 1 * kDay, "app", "view", "A", "s1"},
      // A views s2 and buys s3: s2 is not converted.
      {kStart, "web", "view", "A", "s2"},
      {kStart + kHour, "web", "purchase", "A", "s3"},
      // B views s1; only A bought s1: not converted.
      {kStart, "web", "view", "B", "s1"},
  });
  const WindowCurve* all = Find(r, "view", kAllGroup);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->anchors, 4);
  EXPECT_EQ(all->converted, 1);
  ASSERT_EQ(r.hours.size(), 6u);
  EXPECT_DOUBLE_EQ(all->p_within[1], 0.0);   // <= 2h
  EXPECT_DOUBLE_EQ(all->p_within[2], 0.25);  // <= 4h
  EXPECT_DOUBLE_EQ(all->median_hours, 3.0);
  const WindowCurve* web = Find(r, "view", "web");
  const WindowCurve* app = Find(r, "view", "app");
  ASSERT_NE(web, nullptr);
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(web->anchors, 3);
  EXPECT_EQ(app->anchors, 1);
  EXPECT_EQ(app->converted, 0);
}

TEST_F(BrowseWindowTest, CartAddsAreAnchorsOfTheirOwnAndSameInstantCountsAsBefore) {
  directory_.AddCard("A");
  const WindowReport r = Run({
      {kStart, "app", "add_to_cart", "A", "s1"},
      {kStart, "app", "view", "A", "s1"},
      {kStart, "app", "purchase", "A", "s1"},  // same instant: viewed, carted, then bought
      {kStart + kDay, "app", "add_to_cart", "A", "s2"},
      {kStart + kDay + 30 * kHour, "store", "purchase", "A", "s2"},
  });
  const WindowCurve* carts = Find(r, "add_to_cart", kAllGroup);
  ASSERT_NE(carts, nullptr);
  EXPECT_EQ(carts->anchors, 2);
  EXPECT_EQ(carts->converted, 2);
  EXPECT_DOUBLE_EQ(carts->p_within[0], 0.5);  // <= 1h
  EXPECT_DOUBLE_EQ(carts->p_within[5], 1.0);  // <= 168h
  EXPECT_EQ(Find(r, "view", kAllGroup)->converted, 1);
}

TEST_F(BrowseWindowTest, PurchasesAfterTheFollowUpHorizonDoNotCountAndLateAnchorsAreCensored) {
  directory_.AddCard("A");
  options_.max_hours = 24;
  end_ms_ = kStart + 10 * kDay;
  const WindowReport r = Run({
      {kStart, "web", "view", "A", "s1"},
      {kStart + 25 * kHour, "web", "purchase", "A", "s1"},  // too late
      {kStart, "web", "view", "A", "s2"},
      {kStart + 24 * kHour, "web", "purchase", "A", "s2"},  // just in
      {end_ms_ - 23 * kHour, "web", "view", "A", "s3"},     // cannot be followed for 24 h: censored
  });
  EXPECT_EQ(r.censored, 1);
  EXPECT_EQ(r.hours, (std::vector<double>{1, 2, 4, 8, 24}));  // 168 dropped
  const WindowCurve* all = Find(r, "view", kAllGroup);
  EXPECT_EQ(all->anchors, 2);
  EXPECT_EQ(all->converted, 1);
  EXPECT_DOUBLE_EQ(all->p_within.back(), 0.5);
}

TEST_F(BrowseWindowTest, OnlineViewsBoughtInStoreFormTheCrossChannelCurve) {
  directory_.AddCard("A");
  directory_.AddCard("B");
  const WindowReport r = Run({
      {kStart, "miniprogram", "view", "A", "s1"},
      {kStart + 20 * kHour, "store", "purchase", "A", "s1"},
      {kStart, "web", "view", "B", "s1"},
      {kStart + 2 * kHour, "web", "purchase", "B", "s1"},  // bought online: not a store conversion
      {kStart, "store", "view", "B", "s9"},                // a store view is no online anchor
  });
  const WindowCurve* cross = Find(r, "view", kOnlineToStore);
  ASSERT_NE(cross, nullptr);
  EXPECT_EQ(cross->anchors, 2);
  EXPECT_EQ(cross->converted, 1);
  EXPECT_DOUBLE_EQ(cross->p_within[3], 0.0);  // <= 8h
  EXPECT_DOUBLE_EQ(cross->p_within[4], 0.5);  // <= 24h
}

TEST_F(BrowseWindowTest, GroupsByCategoryAtTheTopLevel) {
  items_ = {{"s1", "t", "服饰 > 女装", "", std::nullopt, ""}, {"s2", "t", "食品 > 饮料 > 茶", "", std::nullopt, ""}};
  options_.by = WindowGrouping::kChannelCategory;
  directory_.AddCard("A");
  const WindowReport r = Run({
      {kStart, "web", "view", "A", "s1"},
      {kStart + kHour, "web", "purchase", "A", "s1"},
      {kStart, "app", "view", "A", "s2"},
  });
  ASSERT_NE(Find(r, "view", kAllGroup, "服饰"), nullptr);
  EXPECT_EQ(Find(r, "view", kAllGroup, "服饰")->converted, 1);
  EXPECT_EQ(Find(r, "view", "app", "食品")->anchors, 1);
  EXPECT_EQ(Find(r, "view", "app", "食品")->converted, 0);
  EXPECT_EQ(Find(r, "view", "web", "食品"), nullptr);
}

// 10 anchors; 5 bought after 1, 2, 3, 5 and 10 hours.
TEST_F(BrowseWindowTest, TheReminderWindowClosesWhenTooFewPurchasesAreStillToCome) {
  for (int c = 0; c < 10; ++c) directory_.AddCard("M" + std::to_string(c));
  std::vector<Ev> ev;
  const int delays[] = {1, 2, 3, 5, 10};
  for (int c = 0; c < 10; ++c) {
    ev.push_back({kStart, "web", "view", "M" + std::to_string(c), "s1"});
    if (c < 5) ev.push_back({kStart + delays[c] * kHour, "web", "purchase", "M" + std::to_string(c), "s1"});
  }
  // 250 per 1,000 = 2.5 of 10 anchors: after 3 h two purchases (5 h, 10 h) are still to come, < 2.5.
  options_.min_remaining_per_1000 = 250;
  EXPECT_DOUBLE_EQ(Find(Run(ev), "view", kAllGroup)->window_close_hours, 3.0);
  // 100 per 1,000 = 1 anchor: fewer than one still to come only after the last purchase.
  options_.min_remaining_per_1000 = 100;
  EXPECT_DOUBLE_EQ(Find(Run(ev), "view", kAllGroup)->window_close_hours, 10.0);
  // A threshold above everything that converts: no window at all.
  options_.min_remaining_per_1000 = 600;
  EXPECT_DOUBLE_EQ(Find(Run(ev), "view", kAllGroup)->window_close_hours, 0.0);
}

TEST_F(BrowseWindowTest, TheChartHasOneLinePerChannelAndLabelledAxes) {
  directory_.AddCard("A");
  const WindowReport r = Run({
      {kStart, "web", "view", "A", "s1"},
      {kStart + 3 * kHour, "web", "purchase", "A", "s1"},
      {kStart, "app", "view", "A", "s2"},
  });
  const std::string svg = BrowseWindowSvg(r, "Purchase after browsing");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t lines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, 4u);  // all, web, app, online→store
  EXPECT_NE(svg.find("1 week"), std::string::npos);
  EXPECT_NE(svg.find("hours after the view"), std::string::npos);
  EXPECT_NE(svg.find("%</text>"), std::string::npos);
}

TEST(WindowGroupingTest, ParsesTheCliNames) {
  EXPECT_EQ(*ParseWindowGrouping("channel"), WindowGrouping::kChannel);
  EXPECT_EQ(*ParseWindowGrouping("category"), WindowGrouping::kCategory);
  EXPECT_EQ(*ParseWindowGrouping("channel,category"), WindowGrouping::kChannelCategory);
  EXPECT_FALSE(ParseWindowGrouping("store").ok());
}

}  // namespace
}  // namespace omni::predict
