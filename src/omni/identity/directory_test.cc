// The directory against the identity tables, exhaustively on demo data:
// every identifier maps to the customer its row names, every event to the
// customer of its strongest usable identifier.
#include <map>

#include "gtest/gtest.h"
#include "omni/demo/generator.h"
#include "omni/identity/identity.h"
#include "omni/identity/test_util.h"

namespace omni::identity {
namespace {

using namespace omni::identity::testing;  // NOLINT: test helpers

TEST(DirectoryTest, AgreesWithTheIdentityTablesOnDemoData) {
  DataDir d("directory");
  ImportDemo(d, {.customers = 500, .events = 15000, .seed = 5, .shared_device_rate = 0.05});
  ResolveStats stats = d.Resolve();
  ASSERT_GT(stats.shared, 0);

  auto loaded = LoadDirectory(d.sql());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const CustomerDirectory& directory = **loaded;
  EXPECT_EQ(directory.customer_count(), stats.customers);
  for (int32_t c = 1; c < directory.customer_count(); ++c) {
    EXPECT_LT(directory.CustomerKey(c - 1), directory.CustomerKey(c));
  }

  // Every identifier row, looked up through the directory.
  std::map<std::pair<int, std::string>, std::string> key_of;
  int64_t keyed = 0;
  Status st = d.sql().Query("SELECT type, value, IFNULL(customer_key, '') FROM identifiers", {},
                            [&](const store::SqlRow& row) {
                              const auto type = *ingest::ParseIdentityType(row.Text(0));
                              const ingest::Identity identity{type, std::string(row.Text(1))};
                              const std::string key(row.Text(2));
                              key_of[{static_cast<int>(type), identity.value}] = key;
                              const auto dense = directory.CustomerOf(identity);
                              if (key.empty()) {
                                EXPECT_FALSE(dense.has_value());
                              } else {
                                ++keyed;
                                EXPECT_TRUE(dense.has_value());
                                if (dense) {
                                  EXPECT_EQ(directory.CustomerKey(*dense), key);
                                  EXPECT_EQ(directory.DenseIdOfKey(key), dense);
                                }
                              }
                              return true;
                            });
  ASSERT_TRUE(st.ok()) << st.ToString();
  int64_t listed = 0;
  for (int32_t c = 0; c < directory.customer_count(); ++c) {
    for (const ingest::Identity& identity : directory.IdentifiersOf(c)) {
      ++listed;
      EXPECT_EQ(directory.CustomerOf(identity), c);
    }
  }
  EXPECT_EQ(listed, keyed);

  // Every event: the customer of its strongest identifier that has one.
  IdentityConfig ranks;
  int64_t events = 0;
  st = d.store().ScanEvents(0, [&](int64_t, const ingest::Event& event) {
    ++events;
    std::string expected;
    int best = 1 << 30;
    for (const ingest::Identity& identity : event.identities) {
      const std::string& key = key_of[{static_cast<int>(identity.type), identity.value}];
      if (!key.empty() && ranks.Rank(identity.type) < best) {
        best = ranks.Rank(identity.type);
        expected = key;
      }
    }
    const auto dense = directory.CustomerOfEvent(event);
    EXPECT_EQ(dense.has_value(), !expected.empty());
    if (dense) {
      EXPECT_EQ(directory.CustomerKey(*dense), expected);
    }
    return true;
  });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(events, 15000);
}

// The load a profile build makes (no value maps, half of the rows read on a
// second connection) holds the same customers and identifiers, in the
// table's order.
TEST(DirectoryTest, ALoadOnTwoConnectionsWithoutValueMapsHoldsTheSameIdentifiers) {
  DataDir d("directory-halves");
  ImportDemo(d, {.customers = 300, .events = 6000, .seed = 9});
  d.Resolve();

  auto full = LoadDirectory(d.sql());
  ASSERT_TRUE(full.ok());
  auto second = store::OpenSqliteSql(d.path());
  ASSERT_TRUE(second.ok());
  DirectoryOptions halves;
  halves.value_index = false;
  halves.second_connection = second->get();
  halves.split_min_identifiers = 0;  // split however small
  auto split = LoadDirectory(d.sql(), IdentityConfig{}, halves);
  ASSERT_TRUE(split.ok()) << split.status().ToString();

  ASSERT_EQ((*split)->customer_count(), (*full)->customer_count());
  for (int32_t c = 0; c < (*full)->customer_count(); ++c) {
    EXPECT_EQ((*split)->CustomerKey(c), (*full)->CustomerKey(c));
  }
  ASSERT_EQ((*split)->identifier_count(), (*full)->identifier_count());
  int64_t rows = 0, previous_first = 0;
  ASSERT_TRUE(d.sql().Query("SELECT count(*) FROM identifiers WHERE customer_key IS NOT NULL", {},
                            [&](const store::SqlRow& r) {
                              rows = r.Int(0);
                              return false;
                            }).ok());
  EXPECT_EQ((*full)->identifier_count(), rows);
  for (int32_t i = 0; i < (*full)->identifier_count(); ++i) {
    const auto a = (*full)->identifier(i);
    const auto b = (*split)->identifier(i);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.first_seq, b.first_seq);
    EXPECT_EQ(a.customer, b.customer);
    EXPECT_EQ((*full)->CustomerOf({a.type, std::string(a.value)}), a.customer);
    EXPECT_GE(a.first_seq, previous_first);  // the store numbers identifiers as they first appear
    previous_first = a.first_seq;
  }
}

// Customer keys far apart (not from one counter) load as well as dense ones.
TEST(DirectoryTest, SparseCustomerKeysLoadInKeyOrder) {
  DataDir d("directory-sparse");
  ASSERT_TRUE(MigrateIdentityTables(d.sql()).ok());
  const char* rows[][3] = {{"phone", "p1", "C900000000"}, {"email", "e1", "C5"}, {"cookie_id", "k1", "C900000000"},
                           {"member_card", "m1", "C77"}};
  int64_t id = 1;
  for (const auto& r : rows) {
    ASSERT_TRUE(d.sql()
                    .Execute("INSERT INTO identifiers(id, type, value, first_seq, customer_key) VALUES (?, ?, ?, ?, ?)",
                             {id, std::string(r[0]), std::string(r[1]), id, std::string(r[2])})
                    .ok());
    ++id;
  }
  for (bool value_index : {true, false}) {
    DirectoryOptions options;
    options.value_index = value_index;
    auto loaded = LoadDirectory(d.sql(), IdentityConfig{}, options);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ((*loaded)->customer_count(), 3);
    EXPECT_EQ((*loaded)->CustomerKey(0), "C000000005");  // keys are written canonically
    EXPECT_EQ((*loaded)->CustomerKey(1), "C000000077");
    EXPECT_EQ((*loaded)->CustomerKey(2), "C900000000");
    EXPECT_EQ((*loaded)->identifier(0).customer, 2);
    EXPECT_EQ((*loaded)->identifier(1).customer, 0);
    EXPECT_EQ((*loaded)->identifier(2).customer, 2);
    EXPECT_EQ((*loaded)->identifier(3).customer, 1);
    EXPECT_EQ((*loaded)->IdentifiersOf(2).size(), 2u);
  }
}

}  // namespace
}  // namespace omni::identity
