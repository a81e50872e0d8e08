#include "omni/demo/random.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace omni::demo {
namespace {

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a();
    EXPECT_EQ(x, b());
    differs |= x != c();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, DrawsStayInRange) {
  Rng rng(1);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.Uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_LT(rng.Below(7), 7u);
    const int64_t v = rng.Between(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
    EXPECT_GE(rng.Geometric(2.0), 0);
  }
}

TEST(Permutation, IsABijection) {
  for (uint64_t n : {1ull, 2ull, 7ull, 100ull, 1000ull, 4097ull}) {
    const Permutation perm(n, 99);
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t y = perm(i);
      EXPECT_LT(y, n);
      seen.insert(y);
    }
    EXPECT_EQ(seen.size(), n);
  }
}

TEST(AliasTable, SamplesInProportion) {
  const std::vector<double> w = {1, 0, 3, 6};
  const AliasTable table(w);
  Rng rng(5);
  std::vector<int> counts(4);
  const int n = 200000;
  for (int i = 0; i < n; ++i) counts[table.Sample(rng)]++;
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / double(n), 0.1, 0.01);
  EXPECT_NEAR(counts[2] / double(n), 0.3, 0.01);
  EXPECT_NEAR(counts[3] / double(n), 0.6, 0.01);
}

}  // namespace
}  // namespace omni::demo
