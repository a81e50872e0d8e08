#include "omni/store/sqlite_sql.h"

#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

namespace omni::store {
namespace {

std::string TempDataDir() {
  const char* base = std::getenv("OMNI_TEST_TMP");
  auto dir = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
             ("sql-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

int64_t Count(Sql& sql, const std::string& table) {
  int64_t n = -1;
  EXPECT_TRUE(sql.Query("SELECT COUNT(*) FROM " + table, {}, [&](const SqlRow& r) {
                   n = r.Int(0);
                   return false;
                 }).ok());
  return n;
}

TEST(SqliteSqlTest, MigratesOncePerModuleAndRoundTripsValues) {
  std::string dir = TempDataDir();
  auto sql = OpenSqliteSql(dir);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  std::vector<std::string> steps = {"CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL)",
                                    "ALTER TABLE t ADD COLUMN note TEXT"};
  ASSERT_TRUE((*sql)->Migrate("test", steps).ok());
  ASSERT_TRUE((*sql)->Migrate("test", steps).ok());  // idempotent
  ASSERT_TRUE((*sql)->Execute("INSERT INTO t(name, score, note) VALUES (?, ?, ?)",
                              {std::string("上海 南京西路店"), 2.5, std::monostate{}})
                  .ok());
  std::string name;
  double score = 0;
  bool note_null = false;
  ASSERT_TRUE((*sql)->Query("SELECT name, score, note FROM t", {}, [&](const SqlRow& r) {
                    name = std::string(r.Text(0));
                    score = r.Double(1);
                    note_null = r.IsNull(2);
                    return true;
                  }).ok());
  EXPECT_EQ(name, "上海 南京西路店");
  EXPECT_DOUBLE_EQ(score, 2.5);
  EXPECT_TRUE(note_null);

  // A database migrated further than this code knows is refused.
  auto older = OpenSqliteSql(dir);
  ASSERT_TRUE(older.ok());
  Status st = (*older)->Migrate("test", {steps[0]});
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

TEST(SqliteSqlTest, FailedTransactionLeavesNothing) {
  std::string dir = TempDataDir();
  auto sql = OpenSqliteSql(dir);
  ASSERT_TRUE(sql.ok());
  ASSERT_TRUE((*sql)->Migrate("t", {"CREATE TABLE t(id INTEGER PRIMARY KEY)"}).ok());
  Status st = (*sql)->InTransaction([&]() -> Status {
    for (int64_t i = 0; i < 100; ++i) {
      auto r = (*sql)->Execute("INSERT INTO t(id) VALUES (?)", {i});
      if (!r.ok()) return r.status();
    }
    return InvalidArgument("abort half way");
  });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(**sql, "t"), 0);
  ASSERT_TRUE((*sql)->InTransaction([&]() -> Status {
                    return (*sql)->Execute("INSERT INTO t(id) VALUES (?)", {int64_t{1}}).status();
                  }).ok());
  EXPECT_EQ(Count(**sql, "t"), 1);
  // Wrong parameter count is an error, not a crash.
  EXPECT_FALSE((*sql)->Execute("INSERT INTO t(id) VALUES (?)", {}).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::store
