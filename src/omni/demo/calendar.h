// The retail calendar the demo follows: local time in China (UTC+08:00, no
// DST), RFC 3339 timestamps, the weekly rhythm, the shopping festivals that
// shape a Chinese retailer's year (年货节 before Chinese New Year, 38 女神节,
// 520, 618, Double 11, Double 12) and the campaigns marketing runs for them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace omni::demo {

inline constexpr int32_t kLocalOffsetMin = 480;
inline constexpr int64_t kLocalOffsetMs = int64_t{kLocalOffsetMin} * 60'000;
inline constexpr int64_t kDayMs = 86'400'000;
inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kMinuteMs = 60'000;

struct CivilDate {
  int year = 1970;
  int month = 1;    // 1..12
  int day = 1;      // 1..31
  int weekday = 3;  // 0 = Monday .. 6 = Sunday
};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// algorithms), and back.
int64_t DaysFromCivil(int year, int month, int day);
CivilDate CivilFromDays(int64_t days);

// Local (UTC+8) day number of an instant: days since 1970-01-01 local.
inline int64_t LocalDay(int64_t ts_ms) {
  const int64_t t = ts_ms + kLocalOffsetMs;
  return t >= 0 ? t / kDayMs : (t - kDayMs + 1) / kDayMs;
}
// UTC instant of local midnight starting `local_day`.
inline int64_t LocalMidnightMs(int64_t local_day) { return local_day * kDayMs - kLocalOffsetMs; }

// Appends `ts_ms` as "2025-03-01T10:15:02+08:00", or with ".123" before the
// offset when `with_ms`. Caches the date part: events arrive in time order.
class TimestampFormatter {
 public:
  void Append(std::string& out, int64_t ts_ms, bool with_ms);

 private:
  int64_t cached_day_ = INT64_MIN;
  char date_[11] = {};  // "YYYY-MM-DD"
};

// Local day number of Chinese New Year's Day in `year` (table 2020-2035;
// other years fall back to Feb 5, good enough for synthetic seasonality).
int64_t ChineseNewYear(int year);

// Relative traffic of a local day (1.0 = an ordinary Wednesday): weekends up,
// 年货节 and the festivals up, the CNY holiday week down (couriers stop),
// Double 11 the year's peak.
double DayWeight(int64_t local_day);
// Relative traffic of a local hour 0..23 on `local_day` (evening peak, quiet
// nights; midnight of Nov 11 spikes as pre-sale final payments open).
double HourWeight(int64_t local_day, int hour);
// How much more willing to buy shoppers are on the day (festival discounts).
double ConversionBoost(int64_t local_day);

// A marketing campaign: festival campaigns and a weekly newsletter. Events
// carry campaign_id = id + "-" + channel suffix ("d11-2025-sms").
struct Campaign {
  std::string id;      // "d11-2025", "nl-2025-w07"
  std::string coupon;  // coupon code redeemed with it, "" for newsletters
  int64_t first_day = 0;  // local day numbers, inclusive
  int64_t last_day = 0;
  bool festival = false;
};

// The campaigns overlapping [first_day, first_day + days). Newsletters come
// first in week order, festivals after; CampaignsOn indexes into this.
class CampaignCalendar {
 public:
  CampaignCalendar(int64_t first_day, int days);
  const std::vector<Campaign>& campaigns() const { return campaigns_; }
  // The festival campaign running on `local_day`, else -1.
  int FestivalOn(int64_t local_day) const;
  // The newsletter of the week holding `local_day` (always one).
  int NewsletterOn(int64_t local_day) const;

 private:
  int64_t first_day_;
  std::vector<Campaign> campaigns_;
  std::vector<int> festival_by_day_;
  std::vector<int> newsletter_by_day_;
};

}  // namespace omni::demo
