#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"

namespace omni::ingest {
namespace {

class RetailRocketFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = MakeFormat("retailrocket", IngestConfig{});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    format_ = std::move(f).value();
    ASSERT_TRUE(format_->Header("timestamp,visitorid,event,itemid,transactionid").ok());
  }
  Batch Parse(std::string_view record, int64_t line = 2) {
    Batch b;
    format_->Parse(record, line, b);
    EXPECT_EQ(b.events.size() + b.rejected.size(), 1u) << record;
    return b;
  }
  std::unique_ptr<Format> format_;
};

TEST_F(RetailRocketFormatTest, View) {
  EXPECT_EQ(format_->name(), "retailrocket");
  Batch b = Parse("1433221332117,257597,view,355908,");
  ASSERT_EQ(b.events.size(), 1u);
  const Event& e = b.events[0];
  EXPECT_EQ(e.event_id, "retailrocket:1433221332117:257597:view:355908");
  EXPECT_EQ(e.ts_ms, 1433221332117);
  EXPECT_EQ(e.tz_offset_min, 0);
  EXPECT_EQ(e.channel, "web");
  EXPECT_EQ(e.type, "view");
  ASSERT_EQ(e.identities.size(), 1u);
  EXPECT_EQ(e.identities[0], (Identity{IdentityType::kCookieId, "257597"}));
  EXPECT_EQ(e.item_id, "355908");
  EXPECT_TRUE(e.order_id.empty());
  EXPECT_EQ(e.line_no, 2);
}

TEST_F(RetailRocketFormatTest, AddToCartAndTransaction) {
  Batch a = Parse("1433224214164,992329,addtocart,248676,");
  EXPECT_EQ(a.events[0].type, "add_to_cart");
  Batch t = Parse("1433193500981,599528,transaction,356475,4000");
  EXPECT_EQ(t.events[0].type, "purchase");
  EXPECT_EQ(t.events[0].order_id, "4000");
  EXPECT_EQ(t.events[0].event_id, "retailrocket:1433193500981:599528:transaction:356475");
}

TEST_F(RetailRocketFormatTest, Rejections) {
  struct Case {
    std::string row;
    RejectReason reason;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"1433221332117,257597,click,355908,", RejectReason::kUnknownEventType, "event"},
           {"yesterday,257597,view,355908,", RejectReason::kBadTimestamp, "timestamp"},
           {"-5,257597,view,355908,", RejectReason::kBadTimestamp, "timestamp"},
           {"1433221332117,,view,355908,", RejectReason::kMissingIdentities, "visitorid"},
           {"1433221332117,257597,view,,", RejectReason::kMissingField, "itemid"},
           {"1433221332117,257597,view,355908", RejectReason::kBadCsvRecord, ""},
       }) {
    Batch b = Parse(c.row);
    ASSERT_EQ(b.rejected.size(), 1u) << c.row;
    EXPECT_EQ(b.rejected[0].reason, c.reason) << c.row;
    EXPECT_EQ(b.rejected[0].field, c.field) << c.row;
  }
}

TEST_F(RetailRocketFormatTest, HeaderIsChecked) {
  auto f = MakeFormat("retailrocket", IngestConfig{});
  EXPECT_FALSE((*f)->Header("timestamp,visitor,event,itemid,transactionid").ok());
}

}  // namespace
}  // namespace omni::ingest
