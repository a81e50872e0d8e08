// For the identity tests: a data directory with a real store and Sql,
// events written from a compact description, and the resulting partition
// read back as sets of identifiers (so two runs can be compared without
// depending on keys).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "omni/demo/generator.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/format.h"
#include "omni/ingest/pipeline.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::identity::testing {

using ingest::Identity;
using ingest::IdentityType;

inline Identity Cid(std::string v) { return {IdentityType::kCustomerId, std::move(v)}; }
inline Identity Card(std::string v) { return {IdentityType::kMemberCard, std::move(v)}; }
inline Identity Phone(std::string v) { return {IdentityType::kPhone, std::move(v)}; }
inline Identity Email(std::string v) { return {IdentityType::kEmail, std::move(v)}; }
inline Identity Device(std::string v) { return {IdentityType::kDeviceId, std::move(v)}; }
inline Identity Cookie(std::string v) { return {IdentityType::kCookieId, std::move(v)}; }

// One event: its id and identities.
struct Ev {
  std::string id;
  std::vector<Identity> identities;
};

inline std::string NewTempDir(const std::string& name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  static std::atomic<int> counter{0};
  std::filesystem::path dir =
      root / ("identity-" + name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A data directory with a store and a Sql connection, removed at the end.
class DataDir {
 public:
  explicit DataDir(const std::string& name) : path_(NewTempDir(name)) {
    auto store = store::Store::OpenSqlite(path_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto sql = store::OpenSqliteSql(path_);
    EXPECT_TRUE(sql.ok()) << sql.status().ToString();
    sql_ = std::move(sql).value();
  }
  ~DataDir() {
    sql_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }
  store::Store& store() { return *store_; }
  store::Sql& sql() { return *sql_; }

  void Write(const std::vector<Ev>& events) {
    ingest::Batch batch;
    int64_t t = 1735660800000 + next_ts_++ * 1000;
    for (const Ev& e : events) {
      ingest::Event event;
      event.event_id = e.id;
      event.ts_ms = t;
      event.channel = "web";
      event.type = "view";
      event.identities = e.identities;
      batch.events.push_back(std::move(event));
    }
    auto r = store_->Write("test", batch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  ResolveStats Resolve(const IdentityConfig& config = {}) {
    auto stats = identity::Resolve(*store_, *sql_, config);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : ResolveStats{};
  }

  // Customer key of an identifier ("" when none / unknown).
  std::string KeyOf(const Identity& identity) {
    std::string key;
    Status st = sql_->Query("SELECT customer_key FROM identifiers WHERE type = ? AND value = ?",
                            {std::string(ingest::IdentityTypeName(identity.type)), identity.value},
                            [&](const store::SqlRow& row) {
                              key = std::string(row.Text(0));
                              return false;
                            });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return key;
  }

  bool IsShared(const Identity& identity) {
    int64_t shared = 0;
    Status st = sql_->Query("SELECT shared FROM identifiers WHERE type = ? AND value = ?",
                            {std::string(ingest::IdentityTypeName(identity.type)), identity.value},
                            [&](const store::SqlRow& row) {
                              shared = row.Int(0);
                              return false;
                            });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return shared != 0;
  }

  // The partition as a set of customers, each a set of "type:value"; shared
  // and blocked identifiers listed apart.
  std::set<std::set<std::string>> Partition() {
    std::map<std::string, std::set<std::string>> by_key;
    Status st = sql_->Query(
        "SELECT type, value, customer_key FROM identifiers WHERE customer_key IS NOT NULL", {},
        [&](const store::SqlRow& row) {
          by_key[std::string(row.Text(2))].insert(std::string(row.Text(0)) + ":" + std::string(row.Text(1)));
          return true;
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::set<std::set<std::string>> out;
    for (auto& [key, members] : by_key) out.insert(members);
    return out;
  }

  // (id, type, value, customer_key, shared) of every identifier, in id order.
  std::vector<std::string> IdentifierRows() {
    std::vector<std::string> rows;
    Status st = sql_->Query(
        "SELECT id, type, value, IFNULL(customer_key, '-'), shared, blocked FROM identifiers ORDER BY id", {},
        [&](const store::SqlRow& row) {
          rows.push_back(std::to_string(row.Int(0)) + " " + std::string(row.Text(1)) + " " +
                         std::string(row.Text(2)) + " " + std::string(row.Text(3)) + " " +
                         std::to_string(row.Int(4)) + std::to_string(row.Int(5)));
          return true;
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return rows;
  }

  int64_t Count(const std::string& query) {
    int64_t n = -1;
    Status st = sql_->Query(query, {}, [&](const store::SqlRow& row) {
      n = row.Int(0);
      return false;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return n;
  }

 private:
  std::string path_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::Sql> sql_;
  int64_t next_ts_ = 0;
};

// Demo data generated beside the store and imported into `d` (not yet
// resolved).
inline void ImportDemo(DataDir& d, const demo::DemoOptions& options) {
  const auto paths = demo::DemoPaths::Beside(d.path() + "/demo.jsonl");
  ASSERT_TRUE(demo::GenerateDemo(options, paths).ok());
  auto config = ingest::LoadIngestConfig(d.path());
  ASSERT_TRUE(config.ok());
  auto format = ingest::MakeFormat("jsonl", *config);
  ASSERT_TRUE(format.ok());
  ASSERT_TRUE(ingest::ImportFile(paths.events, "demo.jsonl", **format, d.store()).ok());
}

}  // namespace omni::identity::testing
