#include "omni/store/event_columns.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "omni/store/sqlite_sql.h"

namespace omni::store {
namespace {

using ingest::Batch;
using ingest::Event;
using ingest::IdentityType;

namespace fs = std::filesystem;

class EventColumnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("OMNI_TEST_TMP");
    fs::path root = base != nullptr ? fs::path(base) : fs::temp_directory_path();
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (root / ("columns_" + std::string(info->name()) + "_" + std::to_string(getpid()) + "_" +
                    std::to_string(counter++)))
               .string();
    fs::remove_all(dir_);
    auto store = Store::OpenSqlite(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string ColumnsFile() const { return (fs::path(dir_) / "columns" / "events.col").string(); }

  // Event n of a varied stream: several customers, channels, types (consent
  // with properties), items, orders, absent numbers, UTF-8 values.
  static Event MakeEvent(int n) {
    Event e;
    e.event_id = "e" + std::to_string(n);
    e.ts_ms = 1'700'000'000'000 + int64_t{n} * 61'000;
    e.tz_offset_min = n % 3 == 0 ? 480 : -300;
    static const char* kChannels[] = {"web", "store", "app"};
    static const char* kTypes[] = {"view", "add_to_cart", "purchase", "refund", "consent", "store_visit"};
    e.channel = kChannels[n % 3];
    e.type = kTypes[n % 6];
    e.identities.push_back({IdentityType::kCookieId, "ck" + std::to_string(n % 17)});
    if (n % 4 == 0) e.identities.push_back({IdentityType::kMemberCard, "会员" + std::to_string(n % 9)});
    if (e.type != "consent" && n % 5 != 0) e.item_id = "商品-" + std::to_string(n % 23);
    if (e.type == "purchase" || e.type == "refund") {
      if (n % 7 != 0) e.quantity = 1 + n % 3;
      e.price = 9.5 + n % 11;
      if (n % 2 == 0) e.order_id = "o" + std::to_string(n / 4);
    }
    if (e.type == "consent") e.properties_json = R"({"channel":"sms","granted":)" + std::string(n % 8 ? "true}" : "false}");
    e.currency = "EUR";
    return e;
  }

  ingest::BatchResult Write(int from, int to, std::vector<int> repeats = {}) {
    Batch batch;
    for (int n = from; n < to; ++n) batch.events.push_back(MakeEvent(n));
    for (int n : repeats) batch.events.push_back(MakeEvent(n));
    auto r = store_->Write("test", batch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ingest::BatchResult{};
  }

  // Appends run on the store's appending thread; closing the store drains it.
  void Drain() {
    store_.reset();
    auto store = Store::OpenSqlite(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  std::unique_ptr<EventColumns> OpenColumns(bool persist = true) {
    Drain();
    auto c = EventColumns::Open(dir_, *store_, persist);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // The snapshot, row by row, against ScanEvents, on every field it keeps.
  void ExpectEqualsStore(const EventColumns& columns) {
    std::vector<std::pair<int64_t, Event>> stored;
    ASSERT_TRUE(store_->ScanEvents(0, [&](int64_t seq, const Event& e) {
                        stored.emplace_back(seq, e);
                        return true;
                      }).ok());
    ASSERT_EQ(columns.rows(), static_cast<int64_t>(stored.size()));
    size_t k = 0;
    Event got;
    for (const EventColumnBlock& b : columns.blocks()) {
      for (int64_t r = 0; r < b.rows; ++r, ++k) {
        const auto& [seq, want] = stored[k];
        columns.ToEvent(b, r, got);
        ASSERT_EQ(b.seq[r], seq);
        EXPECT_EQ(got.ts_ms, want.ts_ms) << seq;
        EXPECT_EQ(got.tz_offset_min, want.tz_offset_min) << seq;
        EXPECT_EQ(got.channel, want.channel) << seq;
        EXPECT_EQ(got.type, want.type) << seq;
        EXPECT_EQ(got.identities, want.identities) << seq;
        EXPECT_EQ(got.item_id, want.item_id) << seq;
        EXPECT_EQ(got.quantity, want.quantity) << seq;
        EXPECT_EQ(got.price, want.price) << seq;
        EXPECT_EQ(got.order_id, want.order_id) << seq;
        EXPECT_EQ(got.properties_json, want.type == "consent" ? want.properties_json : "") << seq;
      }
    }
    if (!stored.empty()) {
      EXPECT_EQ(columns.last_seq(), stored.back().first);
    }
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(EventColumnsTest, WritesAppendAndTheSnapshotEqualsTheStore) {
  EXPECT_EQ(Write(0, 500).accepted, 500);
  // Duplicates within and across batches are not appended twice.
  EXPECT_EQ(Write(400, 900, {450, 850, 899}).accepted, 400);
  EXPECT_EQ(Write(0, 900).accepted, 0);
  EXPECT_EQ(Write(900, 901).accepted, 1);
  auto columns = OpenColumns();
  ASSERT_TRUE(columns);
  EXPECT_EQ(columns->open_stats().rows_from_file, 901);  // all appended by Write
  EXPECT_EQ(columns->open_stats().rows_caught_up, 0);
  EXPECT_FALSE(columns->open_stats().rebuilt);
  ExpectEqualsStore(*columns);
  EXPECT_EQ(columns->blocks().size(), 3u);  // one block per batch with new events
}

// The appender encodes from the batch's columns (Batch::PrepareForStore),
// a reader's catch-up from the events read back: the same events must make
// the same bytes (dictionaries in first-use order, orders per block, consent
// properties), also when duplicates leave holes in the batch.
TEST_F(EventColumnsTest, AnAppendedBatchIsTheBlockARebuildMakes) {
  Batch batch;
  for (int n = 0; n < 1000; ++n) batch.events.push_back(MakeEvent(n));
  batch.events.push_back(MakeEvent(5));    // a repeat inside the batch
  batch.events.push_back(MakeEvent(998));
  for (int n = 1000; n < 2000; ++n) batch.events.push_back(MakeEvent(n));
  auto written = store_->Write("test", batch);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->accepted, 2000);
  EXPECT_EQ(written->duplicates, 2);
  Drain();
  auto bytes = [&] {
    std::ifstream f(ColumnsFile(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string appended = bytes();
  ASSERT_GT(appended.size(), 32u);
  fs::remove(ColumnsFile());
  auto columns = OpenColumns();
  ASSERT_TRUE(columns);
  EXPECT_TRUE(columns->open_stats().rebuilt);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 2000);
  ExpectEqualsStore(*columns);
  EXPECT_TRUE(bytes() == appended) << "appended and rebuilt snapshots differ";
}

TEST_F(EventColumnsTest, AReaderCatchesUpWhatWritesCouldNotAppend) {
  Write(0, 300);
  Drain();
  {
    // A reader holding the lock (as while it catches up) makes appends skip:
    // this batch and, being after a gap, the next one are not in the file.
    const int fd = ::open(ColumnsFile().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    Write(300, 600);
    Drain();  // the append has been tried (and skipped) before the lock goes
    ::close(fd);
  }
  Write(600, 700);
  auto columns = OpenColumns();
  ASSERT_TRUE(columns);
  EXPECT_EQ(columns->open_stats().rows_from_file, 300);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 400);
  EXPECT_TRUE(columns->open_stats().persisted);
  ExpectEqualsStore(*columns);
  // Persisted: the next reader reads everything from the file, and appends
  // continue after it.
  Write(700, 750);
  columns = OpenColumns();
  EXPECT_EQ(columns->open_stats().rows_from_file, 750);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 0);
  ExpectEqualsStore(*columns);
}

TEST_F(EventColumnsTest, AnOldDataDirectoryWithoutSnapshotIsBuiltFromTheStore) {
  Write(0, 400);
  Drain();
  fs::remove_all(fs::path(dir_) / "columns");
  Write(400, 450);
  Drain();  // cannot start a snapshot midway: left to the reader
  EXPECT_FALSE(fs::exists(ColumnsFile()));
  auto columns = OpenColumns();
  ASSERT_TRUE(columns);
  EXPECT_TRUE(columns->open_stats().rebuilt);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 450);
  ExpectEqualsStore(*columns);
  Write(450, 500);  // appends resume after the rebuilt snapshot
  columns = OpenColumns();
  EXPECT_EQ(columns->open_stats().rows_from_file, 500);
  ExpectEqualsStore(*columns);
}

TEST_F(EventColumnsTest, ATornTailIsCutAndReadAgainFromTheStore) {
  Write(0, 300);
  Write(300, 600);
  Drain();
  const auto size = fs::file_size(ColumnsFile());
  // As a kill -9 in the middle of the second append would leave it.
  fs::resize_file(ColumnsFile(), size - 1000);
  auto columns = OpenColumns();
  ASSERT_TRUE(columns);
  EXPECT_TRUE(columns->open_stats().torn_tail_cut);
  EXPECT_EQ(columns->open_stats().rows_from_file, 300);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 300);
  ExpectEqualsStore(*columns);
  EXPECT_EQ(fs::file_size(ColumnsFile()), size);  // the same two blocks again

  // A tail whose bytes are all there but wrong (the payload CRC catches it).
  columns.reset();
  {
    std::fstream f(ColumnsFile(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 200));
    f.put('\x7f');
  }
  columns = OpenColumns();
  EXPECT_TRUE(columns->open_stats().torn_tail_cut);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 300);
  ExpectEqualsStore(*columns);

  // Garbage after the last block (an append that wrote only part of a header).
  columns.reset();
  {
    std::ofstream f(ColumnsFile(), std::ios::app | std::ios::binary);
    f << "BLK1garbage";
  }
  columns = OpenColumns();
  EXPECT_TRUE(columns->open_stats().torn_tail_cut);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 0);
  ExpectEqualsStore(*columns);
  EXPECT_EQ(fs::file_size(ColumnsFile()), size);
}

TEST_F(EventColumnsTest, DeletedEventsInvalidateTheSnapshot) {
  Write(0, 300);
  Drain();
  auto sql = OpenSqliteSql(dir_);
  ASSERT_TRUE(sql.ok());
  // As erasure does: delete + bump in one transaction, then discard the file.
  ASSERT_TRUE((*sql)->InTransaction([&]() -> Status {
                      OMNI_RETURN_IF_ERROR((*sql)->Execute("DELETE FROM events WHERE seq % 10 = 3").status());
                      return BumpEventColumnsGeneration(**sql);
                    }).ok());
  ASSERT_TRUE(DiscardEventColumns(**sql).ok());
  EXPECT_FALSE(fs::exists(ColumnsFile()));
  auto columns = OpenColumns();
  ASSERT_TRUE(columns);
  EXPECT_TRUE(columns->open_stats().rebuilt);
  EXPECT_EQ(columns->rows(), 270);
  ExpectEqualsStore(*columns);

  // A crash between the commit and the discard: the generation alone makes
  // the old file unusable.
  columns.reset();
  ASSERT_TRUE((*sql)->InTransaction([&]() -> Status {
                      OMNI_RETURN_IF_ERROR((*sql)->Execute("DELETE FROM events WHERE seq % 10 = 7").status());
                      return BumpEventColumnsGeneration(**sql);
                    }).ok());
  ASSERT_TRUE(fs::exists(ColumnsFile()));
  // A writer does not append to a snapshot of an older generation.
  Write(300, 320);
  columns = OpenColumns();
  EXPECT_TRUE(columns->open_stats().rebuilt);
  EXPECT_EQ(columns->rows(), 240 + 20);
  ExpectEqualsStore(*columns);
  Write(320, 330);
  columns = OpenColumns();
  EXPECT_FALSE(columns->open_stats().rebuilt);
  ExpectEqualsStore(*columns);
}

TEST_F(EventColumnsTest, ReadOnlyReadersCatchUpInMemory) {
  Write(0, 100);
  Drain();
  fs::remove_all(fs::path(dir_) / "columns");
  auto columns = OpenColumns(/*persist=*/false);
  ASSERT_TRUE(columns);
  EXPECT_EQ(columns->open_stats().rows_caught_up, 100);
  EXPECT_FALSE(columns->open_stats().persisted);
  ExpectEqualsStore(*columns);
  EXPECT_FALSE(fs::exists(ColumnsFile()));
}

}  // namespace
}  // namespace omni::store
