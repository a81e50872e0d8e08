// The dashboard's numbers (dashboard_data.h) on small stores whose answers
// are known by construction: local-day grouping, the funnel, orders and
// sales, k-anonymous grids and histograms, segment sizes, quarantine text
// that stays valid UTF-8, the newest readable evaluation, and a reader that
// does not wait for an open write transaction.
#include "omni/serve/dashboard_data.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "omni/identity/identity.h"
#include "omni/ingest/timestamp.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/segments_store.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::serve {
namespace {

namespace fs = std::filesystem;

class DashboardDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("OMNI_TEST_TMP");
    dir_ = fs::path(base ? base : fs::temp_directory_path().string()) /
           ("dashboard-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string data() const { return dir_.string(); }

  static int64_t Ts(const char* rfc3339) {
    auto t = ingest::ParseTimestamp(rfc3339);
    EXPECT_TRUE(t.ok()) << rfc3339;
    return t->ts_ms;
  }

  static ingest::Event Event(std::string id, const char* ts, std::string channel, std::string type) {
    ingest::Event e;
    e.event_id = std::move(id);
    e.ts_ms = Ts(ts);
    e.tz_offset_min = 480;  // +08:00, as written below
    e.channel = std::move(channel);
    e.type = std::move(type);
    e.identities.push_back({ingest::IdentityType::kMemberCard, "M1"});
    return e;
  }

  void WriteBatch(ingest::Batch batch) {
    auto store = store::Store::OpenSqlite(data());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Write("test.jsonl", batch).ok());
  }

  // `n` profiles in cell (r, f) with net spend `monetary`, and CLV from `clv`.
  struct Cell {
    int r, f, n;
    double monetary;
    profile::RfmGroup group;
  };
  void WriteProfiles(const std::vector<Cell>& cells, const std::vector<double>& clv) {
    auto profiles = profile::ProfileStore::Open(data());
    ASSERT_TRUE(profiles.ok()) << profiles.status().ToString();
    profile::ProfileBuildInfo info;
    info.as_of_ms = Ts("2025-03-02T12:00:00+08:00");
    info.clv_json = R"({"r":0.5,"alpha":10,"unit":"day"})";
    auto built = (*profiles)->ReplaceProfiles(info, [&](const profile::ProfileStore::ProfileWriter& write) -> Status {
      int id = 0;
      for (const Cell& c : cells) {
        for (int i = 0; i < c.n; ++i, ++id) {
          profile::Profile p;
          p.customer_key = "C" + std::to_string(100000 + id);
          p.first_seen_ms = info.as_of_ms - 100 * 86400000LL;
          p.last_seen_ms = info.as_of_ms - 86400000LL * (id % 40);  // 1 day ago, 2 days ago, ...
          p.frequency = c.f;
          p.first_purchase_ms = p.last_purchase_ms = p.first_seen_ms;
          p.monetary = p.gross_sales = c.monetary;
          p.r_score = c.r;
          p.f_score = c.f;
          p.m_score = 3;
          p.rfm_group = c.group;
          p.identified = true;
          if (static_cast<size_t>(id) < clv.size()) {
            p.clv_12m = clv[static_cast<size_t>(id)];
            p.p_alive = 0.95;
          }
          OMNI_RETURN_IF_ERROR(write(p));
        }
      }
      return Status::Ok();
    });
    ASSERT_TRUE(built.ok()) << built.status().ToString();
  }

  void WriteConfig(const std::string& json) { std::ofstream(dir_ / "config.json") << json; }

  simdjson::dom::element Parse(const StatusOr<std::string>& text) {
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    if (!text.ok()) return {};
    json_ = *text;
    simdjson::dom::element doc;
    EXPECT_FALSE(parser_.parse(json_).get(doc)) << "not JSON: " << json_;
    return doc;
  }

  static DashboardData Open(const std::string& dir) {
    auto d = DashboardData::Open(dir);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return std::move(*d);
  }

  fs::path dir_;
  std::string json_;
  simdjson::dom::parser parser_;
};

TEST_F(DashboardDataTest, NoStoreIsAFailedPreconditionNamingTheCommand) {
  auto d = DashboardData::Open((dir_ / "empty").string());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("omni import"), std::string::npos);
}

TEST_F(DashboardDataTest, OverviewGroupsByShopLocalDayAndCountsTheFunnel) {
  ingest::Batch b;
  // 23:30 and 00:30 Beijing time are one UTC day but two shop days.
  b.events.push_back(Event("w1", "2025-03-01T23:30:00+08:00", "web", "view"));
  b.events.push_back(Event("w2", "2025-03-02T00:30:00+08:00", "web", "view"));
  b.events.push_back(Event("w3", "2025-03-02T00:31:00+08:00", "web", "add_to_cart"));
  // One web order of two lines: 2 × 10 + 1 × 5.
  auto line = [&](const char* id, double qty, double price) {
    ingest::Event e = Event(id, "2025-03-02T00:40:00+08:00", "web", "purchase");
    e.quantity = qty;
    e.price = price;
    e.currency = "CNY";
    e.order_id = "O1";
    return e;
  };
  b.events.push_back(line("w4", 2, 10));
  b.events.push_back(line("w5", 1, 5));
  ingest::Event till = Event("s1", "2025-03-02T11:00:00+08:00", "store", "purchase");
  till.price = 100;
  till.currency = "CNY";
  till.order_id = "R1";
  b.events.push_back(till);
  b.events.push_back(Event("a1", "2025-02-20T10:00:00+08:00", "app", "view"));  // before the window
  WriteBatch(std::move(b));

  DashboardData d = Open(data());
  auto o = Parse(d.Overview(3));
  EXPECT_EQ(std::string_view(o["window"]["from"]), "2025-02-28");
  EXPECT_EQ(std::string_view(o["window"]["to"]), "2025-03-02");
  ASSERT_EQ(simdjson::dom::array(o["dates"]).size(), 3u);
  auto web = simdjson::dom::array(o["events_per_day"]["web"]);
  std::vector<int64_t> per_day;
  for (auto v : web) per_day.push_back(int64_t(v));
  EXPECT_EQ(per_day, (std::vector<int64_t>{0, 1, 4}));
  EXPECT_TRUE(o["events_per_day"]["app"].error()) << "the app view is outside the window";
  EXPECT_EQ(int64_t(o["totals"]["events"]), 6);
  EXPECT_EQ(int64_t(o["totals"]["orders"]), 2);
  EXPECT_DOUBLE_EQ(double(o["totals"]["sales"]), 125.0);
  EXPECT_EQ(std::string_view(o["totals"]["currency"]), "CNY");
  auto funnel = simdjson::dom::array(o["funnel"]);
  ASSERT_EQ(funnel.size(), 2u);
  auto w = funnel.at(0);  // web first: most events
  EXPECT_EQ(std::string_view(w["channel"]), "web");
  EXPECT_EQ(int64_t(w["events"]["view"]), 2);
  EXPECT_EQ(int64_t(w["events"]["add_to_cart"]), 1);
  EXPECT_EQ(int64_t(w["events"]["purchase"]), 2);
  // One person (one member card) at every stage: a count of people below
  // k = 10 is not shown.
  EXPECT_TRUE(w["customers"]["view"].is_null());
  EXPECT_EQ(std::string_view(w["shown"]["view"]), "<10");
  EXPECT_EQ(std::string_view(o["people"]["basis"]), "identifiers") << "no resolution yet";
  // Daily active: nobody on 02-28 (0 is shown: it describes no one), one person on each other day (< k).
  auto active = simdjson::dom::array(o["active_per_day"]["total"]);
  ASSERT_EQ(active.size(), 3u);
  EXPECT_EQ(int64_t(active.at(0)), 0);
  EXPECT_TRUE(active.at(1).is_null());
  EXPECT_TRUE(active.at(2).is_null());
  EXPECT_TRUE(o["totals"]["customers"].is_null());
  EXPECT_EQ(std::string_view(o["totals"]["customers_shown"]), "<10");
  EXPECT_EQ(int64_t(w["orders"]), 1);
  EXPECT_DOUBLE_EQ(double(w["sales"]), 25.0);
  EXPECT_EQ(int64_t(o["store"]["events"]), 7);
  EXPECT_TRUE(o["customers"].is_null());
  EXPECT_NE(std::string_view(o["note"]).find("omni profiles build"), std::string_view::npos);

  // A wider window reaches the app view.
  auto wide = Parse(d.Overview(30));
  EXPECT_EQ(int64_t(wide["totals"]["events"]), 7);
}

TEST_F(DashboardDataTest, RfmGridGroupsAndSegmentsSuppressSmallCounts) {
  WriteBatch({});
  WriteProfiles({{5, 5, 12, 100.0, profile::RfmGroup::kChampions}, {1, 1, 2, 40.0, profile::RfmGroup::kLost}}, {});
  {
    auto sql = store::OpenSqliteSql(data());
    ASSERT_TRUE(sql.ok());
    auto segments = profile::SegmentStore::Over(**sql);
    ASSERT_TRUE(segments.ok()) << segments.status().ToString();
    ASSERT_TRUE(segments->Save({"best", "rfm.recency >= 5", "", 0, 0}, false).ok());
    ASSERT_TRUE(segments->Save({"worst", "rfm.recency <= 1", "", 0, 0}, false).ok());
  }
  auto cell = [](simdjson::dom::element rfm, int r, int f) {
    return simdjson::dom::array(rfm["grid"]["cells"]).at(static_cast<size_t>((r - 1) * 5 + (f - 1))).value();
  };
  {
    DashboardData d = Open(data());
    auto rfm = Parse(d.Rfm());
    EXPECT_EQ(int64_t(rfm["min_group_size"]), 10);
    EXPECT_EQ(int64_t(cell(rfm, 5, 5)["customers"]), 12);
    EXPECT_DOUBLE_EQ(double(cell(rfm, 5, 5)["avg_monetary"]), 100.0);
    EXPECT_TRUE(cell(rfm, 1, 1)["customers"].is_null()) << "2 customers < k = 10";
    EXPECT_EQ(std::string_view(cell(rfm, 1, 1)["shown"]), "<10");
    EXPECT_TRUE(cell(rfm, 1, 1)["avg_monetary"].is_null()) << "an average would describe the two";
    EXPECT_EQ(int64_t(cell(rfm, 3, 3)["customers"]), 0) << "zero is shown: it describes no one";
    auto groups = simdjson::dom::array(rfm["groups"]);
    EXPECT_EQ(std::string_view(groups.at(0)["group"]), "champions");
    EXPECT_EQ(int64_t(groups.at(0)["customers"]), 12);
    auto segments = simdjson::dom::array(rfm["segments"]);
    ASSERT_EQ(segments.size(), 2u);
    EXPECT_EQ(std::string_view(segments.at(0)["name"]), "best");
    EXPECT_EQ(int64_t(segments.at(0)["customers"]), 12);
    EXPECT_TRUE(segments.at(1)["customers"].is_null());
    EXPECT_EQ(std::string_view(segments.at(1)["shown"]), "<10");
  }
  WriteConfig(R"({"min_group_size": 2})");
  DashboardData d = Open(data());
  auto rfm = Parse(d.Rfm());
  EXPECT_EQ(int64_t(cell(rfm, 1, 1)["customers"]), 2);
  EXPECT_DOUBLE_EQ(double(cell(rfm, 1, 1)["avg_monetary"]), 40.0);
  EXPECT_EQ(int64_t(simdjson::dom::array(rfm["segments"]).at(1)["customers"]), 2);
}

TEST_F(DashboardDataTest, ClvHistogramBinsUpToARoundNumberAboveThe95thPercentile) {
  WriteBatch({});
  std::vector<double> clv;
  for (int i = 1; i <= 12; ++i) clv.push_back(100.0 * i);  // 100 .. 1200
  WriteProfiles({{5, 5, 12, 100.0, profile::RfmGroup::kChampions}}, clv);
  WriteConfig(R"({"min_group_size": 6})");
  DashboardData d = Open(data());
  auto c = Parse(d.Clv(2));
  EXPECT_EQ(int64_t(c["customers"]), 12);
  EXPECT_DOUBLE_EQ(double(c["model"]["r"]), 0.5);
  EXPECT_DOUBLE_EQ(double(c["summary"]["total_12m"]), 7800.0);
  EXPECT_DOUBLE_EQ(double(c["summary"]["median"]), 650.0);
  // p95 = 1145 → upper edge 1500, two bins of 750: 100..700 and 800..1200.
  auto bins = simdjson::dom::array(c["histogram"]["bins"]);
  ASSERT_EQ(bins.size(), 2u) << "no open bin: nothing at or above 1500";
  EXPECT_DOUBLE_EQ(double(bins.at(0)["to"]), 750.0);
  EXPECT_EQ(int64_t(bins.at(0)["customers"]), 7);
  EXPECT_TRUE(bins.at(1)["customers"].is_null()) << "5 customers < k = 6";
  EXPECT_EQ(std::string_view(bins.at(1)["shown"]), "<6");
}

TEST_F(DashboardDataTest, QuarantineIsAlwaysValidUtf8AndFiltersByReason) {
  ingest::Batch b;
  // A GBK-encoded search query ("你好"), as some till exports write.
  b.rejected.push_back({3, ingest::RejectReason::kInvalidUtf8, "", "line 3: not valid UTF-8",
                        "{\"query\":\"\xC4\xE3\xBA\xC3\"}"});
  b.rejected.push_back({7, ingest::RejectReason::kInvalidJson, "", "line 7: not valid JSON", "{\"event_id\":"});
  b.rejected.push_back({9, ingest::RejectReason::kInvalidJson, "", "line 9: not valid JSON", "{"});
  WriteBatch(std::move(b));
  DashboardData d = Open(data());
  auto q = Parse(d.Quarantine(10, ""));  // Parse fails the test on invalid UTF-8
  EXPECT_EQ(int64_t(q["total"]), 3);
  EXPECT_EQ(std::string_view(q["reasons"].at(0)["reason"]), "invalid_json");
  EXPECT_EQ(int64_t(q["reasons"].at(0)["count"]), 2);
  auto recent = simdjson::dom::array(q["recent"]);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(int64_t(recent.at(0)["line"]), 9) << "newest first";
  const std::string_view gbk = recent.at(2)["raw"];
  EXPECT_EQ(gbk, "{\"query\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}");
  auto only = Parse(d.Quarantine(10, "invalid_utf8"));
  ASSERT_EQ(simdjson::dom::array(only["recent"]).size(), 1u);
  EXPECT_EQ(int64_t(only["recent"].at(0)["line"]), 3);
}

TEST_F(DashboardDataTest, RecommendationsShowTheNewestReadableEvaluation) {
  WriteBatch({});
  {
    DashboardData d = Open(data());
    auto r = Parse(d.Recommendations());
    EXPECT_TRUE(r["evaluation"].is_null());
    EXPECT_NE(std::string_view(r["note"]).find("omni evaluate"), std::string_view::npos);
  }
  fs::create_directories(dir_ / "evaluations");
  std::ofstream(dir_ / "evaluations" / "20250301T000000Z.json") << R"({"protocol":"leave-last-out","k":10})";
  const auto older = fs::last_write_time(dir_ / "evaluations" / "20250301T000000Z.json");
  std::ofstream(dir_ / "evaluations" / "20250302T000000Z.json") << R"({"protocol":"tempo)";  // torn
  fs::last_write_time(dir_ / "evaluations" / "20250302T000000Z.json", older + std::chrono::seconds(5));
  fs::create_directories(dir_ / "models" / "itemknn");
  std::ofstream(dir_ / "models" / "itemknn" / "000001.json") << R"({"spec":"itemknn:k=100","version":1})";
  std::ofstream(dir_ / "models" / "itemknn" / "000002.json") << R"({"spec":"itemknn:k=50","version":2})";
  DashboardData d = Open(data());
  auto r = Parse(d.Recommendations());
  EXPECT_EQ(std::string_view(r["evaluation"]["protocol"]), "leave-last-out");
  EXPECT_EQ(std::string_view(r["evaluation_file"]), "20250301T000000Z.json");
  auto models = simdjson::dom::array(r["models"]);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(int64_t(models.at(0)["meta"]["version"]), 2);
}

TEST_F(DashboardDataTest, ReadersDoNotWaitForAnOpenWriteTransaction) {
  ingest::Batch b;
  b.events.push_back(Event("w1", "2025-03-01T10:00:00+08:00", "web", "view"));
  WriteBatch(std::move(b));
  auto writer = store::OpenSqliteSql(data());
  ASSERT_TRUE(writer.ok());
  // The writer holds the write lock with an uncommitted row while the
  // dashboard reads: the read must neither wait nor see the row.
  Status st = (*writer)->InTransaction([&]() -> Status {
    OMNI_RETURN_IF_ERROR((*writer)
                             ->Execute("INSERT INTO events(event_key, event_id, ts_ms, channel, type) "
                                       "VALUES (1, 'uncommitted', ?, 'web', 'view')",
                                       {Ts("2025-03-01T11:00:00+08:00")})
                             .status());
    const auto start = std::chrono::steady_clock::now();
    DashboardData d = Open(data());
    auto o = Parse(d.Overview(30));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 1.0) << "the reader waited for the writer";
    EXPECT_EQ(int64_t(o["store"]["events"]), 1);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

// People in the overview: three persons, one of them seen with a member card
// in the app and the store and with a WeChat id on the web (linked by the
// app event that carries both). Expected counts are worked out by hand below.
class OverviewPeopleTest : public DashboardDataTest {
 protected:
  static ingest::Event With(std::string id, const char* ts, std::string channel, std::string type,
                            std::vector<ingest::Identity> ids) {
    ingest::Event e = Event(std::move(id), ts, std::move(channel), std::move(type));
    e.identities = std::move(ids);
    return e;
  }
  static ingest::Identity Card(std::string v) { return {ingest::IdentityType::kMemberCard, std::move(v)}; }
  static ingest::Identity Social(std::string v) { return {ingest::IdentityType::kSocialId, std::move(v)}; }
  static ingest::Identity Cookie(std::string v) { return {ingest::IdentityType::kCookieId, std::move(v)}; }

  void SetUp() override {
    DashboardDataTest::SetUp();
    WriteConfig(R"({"min_group_size": 1})");
    ingest::Batch b;
    // Day 1 (2025-03-01)
    b.events.push_back(With("a1", "2025-03-01T09:00:00+08:00", "app", "view", {Card("MA"), Social("SA")}));
    b.events.push_back(With("a2", "2025-03-01T10:00:00+08:00", "web", "view", {Social("SA")}));
    b.events.push_back(With("a3", "2025-03-01T10:01:00+08:00", "web", "add_to_cart", {Social("SA")}));
    b.events.push_back(With("b1", "2025-03-01T21:00:00+08:00", "web", "view", {Cookie("CB")}));
    // Day 2 (2025-03-02): 00:10 in Beijing is still day 1 in UTC.
    b.events.push_back(With("b2", "2025-03-02T00:10:00+08:00", "web", "view", {Cookie("CB")}));
    b.events.push_back(With("b3", "2025-03-02T00:11:00+08:00", "web", "add_to_cart", {Cookie("CB")}));
    b.events.push_back(With("a4", "2025-03-02T12:00:00+08:00", "store", "purchase", {Card("MA")}));
    b.events.push_back(With("c1", "2025-03-02T15:00:00+08:00", "store", "purchase", {Card("MC")}));
    b.events.push_back(With("c2", "2025-03-02T23:59:00+08:00", "app", "view", {Card("MC")}));
    WriteBatch(std::move(b));
  }

  void Resolve() {
    auto store = store::Store::OpenSqlite(data());
    ASSERT_TRUE(store.ok());
    auto sql = store::OpenSqliteSql(data());
    ASSERT_TRUE(sql.ok());
    auto stats = identity::Resolve(**store, **sql, identity::IdentityConfig{});
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    ASSERT_EQ(stats->customers, 3);
  }

  static std::vector<int64_t> Ints(simdjson::dom::element array) {
    std::vector<int64_t> out;
    for (auto v : simdjson::dom::array(array)) out.push_back(v.is_null() ? -1 : int64_t(v));
    return out;
  }
  static simdjson::dom::element FunnelOf(simdjson::dom::element o, std::string_view channel) {
    for (auto f : simdjson::dom::array(o["funnel"])) {
      if (std::string_view(f["channel"]) == channel) return f;
    }
    ADD_FAILURE() << "no funnel row for " << channel;
    return {};
  }
  static std::vector<int64_t> Stages(simdjson::dom::element f) {
    return {int64_t(f["customers"]["view"]), int64_t(f["customers"]["add_to_cart"]),
            int64_t(f["customers"]["purchase"])};
  }
};

TEST_F(OverviewPeopleTest, CountsResolvedCustomersOncePerDayChannelAndStage) {
  Resolve();
  DashboardData d = Open(data());
  auto o = Parse(d.Overview(2));
  EXPECT_EQ(std::string_view(o["people"]["basis"]), "customers");
  EXPECT_EQ(int64_t(o["people"]["unresolved_events"]), 0);
  EXPECT_EQ(int64_t(o["totals"]["customers"]), 3) << "A, B and C";
  // Day 1: A (app, web), B (web). Day 2: A (store), B (web), C (store, app).
  EXPECT_EQ(Ints(o["active_per_day"]["total"]), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Ints(o["active_per_day"]["by_channel"]["web"]), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(Ints(o["active_per_day"]["by_channel"]["app"]), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(Ints(o["active_per_day"]["by_channel"]["store"]), (std::vector<int64_t>{0, 2}));
  // Web: A and B viewed and carted (B's two views count once); nobody bought on the web.
  EXPECT_EQ(Stages(FunnelOf(o, "web")), (std::vector<int64_t>{2, 2, 0}));
  EXPECT_EQ(int64_t(FunnelOf(o, "web")["events"]["view"]), 3);
  EXPECT_EQ(Stages(FunnelOf(o, "app")), (std::vector<int64_t>{2, 0, 0}));
  EXPECT_EQ(Stages(FunnelOf(o, "store")), (std::vector<int64_t>{0, 0, 2}));
  // Across channels A viewed (app, web), carted (web) and bought (store): one person in each stage.
  EXPECT_EQ(Stages(o["funnel_all_channels"]), (std::vector<int64_t>{3, 2, 2}));

  // The one-day window keeps day 2 only.
  auto one = Parse(d.Overview(1));
  EXPECT_EQ(Ints(one["active_per_day"]["total"]), (std::vector<int64_t>{3}));
  EXPECT_EQ(Stages(one["funnel_all_channels"]), (std::vector<int64_t>{2, 1, 2}));
}

TEST_F(OverviewPeopleTest, FallsBackToIdentifiersBeforeResolutionAndSaysSo) {
  DashboardData d = Open(data());
  auto o = Parse(d.Overview(2));
  EXPECT_EQ(std::string_view(o["people"]["basis"]), "identifiers");
  EXPECT_NE(std::string_view(o["people"]["note"]).find("omni customers resolve"), std::string_view::npos);
  // A is two people without One-ID: card MA (the app event's strongest
  // identifier, and the store's) and WeChat SA (web).
  EXPECT_EQ(int64_t(o["totals"]["customers"]), 4);
  EXPECT_EQ(Ints(o["active_per_day"]["total"]), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(Stages(o["funnel_all_channels"]), (std::vector<int64_t>{4, 2, 2}));
}

TEST_F(OverviewPeopleTest, EventsNewerThanTheResolutionCountByIdentifier) {
  Resolve();
  ingest::Batch late;
  late.events.push_back(With("d1", "2025-03-02T20:00:00+08:00", "web", "view", {Cookie("new-visitor")}));
  late.events.push_back(With("a5", "2025-03-02T20:05:00+08:00", "web", "view", {Social("SA")}));
  WriteBatch(std::move(late));
  DashboardData d = Open(data());
  auto o = Parse(d.Overview(2));
  EXPECT_EQ(std::string_view(o["people"]["basis"]), "customers");
  EXPECT_EQ(int64_t(o["people"]["unresolved_events"]), 1) << "SA is known: only the new cookie is not";
  EXPECT_EQ(Ints(o["active_per_day"]["by_channel"]["web"]), (std::vector<int64_t>{2, 3}));
}

TEST_F(OverviewPeopleTest, CountsKeptBetweenCallsMatchACountFromScratch) {
  Resolve();
  auto directory = identity::LoadDirectory(data());
  ASSERT_TRUE(directory.ok());
  std::shared_ptr<const identity::CustomerDirectory> shared = std::move(*directory);
  OverviewCounts kept(shared, identity::IdentityConfig{}, 366);
  {
    DashboardData d = Open(data());
    Parse(d.Overview(2, kept));
  }
  ingest::Batch more;
  more.events.push_back(With("c3", "2025-03-03T10:00:00+08:00", "web", "purchase", {Card("MC")}));
  more.events.push_back(With("b4", "2025-03-03T11:00:00+08:00", "web", "view", {Cookie("CB")}));
  more.events.push_back(With("old", "2025-02-01T11:00:00+08:00", "web", "view", {Cookie("CB")}));
  WriteBatch(std::move(more));
  DashboardData d = Open(data());
  const std::string incremental = *d.Overview(3, kept);
  OverviewCounts fresh(shared, identity::IdentityConfig{}, 366);
  const std::string from_scratch = *d.Overview(3, fresh);
  EXPECT_EQ(incremental, from_scratch);
  auto o = Parse(incremental);
  EXPECT_EQ(Ints(o["active_per_day"]["total"]), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(Stages(FunnelOf(o, "web")), (std::vector<int64_t>{2, 2, 1}));
}

TEST(ValidUtf8Test, KeepsUtf8AndReplacesEachBadByte) {
  EXPECT_EQ(ValidUtf8("上海 南京西路店"), "上海 南京西路店");
  EXPECT_EQ(ValidUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ValidUtf8("\xE4\xB8"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "a truncated sequence";
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "a UTF-16 surrogate";
}

}  // namespace
}  // namespace omni::serve
