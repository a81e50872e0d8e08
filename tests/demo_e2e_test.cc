// `omni demo` end to end on a small generated retailer: every planted defect is
// quarantined under its reason, every duplicate delivery is detected, One-ID
// finds the generator's persons, and the recommendations it shows are
// catalogue items with their names that the customer has not bought.
#include <simdjson.h>

#include <set>

#include "test_util.h"

namespace omni::testing {
namespace {

// One text value from DATA_DIR/omni.db ("" when there is no row).
std::string QueryText(const std::filesystem::path& data_dir, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2((data_dir / "omni.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

// 'text' as an SQL string literal.
std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

TEST(DemoE2eTest, PipelineQuarantinesEveryPlantedDefectAndResolvesPersons) {
  auto dir = TempDir("demo");
  RunResult r = RunOmni("--data " + (dir / "d").string() +
                            " --format json demo --customers 800 --items 300 --events 30000 --seed 7",
                        dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser parser;
  auto doc = parser.parse(r.out);
  ASSERT_FALSE(doc.error()) << r.out;
  simdjson::dom::element root = doc.value_unsafe();

  int64_t planted_total = 0;
  for (auto [reason, counts] : root["quarantine_check"].get_object()) {
    int64_t planted = int64_t(counts["planted"]);
    EXPECT_EQ(planted, int64_t(counts["quarantined"])) << reason;
    planted_total += planted;
  }
  EXPECT_GT(planted_total, 0) << "the generator planted no defects: the check proved nothing";
  EXPECT_EQ(int64_t(root["import"]["events"]["rejected"]), planted_total);
  EXPECT_EQ(int64_t(root["import"]["events"]["duplicates"]), int64_t(root["generated"]["duplicates"]));
  EXPECT_EQ(int64_t(root["import"]["events"]["accepted"]), int64_t(root["generated"]["events"]));
  EXPECT_GE(double(root["identity"]["precision"]), 0.99);
  EXPECT_GE(double(root["identity"]["recall"]), 0.95);
  // Step 4: every resolved customer gets a profile; buyers get RFM and a fitted CLV model.
  EXPECT_EQ(int64_t(root["profiles"]["customers"]), int64_t(root["identity"]["customers"]));
  EXPECT_GT(int64_t(root["profiles"]["buyers"]), 0);
  EXPECT_EQ(int64_t(root["profiles"]["events_read"]), int64_t(root["store"]["events"]));
  EXPECT_GT(double(root["profiles"]["clv"]["r"]), 0.0);
  EXPECT_GT(double(root["profiles"]["clv"]["v"]), 0.0);
  // Steps 5-6: propensity models beat chance on held-out rows; the browse window has anchors.
  auto models = root["behaviour"]["propensity"]["models"];
  for (const char* m : {"xgboost", "logistic", "tree", "naive-bayes"}) {
    EXPECT_GT(double(models[m]["auc"]), 0.6) << m;
  }
  EXPECT_FALSE(std::string_view(root["behaviour"]["propensity"]["best"]).empty());
  auto curves = root["behaviour"]["browse_window"].get_array();
  ASSERT_FALSE(curves.error());
  ASSERT_GT(curves.size(), 0u);
  EXPECT_GT(int64_t(curves.at(0)["anchors"]), 0);

  // Step 7: models compared on a temporal split, the best trained.
  auto rec = root["recommendations"];
  ASSERT_FALSE(rec.error()) << "no recommendations step in " << r.out;
  EXPECT_EQ(std::string_view(rec["evaluation"]["protocol"]), "temporal");
  double best_ndcg = -1, popularity_ndcg = -1;
  const std::string_view best(rec["evaluation"]["best"]);
  for (auto m : rec["evaluation"]["models"].get_array()) {
    const double ndcg = double(m["ndcg@10"]);
    EXPECT_GT(ndcg, 0.0) << std::string_view(m["spec"]);
    EXPECT_LE(ndcg, 1.0) << std::string_view(m["spec"]);
    if (std::string_view(m["spec"]) == best) best_ndcg = ndcg;
    if (std::string_view(m["spec"]) == "popularity") popularity_ndcg = ndcg;
  }
  EXPECT_GT(best_ndcg, 0.0) << "the best model is one of those evaluated";
  EXPECT_GE(best_ndcg, popularity_ndcg) << "the best is at least as good as the popularity baseline";
  EXPECT_GT(int64_t(rec["model"]["version"]), 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "d" / "models"));
  // The comparison is kept for the dashboard's recommendation-quality page,
  // as `omni evaluate` keeps its own: one report naming the same best model.
  {
    std::vector<std::filesystem::path> reports;
    if (std::filesystem::exists(dir / "d" / "evaluations")) {
      for (const auto& e : std::filesystem::directory_iterator(dir / "d" / "evaluations")) reports.push_back(e.path());
    }
    ASSERT_EQ(reports.size(), 1u) << "no evaluation kept in DATA_DIR/evaluations";
    simdjson::dom::parser report_parser;
    simdjson::dom::element report;
    ASSERT_FALSE(report_parser.load(reports[0].string()).get(report));
    EXPECT_EQ(std::string_view(report["protocol"]), "temporal");
    EXPECT_EQ(std::string_view(report["model"]), best);
  }

  // Example customers: catalogue items under their catalogue names, with an
  // explanation, none of them already bought (the demo configures no
  // repeat-purchase categories). Purchases are counted independently of
  // omni's serving layer: every event carrying one of the customer's
  // identifiers (identity tables) with type purchase.
  auto examples = rec["examples"].get_array();
  ASSERT_FALSE(examples.error());
  EXPECT_GE(examples.size(), 2u);
  const std::filesystem::path data = dir / "d";
  bool chinese = false;
  for (auto e : examples) {
    const std::string customer{std::string_view(e["customer"])};
    const std::string purchases_of = "SELECT count(*) FROM events e, json_each(e.identities) j JOIN identifiers i "
                                     "ON i.type = j.key AND i.value = j.value WHERE i.customer_key = " +
                                     Quoted(customer) + " AND e.type = 'purchase'";
    ASSERT_GT(QueryInt(data, purchases_of), 0) << customer << " has a purchase history";
    std::set<std::string> seen;
    for (auto item : e["items"].get_array()) {
      const std::string id{std::string_view(item["item_id"])};
      const std::string title{std::string_view(item["title"])};
      EXPECT_TRUE(seen.insert(id).second) << id << " listed twice for " << customer;
      EXPECT_EQ(QueryInt(data, "SELECT count(*) FROM items WHERE item_id = " + Quoted(id)), 1) << id;
      EXPECT_EQ(title, QueryText(data, "SELECT title FROM items WHERE item_id = " + Quoted(id))) << id;
      EXPECT_FALSE(std::string_view(item["explanation"]).empty()) << id;
      EXPECT_EQ(QueryInt(data, purchases_of + " AND e.item_id = " + Quoted(id)), 0)
          << customer << " already bought " << id << " (" << title << ")";
      for (unsigned char c : title) chinese = chinese || c >= 0xE4;
    }
    EXPECT_GE(seen.size(), 3u) << customer;
  }
  EXPECT_TRUE(chinese) << "the demo catalogue's Chinese names come through";

  // Frequently bought together: rules about a catalogue item.
  auto together = rec["together"];
  ASSERT_FALSE(together.is_null()) << "no frequently-bought-together example";
  EXPECT_EQ(QueryInt(data, "SELECT count(*) FROM items WHERE item_id = " +
                               Quoted(std::string(std::string_view(together["item_id"])))), 1);
  for (auto t : together["items"].get_array()) {
    EXPECT_GT(double(t["confidence"]), 0.0);
    EXPECT_LE(double(t["confidence"]), 1.0);
    EXPECT_GT(double(t["lift"]), 0.0);
    EXPECT_GT(int64_t(t["count"]), 0);
    EXPECT_FALSE(std::string_view(t["title"]).empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
