#include "omni/profile/profile_store.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "omni/profile/profile_detail.h"
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

// The detail's bytes with names numbered in order of use: equal for two
// profiles exactly when their stored details are.
std::string Detail(const Profile& p) {
  std::vector<std::string> names;
  std::string out;
  EncodeProfileDetail(p, [&](std::string_view name) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) it = names.insert(names.end(), std::string(name));
    return static_cast<int64_t>(it - names.begin());
  }, out);
  return out;
}

// Profiles written by an older omni (JSON details: version 1 with named keys
// and shares as decimals, version 2 positional) stay readable until the next
// build, and read back as the profile the current format stores.
TEST(ProfileStoreTest, ReadsTheDetailAnOlderBuildWrote) {
  const std::string v1 =
      R"({"channels":[{"channel":"store","events":4,"event_share":0.5714,"orders":2,"monetary":99.5,)"
      R"("last_purchase_ms":1900,"recency_days":3,"order_share":1},{"channel":"web","events":3,"event_share":0.4286}],)"
      R"("categories":[{"name":"服饰 > 女装 > 连衣裙","weight":5,"share":0.5}],"brands":[{"name":"优衣库","weight":3,"share":1}],)"
      R"("browse_without_buy":[0,0,4],"cart_abandon":[0,1,0],"consent":[{"channel":"sms","granted":true,"ts_ms":1234}],)"
      R"("recent":[9,8,5]})";
  const std::string v2 =
      R"({"v":2,"ch":[["store",4,5714,2,99.5,1900,3,10000],["web",3,4286]],"cat":[["服饰 > 女装 > 连衣裙",5,5000]],)"
      R"("br":[["优衣库",3,10000]],"w":[0,0,4,0,1,0],"co":[["sms",1,1234]],"rs":[9,1,3]})";
  for (const std::string& json : {v1, v2}) {
    Profile old;
    ASSERT_TRUE(ParseProfileDetailJson(json, old).ok()) << json;
    EXPECT_EQ(Detail(old), Detail(Sample("C1"))) << json;
    EXPECT_EQ(old.channels[1].order_share, 0);
    EXPECT_TRUE(std::isnan(old.channels[1].recency_days));
    EXPECT_THAT(old.recent_event_seqs, ::testing::ElementsAre(9, 8, 5));
  }
  Profile old;
  EXPECT_FALSE(ParseProfileDetailJson("[1,2]", old).ok());

  // Through the store: a row an older build left is read back whole.
  testing::TempDir dir("profile-old-detail");
  auto store = ProfileStore::Open(dir.str());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->ReplaceProfiles({}, [&](const ProfileStore::ProfileWriter& w) {
    return w(Sample("C1"));
  }).ok());
  ASSERT_TRUE((*store)->sql().Execute("UPDATE profiles SET detail = ?", {v2}).ok());
  auto read = (*store)->GetProfile("C1");
  ASSERT_TRUE(read.ok() && read->has_value()) << read.status().message();
  EXPECT_EQ(Detail(**read), Detail(Sample("C1")));
}

// The binary detail gives back exactly what was stored: reals of every kind
// (integers, hundredths, others, NaN, negatives), large seqs, many names.
TEST(ProfileStoreTest, TheBinaryDetailGivesBackEveryValueExactly) {
  Profile p = Sample("C1");
  p.channels[0].monetary = 1234567.89;
  p.channels[1].monetary = -0.1 + 0.3;  // not a whole number of hundredths
  p.channels[1].orders = 1;
  p.channels[1].last_purchase_ms = 1767167805123;
  p.categories.push_back(Affinity{"食品 > 零食", 2.5e-7, 0.00004});
  p.brands.push_back(Affinity{"Nike 耐克", -3, 0});
  p.recent_event_seqs = {int64_t{1} << 40, 7, 3, 9};  // not descending: deltas may be negative
  std::vector<std::string> names;
  std::string bytes;
  EncodeProfileDetail(p, [&](std::string_view name) {
    names.emplace_back(name);
    return static_cast<int64_t>(names.size() - 1);
  }, bytes);
  EXPECT_TRUE(IsBinaryProfileDetail(bytes));
  Profile back;
  ASSERT_TRUE(DecodeProfileDetail(bytes, names, back).ok());
  ASSERT_EQ(back.channels.size(), 2u);
  EXPECT_EQ(back.channels[0].monetary, 1234567.89);
  EXPECT_EQ(back.channels[1].monetary, -0.1 + 0.3);
  EXPECT_EQ(back.channels[1].last_purchase_ms, 1767167805123);
  EXPECT_TRUE(std::isnan(back.channels[1].recency_days) == std::isnan(p.channels[1].recency_days));
  EXPECT_EQ(back.categories[1].name, "食品 > 零食");
  EXPECT_EQ(back.categories[1].weight, 2.5e-7);
  EXPECT_EQ(back.brands[1].name, "Nike 耐克");
  EXPECT_EQ(back.brands[1].weight, -3);
  EXPECT_EQ(back.recent_event_seqs, p.recent_event_seqs);
  EXPECT_EQ(back.consent[0].channel, "sms");
  EXPECT_TRUE(back.consent[0].granted);
  EXPECT_EQ(Detail(back), Detail(p));
  // Names the caller's copy lacks, and damaged bytes, are errors, not guesses.
  int64_t missing = -1;
  EXPECT_EQ(DecodeProfileDetail(bytes, std::span(names).first(2), back, &missing).code(), StatusCode::kNotFound);
  EXPECT_EQ(missing, 2);
  EXPECT_EQ(DecodeProfileDetail(bytes.substr(0, bytes.size() - 1), names, back).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeProfileDetail(bytes + "x", names, back).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeProfileDetail(std::string("\x03\xff\xff\xff\xff\x0f"), names, back).code(),
            StatusCode::kInvalidArgument);
}

// Names are stored once and keep their ids: a reader opened before a later
// build, which adds names, still reads that build's profiles right.
TEST(ProfileStoreTest, AReaderOpenedBeforeABuildThatAddsNamesReadsItRight) {
  testing::TempDir dir("profile-names");
  auto writer = ProfileStore::Open(dir.str());
  auto reader = ProfileStore::Open(dir.str());
  ASSERT_TRUE(writer.ok() && reader.ok());
  ASSERT_TRUE((*writer)->ReplaceProfiles({}, [&](const ProfileStore::ProfileWriter& w) {
    return w(Sample("C1"));
  }).ok());
  ASSERT_TRUE((*reader)->GetProfile("C1").ok());  // the reader now holds the first build's names
  Profile p = Sample("C1");
  p.categories.insert(p.categories.begin(), Affinity{"家居 > 厨房 > 锅具", 9, 0.6});
  ASSERT_TRUE((*writer)->ReplaceProfiles({}, [&](const ProfileStore::ProfileWriter& w) { return w(p); }).ok());
  auto read = (*reader)->GetProfile("C1");
  ASSERT_TRUE(read.ok() && read->has_value()) << read.status().message();
  EXPECT_EQ(Detail(**read), Detail(p));
  int64_t names = 0;
  ASSERT_TRUE((*writer)->sql().Query("SELECT count(*) FROM profile_names", {}, [&](const store::SqlRow& r) {
    names = r.Int(0);
    return false;
  }).ok());
  EXPECT_EQ(names, 6);  // store, web, 连衣裙, 优衣库, sms, 锅具: each once
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

// Names listed by the build are numbered in that order before any profile
// is encoded: two builds of the same profiles on two encoding threads store
// the same bytes, whichever thread meets a name first.
TEST(ProfileStoreTest, ListedNamesGetTheSameIdsWhicheverThreadMeetsThemFirst) {
  constexpr int64_t kParts = 6;
  auto build = [&](const std::string& path) {
    auto store = ProfileStore::Open(path);
    EXPECT_TRUE(store.ok());
    ProfileBuildInfo info;
    info.names = {"web", "store", "sms"};
    for (int64_t part = kParts - 1; part >= 0; --part) info.names.push_back(fmt::format("类目 {}", part));
    info.names.push_back("优衣库");
    EXPECT_TRUE((*store)->ReplaceProfiles(info, kParts, 2, [&](int64_t part, const ProfileStore::ProfileWriter& w) {
      Profile p = Sample(fmt::format("C{:02}", part));
      p.categories[0].name = fmt::format("类目 {}", part);
      return w(p);
    }).ok());
    std::vector<std::string> rows;
    EXPECT_TRUE((*store)->sql().Query("SELECT id || ':' || name FROM profile_names ORDER BY id", {},
                                      [&](const store::SqlRow& r) {
                                        rows.emplace_back(r.Text(0));
                                        return true;
                                      }).ok());
    EXPECT_TRUE((*store)->sql().Query("SELECT customer_key || ':' || hex(detail) FROM profiles ORDER BY 1", {},
                                      [&](const store::SqlRow& r) {
                                        rows.emplace_back(r.Text(0));
                                        return true;
                                      }).ok());
    return rows;
  };
  testing::TempDir a("profile-names-a"), b("profile-names-b");
  const std::vector<std::string> first = build(a.str());
  EXPECT_EQ(first, build(b.str()));
  ASSERT_GE(first.size(), 4u);
  EXPECT_EQ(first[0], "0:web");
  EXPECT_EQ(first[3], "3:类目 5");
}

}  // namespace
}  // namespace omni::profile
