#include "omni/profile/profile_fields.h"

#include <gtest/gtest.h>

namespace omni::profile {
namespace {

const std::vector<std::string> kChannels = {"web", "app", "store", "sms", "email", "bad-name"};

Profile Buyer() {
  Profile p;
  p.customer_key = "C7";
  p.events = 10;
  p.first_seen_ms = 1735689600000;  // 2025-01-01
  p.last_purchase_ms = 1740787200000;  // 2025-03-01
  p.recency_days = 2;
  p.frequency = 3;
  p.monetary = 800;
  p.r_score = 5;
  p.f_score = 4;
  p.m_score = 5;
  p.rfm_group = RfmGroup::kChampions;
  p.preferred_channel = "store";
  p.channels.push_back(ChannelActivity{"store", 6, 3, 800, 1740787200000, 2, 0.6, 1});
  p.channels.push_back(ChannelActivity{"web", 4, 0, 0, 0, kNotAvailable, 0.4, 0});
  p.categories.push_back(Affinity{"服饰 > 女装 > 连衣裙", 5, 0.7});
  p.consent.push_back(ConsentState{"sms", true, 1});
  p.consent.push_back(ConsentState{"email", false, 1});
  p.online_to_store = 2;
  p.clv_12m = 650;
  return p;
}

class ProfileFieldsTest : public ::testing::Test {
 protected:
  bool Matches(const std::string& text, const Profile& p) {
    auto expr = SegmentExpression::Parse(text, fields_.catalog());
    EXPECT_TRUE(expr.ok()) << text << ": " << expr.status().message();
    if (!expr.ok()) return false;
    ProfileFields::Row row(fields_);
    row.Reset(&p);
    return expr->Matches(row);
  }
  ProfileFields fields_{kChannels};
};

TEST_F(ProfileFieldsTest, TheIssueExampleWorks) {
  EXPECT_TRUE(Matches(R"(rfm.recency >= 4 and "store" in channels and clv.12m > 500 and consent.sms)", Buyer()));
  Profile p = Buyer();
  p.consent[0].granted = false;
  EXPECT_FALSE(Matches(R"(rfm.recency >= 4 and "store" in channels and clv.12m > 500 and consent.sms)", p));
}

TEST_F(ProfileFieldsTest, FieldsReadTheProfile) {
  const Profile p = Buyer();
  EXPECT_TRUE(Matches(R"(rfm.group == "champions" and rfm.cell == "545" and rfm.fm == 5)", p));
  EXPECT_TRUE(Matches(R"(key == "C7" and frequency == 3 and monetary > 799 and recency_days < 3)", p));
  EXPECT_TRUE(Matches(R"(channel.store.orders == 3 and mix.store.events == 0.6 and mix.web.orders == 0)", p));
  EXPECT_TRUE(Matches(R"("store" in purchase_channels and not "web" in purchase_channels)", p));
  EXPECT_TRUE(Matches(R"(channel.app.events == 0 and preferred_channel == "store")", p));
  EXPECT_TRUE(Matches(R"("服饰" in categories and "服饰 > 女装" in categories)", p));
  EXPECT_FALSE(Matches(R"("服" in categories)", p));  // a prefix of a name is not a parent
  EXPECT_TRUE(Matches(R"(top_category == "服饰 > 女装 > 连衣裙")", p));
  EXPECT_TRUE(Matches(R"(o2o.online_to_store and not o2o.store_to_online)", p));
  EXPECT_TRUE(Matches(R"(first_seen == "2025-01-01" and last_purchase >= "2025-03-01")", p));
  EXPECT_TRUE(Matches(R"(consent.email == false)", p));
}

TEST_F(ProfileFieldsTest, MissingValuesMakeConditionsFalse) {
  Profile p;  // no purchase, no consent
  p.customer_key = "C8";
  EXPECT_FALSE(Matches("rfm.recency >= 1", p));
  EXPECT_FALSE(Matches("rfm.recency < 1", p));
  EXPECT_FALSE(Matches("recency_days >= 0", p));
  EXPECT_FALSE(Matches("consent.sms", p));
  EXPECT_FALSE(Matches("consent.sms == false", p));  // never asked is not "refused"
  EXPECT_FALSE(Matches("channel.web.recency_days < 100", p));
  EXPECT_FALSE(Matches("mix.web.orders == 0", p));
  EXPECT_FALSE(Matches("clv.12m >= 0", p));
  EXPECT_TRUE(Matches("frequency == 0", p));
}

TEST_F(ProfileFieldsTest, EveryFieldIsDescribedAndChannelsArePerChannel) {
  const FieldCatalog& c = fields_.catalog();
  for (int i = 0; i < c.size(); ++i) EXPECT_FALSE(c.field(i).description.empty()) << c.field(i).name;
  EXPECT_GE(c.Find("consent.sms"), 0);
  EXPECT_GE(c.Find("channel.email.orders"), 0);
  EXPECT_EQ(c.Find("consent.bad-name"), -1);  // not spellable in the language: skipped
  EXPECT_NE(c.Help().find("rfm.group"), std::string::npos);
}

TEST(DateOfTest, FormatsUtcDates) {
  EXPECT_EQ(DateOf(0), "");
  EXPECT_EQ(DateOf(1735689600000), "2025-01-01");
  EXPECT_EQ(DateOf(1735689600000 - 1), "2024-12-31");
  EXPECT_EQ(DateOf(951782400000), "2000-02-29");
}

}  // namespace
}  // namespace omni::profile
