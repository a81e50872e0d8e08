// Erasure and the columnar events snapshot (store/event_columns.h): a
// forgotten person's events must not survive in the snapshot the profile and
// feature builds read, neither in the file nor after a re-import.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "omni/identity/erasure.h"
#include "omni/identity/identifier.h"
#include "omni/identity/test_util.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/format.h"
#include "omni/ingest/pipeline.h"
#include "omni/store/event_columns.h"

namespace omni::identity {
namespace {

using namespace omni::identity::testing;  // NOLINT: test helpers

constexpr const char* kEvents[] = {
    R"({"event_id":"w-1","ts":"2025-03-01T10:00:00+08:00","channel":"store","type":"purchase","identities":{"member_card":"M-WEI"},"item_id":"SKU-1","quantity":1,"price":10,"order_id":"O-1"})",
    R"({"event_id":"w-2","ts":"2025-03-01T11:00:00+08:00","channel":"app","type":"view","identities":{"device_id":"wei-phone","member_card":"M-WEI"},"item_id":"SKU-2"})",
    R"({"event_id":"w-3","ts":"2025-03-01T12:00:00+08:00","channel":"app","type":"view","identities":{"device_id":"wei-phone"},"item_id":"SKU-3"})",
    R"({"event_id":"l-1","ts":"2025-03-04T10:00:00+08:00","channel":"store","type":"purchase","identities":{"member_card":"M-LI"},"item_id":"SKU-7","quantity":1,"price":20})",
    R"({"event_id":"l-2","ts":"2025-03-05T10:00:00+08:00","channel":"web","type":"view","identities":{"cookie_id":"li-cookie","member_card":"M-LI"},"item_id":"SKU-7"})",
};

// Every identifier value in the snapshot's events.
std::vector<std::string> ValuesIn(const store::EventColumns& columns) {
  std::vector<std::string> values;
  for (const store::EventColumnBlock& b : columns.blocks()) {
    for (int64_t r = 0; r < b.rows; ++r) {
      for (int32_t id : b.IdentitiesOf(r)) values.emplace_back(columns.identity_value(id));
    }
  }
  return values;
}

TEST(ErasureColumnsTest, AForgottenCustomersEventsLeaveTheSnapshot) {
  DataDir d("erasure_columns");
  const std::string file = d.path() + "/events.jsonl";
  {
    std::ofstream out(file);
    for (const char* line : kEvents) out << line << "\n";
  }
  auto config = ingest::LoadIngestConfig(d.path());
  ASSERT_TRUE(config.ok());
  auto format = ingest::MakeFormat("jsonl", *config);
  ASSERT_TRUE(format.ok());
  auto import = [&] {
    auto summary = ingest::ImportFile(file, "events.jsonl", **format, d.store());
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
  };
  import();
  d.Resolve();
  {
    auto columns = store::EventColumns::Open(d.path(), d.store());
    ASSERT_TRUE(columns.ok()) << columns.status().ToString();
    EXPECT_EQ((*columns)->rows(), 5);
  }
  const std::string snapshot = d.path() + "/columns/events.col";
  ASSERT_TRUE(std::filesystem::exists(snapshot));

  auto forgotten = Forget(d.store(), d.sql(), IdentityConfig{}, Card("M-WEI"));
  ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  EXPECT_EQ(forgotten->events_deleted, 3);
  EXPECT_FALSE(std::filesystem::exists(snapshot));  // removed with the events

  auto columns = store::EventColumns::Open(d.path(), d.store());
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_TRUE((*columns)->open_stats().rebuilt);
  EXPECT_EQ((*columns)->rows(), 2);
  for (const std::string& v : ValuesIn(**columns)) {
    EXPECT_TRUE(v != "M-WEI" && v != "wei-phone") << v;
  }
  for (const auto& order : (*columns)->blocks()[0].orders) EXPECT_NE(order, "O-1");
  columns->reset();

  // Re-importing the old file appends nothing of Wei's.
  import();
  columns = store::EventColumns::Open(d.path(), d.store());
  ASSERT_TRUE(columns.ok());
  EXPECT_EQ((*columns)->rows(), 2);
  for (const std::string& v : ValuesIn(**columns)) {
    EXPECT_TRUE(v != "M-WEI" && v != "wei-phone") << v;
  }
}

}  // namespace
}  // namespace omni::identity
