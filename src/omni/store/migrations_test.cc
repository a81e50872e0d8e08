#include "omni/store/migrations.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace omni::store {
namespace {

// Migrations against an in-memory database: the mechanism, not the schema.
class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  void TearDown() override { sqlite3_close(db_); }
  bool HasTable(const std::string& name) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1, &stmt,
                       nullptr);
    sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
  }
  sqlite3* db_ = nullptr;
};

constexpr Migration kSteps[] = {
    {1, "a", "CREATE TABLE a(x);"},
    {2, "b", "CREATE TABLE b(x); INSERT INTO a VALUES(1);"},
    {3, "c", "CREATE TABLE c(x);"},
};

TEST_F(MigrationsTest, NewDatabaseStartsAtZero) {
  auto version = ReadSchemaVersion(db_);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
}

TEST_F(MigrationsTest, AppliesStepsInOrderAndOnlyOnce) {
  ASSERT_TRUE(ApplyMigrations(db_, std::span(kSteps).first(1)).ok());
  EXPECT_EQ(*ReadSchemaVersion(db_), 1);
  EXPECT_TRUE(HasTable("a"));
  EXPECT_FALSE(HasTable("b"));

  ASSERT_TRUE(ApplyMigrations(db_, kSteps).ok());
  EXPECT_EQ(*ReadSchemaVersion(db_), 3);
  EXPECT_TRUE(HasTable("c"));
  // Re-running is a no-op (step 2's INSERT would otherwise add a row).
  ASSERT_TRUE(ApplyMigrations(db_, kSteps).ok());
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, "SELECT count(*) FROM a", -1, &stmt, nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
}

TEST_F(MigrationsTest, FailingStepRollsBackAndKeepsTheVersion) {
  constexpr Migration broken[] = {
      {1, "a", "CREATE TABLE a(x);"},
      {2, "half", "CREATE TABLE half(x); INSERT INTO no_such_table VALUES(1);"},
  };
  Status status = ApplyMigrations(db_, broken);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("schema version 2"), std::string::npos) << status.message();
  EXPECT_EQ(*ReadSchemaVersion(db_), 1);
  EXPECT_TRUE(HasTable("a"));
  EXPECT_FALSE(HasTable("half"));  // the step's first statement was rolled back with it
}

TEST_F(MigrationsTest, NewerDatabaseIsRefused) {
  ASSERT_TRUE(ApplyMigrations(db_, kSteps).ok());
  Status status = ApplyMigrations(db_, std::span(kSteps).first(2));
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
}

TEST_F(MigrationsTest, ShippedSchemaIsOrdered) {
  int expected = 1;
  for (const Migration& m : Migrations()) EXPECT_EQ(m.version, expected++);
  EXPECT_EQ(LatestSchemaVersion(), expected - 1);
  ASSERT_TRUE(ApplyMigrations(db_, Migrations()).ok());
  for (const char* table :
       {"events", "quarantine", "items", "availability", "imports", "tombstones", "event_blocks"}) {
    EXPECT_TRUE(HasTable(table)) << table;
  }
}

}  // namespace
}  // namespace omni::store
