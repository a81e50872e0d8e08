#include "omni/common/spec.h"

#include <gtest/gtest.h>

namespace omni {
namespace {

TEST(SpecTest, ParsesNameAndOrderedParameters) {
  auto spec = Spec::Parse("als:factors=64, reg=0.05,iters=15");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->name(), "als");
  ASSERT_EQ(spec->params().size(), 3u);
  EXPECT_EQ(spec->params()[1].first, "reg");
  EXPECT_EQ(*spec->GetInt("factors", 0, 1, 1024), 64);
  EXPECT_DOUBLE_EQ(*spec->GetDouble("reg", 0, 0, 10), 0.05);
  EXPECT_EQ(*spec->GetInt("absent", 7, 0, 10), 7);
}

TEST(SpecTest, ValuesMayContainColonsAndEquals) {
  auto spec = Spec::Parse("csv:channel=const:store,ts=Order Time");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(*spec->GetString("channel", ""), "const:store");
  EXPECT_EQ(*spec->GetString("ts", ""), "Order Time");
}

TEST(SpecTest, RejectsMalformedAndOutOfRangeWithTheKeyNamed) {
  EXPECT_FALSE(Spec::Parse(":a=1").ok());
  EXPECT_FALSE(Spec::Parse("als:factors").ok());
  EXPECT_FALSE(Spec::Parse("als:a=1,a=2").ok());
  auto spec = Spec::Parse("als:factors=abc,reg=-1");
  ASSERT_TRUE(spec.ok());
  auto bad = spec->GetInt("factors", 0, 1, 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("factors"), std::string::npos);
  EXPECT_FALSE(spec->GetDouble("reg", 0, 0, 1).ok());
}

TEST(SpecTest, CheckKnownNamesTheTypo) {
  auto spec = Spec::Parse("als:factor=64");
  ASSERT_TRUE(spec.ok());
  Status st = spec->CheckKnown({"factors", "reg"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("factor"), std::string::npos);
}

}  // namespace
}  // namespace omni
