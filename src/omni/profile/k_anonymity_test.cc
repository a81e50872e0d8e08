#include "omni/profile/k_anonymity.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

namespace omni::profile {
namespace {

TEST(KAnonymityTest, SuppressesSmallNonZeroCounts) {
  EXPECT_FALSE(Suppressed(0, 10));
  EXPECT_TRUE(Suppressed(1, 10));
  EXPECT_TRUE(Suppressed(9, 10));
  EXPECT_FALSE(Suppressed(10, 10));
  EXPECT_EQ(ShownCount(9, 10), "<10");
  EXPECT_EQ(ShownCount(10, 10), "10");
  EXPECT_EQ(ShownCount(0, 10), "0");
  EXPECT_EQ(ShownCount(3, 1), "3");
  EXPECT_NE(SuppressionNote(10).find("10"), std::string::npos);
}

TEST(KAnonymityTest, ReadsMinGroupSizeAndIgnoresOtherKeys) {
  EXPECT_EQ(*ParseMinGroupSize(R"({"channels":["web"],"min_group_size":25})", "c"), 25);
  EXPECT_EQ(*ParseMinGroupSize(R"({"channels":["web"]})", "c"), kDefaultMinGroupSize);
  EXPECT_EQ(ParseMinGroupSize(R"({"min_group_size":0})", "c").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMinGroupSize(R"({"min_group_size":"10"})", "c").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMinGroupSize(R"({"min_group_size":2.5})", "c").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMinGroupSize("[1]", "c").status().code(), StatusCode::kInvalidArgument);
}

TEST(KAnonymityTest, LoadsFromTheDataDirectory) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  auto dir = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
             ("kanon-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_EQ(*LoadMinGroupSize(dir.string()), kDefaultMinGroupSize);  // no file
  std::ofstream(dir / "config.json") << R"({"min_group_size": 5, "default_phone_region": "CN"})";
  EXPECT_EQ(*LoadMinGroupSize(dir.string()), 5);
  std::ofstream(dir / "config.json") << "{broken";
  EXPECT_EQ(LoadMinGroupSize(dir.string()).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::profile
