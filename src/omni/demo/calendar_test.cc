#include "omni/demo/calendar.h"

#include <gtest/gtest.h>

namespace omni::demo {
namespace {

TEST(Civil, RoundTripsAndKnowsWeekdays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2025, 1, 1), 20089);
  for (int64_t d = -1000; d < 30000; d += 37) {
    const CivilDate c = CivilFromDays(d);
    EXPECT_EQ(DaysFromCivil(c.year, c.month, c.day), d);
  }
  EXPECT_EQ(CivilFromDays(DaysFromCivil(2025, 11, 11)).weekday, 1);  // a Tuesday
  EXPECT_EQ(CivilFromDays(DaysFromCivil(2024, 2, 29)).day, 29);
}

TEST(TimestampFormatter, WritesRfc3339InChinaTime) {
  TimestampFormatter f;
  std::string s;
  f.Append(s, 1735660800000, false);  // 2025-01-01T00:00:00+08:00
  EXPECT_EQ(s, "2025-01-01T00:00:00+08:00");
  s.clear();
  f.Append(s, 1735660800000 + 15 * kHourMs + 15 * 60'000 + 2'042, true);
  EXPECT_EQ(s, "2025-01-01T15:15:02.042+08:00");
  s.clear();
  f.Append(s, 1735660800000 - 1000, false);  // a second before local midnight
  EXPECT_EQ(s, "2024-12-31T23:59:59+08:00");
}

TEST(Seasonality, FestivalsAreBusierThanOrdinaryDays) {
  const double ordinary = DayWeight(DaysFromCivil(2025, 9, 10));  // a Wednesday in September
  EXPECT_GT(DayWeight(DaysFromCivil(2025, 11, 11)), 3 * ordinary);
  EXPECT_GT(DayWeight(DaysFromCivil(2025, 6, 18)), 2 * ordinary);
  EXPECT_LT(DayWeight(ChineseNewYear(2025) + 1), ordinary);    // holiday week
  EXPECT_GT(DayWeight(ChineseNewYear(2025) - 10), ordinary);   // 年货节
  EXPECT_GT(HourWeight(DaysFromCivil(2025, 3, 5), 21), HourWeight(DaysFromCivil(2025, 3, 5), 4));
  EXPECT_EQ(ChineseNewYear(2025), DaysFromCivil(2025, 1, 29));
}

TEST(CampaignCalendar, FestivalsAndWeeklyNewsletters) {
  const int64_t first = DaysFromCivil(2025, 1, 1);
  const CampaignCalendar cal(first, 365);
  const int d11 = cal.FestivalOn(DaysFromCivil(2025, 11, 11));
  ASSERT_GE(d11, 0);
  EXPECT_EQ(cal.campaigns()[static_cast<size_t>(d11)].id, "d11-2025");
  EXPECT_EQ(cal.campaigns()[static_cast<size_t>(d11)].coupon, "D11-100");
  EXPECT_EQ(cal.FestivalOn(DaysFromCivil(2025, 9, 10)), -1);
  const int nl = cal.NewsletterOn(DaysFromCivil(2025, 9, 10));
  EXPECT_EQ(cal.campaigns()[static_cast<size_t>(nl)].id, "nl-20250908");  // the week's Monday
}

}  // namespace
}  // namespace omni::demo
