#include "omni/profile/profile_store.h"

#include <cmath>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "omni/profile/testdata/temp_dir.h"

namespace omni::profile {
namespace {

Profile Sample(const std::string& key) {
  Profile p;
  p.customer_key = key;
  p.first_seen_ms = 1000;
  p.last_seen_ms = 2000;
  p.tenure_days = 12;
  p.events = 7;
  p.identified = true;
  p.first_purchase_ms = 1500;
  p.last_purchase_ms = 1900;
  p.recency_days = 3;
  p.frequency = 2;
  p.monetary = 99.5;
  p.gross_sales = 120;
  p.refunds = 20.5;
  p.avg_basket = 60;
  p.refund_rate = 20.5 / 120;
  p.r_score = 5;
  p.f_score = 4;
  p.m_score = 3;
  p.rfm_group = RfmGroupOf(5, 4, 3);
  p.preferred_channel = "store";
  p.online_to_store = 1;
  p.channels.push_back(ChannelActivity{"store", 4, 2, 99.5, 1900, 3, 4.0 / 7, 1});
  p.channels.push_back(ChannelActivity{"web", 3, 0, 0, 0, kNotAvailable, 3.0 / 7, 0});
  p.categories.push_back(Affinity{"服饰 > 女装 > 连衣裙", 5, 0.5});
  p.brands.push_back(Affinity{"优衣库", 3, 1});
  p.browse_without_buy[2] = 4;
  p.cart_abandon[1] = 1;
  p.consent.push_back(ConsentState{"sms", true, 1234});
  p.expected_purchases_90d = 0.75;
  p.p_alive = 0.9;
  p.clv_12m = kNotAvailable;
  p.recent_event_seqs = {9, 8, 5};
  return p;
}

TEST(ProfileStoreTest, RoundTripsEveryField) {
  testing::TempDir dir("profile-store");
  auto store = ProfileStore::Open(dir.str());
  ASSERT_TRUE(store.ok()) << store.status().message();
  ProfileBuildInfo info;
  info.as_of_ms = 5000;
  info.last_seq = 42;
  info.clv_json = R"({"r":0.2})";
  auto id = (*store)->ReplaceProfiles(info, [](const ProfileStore::ProfileWriter& write) {
    OMNI_RETURN_IF_ERROR(write(Sample("C2")));
    return write(Sample("C1"));
  });
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto got = (*store)->GetProfile("C1");
  ASSERT_TRUE(got.ok() && got->has_value());
  const Profile& p = **got;
  const Profile want = Sample("C1");
  EXPECT_EQ(p.customer_key, "C1");
  EXPECT_EQ(p.events, 7);
  EXPECT_TRUE(p.identified);
  EXPECT_DOUBLE_EQ(p.monetary, 99.5);
  EXPECT_DOUBLE_EQ(p.refund_rate, want.refund_rate);
  EXPECT_EQ(p.RfmCell(), "543");
  EXPECT_EQ(p.rfm_group, RfmGroup::kChampions);
  EXPECT_EQ(p.preferred_channel, "store");
  ASSERT_EQ(p.channels.size(), 2u);
  EXPECT_EQ(p.channels[0].orders, 2);
  EXPECT_NEAR(p.channels[0].event_share, 4.0 / 7, 1e-4);  // shares are stored to 4 decimals
  EXPECT_DOUBLE_EQ(p.channels[1].monetary, 0);
  EXPECT_EQ(p.channels[1].order_share, 0);
  EXPECT_TRUE(std::isnan(p.channels[1].recency_days));
  ASSERT_EQ(p.categories.size(), 1u);
  EXPECT_EQ(p.categories[0].name, "服饰 > 女装 > 连衣裙");
  EXPECT_EQ(p.brands[0].name, "优衣库");
  EXPECT_EQ(p.browse_without_buy[2], 4);
  EXPECT_EQ(p.cart_abandon[1], 1);
  ASSERT_NE(p.ConsentFor("sms"), nullptr);
  EXPECT_TRUE(p.ConsentFor("sms")->granted);
  EXPECT_DOUBLE_EQ(p.p_alive, 0.9);
  EXPECT_TRUE(std::isnan(p.clv_12m));
  EXPECT_THAT(p.recent_event_seqs, ::testing::ElementsAre(9, 8, 5));

  auto build = (*store)->LatestBuild();
  ASSERT_TRUE(build.ok() && build->has_value());
  EXPECT_EQ((*build)->id, *id);
  EXPECT_EQ((*build)->customers, 2);
  EXPECT_EQ((*build)->last_seq, 42);
  EXPECT_EQ((*build)->clv_json, R"({"r":0.2})");
  EXPECT_FALSE((*store)->GetProfile("C9")->has_value());
}

// Profiles written by an older omni (detail version 1: named keys, shares as
// decimals) stay readable until the next build rewrites them.
TEST(ProfileStoreTest, ReadsTheDetailAnOlderBuildWrote) {
  const std::string v1 =
      R"({"channels":[{"channel":"store","events":4,"event_share":0.5714,"orders":2,"monetary":99.5,)"
      R"("last_purchase_ms":1900,"recency_days":3,"order_share":1},{"channel":"web","events":3,"event_share":0.4286}],)"
      R"("categories":[{"name":"服饰 > 女装 > 连衣裙","weight":5,"share":0.5}],"brands":[{"name":"优衣库","weight":3,"share":1}],)"
      R"("browse_without_buy":[0,0,4],"cart_abandon":[0,1,0],"consent":[{"channel":"sms","granted":true,"ts_ms":1234}],)"
      R"("recent":[9,8,5]})";
  Profile old;
  ASSERT_TRUE(ParseProfileDetailJson(v1, old).ok());
  // Read back, it is the same profile the current format writes for Sample().
  Profile current;
  ASSERT_TRUE(ParseProfileDetailJson(ProfileDetailJson(Sample("C1")), current).ok());
  EXPECT_EQ(ProfileDetailJson(old), ProfileDetailJson(current));
  EXPECT_EQ(old.channels[1].order_share, 0);
  EXPECT_TRUE(std::isnan(old.channels[1].recency_days));
  EXPECT_THAT(old.recent_event_seqs, ::testing::ElementsAre(9, 8, 5));
  EXPECT_FALSE(ParseProfileDetailJson("[1,2]", old).ok());
}

TEST(ProfileStoreTest, ABuildReplacesThePreviousOneAndAFailedBuildKeepsIt) {
  testing::TempDir dir("profile-replace");
  auto store = ProfileStore::Open(dir.str());
  ASSERT_TRUE(store.ok());
  auto write = [&](std::vector<std::string> keys) {
    return (*store)->ReplaceProfiles({}, [&](const ProfileStore::ProfileWriter& w) {
      for (const auto& k : keys) OMNI_RETURN_IF_ERROR(w(Sample(k)));
      return Status::Ok();
    });
  };
  ASSERT_TRUE(write({"C1", "C2", "C3"}).ok());
  ASSERT_TRUE(write({"C4"}).ok());
  EXPECT_EQ(*(*store)->CountProfiles(), 1);
  // A build that fails half-way leaves the previous profiles untouched.
  auto failed = (*store)->ReplaceProfiles({}, [&](const ProfileStore::ProfileWriter& w) {
    OMNI_RETURN_IF_ERROR(w(Sample("C5")));
    return Internal("disk full");
  });
  EXPECT_FALSE(failed.ok());
  std::vector<std::string> keys;
  ASSERT_TRUE((*store)->ScanProfiles([&](const Profile& p) {
    keys.push_back(p.customer_key);
    return true;
  }).ok());
  EXPECT_THAT(keys, ::testing::ElementsAre("C4"));
}

// The profile build produces its parts on two threads: every profile is
// stored exactly once, in part order, and a part that fails (here the middle
// one, after some of its rows were already stored) rolls the whole build back.
TEST(ProfileStoreTest, PartsProducedOnSeveralThreadsAreStoredInOrderAndAFailedPartRollsBack) {
  testing::TempDir dir("profile-parts");
  auto store = ProfileStore::Open(dir.str());
  ASSERT_TRUE(store.ok());
  constexpr int64_t kParts = 9;
  constexpr int kPerPart = 1300;  // more than one hand-over batch per part
  auto key = [](int64_t part, int i) { return fmt::format("C{:02}{:05}", part, i); };
  auto build = [&](int64_t failing_part) {
    return (*store)->ReplaceProfiles({}, kParts, 2, [&](int64_t part, const ProfileStore::ProfileWriter& w) -> Status {
      for (int i = 0; i < kPerPart; ++i) {
        if (part == failing_part && i == 700) return Internal("disk full");
        OMNI_RETURN_IF_ERROR(w(Sample(key(part, i))));
      }
      return Status::Ok();
    });
  };
  ASSERT_TRUE(build(-1).ok());
  std::vector<std::string> stored;
  auto collect = [&](const store::SqlRow& r) {
    stored.emplace_back(r.Text(0));
    return true;
  };
  ASSERT_TRUE((*store)->sql().Query("SELECT customer_key FROM profiles ORDER BY rowid", {}, collect).ok());
  std::vector<std::string> want;
  for (int64_t part = 0; part < kParts; ++part) {
    for (int i = 0; i < kPerPart; ++i) want.push_back(key(part, i));
  }
  EXPECT_EQ(stored, want);

  EXPECT_FALSE(build(4).ok());
  EXPECT_EQ(*(*store)->CountProfiles(), kParts * kPerPart);
  auto latest = (*store)->LatestBuild();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->customers, kParts * kPerPart);
}

}  // namespace
}  // namespace omni::profile
