#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"

namespace omni::ingest {
namespace {

constexpr std::string_view kHeader =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

class OnlineRetailFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = MakeFormat("online-retail", IngestConfig{});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    format_ = std::move(f).value();
    ASSERT_TRUE(format_->Header(kHeader).ok());
  }

  // Parses one record as line `line` into a fresh batch.
  Batch Parse(std::string_view record, int64_t line = 2) {
    Batch b;
    format_->Parse(record, line, b);
    EXPECT_EQ(b.events.size() + b.rejected.size(), 1u) << record;
    return b;
  }

  std::unique_ptr<Format> format_;
};

TEST_F(OnlineRetailFormatTest, Purchase) {
  EXPECT_EQ(format_->name(), "online-retail");
  EXPECT_TRUE(format_->has_header());
  Batch b = Parse("536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom");
  ASSERT_EQ(b.events.size(), 1u);
  const Event& e = b.events[0];
  EXPECT_EQ(e.event_id.substr(0, 28), "online-retail:536365:85123A:");
  EXPECT_EQ(e.event_id.size(), 28u + 16u);
  EXPECT_EQ(e.ts_ms, 1291191960000);  // 2010-12-01T08:26:00Z
  EXPECT_EQ(e.tz_offset_min, 0);
  EXPECT_EQ(e.channel, "web");
  EXPECT_EQ(e.type, "purchase");
  ASSERT_EQ(e.identities.size(), 1u);
  EXPECT_EQ(e.identities[0], (Identity{IdentityType::kCustomerId, "17850"}));
  EXPECT_EQ(e.item_id, "85123A");
  EXPECT_EQ(e.quantity, 6.0);
  EXPECT_EQ(e.price, 2.55);
  EXPECT_EQ(e.currency, "GBP");
  EXPECT_EQ(e.order_id, "536365");
  EXPECT_EQ(e.properties_json, R"({"country":"United Kingdom"})");
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].item_id, "85123A");
  EXPECT_EQ(b.items[0].title, "WHITE HANGING HEART T-LIGHT HOLDER");
  EXPECT_EQ(b.items[0].price, 2.55);
}

TEST_F(OnlineRetailFormatTest, DuplicateRowGetsTheSameIdAndNoSecondItem) {
  const std::string row = "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom";
  Batch a = Parse(row, 2);
  Batch b = Parse(row, 3);
  ASSERT_EQ(a.events.size(), 1u);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(a.events[0].event_id, b.events[0].event_id);
  EXPECT_EQ(a.items.size(), 1u);
  EXPECT_EQ(b.items.size(), 0u);  // nothing changed
  // Same invoice and code but another quantity: a different line, a different id.
  Batch c = Parse("536365,71053,WHITE METAL LANTERN,12,2010-12-01 08:26:00,3.39,17850,United Kingdom", 4);
  EXPECT_NE(c.events[0].event_id, a.events[0].event_id);
}

TEST_F(OnlineRetailFormatTest, CancellationIsARefundOfPositiveQuantity) {
  Batch b = Parse("C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,2010-12-01 09:41:00,1.65,14527,United Kingdom");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].type, "refund");
  EXPECT_EQ(b.events[0].quantity, 12.0);
  EXPECT_EQ(b.events[0].order_id, "C536379");
}

TEST_F(OnlineRetailFormatTest, GuestRowKeepsOneGuestPerInvoice) {
  Batch b = Parse("536414,22139,RETROSPOT TEA SET,56,2010-12-01 11:52:00,4.25,,United Kingdom");
  ASSERT_EQ(b.events.size(), 1u);
  ASSERT_EQ(b.events[0].identities.size(), 1u);
  EXPECT_EQ(b.events[0].identities[0], (Identity{IdentityType::kCookieId, "guest-invoice:536414"}));
  EXPECT_EQ(b.events[0].properties_json, R"({"country":"United Kingdom","guest":true})");
}

TEST_F(OnlineRetailFormatTest, NonProductCodesAreKeptAndMarked) {
  for (std::string_view row : {"536370,POST,POSTAGE,3,2010-12-01 08:45:00,18,12583,France",
                               "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom",
                               "537000,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2010-12-03 10:00:00,17.02,,"
                               "United Kingdom",
                               "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom"}) {
    Batch b = Parse(row);
    ASSERT_EQ(b.events.size(), 1u) << row;
    EXPECT_NE(b.events[0].properties_json.find("\"non_product\":true"), std::string::npos) << row;
    EXPECT_TRUE(b.items.empty()) << "no catalogue row for charges: " << row;
  }
  Batch a = Parse("A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom");
  EXPECT_EQ(a.events[0].type, "custom:adjustment");
}

TEST_F(OnlineRetailFormatTest, NegativeQuantityPurchaseIsAStockAdjustment) {
  Batch b = Parse("536998,21000,damaged,-5,2010-12-02 10:00:00,0,,United Kingdom");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].type, "custom:adjustment");
  EXPECT_EQ(b.events[0].quantity, -5.0);
  EXPECT_EQ(b.events[0].properties_json, R"({"country":"United Kingdom","guest":true,"non_product":true})");
  EXPECT_TRUE(b.items.empty());  // "damaged" must not become the item's title
}

TEST_F(OnlineRetailFormatTest, NegativePriceIsRejected) {
  Batch b = Parse("A563186,B,Adjust bad debt,1,2011-08-12 14:51:00,-11062.06,,United Kingdom", 7);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].reason, RejectReason::kNegativePrice);
  EXPECT_EQ(b.rejected[0].field, "UnitPrice");
  EXPECT_EQ(b.rejected[0].line_no, 7);
  EXPECT_NE(b.rejected[0].message.find("line 7"), std::string::npos);
  EXPECT_NE(b.rejected[0].message.find("-11062.06"), std::string::npos);
  EXPECT_NE(b.rejected[0].raw.find("A563186"), std::string::npos);
}

TEST_F(OnlineRetailFormatTest, ChineseDescriptionWorkbookDateAndFloatCustomerId) {
  Batch b = Parse("536999,22000,青花瓷马克杯,2,12/1/2010 8:26,3.5,12345.0,China");
  ASSERT_EQ(b.events.size(), 1u) << (b.rejected.empty() ? "" : b.rejected[0].message);
  EXPECT_EQ(b.events[0].ts_ms, 1291191960000);
  EXPECT_EQ(b.events[0].identities[0].value, "12345");
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].title, "青花瓷马克杯");
}

TEST_F(OnlineRetailFormatTest, QuotedDescription) {
  Batch b = Parse(R"(536367,84879,"ASSORTED COLOUR BIRD ORNAMENT, LARGE",32,2010-12-01 08:34:00,1.69,13047,United Kingdom)");
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].title, "ASSORTED COLOUR BIRD ORNAMENT, LARGE");
}

TEST_F(OnlineRetailFormatTest, LaterRowsWinInTheCatalogue) {
  Batch a = Parse("536365,10002,INFLATABLE POLITICAL GLOBE,12,2010-12-01 08:26:00,0.85,17850,United Kingdom");
  Batch b = Parse("536366,10002,INFLATABLE POLITICAL GLOBE,1,2010-12-01 08:30:00,0,,United Kingdom");
  Batch c = Parse("536367,10002,,1,2010-12-01 08:31:00,1.66,,United Kingdom");
  EXPECT_EQ(a.items.size(), 1u);
  EXPECT_TRUE(b.items.empty());  // a zero price and the same title change nothing
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].title, "INFLATABLE POLITICAL GLOBE");  // an empty description keeps the title
  EXPECT_EQ(c.items[0].price, 1.66);
}

TEST_F(OnlineRetailFormatTest, OneCatalogueRowPerItemPerBatch) {
  Batch b;
  format_->Parse("536365,10002,GLOBE,12,2010-12-01 08:26:00,0.85,17850,United Kingdom", 2, b);
  format_->Parse("536365,10003,MUG,1,2010-12-01 08:26:00,2,17850,United Kingdom", 3, b);
  format_->Parse("536366,10002,GLOBE,1,2010-12-01 08:30:00,1.66,,United Kingdom", 4, b);
  format_->Parse("536367,10002,GLOBE,1,2010-12-01 08:31:00,0.85,,United Kingdom", 5, b);
  ASSERT_EQ(b.items.size(), 2u);
  EXPECT_EQ(b.items[0].item_id, "10002");
  EXPECT_EQ(b.items[0].price, 0.85);  // the latest price, updated in place
  Batch next;
  format_->Parse("536368,10002,GLOBE,1,2010-12-01 08:32:00,1.66,,United Kingdom", 6, next);
  ASSERT_EQ(next.items.size(), 1u);  // a new batch gets its own row
  EXPECT_EQ(next.items[0].price, 1.66);
}

TEST_F(OnlineRetailFormatTest, ARowBackToWhatAnEarlierBatchStoredLeavesTheBatch) {
  Batch first;
  format_->Parse("536365,10002,GLOBE,12,2010-12-01 08:26:00,0.85,17850,United Kingdom", 2, first);
  format_->Parse("536365,10003,MUG,1,2010-12-01 08:26:00,2,17850,United Kingdom", 3, first);
  ASSERT_EQ(first.items.size(), 2u);  // stored: GLOBE 0.85, MUG 2
  Batch b;
  format_->Parse("536366,10002,GLOBE,1,2010-12-01 08:30:00,1.66,,United Kingdom", 4, b);
  format_->Parse("536366,10003,MUG,1,2010-12-01 08:30:00,2.5,,United Kingdom", 5, b);
  ASSERT_EQ(b.items.size(), 2u);
  // GLOBE flips back to its stored price: its row goes, MUG's takes the slot.
  format_->Parse("536367,10002,GLOBE,1,2010-12-01 08:31:00,0.85,,United Kingdom", 6, b);
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].item_id, "10003");
  EXPECT_EQ(b.items[0].price, 2.5);
  // A later change in the same batch brings it back, once.
  format_->Parse("536368,10002,GLOBE,1,2010-12-01 08:32:00,1.66,,United Kingdom", 7, b);
  format_->Parse("536368,10003,MUG,1,2010-12-01 08:32:00,3,,United Kingdom", 8, b);
  ASSERT_EQ(b.items.size(), 2u);
  EXPECT_EQ(b.items[0].item_id, "10003");
  EXPECT_EQ(b.items[0].price, 3);
  EXPECT_EQ(b.items[1].item_id, "10002");
  EXPECT_EQ(b.items[1].price, 1.66);
  // A first row for an item stays even when it returns to its first value.
  Batch c;
  format_->Parse("536369,10004,LAMP,1,2010-12-01 08:33:00,4,,United Kingdom", 9, c);
  format_->Parse("536369,10004,LAMP,1,2010-12-01 08:33:00,5,,United Kingdom", 10, c);
  format_->Parse("536369,10004,LAMP,1,2010-12-01 08:33:00,4,,United Kingdom", 11, c);
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].price, 4);
}

TEST_F(OnlineRetailFormatTest, Rejections) {
  struct Case {
    std::string row;
    RejectReason reason;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"536365,85123A,X,6,2010-13-01 08:26:00,2.55,17850,United Kingdom", RejectReason::kBadTimestamp,
            "InvoiceDate"},
           {"536365,85123A,X,six,2010-12-01 08:26:00,2.55,17850,United Kingdom", RejectReason::kBadNumber,
            "Quantity"},
           {"536365,85123A,X,6,2010-12-01 08:26:00,£2,17850,United Kingdom", RejectReason::kBadNumber,
            "UnitPrice"},
           {",85123A,X,6,2010-12-01 08:26:00,2.55,17850,United Kingdom", RejectReason::kMissingField,
            "InvoiceNo"},
           {"536365,,X,6,2010-12-01 08:26:00,2.55,17850,United Kingdom", RejectReason::kMissingField,
            "StockCode"},
           {"536365,85123A,X,6,2010-12-01 08:26:00,2.55,17850", RejectReason::kBadCsvRecord, ""},
       }) {
    Batch b = Parse(c.row);
    ASSERT_EQ(b.rejected.size(), 1u) << c.row;
    EXPECT_EQ(b.rejected[0].reason, c.reason) << c.row << ": " << b.rejected[0].message;
    EXPECT_EQ(b.rejected[0].field, c.field) << c.row;
  }
}

TEST_F(OnlineRetailFormatTest, HeaderMustHaveTheColumns) {
  auto f = MakeFormat("online-retail", IngestConfig{});
  Status st = (*f)->Header("InvoiceNo,StockCode,Description,Quantity,Date,UnitPrice,CustomerID,Country");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("InvoiceDate"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace omni::ingest
