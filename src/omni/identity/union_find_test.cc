#include "omni/identity/union_find.h"

#include "gtest/gtest.h"

namespace omni::identity {
namespace {

TEST(UnionFindTest, JoinsSetsAndCountsSizes) {
  UnionFind uf(6);
  EXPECT_FALSE(uf.Connected(0, 1));
  EXPECT_GE(uf.Union(0, 1), 0);
  EXPECT_GE(uf.Union(2, 3), 0);
  EXPECT_GE(uf.Union(1, 3), 0);
  EXPECT_EQ(uf.Union(0, 2), -1);  // already one set
  EXPECT_TRUE(uf.Connected(0, 3));
  EXPECT_FALSE(uf.Connected(0, 4));
  EXPECT_EQ(uf.SetSize(2), 4);
  EXPECT_EQ(uf.SetSize(5), 1);
}

TEST(UnionFindTest, LongChainStaysShallow) {
  const int32_t n = 1 << 20;
  UnionFind uf(n);
  for (int32_t i = 1; i < n; ++i) uf.Union(i - 1, i);
  EXPECT_EQ(uf.SetSize(0), n);
  EXPECT_TRUE(uf.Connected(0, n - 1));
}

}  // namespace
}  // namespace omni::identity
