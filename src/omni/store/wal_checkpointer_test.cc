#include "omni/store/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "omni/store/sqlite_util.h"

namespace omni::store::internal {
namespace {

namespace fs = std::filesystem;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("omni-wal-ckpt-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    ASSERT_TRUE(Exec(db_, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)",
                     "setup")
                    .ok());
  }
  void TearDown() override {
    if (db_ != nullptr) sqlite3_close(db_);
    fs::remove_all(dir_);
  }
  // One transaction of `rows` rows of ~400 bytes (about 10 pages per 100 rows).
  void Commit(int first, int rows) {
    ASSERT_TRUE(Exec(db_, "BEGIN", "begin").ok());
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO t VALUES(?, ?)", -1, &s, nullptr), SQLITE_OK);
    const std::string payload(400, 'x');
    for (int i = first; i < first + rows; ++i) {
      sqlite3_bind_int(s, 1, i);
      sqlite3_bind_text(s, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    ASSERT_TRUE(Exec(db_, "COMMIT", "commit").ok());
  }
  int64_t WalBytes() const {
    std::error_code ec;
    const auto n = fs::file_size(path_ + "-wal", ec);
    return ec ? 0 : static_cast<int64_t>(n);
  }

  fs::path dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

TEST_F(WalCheckpointerTest, CheckpointsInTheBackgroundAndBoundsTheWal) {
  WalCheckpointOptions options;
  options.background_pages = 20;
  options.hard_pages = 200;
  auto c = WalCheckpointer::Start(db_, path_, options);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  int64_t largest_wal = 0;
  for (int batch = 0; batch < 300; ++batch) {
    Commit(batch * 100, 100);
    largest_wal = std::max(largest_wal, WalBytes());
  }
  // Give the thread a moment for the last wake-up, then stop it.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GT((*c)->background_checkpoints(), 0) << "the writer's commits never woke the checkpoint thread";
  // A connection that has not read the database yet checkpoints nothing and
  // still reports success; the thread's must have copied frames.
  EXPECT_GT((*c)->background_frames(), 0) << "the checkpoint thread ran but copied nothing";
  // The WAL never grows far past the hard limit (one batch of ~10 pages may
  // land on top of it before the writer's own checkpoint), although the
  // writer committed ~3,000 pages without a pause.
  EXPECT_LT(largest_wal, int64_t{4096 + 24} * (options.hard_pages + 100));
  c->reset();

  // Every committed row is readable from a fresh connection.
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(reader, "SELECT count(*), sum(id) FROM t", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(s, 0), 30000);
  EXPECT_EQ(sqlite3_column_int64(s, 1), int64_t{29999} * 30000 / 2);
  sqlite3_finalize(s);
  sqlite3_close(reader);
}

TEST_F(WalCheckpointerTest, StoppingRestoresSqlitesOwnAutocheckpoint) {
  {
    WalCheckpointOptions options;
    options.background_pages = 20;
    auto c = WalCheckpointer::Start(db_, path_, options);
    ASSERT_TRUE(c.ok());
  }
  // Without the hook, SQLite's autocheckpoint (restored at 20 pages) keeps
  // the WAL from growing: ~1,000 pages of commits leave it small.
  int64_t largest_wal = 0;
  for (int batch = 0; batch < 100; ++batch) {
    Commit(batch * 100, 100);
    largest_wal = std::max(largest_wal, WalBytes());
  }
  EXPECT_LT(largest_wal, int64_t{4096 + 24} * 60);
}

}  // namespace
}  // namespace omni::store::internal
