#include "omni/profile/event_pipeline.h"

#include <gtest/gtest.h>

#include "omni/profile/testdata/temp_dir.h"

namespace omni::profile {
namespace {

TEST(EventPipelineTest, DeliversEveryEventInStorageOrderAcrossBatches) {
  testing::TempDir dir("pipeline");
  auto store = store::Store::OpenSqlite(dir.str());
  ASSERT_TRUE(store.ok()) << store.status().message();
  ingest::Batch batch;
  for (int i = 0; i < 1000; ++i) {
    ingest::Event e;
    e.event_id = "e" + std::to_string(i);
    e.ts_ms = 1'700'000'000'000 + i;
    e.channel = i % 2 ? "web" : "store";
    e.type = "view";
    e.identities = {{ingest::IdentityType::kCookieId, "cookie-" + std::to_string(i % 7)}};
    e.item_id = "sku-" + std::to_string(i);
    batch.events.push_back(std::move(e));
  }
  ASSERT_TRUE((*store)->Write("test", batch).ok());
  for (size_t batch_events : {size_t{1}, size_t{7}, size_t{4096}}) {
    std::vector<std::string> seen;
    int64_t last_seq = 0;
    bool ordered = true;
    Status st = ScanEventsPipelined(**store, 0, [&](int64_t seq, const ingest::Event& e) {
      ordered = ordered && seq > last_seq;
      last_seq = seq;
      seen.push_back(e.event_id + "/" + e.item_id + "/" + e.identities.at(0).value);
    }, PipelineOptions{batch_events, true});
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(seen.size(), 1000u) << batch_events;
    EXPECT_TRUE(ordered);
    EXPECT_EQ(seen[0], "e0/sku-0/cookie-0");
    EXPECT_EQ(seen[999], "e999/sku-999/cookie-5");
  }
  // Profile fields only: the rest stays empty.
  ASSERT_TRUE(ScanEventsPipelined(**store, 0, [&](int64_t, const ingest::Event& e) {
    EXPECT_TRUE(e.event_id.empty());
    EXPECT_FALSE(e.item_id.empty());
    EXPECT_EQ(e.identities.size(), 1u);
  }, PipelineOptions{16, false}).ok());
  // After a sequence number: only the newer events.
  int count = 0;
  ASSERT_TRUE(ScanEventsPipelined(**store, 990, [&](int64_t, const ingest::Event&) { ++count; }).ok());
  EXPECT_EQ(count, 10);
}

}  // namespace
}  // namespace omni::profile
