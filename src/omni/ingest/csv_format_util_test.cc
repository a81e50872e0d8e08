#include "omni/ingest/csv_format_util.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

namespace omni::ingest {
namespace {

// What ParseFiniteDouble promises: the value std::from_chars reads from the
// trimmed text (a leading '+' allowed), accepted only when all of it is one
// finite number. Its fast path for plain decimals must agree bit for bit.
bool Reference(std::string_view s, double& out) {
  s = TrimSpaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

void ExpectSameAsReference(const std::string& s) {
  double got = 0;
  double want = 0;
  const bool ok = ParseFiniteDouble(s, got);
  ASSERT_EQ(ok, Reference(s, want)) << "'" << s << "'";
  if (ok) {
    ASSERT_EQ(std::memcmp(&got, &want, sizeof got), 0) << "'" << s << "': " << got << " vs " << want;
  }
}

TEST(ParseFiniteDoubleTest, ReadsPricesAndQuantitiesAsFromCharsDoes) {
  double v = 0;
  ASSERT_TRUE(ParseFiniteDouble(" 2.55 ", v));
  EXPECT_EQ(v, 2.55);
  ASSERT_TRUE(ParseFiniteDouble("-80995", v));
  EXPECT_EQ(v, -80995);
  ASSERT_TRUE(ParseFiniteDouble("+1e3", v));
  EXPECT_EQ(v, 1000);
  for (const char* bad : {"", " ", ".", "-", "1,5", "nan", "inf", "1e999", "++1", "1.2.3", "0x10", "1 2"}) {
    EXPECT_FALSE(ParseFiniteDouble(bad, v)) << bad;
  }
  for (const char* s : {"5.", ".5", "-.5", "-0", "0", "00012.5000", "0.000000000000001", "0.0000000000000001",
                        "999999999999999", "9999999999999999", "123456789012345.6", "1.23456789012345",
                        "0.1", "0.3", "16.95", "1e-5", "38970.0"}) {
    ExpectSameAsReference(s);
  }
}

TEST(ParseFiniteDoubleTest, AgreesWithFromCharsOnGeneratedDecimals) {
  std::mt19937_64 rng(7);
  char buf[64];
  for (int i = 0; i < 200000; ++i) {
    const double x = static_cast<double>(rng() % 100000000) / std::pow(10.0, static_cast<double>(rng() % 9)) *
                     ((rng() & 1) ? -1 : 1);
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(rng() % 17), x);
    ExpectSameAsReference(buf);
    std::snprintf(buf, sizeof buf, "%.17g", x);
    ExpectSameAsReference(buf);
  }
  const char alphabet[] = "0123456789.-";
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    for (int n = 1 + static_cast<int>(rng() % 20); n > 0; --n) s += alphabet[rng() % 12];
    ExpectSameAsReference(s);
  }
}

}  // namespace
}  // namespace omni::ingest
