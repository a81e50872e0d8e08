#include "omni/profile/segments_store.h"

#include <gtest/gtest.h>

#include "omni/profile/testdata/temp_dir.h"
#include "omni/store/sqlite_sql.h"

namespace omni::profile {
namespace {

TEST(SegmentStoreTest, SegmentsPersistAcrossConnections) {
  testing::TempDir dir("segments");
  {
    auto sql = store::OpenSqliteSql(dir.str());
    ASSERT_TRUE(sql.ok());
    auto segments = SegmentStore::Over(**sql);
    ASSERT_TRUE(segments.ok()) << segments.status().message();
    ASSERT_TRUE(segments->Save({"vip_sms", "rfm.recency >= 4 and consent.sms", "VIPs we may text", 0, 0}, false).ok());
    ASSERT_TRUE(segments->Save({"lapsed", "rfm.group == \"at_risk\"", "", 0, 0}, false).ok());
    Status again = segments->Save({"lapsed", "true", "", 0, 0}, false);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  }
  auto sql = store::OpenSqliteSql(dir.str());
  ASSERT_TRUE(sql.ok());
  auto segments = SegmentStore::Over(**sql);
  ASSERT_TRUE(segments.ok());
  auto list = segments->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "lapsed");
  EXPECT_EQ((*list)[1].name, "vip_sms");
  EXPECT_EQ((*list)[1].expression, "rfm.recency >= 4 and consent.sms");
  EXPECT_EQ((*list)[1].description, "VIPs we may text");
  EXPECT_GT((*list)[1].created_at_ms, 0);

  // Replace keeps the creation time and changes the expression.
  const int64_t created = (*list)[0].created_at_ms;
  ASSERT_TRUE(segments->Save({"lapsed", "rfm.recency <= 2", "", 0, 0}, true).ok());
  auto got = segments->Get("lapsed");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->expression, "rfm.recency <= 2");
  EXPECT_EQ((*got)->created_at_ms, created);

  ASSERT_TRUE(segments->Delete("lapsed").ok());
  EXPECT_EQ(segments->Delete("lapsed").code(), StatusCode::kNotFound);
  EXPECT_FALSE(segments->Get("lapsed")->has_value());
}

TEST(SegmentStoreTest, NamesAreValidated) {
  EXPECT_TRUE(ValidateSegmentName("vip-2025.q1_sms").ok());
  EXPECT_FALSE(ValidateSegmentName("").ok());
  EXPECT_FALSE(ValidateSegmentName("-x").ok());
  EXPECT_FALSE(ValidateSegmentName("a b").ok());
  EXPECT_FALSE(ValidateSegmentName("a/b").ok());
  EXPECT_FALSE(ValidateSegmentName(std::string(65, 'a')).ok());
}

}  // namespace
}  // namespace omni::profile
