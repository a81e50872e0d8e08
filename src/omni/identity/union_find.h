// Disjoint sets over dense int32 ids 0..n-1 (union by size, path halving):
// the connected components of the identifier graph. Millions of unions take
// tens of milliseconds, which is why resolution recomputes the partition from
// the recorded links on every run instead of patching it (see resolver.cc).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "omni/common/status.h"

namespace omni::identity {

class UnionFind {
 public:
  UnionFind() = default;
  explicit UnionFind(int32_t n) { Reset(n); }

  // n singletons.
  void Reset(int32_t n) {
    parent_.resize(static_cast<size_t>(n));
    size_.assign(static_cast<size_t>(n), 1);
    for (int32_t i = 0; i < n; ++i) parent_[static_cast<size_t>(i)] = i;
  }

  int32_t size() const { return static_cast<int32_t>(parent_.size()); }

  int32_t Find(int32_t x) {
    OMNI_CHECK(x >= 0 && x < size());
    while (parent_[static_cast<size_t>(x)] != x) {
      int32_t& p = parent_[static_cast<size_t>(x)];
      p = parent_[static_cast<size_t>(p)];  // path halving
      x = p;
    }
    return x;
  }

  // Joins the sets of a and b; returns the new root, or -1 when they were
  // already one set.
  int32_t Union(int32_t a, int32_t b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return -1;
    if (size_[static_cast<size_t>(a)] < size_[static_cast<size_t>(b)]) std::swap(a, b);
    parent_[static_cast<size_t>(b)] = a;
    size_[static_cast<size_t>(a)] += size_[static_cast<size_t>(b)];
    return a;
  }

  bool Connected(int32_t a, int32_t b) { return Find(a) == Find(b); }
  int32_t SetSize(int32_t x) { return size_[static_cast<size_t>(Find(x))]; }

 private:
  std::vector<int32_t> parent_;
  std::vector<int32_t> size_;
};

}  // namespace omni::identity
