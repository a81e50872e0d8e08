#include "omni/profile/scores_store.h"

#include <gtest/gtest.h>

#include "omni/profile/profile_fields.h"
#include "omni/profile/testdata/temp_dir.h"
#include "omni/store/sqlite_sql.h"

namespace omni::profile {
namespace {

TEST(ScoresStoreTest, ReplaceKeepsOnlyTheLatestScoringOfAName) {
  testing::TempDir dir("scores");
  auto sql = store::OpenSqliteSql(dir.str());
  ASSERT_TRUE(sql.ok());
  auto scores = ScoresStore::Over(**sql);
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  ASSERT_TRUE(scores->Replace("propensity.purchase_90d", "xgboost@1", 1000, {{"C1", 0.9}, {"C2", 0.1}}).ok());
  ASSERT_TRUE(scores->Replace("propensity.visit", "logistic@1", 1000, {{"C1", 0.3}}).ok());
  // A new scoring of the same name replaces it: C2 was not scored again.
  ASSERT_TRUE(scores->Replace("propensity.purchase_90d", "xgboost@2", 2000, {{"C1", 0.7}, {"C3", 0.5}}).ok());

  auto c1 = scores->ScoresOf("C1");
  ASSERT_TRUE(c1.ok());
  ASSERT_EQ(c1->size(), 2u);
  EXPECT_EQ((*c1)[0].name, "propensity.purchase_90d");
  EXPECT_DOUBLE_EQ((*c1)[0].value, 0.7);
  EXPECT_EQ((*c1)[0].model_version, "xgboost@2");
  EXPECT_EQ((*c1)[0].scored_at_ms, 2000);
  auto c2 = scores->ScoresOf("C2");
  ASSERT_TRUE(c2.ok());
  EXPECT_TRUE(c2->empty());

  auto names = scores->Names();
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[0].second, 2);  // purchase_90d: C1, C3
  EXPECT_EQ((*names)[1].second, 1);

  EXPECT_FALSE(scores->Replace("x", "m", 1, {{"C9", std::nan("")}}).ok());
}

TEST(ScoresStoreTest, SegmentsSelectOnWrittenBackScores) {
  testing::TempDir dir("scores_segments");
  auto sql = store::OpenSqliteSql(dir.str());
  ASSERT_TRUE(sql.ok());
  auto scores = ScoresStore::Over(**sql);
  ASSERT_TRUE(scores.ok());
  ASSERT_TRUE(scores->Replace("propensity.purchase_90d", "xgboost@1", 1, {{"C1", 0.8}, {"C2", 0.2}}).ok());
  auto all = scores->LoadAll();
  ASSERT_TRUE(all.ok());

  ProfileFields fields({"web", "store"}, *all);
  auto expr = SegmentExpression::Parse("propensity.purchase_90d > 0.4", fields.catalog());
  ASSERT_TRUE(expr.ok()) << expr.status().message();
  ProfileFields::Row row(fields);
  Profile c1, c2, c3;
  c1.customer_key = "C1";
  c2.customer_key = "C2";
  c3.customer_key = "C3";  // never scored: the field is missing, the condition false
  row.Reset(&c1);
  EXPECT_TRUE(expr->Matches(row));
  row.Reset(&c2);
  EXPECT_FALSE(expr->Matches(row));
  row.Reset(&c3);
  EXPECT_FALSE(expr->Matches(row));

  // Without scores the field does not exist, and the error says so.
  ProfileFields plain({"web", "store"});
  EXPECT_FALSE(SegmentExpression::Parse("propensity.purchase_90d > 0.4", plain.catalog()).ok());
}

}  // namespace
}  // namespace omni::profile
