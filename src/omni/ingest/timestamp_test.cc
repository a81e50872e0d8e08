#include "omni/ingest/timestamp.h"

#include <gtest/gtest.h>

#include <random>

namespace omni::ingest {
namespace {

// 2026-03-01T02:15:02Z, computed once with Python's datetime.
constexpr int64_t kMarch1 = 1772331302000;

int64_t Ms(std::string_view text) {
  StatusOr<ParsedTime> t = ParseTimestamp(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? t->ts_ms : -1;
}

TEST(ParseTimestamp, Rfc3339WithOffsetIsConvertedToUtcAndKeepsTheOffset) {
  StatusOr<ParsedTime> t = ParseTimestamp("2026-03-01T10:15:02+08:00");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->ts_ms, kMarch1);
  EXPECT_EQ(t->tz_offset_min, 480);
}

TEST(ParseTimestamp, SameInstantInEveryAcceptedSpelling) {
  for (std::string_view s : {"2026-03-01T02:15:02Z", "2026-03-01T02:15:02z", "2026-03-01t02:15:02Z",
                             "2026-03-01 02:15:02Z", "2026-03-01T02:15:02+00:00",
                             "2026-03-01T02:15:02-00:00", "2026-03-01T10:15:02+0800",
                             "2026-02-28T21:15:02-05:00", "2026-03-01T07:45:02+05:30",
                             "  2026-03-01T02:15:02Z\r\n", "2026-03-01T02:15:02.000Z"}) {
    EXPECT_EQ(Ms(s), kMarch1) << s;
  }
}

TEST(ParseTimestamp, NegativeAndOddOffsetsAreRecorded) {
  EXPECT_EQ(ParseTimestamp("2026-02-28T21:15:02-05:00")->tz_offset_min, -300);
  EXPECT_EQ(ParseTimestamp("2026-03-01T08:00:02+05:45")->tz_offset_min, 345);
  EXPECT_EQ(ParseTimestamp("2026-03-01T02:15:02Z")->tz_offset_min, 0);
  EXPECT_TRUE(ParseTimestamp("2026-03-01T20:15:02+18:00").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01T20:15:02+18:01").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01T20:15:02+19:00").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01T20:15:02+08:60").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01T20:15:02+8:00").ok());
}

TEST(ParseTimestamp, FractionalSecondsOfAnyLengthKeepMillisecondsTruncated) {
  EXPECT_EQ(Ms("2026-03-01T02:15:02.1Z"), kMarch1 + 100);
  EXPECT_EQ(Ms("2026-03-01T02:15:02.12Z"), kMarch1 + 120);
  EXPECT_EQ(Ms("2026-03-01T02:15:02.123Z"), kMarch1 + 123);
  EXPECT_EQ(Ms("2026-03-01T02:15:02.123999999Z"), kMarch1 + 123);
  EXPECT_EQ(Ms("2026-03-01T02:15:02,5Z"), kMarch1 + 500);
  EXPECT_FALSE(ParseTimestamp("2026-03-01T02:15:02.Z").ok());
}

TEST(ParseTimestamp, SecondsMayBeOmitted) { EXPECT_EQ(Ms("2026-03-01T02:15Z"), kMarch1 - 2000); }

TEST(ParseTimestamp, EpochSecondsAndMillisecondsAreToldApartByMagnitude) {
  EXPECT_EQ(Ms("1772331302"), kMarch1);
  EXPECT_EQ(Ms("1772331302123"), kMarch1 + 123);
  EXPECT_EQ(Ms("1772331302.5"), kMarch1 + 500);
  EXPECT_EQ(ParseTimestamp("1772331302")->tz_offset_min, 0);
  // 1e11 is the boundary: below it seconds, from it milliseconds.
  EXPECT_EQ(Ms("100000000000"), 100000000000);
  EXPECT_FALSE(ParseTimestamp("99999999999").ok());  // seconds: year 5138

  EXPECT_EQ(TimestampFromEpochNumber(1772331302)->ts_ms, kMarch1);
  EXPECT_EQ(TimestampFromEpochNumber(1772331302123.0)->ts_ms, kMarch1 + 123);
  EXPECT_EQ(TimestampFromEpochNumber(1772331302.25)->ts_ms, kMarch1 + 250);
  EXPECT_EQ(TimestampFromEpochNumber(1e11)->ts_ms, 100000000000);
  EXPECT_FALSE(TimestampFromEpochNumber(-1).ok());
  EXPECT_FALSE(TimestampFromEpochNumber(std::nan("")).ok());
  EXPECT_FALSE(TimestampFromEpochNumber(1e300).ok());
  EXPECT_FALSE(TimestampFromEpochNumber(5e9).ok());  // seconds past 2100
}

TEST(ParseTimestamp, LeapDaysFollowTheGregorianRules) {
  EXPECT_EQ(Ms("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(Ms("2000-02-29T12:00:00Z"), 951825600000);  // divisible by 400: leap
  EXPECT_FALSE(ParseTimestamp("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2100-02-29T00:00:00Z").ok());  // divisible by 100: not leap
  EXPECT_FALSE(ParseTimestamp("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2026-04-31T00:00:00Z").ok());
  EXPECT_TRUE(ParseTimestamp("2026-12-31T00:00:00Z").ok());
}

TEST(ParseTimestamp, RangeIs1970To2100) {
  EXPECT_EQ(Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Ms("2100-12-31T23:59:59Z"), 4133980799000);
  EXPECT_FALSE(ParseTimestamp("1969-12-31T23:59:59Z").ok());
  EXPECT_FALSE(ParseTimestamp("2101-01-01T00:00:00Z").ok());
  // Written in 1970 but before the epoch in UTC.
  EXPECT_FALSE(ParseTimestamp("1970-01-01T07:00:00+08:00").ok());
}

TEST(ParseTimestamp, RejectsImpossibleFieldsAndGarbage) {
  for (std::string_view s :
       {"", "   ", "abc", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-03-00T00:00:00Z",
        "2026-03-01T24:00:00Z", "2026-03-01T10:60:00Z", "2026-03-01T10:15:61Z",
        "2026-03-01T10:15:02Zx", "2026-03-01T10:15:02+08:00 junk", "2026-3-01T10:15:02Z",
        "26-03-01T10:15:02Z", "2026/03/01 10:15:02Z", "20260301", "2026-03-01T", "2026-03-01X10:15Z",
        "12345", "1772331302x", "-1772331302", "2026-03-01T10:15:02.Z", "12/1/2010 8:26"}) {
    StatusOr<ParsedTime> t = ParseTimestamp(s);
    EXPECT_FALSE(t.ok()) << "accepted \"" << s << "\"";
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParseTimestamp, LeapSecondLandsOnTheNextMinute) {
  EXPECT_EQ(Ms("2016-12-31T23:59:60Z"), Ms("2017-01-01T00:00:00Z"));
}

TEST(ParseTimestamp, WallTimeWithoutOffsetIsAmbiguousAndRejected) {
  EXPECT_FALSE(ParseTimestamp("2026-03-01T10:15:02").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01 10:15:02").ok());
  EXPECT_FALSE(ParseTimestamp("2026-03-01").ok());
}

TEST(ParseLocalTimestamp, AssumesTheOffsetForWallTimes) {
  // Online Retail's "2010-12-01 08:26:00" is UK wall time.
  StatusOr<ParsedTime> t = ParseLocalTimestamp("2010-12-01 08:26:00", 0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ts_ms, 1291191960000);
  EXPECT_EQ(t->tz_offset_min, 0);

  t = ParseLocalTimestamp("2010-12-01 16:26", 480);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ts_ms, 1291191960000);
  EXPECT_EQ(t->tz_offset_min, 480);

  t = ParseLocalTimestamp("2010-12-01", 0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ts_ms, 1291191960000 - (8 * 60 + 26) * 60000LL);
}

TEST(ParseLocalTimestamp, AcceptsTheUciExcelStyle) {
  EXPECT_EQ(ParseLocalTimestamp("12/1/2010 8:26", 0)->ts_ms, 1291191960000);
  EXPECT_EQ(ParseLocalTimestamp("12/01/2010 08:26:00", 0)->ts_ms, 1291191960000);
  EXPECT_EQ(ParseLocalTimestamp("2/29/2024", 0)->ts_ms, 1709164800000);
  EXPECT_FALSE(ParseLocalTimestamp("2/29/2023 8:26", 0).ok());
  EXPECT_FALSE(ParseLocalTimestamp("13/1/2010 8:26", 0).ok());  // month first, always
  EXPECT_FALSE(ParseLocalTimestamp("12/1/10 8:26", 0).ok());
}

TEST(ParseLocalTimestamp, AnExplicitOffsetOrEpochWins) {
  StatusOr<ParsedTime> t = ParseLocalTimestamp("2026-03-01T10:15:02+08:00", -300);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ts_ms, kMarch1);
  EXPECT_EQ(t->tz_offset_min, 480);
  t = ParseLocalTimestamp("1772331302", 480);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ts_ms, kMarch1);
  EXPECT_EQ(t->tz_offset_min, 0);
}

TEST(ParseLocalTimestamp, RejectsAnAssumedOffsetBeyond18Hours) {
  EXPECT_FALSE(ParseLocalTimestamp("2010-12-01 08:26:00", 18 * 60 + 1).ok());
}

TEST(FormatTimestamp, WritesLocalTimeWithMillisecondsAndOffset) {
  EXPECT_EQ(FormatTimestamp(kMarch1, 480), "2026-03-01T10:15:02.000+08:00");
  EXPECT_EQ(FormatTimestamp(kMarch1 + 7, 0), "2026-03-01T02:15:02.007+00:00");
  EXPECT_EQ(FormatTimestamp(kMarch1, -300), "2026-02-28T21:15:02.000-05:00");
  EXPECT_EQ(FormatTimestamp(kMarch1, 345), "2026-03-01T08:00:02.000+05:45");
  EXPECT_EQ(FormatTimestamp(0, 0), "1970-01-01T00:00:00.000+00:00");
  EXPECT_EQ(FormatTimestamp(1709164800000, 0), "2024-02-29T00:00:00.000+00:00");
}

TEST(FormatTimestamp, RoundTripsThroughParse) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> ms(0, 4133980799999);
  std::uniform_int_distribution<int> offset(-18 * 4, 18 * 4);  // quarter hours
  for (int i = 0; i < 20000; ++i) {
    const int64_t t = ms(rng);
    const int off = offset(rng) * 15;
    const std::string text = FormatTimestamp(t, off);
    StatusOr<ParsedTime> back = ParseTimestamp(text);
    if (!back.ok()) {
      // Only the edges of the range may fall outside 1970..2100 in local time.
      EXPECT_TRUE(t < 18 * 3600000LL || t > 4133980799999 - 18 * 3600000LL) << text;
      continue;
    }
    ASSERT_EQ(back->ts_ms, t) << text;
    ASSERT_EQ(back->tz_offset_min, off) << text;
  }
}

}  // namespace
}  // namespace omni::ingest
