#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"

namespace omni::ingest {
namespace {

std::unique_ptr<Format> Make() {
  auto f = MakeFormat("movielens", IngestConfig{});
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

void ExpectRating(const Event& e, std::string_view user, std::string_view item, double rating, int64_t ts) {
  EXPECT_EQ(e.event_id, "movielens:" + std::string(user) + ":" + std::string(item) + ":" + std::to_string(ts));
  ASSERT_EQ(e.identities.size(), 1u);
  EXPECT_EQ(e.identities[0], (Identity{IdentityType::kCustomerId, std::string(user)}));
  EXPECT_EQ(e.item_id, item);
  EXPECT_EQ(e.type, "custom:rating");
  EXPECT_EQ(e.channel, "web");
  EXPECT_EQ(e.ts_ms, ts * 1000);
  std::string props = "{\"rating\":";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", rating);
  props += buf;
  props += "}";
  EXPECT_EQ(e.properties_json, props);
}

TEST(MovieLensFormatTest, LineFramingWithoutHeader) {
  auto f = Make();
  EXPECT_EQ(f->name(), "movielens");
  EXPECT_FALSE(f->has_header());
  EXPECT_EQ(f->framing(), RecordFraming::kLines);
}

TEST(MovieLensFormatTest, UData) {
  auto f = Make();
  Batch b;
  f->Parse("196\t242\t3\t881250949", 1, b);
  f->Parse("186\t302\t3\t891717742", 2, b);
  ASSERT_EQ(b.events.size(), 2u);
  ExpectRating(b.events[0], "196", "242", 3, 881250949);
  EXPECT_EQ(b.events[1].line_no, 2);
}

TEST(MovieLensFormatTest, RatingsDat) {
  auto f = Make();
  Batch b;
  f->Parse("1::1193::5::978300760", 1, b);
  ASSERT_EQ(b.events.size(), 1u);
  ExpectRating(b.events[0], "1", "1193", 5, 978300760);
}

TEST(MovieLensFormatTest, RatingsCsvSkipsItsHeader) {
  auto f = Make();
  Batch b;
  f->Parse("userId,movieId,rating,timestamp", 1, b);
  f->Parse("1,296,5.0,1147880044", 2, b);
  f->Parse("1,307,3.5,1147868828", 3, b);
  ASSERT_EQ(b.rejected.size(), 0u);
  ASSERT_EQ(b.events.size(), 2u);
  ExpectRating(b.events[0], "1", "296", 5, 1147880044);
  ExpectRating(b.events[1], "1", "307", 3.5, 1147868828);
}

TEST(MovieLensFormatTest, HeaderOnlySkippedAsFirstRecord) {
  auto f = Make();
  Batch b;
  f->Parse("1,296,5.0,1147880044", 1, b);
  f->Parse("userId,movieId,rating,timestamp", 2, b);
  EXPECT_EQ(b.events.size(), 1u);
  ASSERT_EQ(b.rejected.size(), 1u);  // a header in the middle of the data is bad data
}

TEST(MovieLensFormatTest, Rejections) {
  struct Case {
    std::string row;
    RejectReason reason;
  };
  auto f = Make();
  Batch warm;
  f->Parse("1\t2\t3\t881250949", 1, warm);  // past the first record
  for (const Case& c : std::vector<Case>{
           {"196\t242\t0\t881250949", RejectReason::kBadNumber},
           {"196\t242\t5.5\t881250949", RejectReason::kBadNumber},
           {"1::1193::five::978300760", RejectReason::kBadNumber},
           {"1,296,0.4,1147880044", RejectReason::kBadNumber},
           {"1,296,4,yesterday", RejectReason::kBadTimestamp},
           {"1,296,4,-1", RejectReason::kBadTimestamp},
           {"1,296,4", RejectReason::kBadCsvRecord},
           {"1::2::3::4::5", RejectReason::kBadCsvRecord},
           {",296,4,1147880044", RejectReason::kMissingIdentities},
           {"1,,4,1147880044", RejectReason::kMissingField},
       }) {
    Batch b;
    f->Parse(c.row, 5, b);
    ASSERT_EQ(b.rejected.size(), 1u) << c.row;
    EXPECT_EQ(b.events.size(), 0u) << c.row;
    EXPECT_EQ(b.rejected[0].reason, c.reason) << c.row << ": " << b.rejected[0].message;
    EXPECT_NE(b.rejected[0].message.find("line 5"), std::string::npos);
  }
}

}  // namespace
}  // namespace omni::ingest
