// GroupByCustomer: every customer's rows contiguous, in their original
// order, at the offsets it reports, on one thread or two alike.
#include "omni/profile/group_by_customer.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace omni::profile {
namespace {

struct Row {
  uint32_t customer;
  uint32_t arrival;  // position before grouping
};

TEST(GroupByCustomerTest, GroupsStablyOnOneThreadOrTwo) {
  // Customer counts for the one counting pass and for two radix passes (the
  // second partial or not).
  for (size_t customers : {size_t{1}, size_t{7}, kDirectCustomers, kDirectCustomers + 1, size_t{300'001}}) {
    std::mt19937 rng(static_cast<uint32_t>(customers));
    std::vector<Row> input(200'003);
    for (size_t i = 0; i < input.size(); ++i) {
      input[i] = Row{static_cast<uint32_t>(rng() % customers), static_cast<uint32_t>(i)};
    }
    std::vector<Row> one = input, two = input;
    std::vector<int64_t> offsets_one, offsets_two;
    GroupByCustomer(one, customers, offsets_one, /*two_threads_from=*/input.size() + 1);
    GroupByCustomer(two, customers, offsets_two, /*two_threads_from=*/0);
    ASSERT_EQ(offsets_one, offsets_two) << customers;
    ASSERT_EQ(offsets_one.size(), customers + 1);
    EXPECT_EQ(offsets_one.back(), static_cast<int64_t>(input.size()));
    std::vector<Row> want = input;
    std::stable_sort(want.begin(), want.end(), [](const Row& a, const Row& b) { return a.customer < b.customer; });
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(one[i].arrival, want[i].arrival) << customers << " at " << i;
      ASSERT_EQ(two[i].arrival, want[i].arrival) << customers << " at " << i;
    }
    for (size_t c = 0; c < customers; ++c) {
      for (int64_t k = offsets_one[c]; k < offsets_one[c + 1]; ++k) ASSERT_EQ(one[static_cast<size_t>(k)].customer, c);
    }
  }
}

}  // namespace
}  // namespace omni::profile
