#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"

namespace omni::ingest {
namespace {

std::unique_ptr<Format> Make() {
  auto f = MakeFormat("taobao", IngestConfig{});
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

TEST(TaobaoFormatTest, PageView) {
  auto f = Make();
  EXPECT_EQ(f->name(), "taobao");
  EXPECT_FALSE(f->has_header());
  Batch b;
  f->Parse("1,2268318,2520377,pv,1511544070", 1, b);
  ASSERT_EQ(b.events.size(), 1u);
  const Event& e = b.events[0];
  EXPECT_EQ(e.event_id, "taobao:1:2268318:pv:1511544070");
  EXPECT_EQ(e.ts_ms, 1511544070000);
  EXPECT_EQ(e.tz_offset_min, 480);
  EXPECT_EQ(e.channel, "app");
  EXPECT_EQ(e.type, "view");
  EXPECT_EQ(e.identities[0], (Identity{IdentityType::kCustomerId, "1"}));
  EXPECT_EQ(e.item_id, "2268318");
  EXPECT_EQ(e.properties_json, R"({"category_id":"2520377"})");
}

TEST(TaobaoFormatTest, Behaviours) {
  auto f = Make();
  Batch b;
  f->Parse("1,2,3,cart,1511544070", 1, b);
  f->Parse("1,2,3,fav,1511544070", 2, b);
  f->Parse("1,2,3,buy,1511544070", 3, b);
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.events[0].type, "add_to_cart");
  EXPECT_EQ(b.events[1].type, "custom:favorite");
  EXPECT_EQ(b.events[2].type, "purchase");
}

TEST(TaobaoFormatTest, Rejections) {
  struct Case {
    std::string row;
    RejectReason reason;
    std::string field;
  };
  auto f = Make();
  for (const Case& c : std::vector<Case>{
           {"1,2,3,click,1511544070", RejectReason::kUnknownEventType, "behavior_type"},
           {"1,2,3,pv,-1", RejectReason::kBadTimestamp, "timestamp"},
           {"1,2,3,pv,1511544070.5", RejectReason::kBadTimestamp, "timestamp"},
           {"1,2,3,pv", RejectReason::kBadCsvRecord, ""},
           {",2,3,pv,1511544070", RejectReason::kMissingIdentities, "user_id"},
           {"1,,3,pv,1511544070", RejectReason::kMissingField, "item_id"},
       }) {
    Batch b;
    f->Parse(c.row, 9, b);
    ASSERT_EQ(b.rejected.size(), 1u) << c.row;
    EXPECT_EQ(b.rejected[0].reason, c.reason) << c.row;
    EXPECT_EQ(b.rejected[0].field, c.field) << c.row;
    EXPECT_EQ(b.rejected[0].line_no, 9);
  }
}

}  // namespace
}  // namespace omni::ingest
