#include "omni/demo/calendar.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace omni::demo {

int64_t DaysFromCivil(int year, int month, int day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  CivilDate c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = static_cast<int>(yoe + era * 400 + (c.month <= 2 ? 1 : 0));
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  c.weekday = static_cast<int>(((days + 3) % 7 + 7) % 7);
  return c;
}

namespace {

void Put2(char* p, int v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

void TimestampFormatter::Append(std::string& out, int64_t ts_ms, bool with_ms) {
  const int64_t day = LocalDay(ts_ms);
  if (day != cached_day_) {
    const CivilDate c = CivilFromDays(day);
    std::snprintf(date_, sizeof date_, "%04d-%02d-%02d", c.year, c.month, c.day);
    cached_day_ = day;
  }
  // Hand-formatted: this runs once per event and snprintf showed in profiles.
  const int64_t in_day = ts_ms + kLocalOffsetMs - day * kDayMs;
  const int secs = static_cast<int>(in_day / 1000);
  const int ms = static_cast<int>(in_day % 1000);
  char buf[40];
  std::memcpy(buf, date_, 10);
  buf[10] = 'T';
  Put2(buf + 11, secs / 3600);
  buf[13] = ':';
  Put2(buf + 14, secs / 60 % 60);
  buf[16] = ':';
  Put2(buf + 17, secs % 60);
  size_t n = 19;
  if (with_ms) {
    buf[n++] = '.';
    buf[n++] = static_cast<char>('0' + ms / 100);
    Put2(buf + n, ms % 100);
    n += 2;
  }
  std::memcpy(buf + n, "+08:00", 6);
  out.append(buf, n + 6);
}

int64_t ChineseNewYear(int year) {
  static constexpr std::array<std::array<int, 2>, 16> kDates = {{
      {1, 25}, {2, 12}, {2, 1}, {1, 22}, {2, 10}, {1, 29}, {2, 17}, {2, 6},  // 2020-2027
      {1, 26}, {2, 13}, {2, 3}, {1, 23}, {2, 11}, {1, 31}, {2, 19}, {2, 8},  // 2028-2035
  }};
  if (year >= 2020 && year <= 2035) {
    const auto& md = kDates[static_cast<size_t>(year - 2020)];
    return DaysFromCivil(year, md[0], md[1]);
  }
  return DaysFromCivil(year, 2, 5);
}

namespace {

bool Between(const CivilDate& c, int m1, int d1, int m2, int d2) {
  const int v = c.month * 100 + c.day;
  return v >= m1 * 100 + d1 && v <= m2 * 100 + d2;
}

}  // namespace

double DayWeight(int64_t local_day) {
  static constexpr std::array<double, 7> kWeekday = {0.95, 0.95, 0.97, 1.0, 1.05, 1.2, 1.12};
  const CivilDate c = CivilFromDays(local_day);
  double w = kWeekday[static_cast<size_t>(c.weekday)];
  const int64_t from_cny = local_day - ChineseNewYear(c.year);
  if (from_cny >= -20 && from_cny <= -3) w *= 1.35;       // 年货节: stocking up
  else if (from_cny >= -2 && from_cny <= 6) w *= 0.6;     // holiday: couriers stop
  if (Between(c, 3, 8, 3, 8)) w *= 1.6;
  else if (Between(c, 3, 1, 3, 7)) w *= 1.15;
  if (Between(c, 5, 20, 5, 20)) w *= 1.3;
  if (Between(c, 6, 1, 6, 15)) w *= 1.3;
  else if (Between(c, 6, 16, 6, 17)) w *= 1.6;
  else if (Between(c, 6, 18, 6, 18)) w *= 2.8;
  if (Between(c, 10, 1, 10, 7)) w *= 1.1;                 // National Day: stores busy
  if (Between(c, 10, 20, 10, 31)) w *= 1.35;              // Double 11 pre-sale
  else if (Between(c, 11, 1, 11, 10)) w *= 1.5;
  else if (Between(c, 11, 11, 11, 11)) w *= 5.0;
  else if (Between(c, 11, 12, 11, 13)) w *= 1.2;
  if (Between(c, 12, 6, 12, 11)) w *= 1.15;
  else if (Between(c, 12, 12, 12, 12)) w *= 1.8;
  if (Between(c, 12, 24, 12, 25)) w *= 1.25;
  return w;
}

double HourWeight(int64_t local_day, int hour) {
  static constexpr std::array<double, 24> kHour = {
      0.35, 0.18, 0.10, 0.06, 0.05, 0.07, 0.15, 0.35, 0.60, 0.80, 0.95, 1.00,
      1.10, 1.05, 0.95, 0.90, 0.90, 0.95, 1.00, 1.15, 1.35, 1.45, 1.30, 0.80};
  double w = kHour[static_cast<size_t>(hour)];
  const CivilDate c = CivilFromDays(local_day);
  if (c.month == 11 && c.day == 11) {
    if (hour == 0) w *= 6.0;
    else if (hour == 1) w *= 2.5;
  }
  return w;
}

double ConversionBoost(int64_t local_day) {
  const CivilDate c = CivilFromDays(local_day);
  if (Between(c, 11, 11, 11, 11)) return 1.5;
  if (Between(c, 6, 18, 6, 18)) return 1.35;
  if (Between(c, 12, 12, 12, 12) || Between(c, 3, 8, 3, 8)) return 1.2;
  const int64_t from_cny = local_day - ChineseNewYear(c.year);
  if (from_cny >= -20 && from_cny <= -3) return 1.15;
  return 1.0;
}

CampaignCalendar::CampaignCalendar(int64_t first_day, int days) : first_day_(first_day) {
  festival_by_day_.assign(static_cast<size_t>(days), -1);
  newsletter_by_day_.assign(static_cast<size_t>(days), 0);
  const int64_t last_day = first_day + days - 1;
  // Weekly newsletter, named by the Monday that starts its week.
  for (int64_t d = first_day; d <= last_day; ++d) {
    const CivilDate c = CivilFromDays(d);
    if (d == first_day || c.weekday == 0) {
      const CivilDate monday = CivilFromDays(d - c.weekday);
      char id[32];
      std::snprintf(id, sizeof id, "nl-%04d%02d%02d", monday.year, monday.month, monday.day);
      campaigns_.push_back({id, "", d, d + 6 - c.weekday, false});
    }
    newsletter_by_day_[static_cast<size_t>(d - first_day)] = static_cast<int>(campaigns_.size()) - 1;
  }
  const int first_year = CivilFromDays(first_day).year;
  const int last_year = CivilFromDays(last_day).year;
  for (int y = first_year; y <= last_year; ++y) {
    const std::string ys = std::to_string(y);
    const int64_t cny = ChineseNewYear(y);
    const Campaign festivals[] = {
        {"cny-" + ys, "NY" + ys + "-30", cny - 20, cny - 3, true},
        {"38-" + ys, "GODDESS38", DaysFromCivil(y, 3, 1), DaysFromCivil(y, 3, 8), true},
        {"520-" + ys, "LOVE520", DaysFromCivil(y, 5, 14), DaysFromCivil(y, 5, 20), true},
        {"618-" + ys, "618-50", DaysFromCivil(y, 6, 1), DaysFromCivil(y, 6, 18), true},
        {"d11-" + ys, "D11-100", DaysFromCivil(y, 10, 20), DaysFromCivil(y, 11, 11), true},
        {"d12-" + ys, "D12-30", DaysFromCivil(y, 12, 6), DaysFromCivil(y, 12, 12), true},
    };
    for (const Campaign& f : festivals) {
      if (f.last_day < first_day || f.first_day > last_day) continue;
      campaigns_.push_back(f);
      for (int64_t d = std::max(f.first_day, first_day); d <= std::min(f.last_day, last_day); ++d) {
        festival_by_day_[static_cast<size_t>(d - first_day)] = static_cast<int>(campaigns_.size()) - 1;
      }
    }
  }
}

int CampaignCalendar::FestivalOn(int64_t local_day) const {
  const int64_t i = local_day - first_day_;
  if (i < 0 || i >= static_cast<int64_t>(festival_by_day_.size())) return -1;
  return festival_by_day_[static_cast<size_t>(i)];
}

int CampaignCalendar::NewsletterOn(int64_t local_day) const {
  int64_t i = local_day - first_day_;
  const int64_t n = static_cast<int64_t>(newsletter_by_day_.size());
  i = i < 0 ? 0 : (i >= n ? n - 1 : i);
  return newsletter_by_day_[static_cast<size_t>(i)];
}

}  // namespace omni::demo
