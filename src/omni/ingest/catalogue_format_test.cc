#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"

namespace omni::ingest {
namespace {

std::unique_ptr<Format> Make(std::string_view spec = "catalogue") {
  auto f = MakeFormat(spec, IngestConfig{});
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

TEST(CatalogueFormatTest, KnownColumnsAndAttributes) {
  auto f = Make();
  EXPECT_EQ(f->name(), "catalogue");
  EXPECT_TRUE(f->has_header());
  ASSERT_TRUE(f->Header("item_id,title,category,brand,price,colour,note").ok());
  Batch b;
  f->Parse(R"(SKU-1,青花瓷马克杯,Home > Kitchen > Mugs,景德镇,59.0,blue,"says ""hi"", \ ok")", 2, b);
  ASSERT_EQ(b.items.size(), 1u) << (b.rejected.empty() ? "" : b.rejected[0].message);
  const Item& it = b.items[0];
  EXPECT_EQ(it.item_id, "SKU-1");
  EXPECT_EQ(it.title, "青花瓷马克杯");  // byte-exact
  EXPECT_EQ(it.category_path, "Home > Kitchen > Mugs");
  EXPECT_EQ(it.brand, "景德镇");
  EXPECT_EQ(it.price, 59.0);
  EXPECT_EQ(it.attributes_json, R"({"colour":"blue","note":"says \"hi\", \\ ok"})");
  EXPECT_TRUE(b.events.empty());
}

TEST(CatalogueFormatTest, CategoryPathsAreNormalised) {
  auto f = Make();
  ASSERT_TRUE(f->Header("item_id,category_path").ok());
  struct Case {
    std::string in, out;
  };
  for (const Case& c : std::vector<Case>{{"A/B/C", "A > B > C"},
                                         {"食品/饮料", "食品 > 饮料"},
                                         {" A >B>  C ", "A > B > C"},
                                         {"TV/Audio > Speakers", "TV/Audio > Speakers"},
                                         {"/A//B/", "A > B"},
                                         {"", ""}}) {
    Batch b;
    f->Parse("X," + c.in, 2, b);
    ASSERT_EQ(b.items.size(), 1u) << c.in;
    EXPECT_EQ(b.items[0].category_path, c.out) << c.in;
  }
}

TEST(CatalogueFormatTest, OptionalColumnsAndEmptyCells) {
  auto f = Make("catalogue:delimiter=;");
  ASSERT_TRUE(f->Header("item_id;size").ok());
  Batch b;
  f->Parse("S1;", 2, b);
  f->Parse("S2;XL", 3, b);
  ASSERT_EQ(b.items.size(), 2u);
  EXPECT_EQ(b.items[0].attributes_json, "");
  EXPECT_FALSE(b.items[0].price.has_value());
  EXPECT_EQ(b.items[1].attributes_json, R"({"size":"XL"})");
}

TEST(CatalogueFormatTest, Rejections) {
  auto f = Make();
  ASSERT_TRUE(f->Header("item_id,title,price").ok());
  struct Case {
    std::string row;
    RejectReason reason;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{{",Mug,1", RejectReason::kMissingField, "item_id"},
                                         {"S,Mug,cheap", RejectReason::kBadNumber, "price"},
                                         {"S,Mug,-1", RejectReason::kNegativePrice, "price"},
                                         {"S,Mug", RejectReason::kBadCsvRecord, ""},
                                         {"S,\"Mug,1", RejectReason::kBadCsvRecord, ""}}) {
    Batch b;
    f->Parse(c.row, 4, b);
    ASSERT_EQ(b.rejected.size(), 1u) << c.row;
    EXPECT_TRUE(b.items.empty());
    EXPECT_EQ(b.rejected[0].reason, c.reason) << c.row;
    EXPECT_EQ(b.rejected[0].field, c.field) << c.row;
  }
}

TEST(CatalogueFormatTest, HeaderErrors) {
  auto f = Make();
  EXPECT_EQ(f->Header("sku,title").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->Header("item_id,colour,colour").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->Header("item_id,category,category_path").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(MakeFormat("catalogue:sep=;", IngestConfig{}).ok());
}

}  // namespace
}  // namespace omni::ingest
