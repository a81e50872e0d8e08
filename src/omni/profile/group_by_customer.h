// Grouping per-event rows by customer in linear time: the profile and feature
// builders collect one small row per event and then walk each customer's rows.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace omni::profile {

// Reorders `rows` (any struct with a `uint32_t customer` < `customers`) so
// each customer's rows are contiguous, keeping their order (a stable LSD
// radix sort, 11 bits a pass: one or two passes for millions of customers),
// and fills offsets[c] .. offsets[c + 1] with where customer c's rows are.
// From `two_threads_from` rows on, each pass runs on two threads, each
// counting and moving its half of the rows (the first half's rows go first
// within each digit, so the order kept is the same as on one thread).
inline constexpr size_t kDirectCustomers = 16'384;

template <typename Row>
void GroupByCustomer(std::vector<Row>& rows, size_t customers, std::vector<int64_t>& offsets,
                     size_t two_threads_from = 1'000'000) {
  offsets.assign(customers + 1, 0);
  for (const Row& r : rows) ++offsets[r.customer + 1];
  for (size_t c = 0; c < customers; ++c) offsets[c + 1] += offsets[c];
  constexpr int kDigitBits = 11;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  // Bits of the largest customer id.
  const int bits = customers > 1 ? static_cast<int>(std::bit_width(customers - 1)) : 0;
  if (customers <= 1 || rows.empty()) return;
  std::vector<Row> buffer(rows.size());
  // Few customers: one counting pass straight to each row's place (a few
  // thousand write streams still cache well), instead of two radix passes.
  if (customers <= kDirectCustomers) {
    std::vector<int64_t> next(offsets.begin(), offsets.end() - 1);
    for (const Row& r : rows) buffer[static_cast<size_t>(next[r.customer]++)] = r;
    rows.swap(buffer);
    return;
  }
  const int parts = rows.size() >= two_threads_from ? 2 : 1;
  const size_t half = parts == 2 ? rows.size() / 2 : rows.size();
  std::vector<int64_t> next(kBuckets * static_cast<size_t>(parts));
  // Runs step(part) for each part, the second on a thread of its own.
  auto on_parts = [parts](const auto& step) {
    if (parts == 2) {
      std::thread other(step, 1);
      step(0);
      other.join();
    } else {
      step(0);
    }
  };
  for (int shift = 0; shift < bits; shift += kDigitBits) {
    auto digit = [shift](const Row& r) { return (r.customer >> shift) & (kBuckets - 1); };
    auto count = [&](int part) {
      int64_t* slots = next.data() + static_cast<size_t>(part) * kBuckets;
      std::fill(slots, slots + kBuckets, 0);
      const size_t end = part == 0 ? half : rows.size();
      for (size_t i = part == 0 ? 0 : half; i < end; ++i) ++slots[digit(rows[i])];
    };
    auto move = [&](int part) {
      int64_t* slots = next.data() + static_cast<size_t>(part) * kBuckets;
      const size_t end = part == 0 ? half : rows.size();
      for (size_t i = part == 0 ? 0 : half; i < end; ++i) buffer[static_cast<size_t>(slots[digit(rows[i])]++)] = rows[i];
    };
    on_parts(count);
    // Where each part's rows of each digit start: digit by digit, part 0 first.
    int64_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      for (int part = 0; part < parts; ++part) {
        int64_t& slot = next[static_cast<size_t>(part) * kBuckets + b];
        const int64_t n = slot;
        slot = sum;
        sum += n;
      }
    }
    on_parts(move);
    rows.swap(buffer);
  }
}

}  // namespace omni::profile
