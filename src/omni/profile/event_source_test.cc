// The profile build from the columnar snapshot (AddEvents) gives exactly the
// profiles of the build from ScanEvents rows (AddEvent), field by field.
#include "omni/profile/event_source.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "omni/profile/profile_builder.h"
#include "omni/profile/profile_detail.h"
#include "omni/profile/testdata/random_store.h"
#include "omni/store/event_columns.h"

namespace omni::profile {
namespace {

using testing::RandomStore;

bool Same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// `channels`: the configured list (a channel not in it is indexed on first
// use); `two_threads`: the snapshot is read, and the records sorted and the
// lines renumbered, on two threads however small.
std::vector<Profile> Build(RandomStore& data, bool from_columns, ProfileBuildStats* stats,
                           std::vector<std::string> channels = {"web", "app", "store"}, bool two_threads = false) {
  ProfileOptions options;
  options.as_of_ms = RandomStore::kStart + RandomStore::kSpanMs - 20LL * 86'400'000;  // some events after it
  options.channels = std::move(channels);
  if (two_threads) {
    options.two_thread_scan_min_events = 0;
    options.two_thread_sort_min_records = 0;
  }
  ProfileBuilder builder(*data.directory, options);
  for (const ingest::Item& item : data.items) builder.AddItem(item);
  if (from_columns) {
    auto columns = store::EventColumns::Open(data.dir.str(), *data.store);
    EXPECT_TRUE(columns.ok()) << columns.status().ToString();
    builder.AddEvents(**columns);
  } else {
    EXPECT_TRUE(data.store->ScanEvents(0, [&](int64_t seq, const ingest::Event& e) {
                          builder.AddEvent(seq, e);
                          return true;
                        }).ok());
  }
  EXPECT_TRUE(builder.Finish().ok());
  std::vector<Profile> out;
  EXPECT_TRUE(builder.Emit([&](const Profile& p) {
                       out.push_back(p);
                       return Status::Ok();
                     }).ok());
  *stats = builder.stats();
  return out;
}

// Channels known up front (the snapshot is read on two threads) or not (a
// channel outside the configured list: one thread, indices in event order).
class EventSourceTest : public ::testing::TestWithParam<bool> {};

TEST_P(EventSourceTest, ProfilesFromColumnsEqualProfilesFromRows) {
  RandomStore data(6000);
  ProfileBuildStats rows_stats, columns_stats;
  const bool every_channel_listed = GetParam();
  std::vector<std::string> channels = {"web", "app", "store"};
  if (every_channel_listed) channels = {"kiosk", "web", "app", "store", "miniprogram", "sms", "email"};
  const std::vector<Profile> want = Build(data, false, &rows_stats, channels);
  const std::vector<Profile> got = Build(data, true, &columns_stats, channels, /*two_threads=*/true);
  EXPECT_GT(rows_stats.events_after_as_of, 0);
  EXPECT_GT(rows_stats.events_unattributed, 0);  // only the shared kiosk or nothing resolved
  EXPECT_GT(rows_stats.consent_events_invalid, 0);
  EXPECT_TRUE(rows_stats.clv_fitted);
  EXPECT_EQ(columns_stats.scan_threads, every_channel_listed ? 2 : 1);
  EXPECT_EQ(columns_stats.events_read, rows_stats.events_read);
  EXPECT_EQ(columns_stats.events_used, rows_stats.events_used);
  EXPECT_EQ(columns_stats.events_after_as_of, rows_stats.events_after_as_of);
  EXPECT_EQ(columns_stats.events_unattributed, rows_stats.events_unattributed);
  EXPECT_EQ(columns_stats.consent_events_invalid, rows_stats.consent_events_invalid);
  EXPECT_EQ(columns_stats.orders, rows_stats.orders);
  EXPECT_EQ(columns_stats.activity_records, rows_stats.activity_records);
  EXPECT_EQ(columns_stats.bgnbd.params.r, rows_stats.bgnbd.params.r);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_GT(want.size(), 200u);
  for (size_t i = 0; i < want.size(); ++i) {
    const Profile& a = got[i];
    const Profile& b = want[i];
    SCOPED_TRACE(b.customer_key);
    EXPECT_EQ(a.customer_key, b.customer_key);
    EXPECT_EQ(a.first_seen_ms, b.first_seen_ms);
    EXPECT_EQ(a.last_seen_ms, b.last_seen_ms);
    EXPECT_TRUE(Same(a.tenure_days, b.tenure_days));
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.identified, b.identified);
    EXPECT_EQ(a.first_purchase_ms, b.first_purchase_ms);
    EXPECT_EQ(a.last_purchase_ms, b.last_purchase_ms);
    EXPECT_TRUE(Same(a.recency_days, b.recency_days));
    EXPECT_EQ(a.frequency, b.frequency);
    EXPECT_TRUE(Same(a.monetary, b.monetary));
    EXPECT_TRUE(Same(a.gross_sales, b.gross_sales));
    EXPECT_TRUE(Same(a.refunds, b.refunds));
    EXPECT_TRUE(Same(a.avg_basket, b.avg_basket));
    EXPECT_TRUE(Same(a.refund_rate, b.refund_rate));
    EXPECT_EQ(a.RfmCell(), b.RfmCell());
    EXPECT_EQ(a.rfm_group, b.rfm_group);
    EXPECT_EQ(a.preferred_channel, b.preferred_channel);
    EXPECT_EQ(a.online_to_store, b.online_to_store);
    EXPECT_EQ(a.store_to_online, b.store_to_online);
    EXPECT_TRUE(Same(a.expected_purchases_90d, b.expected_purchases_90d));
    EXPECT_TRUE(Same(a.p_alive, b.p_alive));
    EXPECT_TRUE(Same(a.clv_12m, b.clv_12m));
    // Channels, affinities, windows, consent and the recent-event seqs.
    std::string da, db;
    std::vector<std::string> names;
    auto name_id = [&](std::string_view name) {
      auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) it = names.insert(names.end(), std::string(name));
      return static_cast<int64_t>(it - names.begin());
    };
    EncodeProfileDetail(a, name_id, da);
    EncodeProfileDetail(b, name_id, db);
    EXPECT_EQ(da, db);
  }
}

INSTANTIATE_TEST_SUITE_P(ChannelsListed, EventSourceTest, ::testing::Bool());

// A directory that reports the first appearances of another wrong for some
// identifiers and lists them in another order: what a store whose first
// events were erased, or an identity built another way, may look like.
class ShuffledDirectory : public identity::CustomerDirectory {
 public:
  explicit ShuffledDirectory(const identity::CustomerDirectory& d) : d_(d) {
    for (int32_t i = 0; i < d.identifier_count(); ++i) order_.push_back(i);
    std::reverse(order_.begin(), order_.end());
  }
  int32_t customer_count() const override { return d_.customer_count(); }
  const std::string& CustomerKey(int32_t c) const override { return d_.CustomerKey(c); }
  std::optional<int32_t> DenseIdOfKey(std::string_view key) const override { return d_.DenseIdOfKey(key); }
  std::optional<int32_t> CustomerOf(const ingest::Identity& i) const override { return d_.CustomerOf(i); }
  std::optional<int32_t> CustomerOfEvent(const ingest::Event& e) const override { return d_.CustomerOfEvent(e); }
  std::vector<ingest::Identity> IdentifiersOf(int32_t c) const override { return d_.IdentifiersOf(c); }
  int32_t identifier_count() const override { return d_.identifier_count(); }
  IdentifierEntry identifier(int32_t i) const override {
    IdentifierEntry e = d_.identifier(order_[static_cast<size_t>(i)]);
    if (i % 3 == 0) e.first_seq += 1 + i % 5;  // later than it really was
    if (i % 7 == 0) e.first_seq = 0;           // earlier than any event
    return e;
  }

 private:
  const identity::CustomerDirectory& d_;
  std::vector<int32_t> order_;
};

// Attribution through the snapshot's identifiers gives every event the
// customer the directory gives it by value, whether first appearances pair
// the identifiers up or not.
TEST(ColumnAttributionTest, EveryEventGetsTheCustomerOfItsStrongestIdentifier) {
  RandomStore data(4000);
  auto columns = store::EventColumns::Open(data.dir.str(), *data.store);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  const identity::IdentityConfig config;
  const ShuffledDirectory shuffled(*data.directory);
  const ColumnAttribution paired(**columns, *data.directory, config.strong);
  const ColumnAttribution by_value(**columns, shuffled, config.strong);
  int64_t events = 0, attributed = 0;
  ingest::Event e;
  for (const store::EventColumnBlock& b : (*columns)->blocks()) {
    for (int64_t row = 0; row < b.rows; ++row) {
      (*columns)->ToEvent(b, row, e);
      const int32_t want = data.directory->CustomerOfEvent(e).value_or(-1);
      bool identified = false, identified_too = false;
      EXPECT_EQ(paired.CustomerOf(b, row, &identified), want) << "seq " << b.seq[row];
      EXPECT_EQ(by_value.CustomerOf(b, row, &identified_too), want) << "seq " << b.seq[row];
      bool strong = false;
      for (const ingest::Identity& id : e.identities) strong |= config.IsStrong(id.type);
      EXPECT_EQ(identified, strong);
      EXPECT_EQ(identified_too, strong);
      ++events;
      attributed += want >= 0;
    }
  }
  EXPECT_GT(events, 3000);
  EXPECT_GT(attributed, events / 2);
  EXPECT_LT(attributed, events);  // some events have no usable identifier
}

}  // namespace
}  // namespace omni::profile
