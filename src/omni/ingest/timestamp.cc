// Hand-written, strict timestamp parsing. Deliberately no std::get_time,
// strptime or locale: those accept "2026-02-30", depend on the process locale
// and are slow; a source's timestamp column is parsed once per event, so this
// is on the import hot path.
//
// Grammar (after trimming ASCII whitespace at both ends):
//   epoch      = DIGITS ["." DIGITS]                    (seconds, or ms if >= 1e11)
//   iso        = date [("T" / "t" / " ") time [offset]]
//   date       = YYYY "-" MM "-" DD                     (exactly 4-2-2 digits)
//   us_date    = M "/" D "/" YYYY [" " time]            (1-2 digit month/day; local only)
//   time       = H[H] ":" MM [":" SS ["." FRACTION]]    (fraction: any digits, ms kept)
//   offset     = "Z" / "z" / ("+" / "-") HH [":"] MM
// ParseTimestamp needs an offset (a wall time without one is ambiguous);
// ParseLocalTimestamp supplies one when the text has none.
#include "omni/ingest/timestamp.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace omni::ingest {
namespace {

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2100;
constexpr int kMaxOffsetMin = 18 * 60;
constexpr int64_t kMsPerDay = 86'400'000;
// 2101-01-01T00:00:00Z: the first instant past the accepted range.
constexpr int64_t kEndMs = 4'133'980'800'000;
// Epoch values at or above this are milliseconds (1e11 s is year 5138, 1e11 ms is 1973).
constexpr double kEpochMsThreshold = 1e11;

// Howard Hinnant's days_from_civil (http://howardhinnant.github.io/date_algorithms.html):
// days since 1970-01-01 of a proleptic Gregorian date, exact for all int years.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);                // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;             // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The inverse, civil_from_days, from the same paper.
void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// A cursor over the text; every Read* consumes on success only.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool Eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly n digits.
  bool ReadFixed(int n, int& out) {
    if (s_.size() - pos_ < static_cast<size_t>(n)) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      const char c = s_[pos_ + i];
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  // Between lo and hi digits.
  bool ReadVar(int lo, int hi, int& out) {
    int v = 0, n = 0;
    while (n < hi && pos_ + n < s_.size() && IsDigit(s_[pos_ + n])) {
      v = v * 10 + (s_[pos_ + n] - '0');
      ++n;
    }
    if (n < lo) return false;
    pos_ += n;
    out = v;
    return true;
  }
  // Fraction digits after '.', any count; returns milliseconds (truncated).
  bool ReadFractionMs(int& ms) {
    int n = 0, v = 0;
    while (!done() && IsDigit(peek())) {
      if (n < 3) v = v * 10 + (peek() - '0');
      ++n;
      ++pos_;
    }
    if (n == 0) return false;
    for (int i = n; i < 3; ++i) v *= 10;
    ms = v;
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

struct Fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0;
  bool has_offset = false;
  int offset_min = 0;
};

Status Bad(std::string_view text, std::string_view why) {
  std::string m = "timestamp \"";
  // Timestamps carry no PII, but cap what we echo: the text may be a whole
  // mis-mapped column.
  m.append(text.substr(0, 64));
  if (text.size() > 64) m.append("...");
  m.append("\": ");
  m.append(why);
  return InvalidArgument(std::move(m));
}

// time = H[H] ":" MM [":" SS ["." FRACTION]]
bool ReadTime(Cursor& c, Fields& f) {
  if (!c.ReadVar(1, 2, f.hour) || !c.Eat(':') || !c.ReadFixed(2, f.minute)) return false;
  if (c.Eat(':')) {
    if (!c.ReadFixed(2, f.second)) return false;
    if (c.Eat('.') || c.Eat(',')) {  // ISO 8601 allows a decimal comma
      if (!c.ReadFractionMs(f.ms)) return false;
    }
  }
  return true;
}

// offset = "Z" / "z" / ("+" / "-") HH [":"] MM
bool ReadOffset(Cursor& c, Fields& f) {
  if (c.Eat('Z') || c.Eat('z')) {
    f.has_offset = true;
    f.offset_min = 0;
    return true;
  }
  int sign = 0;
  if (c.Eat('+')) {
    sign = 1;
  } else if (c.Eat('-')) {
    sign = -1;
  } else {
    return true;  // no offset
  }
  int hh = 0, mm = 0;
  if (!c.ReadFixed(2, hh)) return false;
  c.Eat(':');
  if (!c.ReadFixed(2, mm)) return false;
  if (mm >= 60) return false;
  f.has_offset = true;
  f.offset_min = sign * (hh * 60 + mm);
  return true;
}

// Parses the calendar forms into fields; epoch strings are handled by the caller.
Status ParseFields(std::string_view text, bool allow_us_date, Fields& f) {
  Cursor c(text);
  int first = 0;
  if (!c.ReadVar(1, 4, first)) return Bad(text, "expected a date");
  if (c.Eat('-')) {
    // YYYY-MM-DD: the year must have been exactly four digits.
    Cursor check(text);
    int y4 = 0;
    if (!check.ReadFixed(4, y4) || check.peek() != '-') {
      return Bad(text, "expected YYYY-MM-DD");
    }
    f.year = first;
    if (!c.ReadFixed(2, f.month) || !c.Eat('-') || !c.ReadFixed(2, f.day)) {
      return Bad(text, "expected YYYY-MM-DD");
    }
    if (!c.done()) {
      if (!(c.Eat('T') || c.Eat('t') || c.Eat(' '))) return Bad(text, "unexpected text after the date");
      if (!ReadTime(c, f)) return Bad(text, "expected HH:MM[:SS[.fff]] after the date");
      if (!ReadOffset(c, f)) return Bad(text, "malformed UTC offset");
    }
  } else if (c.Eat('/')) {
    if (!allow_us_date) return Bad(text, "M/D/YYYY needs a format with an assumed UTC offset");
    f.month = first;
    if (!c.ReadVar(1, 2, f.day) || !c.Eat('/') || !c.ReadFixed(4, f.year)) {
      return Bad(text, "expected M/D/YYYY");
    }
    if (c.Eat(' ')) {
      if (!ReadTime(c, f)) return Bad(text, "expected H:MM[:SS] after the date");
    }
  } else {
    return Bad(text, "expected YYYY-MM-DD or an epoch number");
  }
  if (!c.done()) return Bad(text, "unexpected trailing text");

  if (f.year < kMinYear || f.year > kMaxYear) return Bad(text, "year outside 1970..2100");
  if (f.month < 1 || f.month > 12) return Bad(text, "month outside 1..12");
  if (f.day < 1 || f.day > DaysInMonth(f.year, f.month)) return Bad(text, "no such day in that month");
  if (f.hour > 23) return Bad(text, "hour outside 0..23");
  if (f.minute > 59) return Bad(text, "minute outside 0..59");
  // 60 is a leap second (RFC 3339 allows it); like POSIX time it lands on :00 of the next minute.
  if (f.second > 60) return Bad(text, "second outside 0..60");
  if (f.offset_min > kMaxOffsetMin || f.offset_min < -kMaxOffsetMin) {
    return Bad(text, "UTC offset beyond +/-18:00");
  }
  return Status::Ok();
}

StatusOr<ParsedTime> FromFields(std::string_view text, const Fields& f, int offset_min) {
  const int64_t days = DaysFromCivil(f.year, static_cast<unsigned>(f.month), static_cast<unsigned>(f.day));
  const int64_t local_ms =
      days * kMsPerDay + ((f.hour * 60LL + f.minute) * 60 + f.second) * 1000 + f.ms;
  const int64_t utc_ms = local_ms - offset_min * 60'000LL;
  if (utc_ms < 0 || utc_ms >= kEndMs) return Bad(text, "outside 1970..2100 in UTC");
  return ParsedTime{utc_ms, offset_min};
}

// DIGITS ["." DIGITS].
bool LooksLikeEpoch(std::string_view s) {
  if (s.empty() || !IsDigit(s[0])) return false;
  bool dot = false;
  for (char ch : s) {
    if (ch == '.') {
      if (dot) return false;
      dot = true;
    } else if (!IsDigit(ch)) {
      return false;
    }
  }
  return s.back() != '.';
}

StatusOr<ParsedTime> ParseEpochString(std::string_view text) {
  // Integer part exactly (a double would lose ms beyond 2^53, which we never
  // reach, but integers keep "1709259302123" exact and obviously so).
  size_t i = 0;
  int64_t whole = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    if (whole > 1'000'000'000'000'000LL) return Bad(text, "epoch value out of range");
    whole = whole * 10 + (text[i] - '0');
  }
  int frac_ms = 0;
  if (i < text.size()) {
    Cursor c(text.substr(i + 1));
    c.ReadFractionMs(frac_ms);
  }
  int64_t ms = 0;
  if (static_cast<double>(whole) >= kEpochMsThreshold) {
    ms = whole;  // milliseconds; a fraction of a millisecond is dropped
  } else {
    ms = whole * 1000 + frac_ms;
  }
  if (ms >= kEndMs) return Bad(text, "epoch value past 2100");
  return ParsedTime{ms, 0};
}

StatusOr<ParsedTime> Parse(std::string_view raw, bool local, int32_t assume_offset_min) {
  const std::string_view text = Trim(raw);
  if (text.empty()) return Bad(raw, "empty");
  if (LooksLikeEpoch(text) && std::min(text.find('.'), text.size()) > 8) {
    // Eight digits or fewer could be YYYYMMDD (a form we do not accept), and
    // an epoch that small (before 1970-04-27) is not a real event time either.
    return ParseEpochString(text);
  }
  Fields f;
  OMNI_RETURN_IF_ERROR(ParseFields(text, local, f));
  if (f.has_offset) return FromFields(text, f, f.offset_min);
  if (!local) return Bad(text, "no UTC offset (write Z or +08:00)");
  return FromFields(text, f, assume_offset_min);
}

}  // namespace

StatusOr<ParsedTime> ParseTimestamp(std::string_view text) { return Parse(text, false, 0); }

StatusOr<ParsedTime> ParseLocalTimestamp(std::string_view text, int32_t assume_offset_min) {
  if (assume_offset_min > kMaxOffsetMin || assume_offset_min < -kMaxOffsetMin) {
    return InvalidArgument("assumed UTC offset beyond +/-18:00");
  }
  return Parse(text, true, assume_offset_min);
}

StatusOr<ParsedTime> TimestampFromEpochNumber(double value) {
  if (!std::isfinite(value)) return InvalidArgument("epoch timestamp is not a finite number");
  if (value < 0) return InvalidArgument("epoch timestamp before 1970");
  // Truncate toward zero, like the fraction digits of the text forms.
  const double ms = value >= kEpochMsThreshold ? std::trunc(value) : std::trunc(value * 1000.0);
  if (ms >= static_cast<double>(kEndMs)) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "epoch timestamp %.0f is past 2100", value);
    return InvalidArgument(buf);
  }
  return ParsedTime{static_cast<int64_t>(ms), 0};
}

std::string FormatTimestamp(int64_t ts_ms, int32_t tz_offset_min) {
  const int64_t local = ts_ms + tz_offset_min * 60'000LL;
  // Floor division so times before the epoch still format sensibly.
  int64_t days = local / kMsPerDay;
  int64_t rem = local % kMsPerDay;
  if (rem < 0) {
    rem += kMsPerDay;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  const int64_t ms = rem % 1000;
  const int64_t secs = rem / 1000;
  const int off = tz_offset_min < 0 ? -tz_offset_min : tz_offset_min;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lld%c%02d:%02d",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                static_cast<long long>(ms), tz_offset_min < 0 ? '-' : '+', off / 60, off % 60);
  return buf;
}

}  // namespace omni::ingest
