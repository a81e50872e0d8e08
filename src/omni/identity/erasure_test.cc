// Erasure: forget a person, re-import the same file, the person stays gone;
// everybody else — the household member on the same tablet included — is
// untouched.
#include "omni/identity/erasure.h"

#include <fstream>

#include "gtest/gtest.h"
#include "omni/identity/identifier.h"
#include "omni/identity/test_util.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/format.h"
#include "omni/ingest/pipeline.h"

namespace omni::identity {
namespace {

using namespace omni::identity::testing;  // NOLINT: test helpers

// Wei (member card, phone, app, customer id) and Fang share a family tablet;
// Li is unrelated. Wei's phone is spelled three ways.
constexpr const char* kEvents[] = {
    R"({"event_id":"pos-1","ts":"2025-03-01T10:00:00+08:00","channel":"store","type":"purchase","identities":{"member_card":"M-WEI","phone":"138 0013 8000"},"item_id":"SKU-1","quantity":1,"price":10})",
    R"({"event_id":"app-1","ts":"2025-03-01T11:00:00+08:00","channel":"app","type":"view","identities":{"device_id":"wei-phone","customer_id":"CU-WEI","phone":"+86-138-0013-8000"},"item_id":"SKU-2"})",
    R"({"event_id":"app-2","ts":"2025-03-01T12:00:00+08:00","channel":"app","type":"view","identities":{"device_id":"wei-phone"},"item_id":"SKU-3"})",
    R"({"event_id":"tab-1","ts":"2025-03-02T20:00:00+08:00","channel":"app","type":"view","identities":{"device_id":"family-tablet","customer_id":"CU-WEI"},"item_id":"SKU-4"})",
    R"({"event_id":"sms-1","ts":"2025-03-03T09:00:00+08:00","channel":"sms","type":"click","identities":{"phone":"+8613800138000"}})",
    R"({"event_id":"tab-2","ts":"2025-03-02T21:00:00+08:00","channel":"app","type":"view","identities":{"device_id":"family-tablet","customer_id":"CU-FANG"},"item_id":"SKU-5"})",
    R"({"event_id":"web-1","ts":"2025-03-02T21:30:00+08:00","channel":"web","type":"view","identities":{"cookie_id":"fang-cookie","customer_id":"CU-FANG","email":"Fang@163.com"},"item_id":"SKU-6"})",
    R"({"event_id":"pos-2","ts":"2025-03-04T10:00:00+08:00","channel":"store","type":"purchase","identities":{"member_card":"M-LI","phone":"139 0000 0001"},"item_id":"SKU-7","quantity":1,"price":20})",
    R"({"event_id":"bad-1","ts":"not a time","channel":"store","type":"purchase","identities":{"member_card":"M-WEI"}})",
};
constexpr int64_t kWeiEvents = 5;

class ErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = d_.path() + "/events.jsonl";
    std::ofstream out(file_);
    for (const char* line : kEvents) out << line << "\n";
    out.close();
    auto config = ingest::LoadIngestConfig(d_.path());
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    pseudonymiser_ = std::make_unique<ingest::Pseudonymiser>(config_);
  }

  ingest::ImportSummary Import() {
    auto format = ingest::MakeFormat("jsonl", config_);
    EXPECT_TRUE(format.ok());
    auto summary = ingest::ImportFile(file_, "events.jsonl", **format, d_.store());
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    return summary.ok() ? *summary : ingest::ImportSummary{};
  }

  ingest::Identity Parse(const std::string& text) {
    auto id = ParseIdentifier(text, *pseudonymiser_);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return *id;
  }

  int64_t EventsLike(const std::string& needle) {
    return d_.Count("SELECT count(*) FROM events WHERE identities LIKE '%" + needle + "%'");
  }

  DataDir d_{"erasure"};
  std::string file_;
  ingest::IngestConfig config_;
  std::unique_ptr<ingest::Pseudonymiser> pseudonymiser_;
};

TEST_F(ErasureTest, ForgottenPersonStaysGoneAfterReimportAndOthersAreUntouched) {
  EXPECT_EQ(Import().accepted, 8);
  const ResolveStats before = d_.Resolve();
  ASSERT_TRUE(d_.IsShared(Device("family-tablet")));
  const std::string fang_key = d_.KeyOf(Cid("CU-FANG"));
  const std::string li_key = d_.KeyOf(Card("M-LI"));
  const auto fang_before = d_.Partition();
  ASSERT_EQ(d_.KeyOf(Cid("CU-WEI")), d_.KeyOf(Card("M-WEI")));
  ASSERT_EQ(d_.Count("SELECT count(*) FROM quarantine"), 1);

  auto forgotten = Forget(d_.store(), d_.sql(), IdentityConfig{}, Parse("phone:+86 138 0013 8000"));
  ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  EXPECT_FALSE(forgotten->already_forgotten);
  EXPECT_EQ(forgotten->events_deleted, kWeiEvents);
  EXPECT_EQ(forgotten->identifiers.size(), 4u);  // customer_id, member_card, phone, device
  EXPECT_EQ(forgotten->identifiers_deleted, 4);
  EXPECT_EQ(forgotten->shared_kept, std::vector<ingest::Identity>{Device("family-tablet")});
  EXPECT_EQ(forgotten->quarantine_deleted, 1);  // the bad line quoting M-WEI

  // Wei's events are gone, nothing else is.
  EXPECT_EQ(EventsLike("CU-WEI") + EventsLike("M-WEI") + EventsLike("wei-phone"), 0);
  EXPECT_EQ(d_.Count("SELECT count(*) FROM events"), 3);
  EXPECT_EQ(EventsLike("family-tablet"), 1);  // Fang's evening on the tablet stays
  EXPECT_EQ(d_.Count("SELECT count(*) FROM identifiers WHERE value IN ('CU-WEI','M-WEI','wei-phone')"), 0);
  EXPECT_EQ(d_.Count("SELECT count(*) FROM tombstones"), 4);

  // Fang and Li keep their customers; the tablet stays shared.
  EXPECT_EQ(d_.KeyOf(Cid("CU-FANG")), fang_key);
  EXPECT_EQ(d_.KeyOf(Card("M-LI")), li_key);
  EXPECT_TRUE(d_.IsShared(Device("family-tablet")));
  // The next resolution's totals no longer count Wei (the stored ones did).
  const ResolveStats after = d_.Resolve();
  EXPECT_EQ(after.customers, before.customers - 1);
  EXPECT_EQ(after.identifiers, before.identifiers - 4);

  // Re-importing the old file brings nothing of Wei back.
  ingest::ImportSummary again = Import();
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.erased, kWeiEvents);
  EXPECT_EQ(again.duplicates, 3);
  d_.Resolve();
  EXPECT_EQ(EventsLike("CU-WEI") + EventsLike("M-WEI") + EventsLike("wei-phone"), 0);
  EXPECT_EQ(CustomerKeyForArgument(d_.sql(), *pseudonymiser_, "phone:13800138000").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(d_.KeyOf(Cid("CU-FANG")), fang_key);

  // Forgetting again is harmless.
  auto twice = Forget(d_.store(), d_.sql(), IdentityConfig{}, Parse("phone:13800138000"));
  ASSERT_TRUE(twice.ok()) << twice.status().ToString();
  EXPECT_TRUE(twice->already_forgotten);
  EXPECT_EQ(twice->events_deleted, 0);
}

TEST_F(ErasureTest, ASharedIdentifierNamesNoOnePerson) {
  Import();
  d_.Resolve();
  auto refused = Forget(d_.store(), d_.sql(), IdentityConfig{}, Device("family-tablet"));
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(d_.Count("SELECT count(*) FROM events"), 8);
  auto unknown = Forget(d_.store(), d_.sql(), IdentityConfig{}, Card("M-NOBODY"));
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(ErasureTest, ProfileRowsOfTheCustomerAreDeleted) {
  Import();
  d_.Resolve();
  const std::string wei = d_.KeyOf(Card("M-WEI"));
  const std::string li = d_.KeyOf(Card("M-LI"));
  ASSERT_TRUE(d_.sql().Execute("CREATE TABLE profiles(customer_key TEXT PRIMARY KEY, body TEXT)").ok());
  ASSERT_TRUE(d_.sql().Execute("INSERT INTO profiles VALUES (?, 'x'), (?, 'y')", {wei, li}).ok());
  auto forgotten = Forget(d_.store(), d_.sql(), IdentityConfig{}, Card("M-WEI"));
  ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  EXPECT_EQ(forgotten->profile_rows_deleted, 1);
  EXPECT_EQ(d_.Count("SELECT count(*) FROM profiles"), 1);
}

}  // namespace
}  // namespace omni::identity
