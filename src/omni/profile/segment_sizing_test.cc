#include "omni/profile/segment_sizing.h"

#include <gtest/gtest.h>

#include "omni/profile/testdata/temp_dir.h"

namespace omni::profile {
namespace {

TEST(SegmentSizingTest, CountsEachExpressionInOnePassAndSkipsOnesThatNoLongerParse) {
  testing::TempDir dir("segment-sizing");
  auto profiles = ProfileStore::Open(dir.str());
  ASSERT_TRUE(profiles.ok()) << profiles.status().ToString();
  // Recency scores 1..5, twice each: 10 profiles.
  auto built = (*profiles)->ReplaceProfiles(ProfileBuildInfo{}, [](const ProfileStore::ProfileWriter& write) -> Status {
    for (int i = 0; i < 10; ++i) {
      Profile p;
      p.customer_key = "C" + std::to_string(1000 + i);
      p.r_score = 1 + i % 5;
      p.frequency = i;
      OMNI_RETURN_IF_ERROR(write(p));
    }
    return Status::Ok();
  });
  ASSERT_TRUE(built.ok()) << built.status().ToString();

  ProfileFields fields({"web", "store"});
  auto recent = SegmentExpression::Parse("rfm.recency >= 4", fields.catalog());
  auto repeat = SegmentExpression::Parse("frequency >= 2 and rfm.recency <= 2", fields.catalog());
  ASSERT_TRUE(recent.ok()) << recent.status().ToString();
  ASSERT_TRUE(repeat.ok()) << repeat.status().ToString();
  auto sized = SizeSegments(**profiles, fields, {&*recent, nullptr, &*repeat});
  ASSERT_TRUE(sized.ok()) << sized.status().ToString();
  EXPECT_EQ(sized->profiles, 10);
  // recency 4 or 5: i = 3, 4, 8, 9. frequency >= 2 and recency <= 2: i = 5, 6 (i = 0, 1 have fewer orders).
  EXPECT_EQ(sized->sizes, (std::vector<int64_t>{4, 0, 2}));
}

}  // namespace
}  // namespace omni::profile
