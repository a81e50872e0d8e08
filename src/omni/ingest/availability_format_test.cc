#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"

namespace omni::ingest {
namespace {

std::unique_ptr<Format> Make() {
  auto f = MakeFormat("availability", IngestConfig{});
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

TEST(AvailabilityFormatTest, Rows) {
  auto f = Make();
  EXPECT_EQ(f->name(), "availability");
  ASSERT_TRUE(f->Header("item_id,channel,store_id,sold,stock").ok());
  Batch b;
  f->Parse("SKU-1,store,SH-07,true,12", 2, b);
  f->Parse("SKU-1,web,,1,", 3, b);
  f->Parse("SKU-2,,,FALSE,0", 4, b);
  f->Parse("SKU-3,,,,", 5, b);
  ASSERT_EQ(b.availability.size(), 4u);
  EXPECT_EQ(b.availability[0].item_id, "SKU-1");
  EXPECT_EQ(b.availability[0].channel, "store");
  EXPECT_EQ(b.availability[0].store_id, "SH-07");
  EXPECT_TRUE(b.availability[0].sold);
  EXPECT_EQ(b.availability[0].stock, 12);
  EXPECT_EQ(b.availability[1].channel, "web");
  EXPECT_FALSE(b.availability[1].stock.has_value());
  EXPECT_FALSE(b.availability[2].sold);
  EXPECT_EQ(b.availability[2].stock, 0);
  EXPECT_TRUE(b.availability[3].sold);  // empty sold means sold
}

TEST(AvailabilityFormatTest, ColumnsInAnyOrderAndOptional) {
  auto f = Make();
  ASSERT_TRUE(f->Header("stock,item_id").ok());
  Batch b;
  f->Parse("3,SKU-9", 2, b);
  ASSERT_EQ(b.availability.size(), 1u);
  EXPECT_EQ(b.availability[0].item_id, "SKU-9");
  EXPECT_EQ(b.availability[0].stock, 3);
  EXPECT_EQ(b.availability[0].channel, "");
}

TEST(AvailabilityFormatTest, Rejections) {
  auto f = Make();
  ASSERT_TRUE(f->Header("item_id,channel,store_id,sold,stock").ok());
  struct Case {
    std::string row;
    RejectReason reason;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{{",web,,true,1", RejectReason::kMissingField, "item_id"},
                                         {"S,moon,,true,1", RejectReason::kUnknownChannel, "channel"},
                                         {"S,web,,maybe,1", RejectReason::kWrongType, "sold"},
                                         {"S,web,,true,1.5", RejectReason::kBadNumber, "stock"},
                                         {"S,web,,true,-1", RejectReason::kNegativeQuantity, "stock"}}) {
    Batch b;
    f->Parse(c.row, 2, b);
    ASSERT_EQ(b.rejected.size(), 1u) << c.row;
    EXPECT_EQ(b.rejected[0].reason, c.reason) << c.row;
    EXPECT_EQ(b.rejected[0].field, c.field) << c.row;
  }
}

TEST(AvailabilityFormatTest, HeaderErrors) {
  auto f = Make();
  EXPECT_FALSE(f->Header("channel,stock").ok());
  Status st = f->Header("item_id,stok");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("stok"), std::string::npos);
}

}  // namespace
}  // namespace omni::ingest
