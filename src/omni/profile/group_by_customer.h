// Grouping per-event rows by customer in linear time: the profile and feature
// builders collect one small row per event and then walk each customer's rows.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace omni::profile {

// Reorders `rows` (any struct with a `uint32_t customer` < `customers`) so
// each customer's rows are contiguous, keeping their order (a stable LSD
// radix sort, 11 bits a pass: one or two passes for millions of customers),
// and fills offsets[c] .. offsets[c + 1] with where customer c's rows are.
template <typename Row>
void GroupByCustomer(std::vector<Row>& rows, size_t customers, std::vector<int64_t>& offsets) {
  offsets.assign(customers + 1, 0);
  for (const Row& r : rows) ++offsets[r.customer + 1];
  for (size_t c = 0; c < customers; ++c) offsets[c + 1] += offsets[c];
  constexpr int kDigitBits = 11;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  // Bits of the largest customer id.
  const int bits = customers > 1 ? static_cast<int>(std::bit_width(customers - 1)) : 0;
  if (customers <= 1 || rows.empty()) return;
  std::vector<Row> buffer(rows.size());
  std::vector<int64_t> next(kBuckets);
  for (int shift = 0; shift < bits; shift += kDigitBits) {
    std::fill(next.begin(), next.end(), 0);
    for (const Row& r : rows) ++next[(r.customer >> shift) & (kBuckets - 1)];
    int64_t sum = 0;
    for (int64_t& slot : next) {
      const int64_t count = slot;
      slot = sum;
      sum += count;
    }
    for (const Row& r : rows) buffer[static_cast<size_t>(next[(r.customer >> shift) & (kBuckets - 1)]++)] = r;
    rows.swap(buffer);
  }
}

}  // namespace omni::profile
