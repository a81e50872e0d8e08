#include "omni/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "omni/store/migrations.h"

namespace omni::store {
namespace {

using ingest::Availability;
using ingest::Batch;
using ingest::BatchResult;
using ingest::Event;
using ingest::Identity;
using ingest::IdentityType;
using ingest::Item;
using ingest::RejectedRecord;
using ingest::RejectReason;

namespace fs = std::filesystem;

// A fresh directory per test under $OMNI_TEST_TMP (set by CTest), removed at
// the end.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("OMNI_TEST_TMP");
    fs::path root = base != nullptr ? fs::path(base) : fs::temp_directory_path();
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (root / ("store_" + std::string(info->name()) + "_" + std::to_string(getpid()) + "_" +
                    std::to_string(counter++)))
               .string();
    base_dir_ = dir_;
    fs::remove_all(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_dir_, ec);  // tests may point dir_ below it
  }

  std::unique_ptr<Store> Open(const StoreOptions& options = {}) {
    auto store = Store::OpenSqlite(dir_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Runs SQL on omni.db from a separate raw connection, as a second process or
  // a hand edit would.
  void RawSql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fs::path(dir_) / "omni.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  int64_t RawInt(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((fs::path(dir_) / "omni.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    int64_t v = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
  }

  std::string dir_;
  std::string base_dir_;
};

Event MakeEvent(const std::string& id, int64_t ts_ms = 1700000000000) {
  Event e;
  e.event_id = id;
  e.ts_ms = ts_ms;
  e.tz_offset_min = 480;
  e.channel = "web";
  e.type = "purchase";
  e.identities = {{IdentityType::kCustomerId, "C-" + id}};
  e.item_id = "SKU-1";
  e.quantity = 1;
  e.price = 9.5;
  e.currency = "CNY";
  return e;
}

Batch EventsBatch(const std::vector<std::string>& ids) {
  Batch batch;
  for (const std::string& id : ids) batch.events.push_back(MakeEvent(id));
  return batch;
}

std::vector<std::pair<int64_t, Event>> AllEvents(Store& store, int64_t after_seq = 0) {
  std::vector<std::pair<int64_t, Event>> out;
  Status status = store.ScanEvents(after_seq, [&](int64_t seq, const Event& e) {
    out.emplace_back(seq, e);
    return true;
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

std::vector<std::string> AllIds(Store& store) {
  std::vector<std::string> ids;
  for (const auto& [seq, e] : AllEvents(store)) ids.push_back(e.event_id);
  return ids;
}

void ExpectSameEvent(const Event& got, const Event& want) {
  EXPECT_EQ(got.event_id, want.event_id);
  EXPECT_EQ(got.ts_ms, want.ts_ms);
  EXPECT_EQ(got.tz_offset_min, want.tz_offset_min);
  EXPECT_EQ(got.channel, want.channel);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.identities, want.identities);
  EXPECT_EQ(got.item_id, want.item_id);
  EXPECT_EQ(got.quantity, want.quantity);
  EXPECT_EQ(got.price, want.price);
  EXPECT_EQ(got.currency, want.currency);
  EXPECT_EQ(got.order_id, want.order_id);
  EXPECT_EQ(got.store_id, want.store_id);
  EXPECT_EQ(got.campaign_id, want.campaign_id);
  EXPECT_EQ(got.properties_json, want.properties_json);
  EXPECT_EQ(got.line_no, want.line_no);
}

TEST_F(StoreTest, CreatesDataDirAndSchema) {
  dir_ += "/nested/data";
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(fs::path(dir_) / "omni.db"));
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->schema_version, LatestSchemaVersion());
  EXPECT_EQ(stats->events, 0);
  EXPECT_EQ(stats->min_ts_ms, 0);
  EXPECT_EQ(RawInt("SELECT count(*) FROM schema_version"), 1);
  EXPECT_EQ(RawInt("SELECT version FROM schema_version"), LatestSchemaVersion());
  // WAL persists in the file header.
  EXPECT_EQ(RawInt("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
  // The hot path keeps only the rowid B-tree: no index on event_id,
  // event_key or ts_ms (see migrations.cc).
  EXPECT_EQ(RawInt("SELECT count(*) FROM pragma_index_list('events')"), 0);
}

TEST_F(StoreTest, RoundTripsEveryField) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Event full;
  full.event_id = "订单-0001/行1";
  full.ts_ms = 1718000000123;
  full.tz_offset_min = -330;
  full.channel = "miniprogram";
  full.type = "purchase";
  full.identities = {{IdentityType::kPhone, "0123456789abcdef0123456789abcdef"},
                     {IdentityType::kMemberCard, "会员M0042"},
                     // Characters the JSON writer must escape.
                     {IdentityType::kCookieId, "q\"uo\\te\n\ttab\x01"}};
  full.item_id = "茶-乌龙-500g";
  full.quantity = 2.5;
  full.price = 128.75;
  full.currency = "CNY";
  full.order_id = "O-2024-0001";
  full.store_id = "上海-静安-01";
  full.campaign_id = "双十一";
  full.properties_json = R"({"颜色":"红","size":3})";
  full.line_no = 17;

  Event sparse;  // every optional absent
  sparse.event_id = "e-sparse";
  sparse.ts_ms = 5;
  sparse.identities = {{IdentityType::kDeviceId, "dev-1"}};
  sparse.line_no = 18;

  Batch batch;
  batch.events = {full, sparse};
  auto result = store->Write("mixed.jsonl", batch);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->accepted, 2);

  auto events = AllEvents(*store);
  ASSERT_EQ(events.size(), 2u);
  ExpectSameEvent(events[0].second, full);
  ExpectSameEvent(events[1].second, sparse);
  EXPECT_LT(events[0].first, events[1].first);
  // Absent values are SQL NULL, not "" or 0.
  EXPECT_EQ(RawInt("SELECT count(*) FROM events WHERE seq = " + std::to_string(events[1].first) +
                   " AND quantity IS NULL AND price IS NULL AND item_id IS NULL AND channel IS NULL"
                   " AND properties IS NULL AND import_id IS NULL"),
            1);

  // The same rows read back by a second, fresh object.
  auto other = Open();
  ASSERT_NE(other, nullptr);
  auto again = AllEvents(*other);
  ASSERT_EQ(again.size(), 2u);
  ExpectSameEvent(again[0].second, full);
}

TEST_F(StoreTest, RewritingTheSameBatchIsIdempotent) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back("ev-" + std::to_string(i));
  Batch batch = EventsBatch(ids);
  auto first = store->Write("a.jsonl", batch);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->accepted, 1000);
  EXPECT_EQ(first->duplicates, 0);

  auto second = store->Write("a.jsonl", batch);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->accepted, 0);
  EXPECT_EQ(second->duplicates, 1000);

  // A new object (another run of omni) loads the index from disk.
  store.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  auto third = reopened->Write("a.jsonl", batch);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->accepted, 0);
  EXPECT_EQ(third->duplicates, 1000);
  EXPECT_EQ(reopened->Stats()->events, 1000);
}

TEST_F(StoreTest, DuplicatesWithinOneBatch) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch batch = EventsBatch({"a", "b", "a", "c", "b", "a"});
  auto result = store->Write("s", batch);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->accepted, 3);
  EXPECT_EQ(result->duplicates, 3);
  EXPECT_EQ(AllIds(*store), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(StoreTest, TwoStoresWritingAlternatelyStayExact) {
  auto s1 = Open();
  auto s2 = Open();
  ASSERT_NE(s1, nullptr);
  ASSERT_NE(s2, nullptr);
  auto write = [](Store& s, std::vector<std::string> ids) {
    Batch batch = EventsBatch(ids);
    auto r = s.Write("s", batch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::make_pair(r->accepted, r->duplicates) : std::make_pair(-1L, -1L);
  };
  EXPECT_EQ(write(*s1, {"a", "b"}), std::make_pair(2L, 0L));
  EXPECT_EQ(write(*s2, {"b", "c"}), std::make_pair(1L, 1L));  // s2 loads a, b
  EXPECT_EQ(write(*s1, {"c", "d"}), std::make_pair(1L, 1L));  // s1 refreshes c
  EXPECT_EQ(write(*s2, {"a", "d", "e"}), std::make_pair(1L, 2L));
  EXPECT_EQ(write(*s1, {"e", "f", "f"}), std::make_pair(1L, 2L));
  EXPECT_EQ(AllIds(*s1), (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  // Sequence numbers stay strictly increasing across writers.
  int64_t last = 0;
  for (const auto& [seq, e] : AllEvents(*s2)) {
    EXPECT_GT(seq, last);
    last = seq;
  }
}

TEST_F(StoreTest, AnotherProcessWritingInBetweenStaysExact) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch first = EventsBatch({"a", "b"});
  ASSERT_TRUE(store->Write("s", first).ok());

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A separate process with its own connection; it must not touch the
    // parent's. _exit skips destructors of everything inherited.
    auto other = Store::OpenSqlite(dir_);
    if (!other.ok()) _exit(2);
    Batch batch = EventsBatch({"b", "c"});
    auto r = (*other)->Write("s", batch);
    _exit(r.ok() && r->accepted == 1 && r->duplicates == 1 ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);

  Batch next = EventsBatch({"c", "d"});
  auto r = store->Write("s", next);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 1);    // d
  EXPECT_EQ(r->duplicates, 1);  // c, which only the other process wrote
  EXPECT_EQ(AllIds(*store), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(StoreTest, ConcurrentWritersTakeTurnsAndStayExact) {
  // Two threads, two objects, overlapping ids, batches interleaving on the
  // write lock: every id is stored exactly once.
  auto writer = [this](int first_id, int64_t* accepted, int64_t* duplicates) {
    auto store = Store::OpenSqlite(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int start = first_id; start < first_id + 6000; start += 500) {
      std::vector<std::string> ids;
      for (int i = start; i < start + 500; ++i) ids.push_back("id-" + std::to_string(i));
      Batch batch = EventsBatch(ids);
      auto r = (*store)->Write("s", batch);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      *accepted += r->accepted;
      *duplicates += r->duplicates;
    }
  };
  { ASSERT_NE(Open(), nullptr); }  // create the schema before the race
  int64_t accepted[2] = {0, 0};
  int64_t duplicates[2] = {0, 0};
  std::thread t1(writer, 0, &accepted[0], &duplicates[0]);
  std::thread t2(writer, 3000, &accepted[1], &duplicates[1]);
  t1.join();
  t2.join();
  EXPECT_EQ(accepted[0] + accepted[1], 9000);
  EXPECT_EQ(duplicates[0] + duplicates[1], 3000);
  auto store = Open();
  EXPECT_EQ(store->Stats()->events, 9000);
}

TEST_F(StoreTest, FailedBatchLeavesNothingAndTheNextWriteWorks) {
  bool fail = false;
  std::string fail_at;
  StoreOptions options;
  options.fail_point = [&](std::string_view point) {
    return fail && point == fail_at ? Internal("injected failure at " + std::string(point))
                                    : Status::Ok();
  };
  auto store = Open(options);
  ASSERT_NE(store, nullptr);

  Batch first = EventsBatch({"a", "b"});
  ASSERT_TRUE(store->Write("s", first).ok());

  Batch batch = EventsBatch({"b", "c", "d", "c"});
  batch.rejected.push_back({7, RejectReason::kBadTimestamp, "ts", "line 7: bad ts", "{\"ts\":1}"});
  batch.items.push_back({"SKU-1", "Mug", "Home > Mugs", "Acme", 9.5, ""});
  batch.availability.push_back({"SKU-1", "web", "", true, 3});

  for (const char* point : {"after_events", "before_commit"}) {
    SCOPED_TRACE(point);
    fail = true;
    fail_at = point;
    auto failed = store->Write("s", batch);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
    auto stats = store->Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->events, 2);
    EXPECT_EQ(stats->quarantined, 0);
    EXPECT_EQ(stats->items, 0);
    EXPECT_EQ(stats->availability, 0);
  }

  fail = false;
  auto ok = store->Write("s", batch);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->accepted, 2);    // c, d: the failed attempts left no trace in the index
  EXPECT_EQ(ok->duplicates, 2);  // b, and the second c
  EXPECT_EQ(ok->items, 1);
  EXPECT_EQ(AllIds(*store), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(store->Stats()->quarantined, 1);

  // And the index is right afterwards too.
  auto again = store->Write("s", batch);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 0);
}

// Schema version 1 stored BLAKE2b keys (the function Hash64 still is);
// version 2 rewrites them to ingest::EventKey, and dedupe goes on working.
TEST_F(StoreTest, Version1StoreMigratesItsEventKeys) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Batch batch = EventsBatch({"a", "b", "c"});
    ASSERT_TRUE(store->Write("s", batch).ok());
  }
  // Make it a version 1 file, as an older omni left it.
  for (const char* id : {"a", "b", "c"}) {
    RawSql("UPDATE events SET event_key = " + std::to_string(SqliteStore::Hash64(id)) +
           " WHERE event_id = '" + id + "'");
  }
  RawSql("UPDATE schema_version SET version = 1");
  {
    StoreOptions read_only;
    read_only.read_only = true;
    auto reader = Open(read_only);  // readers take it as it is
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(AllIds(*reader), (std::vector<std::string>{"a", "b", "c"}));
  }
  EXPECT_EQ(RawInt("SELECT event_key FROM events WHERE event_id = 'b'"), SqliteStore::Hash64("b"));
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawInt("SELECT max(version) FROM schema_version"), LatestSchemaVersion());
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(RawInt(std::string("SELECT event_key FROM events WHERE event_id = '") + id + "'"),
              ingest::EventKey(id))
        << id;
  }
  Batch again = EventsBatch({"a", "b", "c", "d"});
  auto r = store->Write("s", again);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 1);
  EXPECT_EQ(r->duplicates, 3);
  EXPECT_EQ(AllIds(*store), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(StoreTest, GenuineKeyCollisionIsNotADuplicate) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch warmup = EventsBatch({"warmup"});
  ASSERT_TRUE(store->Write("s", warmup).ok());
  // Plant a row with a different id under the key of "x", as a real 64-bit
  // collision would look on disk (another writer stored it).
  const int64_t key = ingest::EventKey("x");
  RawSql("INSERT INTO events(seq, event_key, event_id, ts_ms, identities) VALUES(100, " +
         std::to_string(key) + ", 'not-x', 1, '{\"customer_id\":\"c\"}')");

  Batch batch = EventsBatch({"x", "x"});
  auto r = store->Write("s", batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 1);
  EXPECT_EQ(r->duplicates, 1);

  // Now "x" is known through the overflow map. (The planted id itself is not
  // re-written: its real key differs; only the planted row claims K.)
  Batch again = EventsBatch({"x"});
  r = store->Write("s", again);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 0);
  EXPECT_EQ(r->duplicates, 1);

  // A fresh object meets the collision while loading its index.
  auto fresh = Open();
  ASSERT_NE(fresh, nullptr);
  r = fresh->Write("s", batch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 0);
  EXPECT_EQ(r->duplicates, 2);
  EXPECT_EQ(AllIds(*fresh), (std::vector<std::string>{"warmup", "not-x", "x"}));
}

TEST_F(StoreTest, SeqIsNeverReusedAfterTheNewestRowsAreDeleted) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch batch = EventsBatch({"a", "b", "c"});
  ASSERT_TRUE(store->Write("s", batch).ok());
  const int64_t max_seq = AllEvents(*store).back().first;
  RawSql("DELETE FROM events WHERE event_id = 'c'");
  auto fresh = Open();
  Batch next = EventsBatch({"d"});
  ASSERT_TRUE(fresh->Write("s", next).ok());
  EXPECT_GT(AllEvents(*fresh).back().first, max_seq);
}

TEST_F(StoreTest, QuarantineIsStoredOncePerSourceLineAndRaw) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch batch;
  batch.rejected.push_back({3, RejectReason::kInvalidJson, "", "line 3: not JSON", "{oops"});
  batch.rejected.push_back({5, RejectReason::kMissingField, "ts", "line 5: ts missing", "{}"});
  ASSERT_TRUE(store->Write("orders.jsonl", batch).ok());
  ASSERT_TRUE(store->Write("orders.jsonl", batch).ok());  // the re-import
  EXPECT_EQ(store->Stats()->quarantined, 2);

  // Another file, or changed content on the same line, is a new record.
  ASSERT_TRUE(store->Write("other.jsonl", batch).ok());
  Batch changed;
  changed.rejected.push_back({3, RejectReason::kInvalidJson, "", "line 3: not JSON", "{oops!"});
  ASSERT_TRUE(store->Write("orders.jsonl", changed).ok());
  EXPECT_EQ(store->Stats()->quarantined, 5);

  auto all = store->ListQuarantine(100, 0, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].raw, "{oops!");  // newest first
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  EXPECT_GT((*all)[0].quarantined_at_ms, 0);

  auto json_only = store->ListQuarantine(100, 0, "invalid_json");
  ASSERT_TRUE(json_only.ok());
  ASSERT_EQ(json_only->size(), 3u);
  for (const auto& q : *json_only) EXPECT_EQ(q.reason, "invalid_json");
  auto page = store->ListQuarantine(1, 1, "invalid_json");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, (*json_only)[1].id);
  EXPECT_EQ((*page)[0].field, "");
  EXPECT_EQ((*page)[0].line_no, 3);

  auto counts = store->QuarantineCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::vector<std::pair<std::string, int64_t>>{{"invalid_json", 3},
                                                                   {"missing_field", 2}}));
}

TEST_F(StoreTest, NewerSchemaVersionIsRefused) {
  { ASSERT_NE(Open(), nullptr); }
  RawSql("UPDATE schema_version SET version = " + std::to_string(LatestSchemaVersion() + 1));
  auto store = Store::OpenSqlite(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  StoreOptions read_only;
  read_only.read_only = true;
  store = Store::OpenSqlite(dir_, read_only);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, ReadOnlyOpen) {
  StoreOptions read_only;
  read_only.read_only = true;
  auto missing = Store::OpenSqlite(dir_, read_only);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_));  // a read-only open creates nothing

  {
    auto writer = Open();
    Batch batch = EventsBatch({"a"});
    ASSERT_TRUE(writer->Write("s", batch).ok());
  }
  auto reader = Open(read_only);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(AllIds(*reader), std::vector<std::string>{"a"});
  Batch batch = EventsBatch({"b"});
  auto r = reader->Write("s", batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, TombstonedIdentitiesAreDroppedAndCounted) {
  auto store = Open();
  auto other = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_NE(other, nullptr);
  Batch first = EventsBatch({"first"});
  ASSERT_TRUE(store->Write("s", first).ok());

  // Added through another object: the first one must pick it up on its next Write.
  ASSERT_TRUE(other
                  ->AddTombstones({{IdentityType::kPhone, "hash-of-forgotten-phone"},
                                   {IdentityType::kCustomerId, "C-gone"}})
                  .ok());
  ASSERT_TRUE(other->AddTombstones({{IdentityType::kPhone, "hash-of-forgotten-phone"}}).ok());

  Batch batch = EventsBatch({"keep", "gone", "phone"});
  batch.events[2].identities.push_back({IdentityType::kPhone, "hash-of-forgotten-phone"});
  // Same value, different type: not forgotten.
  batch.events[0].identities.push_back({IdentityType::kEmail, "C-gone"});
  auto r = store->Write("s", batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 1);
  EXPECT_EQ(r->erased, 2);
  EXPECT_EQ(r->duplicates, 0);
  EXPECT_EQ(AllIds(*store), (std::vector<std::string>{"first", "keep"}));
  EXPECT_EQ(RawInt("SELECT count(*) FROM tombstones"), 2);
}

TEST_F(StoreTest, ScanEventsAfterSeqAndEarlyStop) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch batch = EventsBatch({"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"});
  ASSERT_TRUE(store->Write("s", batch).ok());
  auto all = AllEvents(*store);
  ASSERT_EQ(all.size(), 10u);
  auto tail = AllEvents(*store, all[3].first);
  ASSERT_EQ(tail.size(), 6u);
  EXPECT_EQ(tail[0].second.event_id, "e4");
  EXPECT_TRUE(AllEvents(*store, all.back().first).empty());

  int seen = 0;
  ASSERT_TRUE(store->ScanEvents(0, [&](int64_t, const Event&) { return ++seen < 3; }).ok());
  EXPECT_EQ(seen, 3);
}

TEST_F(StoreTest, ItemsAndAvailabilityAreUpserted) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch batch;
  batch.items.push_back(
      {"SKU-2", "乌龙茶 500g", "食品 > 饮料", "茶园", 88.0, R"({"产地":"福建"})"});
  batch.items.push_back({"SKU-1", "Mug", "Home > Kitchen > Mugs", "Acme", std::nullopt, ""});
  batch.availability.push_back({"SKU-1", "", "", true, std::nullopt});
  batch.availability.push_back({"SKU-1", "store", "SH-01", true, 4});
  auto r = store->Write("catalog.csv", batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items, 2);
  EXPECT_EQ(r->availability, 2);

  Batch update;
  update.items.push_back({"SKU-1", "Big mug", "Home > Kitchen > Mugs", "Acme", 12.0, ""});
  update.availability.push_back({"SKU-1", "store", "SH-01", false, 0});
  ASSERT_TRUE(store->Write("catalog.csv", update).ok());

  auto mug = store->GetItem("SKU-1");
  ASSERT_TRUE(mug.ok());
  ASSERT_TRUE(mug->has_value());
  EXPECT_EQ((*mug)->title, "Big mug");
  EXPECT_EQ((*mug)->price, 12.0);
  auto tea = store->GetItem("SKU-2");
  ASSERT_TRUE(tea.ok() && tea->has_value());
  EXPECT_EQ((*tea)->category_path, "食品 > 饮料");
  EXPECT_EQ((*tea)->attributes_json, R"({"产地":"福建"})");
  auto missing = store->GetItem("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  std::vector<std::string> item_ids;
  ASSERT_TRUE(store
                  ->ScanItems([&](const Item& item) {
                    item_ids.push_back(item.item_id);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(item_ids, (std::vector<std::string>{"SKU-1", "SKU-2"}));

  std::vector<Availability> rows;
  ASSERT_TRUE(store
                  ->ScanAvailability([&](const Availability& a) {
                    rows.push_back(a);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].channel, "");
  EXPECT_TRUE(rows[0].sold);
  EXPECT_FALSE(rows[0].stock.has_value());
  EXPECT_EQ(rows[1].store_id, "SH-01");
  EXPECT_FALSE(rows[1].sold);
  EXPECT_EQ(rows[1].stock, 0);
  EXPECT_EQ(store->Stats()->items, 2);
}

TEST_F(StoreTest, ImportRunsTagTheirRows) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto id = store->BeginImport("orders.jsonl", "jsonl");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Batch batch = EventsBatch({"a", "b"});
  batch.rejected.push_back({3, RejectReason::kInvalidJson, "", "bad", "{"});
  ASSERT_TRUE(store->Write("orders.jsonl", batch).ok());
  ImportRun counts;
  counts.accepted = 2;
  counts.rejected = 1;
  ASSERT_TRUE(store->FinishImport(*id, counts).ok());
  EXPECT_EQ(RawInt("SELECT count(*) FROM events WHERE import_id = " + std::to_string(*id)), 2);
  EXPECT_EQ(RawInt("SELECT count(*) FROM quarantine WHERE import_id = " + std::to_string(*id)), 1);

  auto second = store->BeginImport("more.csv", "csv");
  ASSERT_TRUE(second.ok());
  auto runs = store->ListImports(10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, *second);  // newest first
  EXPECT_EQ((*runs)[0].status, "running");
  EXPECT_EQ((*runs)[0].finished_at_ms, 0);
  EXPECT_EQ((*runs)[1].source, "orders.jsonl");
  EXPECT_EQ((*runs)[1].format, "jsonl");
  EXPECT_EQ((*runs)[1].status, "done");
  EXPECT_EQ((*runs)[1].accepted, 2);
  EXPECT_EQ((*runs)[1].rejected, 1);
  EXPECT_GE((*runs)[1].finished_at_ms, (*runs)[1].started_at_ms);
  EXPECT_EQ(store->Stats()->imports, 2);

  Status missing = store->FinishImport(9999, counts);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, StatsReportTimeRange) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Batch batch;
  batch.events = {MakeEvent("a", 3000), MakeEvent("b", 1000), MakeEvent("c", 2000)};
  ASSERT_TRUE(store->Write("s", batch).ok());
  Batch later;
  later.events = {MakeEvent("d", 500), MakeEvent("e", 9000),
                  MakeEvent("a", 1)};  // "a": a duplicate
  ASSERT_TRUE(store->Write("s", later).ok());
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 5);
  EXPECT_EQ(stats->min_ts_ms, 500);  // a duplicate's time does not count
  EXPECT_EQ(stats->max_ts_ms, 9000);
  // One block per batch that stored something, covering its seq range.
  EXPECT_EQ(RawInt("SELECT count(*) FROM event_blocks"), 2);
  EXPECT_EQ(RawInt("SELECT sum(last_seq - first_seq + 1) FROM event_blocks"), 5);
}

// Throughput of Write() on typical events, beside two ceilings measured in
// the same run: plain SQLite inserts of the same rows into the same schema
// (no dedupe, JSON prebuilt), and REFERENCES.md's 8-column rowid table. Each
// is run OMNI_STORE_BENCH_REPS times (default 3) and the best run is reported,
// since a shared machine only ever makes a run slower. Run by hand:
//   omni_store_test --gtest_also_run_disabled_tests --gtest_filter='*WriteThroughput*'
// OMNI_STORE_BENCH_EVENTS (default 1,000,000) and OMNI_STORE_BENCH_BATCH
// (default 50,000) size it.
std::vector<Batch> BenchBatches(int64_t total, int64_t batch_size) {
  const char* channels[] = {"web", "app", "miniprogram", "store"};
  const char* types[] = {"view", "add_to_cart", "purchase", "view"};
  std::vector<Batch> batches;
  for (int64_t start = 0; start < total; start += batch_size) {
    Batch& b = batches.emplace_back();
    for (int64_t i = start; i < std::min(total, start + batch_size); ++i) {
      Event e;
      e.event_id = "evt-2024-" + std::to_string(1000000000 + i * 7919 % 1000000007);
      e.ts_ms = 1700000000000 + i * 50 + (i % 7) * 1000;  // roughly increasing
      e.tz_offset_min = 480;
      e.channel = channels[i % 4];
      e.type = types[(i / 4) % 4];
      char hash[33];
      std::snprintf(hash, sizeof(hash), "%016llx%016llx",
                    static_cast<unsigned long long>(i * 0x9E3779B97F4A7C15ULL),
                    static_cast<unsigned long long>((i % 200000) * 0xC2B2AE3D27D4EB4FULL));
      e.identities = {{IdentityType::kPhone, hash},
                      {IdentityType::kMemberCard, "M" + std::to_string(i % 200000)}};
      e.item_id = "SKU-" + std::to_string(i % 50000);
      e.quantity = 1 + i % 3;
      e.price = 9.9 + (i % 100);
      e.currency = "CNY";
      if (e.type == "purchase") e.order_id = "O-" + std::to_string(i / 3);
      if (e.channel == std::string("store")) e.store_id = "SH-0" + std::to_string(i % 9);
      e.line_no = i + 1;
      b.events.push_back(std::move(e));
    }
  }
  return batches;
}

// Seconds to insert `batches` with one prepared statement per row, one
// transaction per batch, on a connection set up like the store's.
double RawInsertSeconds(const std::string& db_path, const std::vector<Batch>& batches,
                        bool reference_shape) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  auto exec = [db](const char* sql) {
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  };
  if (reference_shape) {
    exec("PRAGMA journal_mode=WAL");
    exec(
        "CREATE TABLE t(k INTEGER, ts INTEGER, a INTEGER, b INTEGER, customer BLOB, item TEXT,"
        " q REAL, p REAL)");
  }
  exec("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;");
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               reference_shape
                                   ? "INSERT INTO t VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                                   : "INSERT INTO events VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                                     "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  std::vector<std::string> json;  // prebuilt: the ceiling is SQLite alone
  for (const Batch& b : batches) {
    for (const Event& e : b.events) {
      json.push_back("{\"phone\":\"" + e.identities[0].value + "\",\"member_card\":\"" +
                     e.identities[1].value + "\"}");
    }
  }
  auto text = [stmt](int i, const std::string& v) {
    if (v.empty()) {
      sqlite3_bind_null(stmt, i);
    } else {
      sqlite3_bind_text(stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
  };
  auto start = std::chrono::steady_clock::now();
  int64_t n = 0;
  for (const Batch& b : batches) {
    exec("BEGIN IMMEDIATE");
    for (const Event& e : b.events) {
      const int64_t key = static_cast<int64_t>(n * 0x9E3779B97F4A7C15ULL);
      if (reference_shape) {
        sqlite3_bind_int64(stmt, 1, key);
        sqlite3_bind_int64(stmt, 2, e.ts_ms);
        sqlite3_bind_int(stmt, 3, e.tz_offset_min);
        sqlite3_bind_int(stmt, 4, static_cast<int>(n % 4));
        sqlite3_bind_blob(stmt, 5, e.identities[0].value.data(), 16, SQLITE_STATIC);
        text(6, e.item_id);
        sqlite3_bind_double(stmt, 7, *e.quantity);
        sqlite3_bind_double(stmt, 8, *e.price);
      } else {
        sqlite3_bind_int64(stmt, 1, n + 1);
        sqlite3_bind_int64(stmt, 2, key);
        text(3, e.event_id);
        sqlite3_bind_int64(stmt, 4, e.ts_ms);
        sqlite3_bind_int(stmt, 5, e.tz_offset_min);
        text(6, e.channel);
        text(7, e.type);
        text(8, json[n]);
        text(9, e.item_id);
        sqlite3_bind_double(stmt, 10, *e.quantity);
        sqlite3_bind_double(stmt, 11, *e.price);
        text(12, e.currency);
        text(13, e.order_id);
        text(14, e.store_id);
        text(15, e.campaign_id);
        text(16, e.properties_json);
        sqlite3_bind_null(stmt, 17);
        sqlite3_bind_int64(stmt, 18, e.line_no);
      }
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_reset(stmt);
      ++n;
    }
    exec("COMMIT");
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return seconds;
}

TEST_F(StoreTest, DISABLED_WriteThroughput) {
  auto env = [](const char* name, int64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::atoll(v) : fallback;
  };
  const int64_t total = env("OMNI_STORE_BENCH_EVENTS", 1000000);
  const int64_t batch_size = env("OMNI_STORE_BENCH_BATCH", 50000);
  const int64_t reps = env("OMNI_STORE_BENCH_REPS", 3);
  std::vector<Batch> batches = BenchBatches(total, batch_size);
  const std::string base = dir_;
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  double best_write = 1e9, best_rewrite = 1e9, best_load = 1e9, best_raw = 1e9, best_ref = 1e9;
  for (int64_t rep = 0; rep < reps; ++rep) {
    dir_ = base + "_w" + std::to_string(rep);
    auto store = Open();
    ASSERT_NE(store, nullptr);
    auto write_all = [&](int64_t want_accepted) {
      auto start = std::chrono::steady_clock::now();
      int64_t accepted = 0;
      for (Batch& b : batches) {
        auto r = store->Write("bench", b);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (r.ok()) accepted += r->accepted;
      }
      EXPECT_EQ(accepted, want_accepted);
      return since(start);
    };
    double write = write_all(total);
    double rewrite = write_all(0);
    store.reset();
    auto start = std::chrono::steady_clock::now();
    store = Open();
    Batch one = EventsBatch({"bench-index-load"});
    ASSERT_TRUE(store->Write("bench", one).ok());  // builds the index from disk
    double load = since(start);
    start = std::chrono::steady_clock::now();
    int64_t scanned = 0;
    ASSERT_TRUE(store->ScanEvents(0, [&](int64_t, const Event&) { return ++scanned > 0; }).ok());
    double scan = since(start);
    EXPECT_EQ(scanned, total + 1);
    start = std::chrono::steady_clock::now();
    ASSERT_TRUE(store->Stats().ok());
    double stats = since(start);
    const double mb = static_cast<double>(fs::file_size(fs::path(dir_) / "omni.db")) / 1e6;
    store.reset();
    fs::remove_all(dir_);

    dir_ = base + "_raw" + std::to_string(rep);
    store = Open();  // the same schema and file settings
    store.reset();
    double raw = RawInsertSeconds((fs::path(dir_) / "omni.db").string(), batches, false);
    fs::remove_all(dir_);

    dir_ = base + "_ref" + std::to_string(rep);
    fs::create_directories(dir_);
    double ref = RawInsertSeconds((fs::path(dir_) / "ref.db").string(), batches, true);
    fs::remove_all(dir_);

    std::printf(
        "run %lld: Write() %.0f/s, re-Write() %.0f/s, index load %.2f s, ScanEvents "
        "%.0f/s, Stats %.3f s (%.0f MB db); raw same schema %.0f/s; REFERENCES 8-column "
        "%.0f/s\n",
        static_cast<long long>(rep + 1), total / write, total / rewrite, load, total / scan, stats,
        mb, total / raw, total / ref);
    best_write = std::min(best_write, write);
    best_rewrite = std::min(best_rewrite, rewrite);
    best_load = std::min(best_load, load);
    best_raw = std::min(best_raw, raw);
    best_ref = std::min(best_ref, ref);
  }
  dir_ = base;
  std::printf(
      "best of %lld, %lld events in batches of %lld:\n"
      "  Write(), new events            %9.0f events/s\n"
      "  Write(), all duplicates        %9.0f events/s\n"
      "  index load, fresh object       %9.2f s\n"
      "  raw SQLite, same schema        %9.0f rows/s  (Write() = %.0f%% of it)\n"
      "  raw SQLite, REFERENCES 8-col   %9.0f rows/s  (REFERENCES.md: ~490,000)\n",
      static_cast<long long>(reps), static_cast<long long>(total),
      static_cast<long long>(batch_size), total / best_write, total / best_rewrite, best_load,
      total / best_raw, 100 * best_raw / best_write, total / best_ref);
}

}  // namespace
}  // namespace omni::store
