// Propensity end to end through the real binary: train on a feature table,
// score it, use the written-back score in a segment and the customer view,
// read the report again. Customers come from a small generated retailer so
// segments have profiles to run over; the features and labels are planted.
#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace omni::testing {
namespace {

class PropensityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(TempDir("propensity-e2e"));
    data_ = "--data " + (*dir_ / "d").string();
    const std::string events = (*dir_ / "events.jsonl").string();
    ASSERT_EQ(RunOmni("demo generate --out " + events + " --customers 400 --events 8000", *dir_).exit_code, 0);
    ASSERT_EQ(RunOmni(data_ + " import " + events, *dir_).exit_code, 0);
    RunResult b = RunOmni(data_ + " profiles build", *dir_);
    ASSERT_EQ(b.exit_code, 0) << b.err;
    keys_ = new std::vector<std::string>;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((*dir_ / "d" / "omni.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT customer_key FROM profiles ORDER BY customer_key", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) keys_->emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    ASSERT_GT(keys_->size(), 100u);
    // Planted: the label follows `orders` strongly, `noise` not at all;
    // `days_since_view` is missing for a quarter of the customers.
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    std::ofstream f(*dir_ / "features.csv");
    f << "customer_key,cutoff,orders,noise,days_since_view,label\n";
    for (int copy = 0; copy < 8; ++copy) {  // several rows per customer key: a bigger training table
      for (const std::string& k : *keys_) {
        const double orders = std::floor(std::abs(g(rng)) * 3), noise = g(rng), view = std::floor(u(rng) * 30);
        const bool missing = u(rng) < 0.25;
        const double logit = -1.5 + 1.2 * orders - (missing ? 0 : 0.03 * view);
        const int label = u(rng) < 1 / (1 + std::exp(-logit));
        f << k << ",2026-01-01T00:00:00Z," << orders << ',' << noise << ',' << (missing ? "" : std::to_string(view)) << ','
          << label << '\n';
      }
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete keys_;
  }

  RunResult Omni(const std::string& args) { return RunOmni(data_ + " " + args, *dir_); }
  std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  static std::filesystem::path* dir_;
  static std::string data_;
  static std::vector<std::string>* keys_;
  simdjson::dom::parser parser_;
};

std::filesystem::path* PropensityE2eTest::dir_ = nullptr;
std::string PropensityE2eTest::data_;
std::vector<std::string>* PropensityE2eTest::keys_ = nullptr;

TEST_F(PropensityE2eTest, TrainScoreSegmentReport) {
  RunResult t = Omni("--format json propensity train --features " + Path("features.csv") +
                     " --name purchase_90d --spec xgboost:threads=1,rounds=100 --models logistic,tree,naive-bayes");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  simdjson::dom::element train = parser_.parse(t.out).value_unsafe();
  simdjson::dom::array models = train["models"].get_array().value_unsafe();
  ASSERT_EQ(models.size(), 4u);
  for (simdjson::dom::element m : models) {
    const double auc = double(m["auc"]);
    EXPECT_GT(auc, 0.75) << std::string_view(m["spec"]);  // the planted model's own AUC is ~0.85
    EXPECT_LE(auc, 1.0);
  }
  EXPECT_EQ(int64_t(train["version"]), 1);
  EXPECT_TRUE(std::filesystem::exists(*dir_ / "d" / "models" / "propensity" / "purchase_90d" / "000001.json"));

  // The table view leads with AUC and lift and warns about accuracy.
  RunResult report = Omni("propensity report");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("ROC AUC"), std::string::npos);
  EXPECT_NE(report.out.find("Accuracy misleads"), std::string::npos);
  EXPECT_NE(report.out.find("Reliability"), std::string::npos);

  RunResult s = Omni("--format json propensity score --features " + Path("features.csv") + " --name purchase_90d --out " +
                     Path("scores.csv"));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  simdjson::dom::element score = parser_.parse(s.out).value_unsafe();
  EXPECT_EQ(int64_t(score["customers"]), static_cast<int64_t>(keys_->size()));  // one row per customer kept
  simdjson::dom::element first = score["customers_shown"].at(0).value_unsafe();
  // The highest-scored customer is there because of many orders.
  EXPECT_EQ(std::string_view(first["up"].at(0)["feature"]), "orders");
  const std::filesystem::path db_dir = *dir_ / "d";
  EXPECT_EQ(QueryInt(db_dir, "SELECT COUNT(*) FROM customer_scores WHERE name = 'propensity.purchase_90d'"),
            static_cast<int64_t>(keys_->size()));

  // Segments select on the written-back score.
  const int64_t hot = QueryInt(db_dir, "SELECT COUNT(*) FROM customer_scores WHERE value > 0.4");
  ASSERT_GT(hot, 20);
  RunResult seg = Omni("--format json segments create hot 'propensity.purchase_90d > 0.4'");
  ASSERT_EQ(seg.exit_code, 0) << seg.err << seg.out;
  EXPECT_EQ(int64_t(parser_.parse(seg.out).value_unsafe()["size"]), hot);

  // The customer view shows the score.
  RunResult show = Omni("--format json customers show customer:" + (*keys_)[0]);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  double v = parser_.parse(show.out).value_unsafe()["scores"]["propensity.purchase_90d"];
  EXPECT_GE(v, 0.0);
  EXPECT_LE(v, 1.0);

  // A second training is version 2; score keeps working on the latest.
  ASSERT_EQ(Omni("propensity train --features " + Path("features.csv") + " --models logistic").exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(*dir_ / "d" / "models" / "propensity" / "purchase_90d" / "000002.json"));
}

TEST_F(PropensityE2eTest, BadInputIsAUserError) {
  {
    std::ofstream f(*dir_ / "nolabel.csv");
    f << "customer_key,orders\nC1,3\nC2,1\n";
  }
  EXPECT_EQ(Omni("propensity train --features " + Path("nolabel.csv")).exit_code, 1);
  {
    std::ofstream f(*dir_ / "bad.csv");
    f << "customer_key,orders,label\nC1,abc,1\n";
  }
  RunResult bad = Omni("propensity train --features " + Path("bad.csv"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("line 2"), std::string::npos) << bad.err;
  EXPECT_EQ(Omni("propensity train --features " + Path("features.csv") + " --models forest").exit_code, 1);
  EXPECT_EQ(Omni("propensity train --features " + Path("features.csv") + " --name 'bad name'").exit_code, 1);
  EXPECT_EQ(Omni("propensity report --name never_trained").exit_code, 1);
  EXPECT_EQ(Omni("propensity train").exit_code, 2);  // no rows: a usage error
  EXPECT_EQ(Omni("propensity train --features " + Path("features.csv") + " --cutoff 2025-10-01").exit_code, 2);
}

// DESIGN's form: the table is built from the store at the cutoffs, no CSV.
TEST_F(PropensityE2eTest, TrainsOnFeaturesBuiltFromTheStore) {
  RunResult t = Omni("--format json propensity train --cutoff 2025-09-01,2025-10-01 --horizon 30d --name from_store "
                     "--models logistic,naive-bayes");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  simdjson::dom::parser parser;
  auto doc = parser.parse(t.out);
  ASSERT_FALSE(doc.error()) << t.out;
  int fitted = 0;
  for (auto m : doc["models"].get_array()) {
    double auc = 0;
    if (!m["auc"].get(auc)) {
      ++fitted;
      EXPECT_GT(auc, 0.5);
    }
  }
  EXPECT_EQ(fitted, 2) << t.out;
}

}  // namespace
}  // namespace omni::testing
