#include "omni/profile/consent.h"

#include <gtest/gtest.h>

namespace omni::profile {
namespace {

TEST(ConsentTest, ParsesChannelAndGranted) {
  auto c = ParseConsentProperties(R"({"channel":"sms","granted":true,"source":"app"})");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->channel, "sms");
  EXPECT_TRUE(c->granted);
  c = ParseConsentProperties(R"({"granted":false,"channel":"email"})");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->granted);
}

TEST(ConsentTest, RejectsWhatItCannotReadWithoutGuessing) {
  EXPECT_FALSE(ParseConsentProperties(""));
  EXPECT_FALSE(ParseConsentProperties("{not json"));
  EXPECT_FALSE(ParseConsentProperties(R"({"channel":"sms"})"));
  EXPECT_FALSE(ParseConsentProperties(R"({"channel":"sms","granted":"yes"})"));
  EXPECT_FALSE(ParseConsentProperties(R"({"channel":"","granted":true})"));
  EXPECT_FALSE(ParseConsentProperties(R"({"channel":7,"granted":true})"));
}

TEST(ConsentTest, LatestWinsAndEqualTimesTakeTheLaterApplied) {
  std::vector<ConsentState> consent;
  ApplyConsent(consent, "sms", true, 200);
  ApplyConsent(consent, "sms", false, 100);  // older: ignored
  ASSERT_EQ(consent.size(), 1u);
  EXPECT_TRUE(consent[0].granted);
  EXPECT_EQ(consent[0].ts_ms, 200);
  ApplyConsent(consent, "sms", false, 200);  // same time, stored later: wins
  EXPECT_FALSE(consent[0].granted);
  ApplyConsent(consent, "email", true, 50);
  ASSERT_EQ(consent.size(), 2u);
  EXPECT_EQ(consent[1].channel, "email");
}

}  // namespace
}  // namespace omni::profile
