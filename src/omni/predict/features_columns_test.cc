// The feature table from the columnar snapshot (AddEvents, BuildFeatures)
// equals the table from ScanEvents rows (AddEvent), cell by cell.
#include <cmath>
#include <cstring>

#include "gtest/gtest.h"
#include "omni/predict/features.h"
#include "omni/profile/testdata/random_store.h"
#include "omni/store/event_columns.h"

namespace omni::predict {
namespace {

using profile::testing::RandomStore;

FeatureOptions Options() {
  FeatureOptions o;
  o.cutoffs_ms = {RandomStore::kStart + 90 * kDayMs, RandomStore::kStart + 150 * kDayMs};
  o.horizon_ms = 30 * kDayMs;
  o.channels = {"web", "app", "store"};
  o.top_categories = 3;
  return o;
}

TEST(FeaturesColumnsTest, TableFromColumnsEqualsTableFromRows) {
  RandomStore data(6000, 11);
  FeatureBuilder rows(*data.directory, Options());
  for (const ingest::Item& item : data.items) rows.AddItem(item);
  ASSERT_TRUE(data.store->ScanEvents(0, [&](int64_t, const ingest::Event& e) {
                        rows.AddEvent(e);
                        return true;
                      }).ok());
  auto want = rows.Finish();
  ASSERT_TRUE(want.ok()) << want.status().ToString();

  FeatureBuildStats stats;
  auto got = BuildFeatures(data.dir.str(), *data.store, *data.directory, Options(), &stats);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(stats.events_read, rows.stats().events_read);
  EXPECT_EQ(stats.events_used, rows.stats().events_used);
  EXPECT_EQ(stats.events_unattributed, rows.stats().events_unattributed);
  EXPECT_EQ(stats.events_after_horizon, rows.stats().events_after_horizon);
  EXPECT_GT(rows.stats().events_unattributed, 0);
  EXPECT_EQ(got->columns, want->columns);
  EXPECT_EQ(got->customer_keys, want->customer_keys);
  EXPECT_EQ(got->cutoff_ms, want->cutoff_ms);
  EXPECT_EQ(got->label, want->label);
  ASSERT_GT(want->rows(), 200);
  ASSERT_EQ(got->values.size(), want->values.size());
  int64_t differing = 0;
  for (size_t i = 0; i < want->values.size(); ++i) {
    // Bit-identical (NaN included).
    differing += std::memcmp(&got->values[i], &want->values[i], sizeof(float)) != 0;
  }
  EXPECT_EQ(differing, 0);
  for (const CutoffSummary& c : stats.cutoffs) EXPECT_TRUE(c.clv_fitted) << c.clv_note;
}

}  // namespace
}  // namespace omni::predict
