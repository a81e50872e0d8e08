// Resolution over a real store: linking, guards across runs, stable keys and
// aliases, split, incremental == from scratch, order independence.
#include "omni/identity/resolver.h"

#include <algorithm>
#include <fstream>
#include <random>

#include "gtest/gtest.h"
#include "omni/demo/generator.h"
#include "omni/identity/identifier.h"
#include "omni/identity/test_util.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/format.h"
#include "omni/ingest/pipeline.h"

namespace omni::identity {
namespace {

using namespace omni::identity::testing;  // NOLINT: test helpers

TEST(ResolverTest, IdentifiersSeenTogetherAreOneCustomerKeyedByTheOldest) {
  DataDir d("link");
  d.Write({{"e1", {Cookie("k1")}},
           {"e2", {Cookie("k1"), Cid("C1")}},
           {"e3", {Cid("C1"), Phone("p1")}},
           {"e4", {Cid("C2")}}});
  ResolveStats s = d.Resolve();
  EXPECT_EQ(s.events_read, 4);
  EXPECT_EQ(s.identifiers, 4);
  EXPECT_EQ(s.links, 2);
  EXPECT_EQ(s.customers, 2);
  EXPECT_EQ(d.KeyOf(Cookie("k1")), "C000000001");  // the cookie was seen first
  EXPECT_EQ(d.KeyOf(Phone("p1")), "C000000001");
  EXPECT_EQ(d.KeyOf(Cid("C2")), "C000000004");

  // Nothing new: nothing read, same keys.
  ResolveStats again = d.Resolve();
  EXPECT_EQ(again.events_read, 0);
  EXPECT_EQ(again.changed_identifiers, 0);
  EXPECT_EQ(d.KeyOf(Phone("p1")), "C000000001");
}

TEST(ResolverTest, LinkSupportIsCountedOncePerEvent) {
  DataDir d("support");
  d.Write({{"e1", {Cid("C1"), Phone("p1")}}, {"e2", {Cid("C1"), Phone("p1")}}});
  d.Resolve();
  d.Write({{"e3", {Cid("C1"), Phone("p1")}}});
  d.Resolve();
  d.Resolve();
  EXPECT_EQ(d.Count("SELECT events FROM identity_links"), 3);
  EXPECT_EQ(d.Count("SELECT first_seq FROM identity_links"), 1);
}

TEST(ResolverTest, HouseholdTabletIsFlaggedAndItsEarlierMergeIsUndone) {
  DataDir d("household");
  d.Write({{"a1", {Cid("C1"), Phone("p1")}}, {"a2", {Device("tablet"), Cid("C1")}}});
  d.Resolve();
  EXPECT_EQ(d.KeyOf(Device("tablet")), d.KeyOf(Cid("C1")));  // one user so far: nothing to doubt

  // A second family member logs in on the tablet.
  d.Write({{"b1", {Cid("C2"), Email("e2")}}, {"b2", {Device("tablet"), Cid("C2")}}});
  ResolveStats s = d.Resolve();
  EXPECT_TRUE(d.IsShared(Device("tablet")));
  EXPECT_EQ(d.KeyOf(Device("tablet")), "");
  EXPECT_EQ(s.newly_shared, 1);
  EXPECT_NE(d.KeyOf(Cid("C1")), d.KeyOf(Cid("C2")));
  EXPECT_EQ(d.KeyOf(Cid("C1")), d.KeyOf(Phone("p1")));

  // The same events resolved in one go give the same partition.
  DataDir batch("household-batch");
  batch.Write({{"a1", {Cid("C1"), Phone("p1")}}, {"a2", {Device("tablet"), Cid("C1")}}});
  batch.Write({{"b1", {Cid("C2"), Email("e2")}}, {"b2", {Device("tablet"), Cid("C2")}}});
  batch.Resolve();
  EXPECT_EQ(batch.IdentifierRows(), d.IdentifierRows());

  // The directory puts a tablet event with the member logged in on that member.
  auto directory = LoadDirectory(d.sql());
  ASSERT_TRUE(directory.ok()) << directory.status().ToString();
  ingest::Event event;
  event.identities = {Device("tablet"), Cid("C2")};
  auto c2 = (*directory)->CustomerOf(Cid("C2"));
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ((*directory)->CustomerOfEvent(event), c2);
  event.identities = {Device("tablet")};
  EXPECT_FALSE((*directory)->CustomerOfEvent(event).has_value());
}

TEST(ResolverTest, KioskDoesNotMergeTheMembersWhoTapIt) {
  DataDir d("kiosk");
  std::vector<Ev> events;
  for (int i = 0; i < 20; ++i) {
    const std::string s = std::to_string(i);
    events.push_back({"pos-" + s, {Card("M" + s), Phone("p" + s)}});
    events.push_back({"kiosk-" + s, {Device("kiosk-SH-01-1"), Card("M" + s)}});
  }
  d.Write(events);
  ResolveStats s = d.Resolve();
  EXPECT_EQ(s.customers, 20);
  EXPECT_EQ(s.shared, 1);
  EXPECT_TRUE(d.IsShared(Device("kiosk-SH-01-1")));
}

TEST(ResolverTest, TwoCustomerIdsNeverMerge) {
  DataDir d("exclusive");
  d.Write({{"1", {Cid("C1"), Phone("p1")}},
           {"2", {Cid("C1"), Phone("p1")}},
           {"3", {Card("M1"), Cid("C2")}},
           {"4", {Card("M1"), Cid("C2")}},
           {"5", {Phone("p1"), Card("M1")}}});  // a till typo joins two people
  ResolveStats s = d.Resolve();
  EXPECT_EQ(s.refused_links, 1);
  EXPECT_NE(d.KeyOf(Cid("C1")), d.KeyOf(Cid("C2")));
  EXPECT_EQ(d.Count("SELECT count(*) FROM identity_refusals"), 1);
  EXPECT_EQ(d.Count("SELECT count(*) FROM identity_log WHERE action = 'refuse'"), 1);
  // Re-running does not log the same refusal again.
  d.Resolve();
  EXPECT_EQ(d.Count("SELECT count(*) FROM identity_log WHERE action = 'refuse'"), 1);
}

TEST(ResolverTest, MergeKeepsTheOlderKeyAndTheNewerKeyBecomesAnAlias) {
  DataDir d("alias");
  d.Write({{"1", {Cid("C1"), Cookie("k1")}}, {"2", {Card("M9"), Phone("p9")}}});
  d.Resolve();
  const std::string older = d.KeyOf(Cid("C1"));
  const std::string newer = d.KeyOf(Card("M9"));
  ASSERT_NE(older, newer);
  d.Write({{"3", {Cid("C1"), Phone("p9")}}});
  ResolveStats s = d.Resolve();
  EXPECT_EQ(s.merges, 1);
  EXPECT_EQ(d.KeyOf(Card("M9")), older);
  auto resolved = ResolveCustomerKey(d.sql(), newer);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->value_or(""), older);
  auto directory = LoadDirectory(d.sql());
  ASSERT_TRUE(directory.ok());
  EXPECT_EQ((*directory)->DenseIdOfKey(newer), (*directory)->DenseIdOfKey(older));
  EXPECT_EQ((*directory)->customer_count(), 1);
  EXPECT_EQ((*directory)->IdentifiersOf(0).size(), 4u);
  EXPECT_EQ((*directory)->IdentifiersOf(0)[0].type, IdentityType::kCustomerId);  // strongest first
}

TEST(ResolverTest, SplitBlocksAnIdentifierAndUndoRestores) {
  DataDir d("split");
  d.Write({{"1", {Cid("C1"), Phone("shared-by-mistake")}}, {"2", {Card("M2"), Phone("shared-by-mistake")}}});
  d.Resolve();
  const std::string key = d.KeyOf(Cid("C1"));
  ASSERT_EQ(key, d.KeyOf(Card("M2")));

  auto split = Split(d.store(), d.sql(), IdentityConfig{}, Phone("shared-by-mistake"), /*undo=*/false);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->old_key, key);
  EXPECT_EQ(split->customers.size(), 2u);
  EXPECT_EQ(d.KeyOf(Phone("shared-by-mistake")), "");
  EXPECT_EQ(d.KeyOf(Cid("C1")), key);  // the part with the oldest identifier keeps the key
  EXPECT_NE(d.KeyOf(Card("M2")), key);
  EXPECT_EQ(split->stats.splits, 1);

  // Later events do not re-link it.
  d.Write({{"3", {Cid("C1"), Phone("shared-by-mistake"), Card("M2")}}});
  d.Resolve();
  // ...except through the new direct link C1-M2, which is genuine evidence.
  EXPECT_EQ(d.KeyOf(Phone("shared-by-mistake")), "");

  auto undo = Split(d.store(), d.sql(), IdentityConfig{}, Phone("shared-by-mistake"), /*undo=*/true);
  ASSERT_TRUE(undo.ok()) << undo.status().ToString();
  EXPECT_EQ(d.KeyOf(Phone("shared-by-mistake")), key);

  auto missing = Split(d.store(), d.sql(), IdentityConfig{}, Phone("never-seen"), false);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(ResolverTest, SplitOffPartGetsItsOwnKeyAndAResurrectedKeyIsNoLongerAnAlias) {
  DataDir d("resurrect");
  d.Write({{"1", {Cid("C1")}}, {"2", {Card("M2")}}});
  d.Resolve();
  const std::string k2 = d.KeyOf(Card("M2"));
  d.Write({{"3", {Card("M2"), Phone("bridge")}}, {"4", {Cid("C1"), Phone("bridge")}}});
  d.Resolve();
  ASSERT_EQ(d.Count("SELECT count(*) FROM customer_key_aliases"), 1);
  ASSERT_TRUE(Split(d.store(), d.sql(), IdentityConfig{}, Phone("bridge"), false).ok());
  EXPECT_EQ(d.KeyOf(Card("M2")), k2);
  EXPECT_EQ(d.Count("SELECT count(*) FROM customer_key_aliases"), 0);
}

TEST(ResolverTest, SameEventsInAnotherOrderGiveTheSamePartition) {
  std::vector<Ev> events;
  for (int p = 0; p < 60; ++p) {
    const std::string s = std::to_string(p);
    events.push_back({"a" + s, {Cid("C" + s), Phone("p" + s)}});
    events.push_back({"b" + s, {Card("M" + s), Phone("p" + s)}});
    events.push_back({"c" + s, {Cookie("k" + s), Cid("C" + s)}});
    events.push_back({"d" + s, {Device("kiosk" + std::to_string(p % 3)), Card("M" + s)}});
    if (p % 6 == 0) events.push_back({"e" + s, {Device("tablet" + s), Cid("C" + std::to_string(p + 1))}});
    if (p % 6 == 0) events.push_back({"f" + s, {Device("tablet" + s), Cid("C" + s)}});
    if (p % 9 == 0) events.push_back({"g" + s, {Cookie("k" + s), Card("M" + std::to_string(p + 1))}});
  }
  DataDir first("order-1");
  first.Write(events);
  first.Resolve();
  std::mt19937_64 rng(3);
  for (int round = 0; round < 3; ++round) {
    std::shuffle(events.begin(), events.end(), rng);
    DataDir other("order-n");
    // In several batches with resolution between them, too.
    for (size_t i = 0; i < events.size(); i += 70) {
      other.Write(
          std::vector<Ev>(events.begin() + static_cast<std::ptrdiff_t>(i),
                          events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + 70))));
      other.Resolve();
    }
    EXPECT_EQ(other.Partition(), first.Partition()) << "round " << round;
  }
}

// Two runs that loaded the same state: the second to commit notices the
// first and writes nothing (Resolve() then recomputes), so no link count is
// doubled.
TEST(ResolverTest, AConcurrentRunIsDetectedBeforeItWrites) {
  DataDir d("concurrent");
  d.Write({{"1", {Cid("C1"), Phone("p1")}}});
  IdentityConfig config;
  internal::Resolution first(d.store(), d.sql(), config);
  internal::Resolution second(d.store(), d.sql(), config);
  ASSERT_TRUE(first.Load().ok());
  ASSERT_TRUE(second.Load().ok());
  ASSERT_TRUE(first.ScanNewEvents().ok());
  ASSERT_TRUE(second.ScanNewEvents().ok());
  ASSERT_TRUE(first.Commit().ok());
  auto late = second.Commit();
  EXPECT_EQ(late.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(d.Count("SELECT events FROM identity_links"), 1);
  EXPECT_EQ(d.Resolve().events_read, 0);
  EXPECT_EQ(d.Count("SELECT events FROM identity_links"), 1);
}

TEST(ResolverTest, GuardChangesInTheConfigurationApplyWithoutRereadingEvents) {
  DataDir d("config");
  d.Write({{"1", {Device("d"), Phone("p1")}},
           {"2", {Device("d"), Phone("p2")}},
           {"3", {Device("d"), Phone("p3")}}});
  d.Resolve();
  EXPECT_TRUE(d.IsShared(Device("d")));
  IdentityConfig loose;
  loose.Limit(IdentityType::kDeviceId, IdentityType::kPhone) = 5;
  ResolveStats s = d.Resolve(loose);
  EXPECT_EQ(s.events_read, 0);
  EXPECT_FALSE(d.IsShared(Device("d")));
  EXPECT_EQ(s.customers, 1);
}

// Every profile, feature and training command resolves first; with nothing
// new and the same configuration, the run answers from the totals stored
// with the partition instead of reloading the graph, and any change (new
// events, another configuration, an erasure) makes it recompute.
TEST(ResolverTest, AnUpToDateRunAnswersFromTheStoredTotalsUntilSomethingChanges) {
  DataDir d("settled");
  d.Write({{"1", {Cid("C1"), Phone("p1")}},
           {"2", {Device("d"), Phone("p1")}},
           {"3", {Device("d"), Phone("p2")}},
           {"4", {Device("d"), Phone("p3")}},
           {"5", {Cid("C2"), Card("M")}},
           {"6", {Card("M"), Phone("p9")}},
           {"6b", {Phone("p9"), Cid("C3")}}});
  const ResolveStats first = d.Resolve();
  EXPECT_EQ(first.shared, 1);
  EXPECT_EQ(first.refused_links, 1);
  const ResolveStats again = d.Resolve();
  EXPECT_EQ(again.events_read, 0);
  EXPECT_EQ(again.watermark, first.watermark);
  for (auto field : {&ResolveStats::identifiers, &ResolveStats::links, &ResolveStats::customers,
                     &ResolveStats::shared, &ResolveStats::blocked, &ResolveStats::refused_links}) {
    EXPECT_EQ(again.*field, first.*field);
  }
  EXPECT_EQ(again.new_customers, 0);

  // The answer comes from the stored totals: the graph was not reloaded.
  ASSERT_TRUE(d.sql().Execute("UPDATE identity_state SET totals = replace(totals, 'customers=', 'customers=9')")
                  .ok());
  EXPECT_EQ(d.Resolve().customers, first.customers + 90);  // "customers=N" became "customers=9N" (N < 10)
  // Unreadable totals: recomputed, and stored right again.
  ASSERT_TRUE(d.sql().Execute("UPDATE identity_state SET totals = 'customers=x'").ok());
  EXPECT_EQ(d.Resolve().customers, first.customers);
  EXPECT_EQ(d.Resolve().customers, first.customers);

  // New events: read and resolved.
  d.Write({{"7", {Cid("C4")}}});
  const ResolveStats more = d.Resolve();
  EXPECT_EQ(more.events_read, 1);
  EXPECT_EQ(more.customers, first.customers + 1);
  EXPECT_EQ(d.Resolve().customers, first.customers + 1);

  // Another configuration: recomputed with it (the device is no longer shared).
  IdentityConfig loose;
  loose.Limit(IdentityType::kDeviceId, IdentityType::kPhone) = 5;
  EXPECT_EQ(d.Resolve(loose).shared, 0);
  EXPECT_EQ(d.Resolve(loose).shared, 0);
  EXPECT_EQ(d.Resolve().shared, 1);
}

TEST(ResolverTest, ConfigFileOverridesLimits) {
  auto config = ParseIdentityConfig(
      R"({"channels":["web"],"identity":{"exclusive":["customer_id","member_card"],
          "max_distinct":{"device_id":{"phone":4},"phone":{"member_card":0}}}})",
      "config.json");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->Limit(IdentityType::kDeviceId, IdentityType::kPhone), 4);
  EXPECT_EQ(config->Limit(IdentityType::kPhone, IdentityType::kMemberCard), 0);
  EXPECT_EQ(config->Limit(IdentityType::kPhone, IdentityType::kCustomerId), 1);  // default kept
  EXPECT_TRUE(config->IsExclusive(IdentityType::kMemberCard));
  EXPECT_EQ(ParseIdentityConfig(R"({"identity":{"strong":["fax"]}})", "c").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseIdentityConfig(R"({"identity":{"max_distinct":{"phone":{"email":-1}}}})", "c").status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseIdentityConfig(R"({"channels":["web"]})", "c").ok());
}

// Demo data imported in two halves with a resolution after each gives
// exactly the identifiers, ids, keys and flags of one resolution over all.
TEST(ResolverTest, IncrementalResolutionEqualsFromScratch) {
  const std::string dir = NewTempDir("incremental-data");
  demo::DemoOptions options;
  options.customers = 600;
  options.events = 20000;
  options.seed = 11;
  options.shared_device_rate = 0.05;
  auto paths = demo::DemoPaths::Beside(dir + "/demo.jsonl");
  ASSERT_TRUE(demo::GenerateDemo(options, paths).ok());
  // The halves, split by lines.
  {
    std::ifstream in(paths.events);
    std::ofstream a(dir + "/a.jsonl"), b(dir + "/b.jsonl");
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) (n++ < 10000 ? a : b) << line << "\n";
  }
  auto import = [&](DataDir& d, const std::string& file) {
    auto config = ingest::LoadIngestConfig(d.path());
    ASSERT_TRUE(config.ok());
    auto format = ingest::MakeFormat("jsonl", *config);
    ASSERT_TRUE(format.ok());
    auto summary = ingest::ImportFile(file, file, **format, d.store());
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  };
  DataDir whole("incremental-whole");
  DataDir halves("incremental-halves");
  // The same PII key in both, so hashed identifiers are equal.
  ASSERT_TRUE(ingest::LoadIngestConfig(whole.path()).ok());  // creates the key
  std::filesystem::copy_file(whole.path() + "/pii.key", halves.path() + "/pii.key",
                             std::filesystem::copy_options::overwrite_existing);
  import(whole, paths.events);
  ResolveStats all = whole.Resolve();
  import(halves, dir + "/a.jsonl");
  halves.Resolve();
  import(halves, dir + "/b.jsonl");
  ResolveStats second = halves.Resolve();
  EXPECT_LT(second.events_read, all.events_read);
  EXPECT_GT(all.shared, 0);
  EXPECT_EQ(halves.IdentifierRows(), whole.IdentifierRows());
  EXPECT_EQ(halves.Count("SELECT count(*) FROM identity_links"),
            whole.Count("SELECT count(*) FROM identity_links"));
  EXPECT_EQ(halves.Count("SELECT sum(events) FROM identity_links"),
            whole.Count("SELECT sum(events) FROM identity_links"));
  std::filesystem::remove_all(dir);
}

TEST(ResolverTest, IdentifierArgumentsAreNormalisedAndHashedAsIngestDoes) {
  DataDir d("argument");
  auto config = ingest::LoadIngestConfig(d.path());
  ASSERT_TRUE(config.ok());
  ingest::Pseudonymiser pseudonymiser(*config);
  auto phone = ParseIdentifier("phone:+86 138 0013 8000", pseudonymiser);
  ASSERT_TRUE(phone.ok()) << phone.status().ToString();
  auto same = ParseIdentifier("phone:13800138000", pseudonymiser);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(phone->value, same->value);
  EXPECT_EQ(phone->value.size(), 32u);
  EXPECT_EQ(DisplayIdentifier(*phone, *config), "phone:" + phone->value.substr(0, 12) + "…");
  EXPECT_EQ(ParseIdentifier("fax:1", pseudonymiser).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIdentifier("M0042", pseudonymiser).status().code(), StatusCode::kInvalidArgument);
  auto bad = ParseIdentifier("email:not an address", pseudonymiser);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("not an address"), std::string::npos);  // never echo PII

  d.Write({{"1", {*phone, Card("M0042")}}});
  d.Resolve();
  auto key = CustomerKeyForArgument(d.sql(), pseudonymiser, "phone:0086 138 0013 8000");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, "C000000001");
  EXPECT_EQ(CustomerKeyForArgument(d.sql(), pseudonymiser, "C000000001").value(), "C000000001");
  EXPECT_EQ(CustomerKeyForArgument(d.sql(), pseudonymiser, "member_card:M9").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(FormatCustomerKey(123), "C000000123");
  EXPECT_EQ(FormatCustomerKey(999999999), "C999999999");
  EXPECT_EQ(FormatCustomerKey(1234567890), "C1234567890");  // wider than the padding
  EXPECT_EQ(ParseCustomerKey(FormatCustomerKey(1234567890)), 1234567890);
  EXPECT_EQ(ParseCustomerKey("C000000123"), 123);
  EXPECT_FALSE(ParseCustomerKey("X1").has_value());
}

}  // namespace
}  // namespace omni::identity
