#include "omni/profile/rfm.h"

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace omni::profile {
namespace {

using ::testing::ElementsAre;

std::vector<int> Scores(const std::vector<double>& v, bool higher_is_better) {
  std::vector<uint8_t> s = QuintileScores(v, higher_is_better);
  return std::vector<int>(s.begin(), s.end());
}

TEST(QuintileScoresTest, DistinctValuesFillEachQuintile) {
  EXPECT_THAT(Scores({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, true), ElementsAre(1, 1, 2, 2, 3, 3, 4, 4, 5, 5));
  // Input order does not matter.
  EXPECT_THAT(Scores({10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, true), ElementsAre(5, 1, 5, 1, 4, 2, 4, 2, 3, 3));
}

TEST(QuintileScoresTest, TiesShareTheLowestQuintileOfTheirBlock) {
  // Six one-time buyers: all score 1; a second order puts a customer above
  // 60% of the base, so it scores 4 (the scores skip 2 and 3).
  EXPECT_THAT(Scores({1, 1, 1, 1, 1, 1, 2, 3, 4, 5}, true), ElementsAre(1, 1, 1, 1, 1, 1, 4, 4, 5, 5));
  EXPECT_THAT(Scores({7, 7, 7, 7}, true), ElementsAre(1, 1, 1, 1));
  EXPECT_THAT(Scores({2, 1, 2, 1}, true), ElementsAre(3, 1, 3, 1));
}

TEST(QuintileScoresTest, RecencyIsReversed) {
  // Days since the last purchase: fewer is better.
  EXPECT_THAT(Scores({0, 10, 20, 30, 40}, false), ElementsAre(5, 4, 3, 2, 1));
  EXPECT_THAT(Scores({3, 3, 100, 100, 100}, false), ElementsAre(4, 4, 1, 1, 1));
}

TEST(QuintileScoresTest, NanHasNoScoreAndDoesNotCount) {
  EXPECT_THAT(Scores({NAN, 1, 2}, true), ElementsAre(0, 1, 3));
  EXPECT_THAT(Scores({}, true), ElementsAre());
  EXPECT_THAT(Scores({NAN}, true), ElementsAre(0));
}

TEST(QuintileScoresTest, MatchesPandasRankMinFormula) {
  // 1 + floor(5 * (rank(method="min") - 1) / n), computed by brute force.
  std::mt19937_64 rng(7);
  std::geometric_distribution<int> orders(0.5);
  std::vector<double> v(997);
  for (double& x : v) x = orders(rng);
  for (bool higher : {true, false}) {
    std::vector<uint8_t> s = QuintileScores(v, higher);
    for (size_t i = 0; i < v.size(); ++i) {
      size_t worse = 0;
      for (double y : v) worse += higher ? (y < v[i]) : (y > v[i]);
      ASSERT_EQ(s[i], 1 + (5 * worse) / v.size()) << i;
    }
  }
}

TEST(RfmGroupTest, NamedCellsOfTheMap) {
  EXPECT_EQ(RfmGroupOf(5, 5, 5), RfmGroup::kChampions);
  EXPECT_EQ(RfmGroupOf(5, 4, 3), RfmGroup::kChampions);  // FM = ceil(7/2) = 4
  EXPECT_EQ(RfmGroupOf(4, 5, 5), RfmGroup::kLoyalCustomers);
  EXPECT_EQ(RfmGroupOf(3, 4, 4), RfmGroup::kLoyalCustomers);
  EXPECT_EQ(RfmGroupOf(5, 3, 2), RfmGroup::kPotentialLoyalists);
  EXPECT_EQ(RfmGroupOf(4, 2, 2), RfmGroup::kPotentialLoyalists);
  EXPECT_EQ(RfmGroupOf(5, 1, 1), RfmGroup::kNewCustomers);
  EXPECT_EQ(RfmGroupOf(4, 1, 1), RfmGroup::kPromising);
  EXPECT_EQ(RfmGroupOf(3, 3, 3), RfmGroup::kNeedAttention);
  EXPECT_EQ(RfmGroupOf(3, 1, 2), RfmGroup::kAboutToSleep);
  EXPECT_EQ(RfmGroupOf(2, 3, 3), RfmGroup::kAtRisk);
  EXPECT_EQ(RfmGroupOf(1, 4, 4), RfmGroup::kAtRisk);
  EXPECT_EQ(RfmGroupOf(1, 5, 5), RfmGroup::kCantLoseThem);
  EXPECT_EQ(RfmGroupOf(2, 5, 4), RfmGroup::kCantLoseThem);
  EXPECT_EQ(RfmGroupOf(2, 1, 1), RfmGroup::kHibernating);
  EXPECT_EQ(RfmGroupOf(1, 1, 1), RfmGroup::kLost);
  EXPECT_EQ(RfmGroupOf(1, 2, 1), RfmGroup::kLost);
}

TEST(RfmGroupTest, EveryCellHasExactlyOneGroupAndEveryGroupIsUsed) {
  std::set<RfmGroup> used;
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) {
        RfmGroup g = RfmGroupOf(r, f, m);
        EXPECT_NE(g, RfmGroup::kNone) << r << f << m;
        used.insert(g);
      }
    }
  }
  EXPECT_EQ(used.size(), static_cast<size_t>(kRfmGroupCount - 1));
  for (RfmGroup g : used) {
    EXPECT_FALSE(RfmGroupName(g).empty());
    EXPECT_FALSE(RfmGroupDescription(g).empty());
  }
}

TEST(RfmGroupTest, OutOfRangeScoresHaveNoGroup) {
  EXPECT_EQ(RfmGroupOf(0, 3, 3), RfmGroup::kNone);
  EXPECT_EQ(RfmGroupOf(3, 6, 3), RfmGroup::kNone);
  EXPECT_EQ(FmScore(0, 5), 0);
  EXPECT_EQ(FmScore(1, 2), 2);
  EXPECT_EQ(FmScore(5, 5), 5);
}

}  // namespace
}  // namespace omni::profile
