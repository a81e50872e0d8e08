// `omni features build` and `omni behaviour window` through the real binary on
// a small generated retailer: refused before One-ID has run, then a stacked
// feature table whose CSV agrees with the JSON summary, and the window as JSON
// and SVG.
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace omni::testing {
namespace {

class FeaturesE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(TempDir("features-e2e"));
    data_ = "--data " + (*dir_ / "d").string();
    const std::string events = (*dir_ / "demo" / "events.jsonl").string();
    std::filesystem::create_directories(*dir_ / "demo");
    RunResult r = RunOmni("demo generate --out " + events + " --customers 2000 --events 40000", *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunOmni(data_ + " import " + (*dir_ / "demo" / "events.catalogue.csv").string() + " --as catalogue", *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunOmni(data_ + " import " + events, *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    before_resolve_ = new RunResult(RunOmni(data_ + " --format json features build --cutoff 2025-07-01", *dir_));
    r = RunOmni(data_ + " customers resolve", *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete before_resolve_;
  }
  RunResult Omni(const std::string& args) { return RunOmni(data_ + " " + args, *dir_); }
  simdjson::dom::element Json(const std::string& out) {
    auto doc = parser_.parse(out);
    EXPECT_FALSE(doc.error()) << "not one JSON object: " << out;
    return doc.value_unsafe();
  }

  static std::filesystem::path* dir_;
  static std::string data_;
  static RunResult* before_resolve_;
  simdjson::dom::parser parser_;
};

std::filesystem::path* FeaturesE2eTest::dir_ = nullptr;
std::string FeaturesE2eTest::data_;
RunResult* FeaturesE2eTest::before_resolve_ = nullptr;

TEST_F(FeaturesE2eTest, WithoutOneIdTheCommandSaysToResolveCustomersFirst) {
  EXPECT_EQ(before_resolve_->exit_code, 1);
  EXPECT_NE(before_resolve_->err.find("omni customers resolve"), std::string::npos) << before_resolve_->err;
}

TEST_F(FeaturesE2eTest, StackedCutoffsWriteOneCsvThatMatchesTheSummary) {
  const std::string out = (*dir_ / "features.csv").string();
  RunResult r = Omni("--format json features build --cutoff 2025-07-01,2025-10-01 --horizon 4w --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r.out);
  const int64_t rows = int64_t(j["rows"]);
  const int64_t positives = int64_t(j["positives"]);
  EXPECT_GT(rows, 500);
  EXPECT_GT(positives, 0);
  EXPECT_LT(positives, rows);
  EXPECT_EQ(std::string(std::string_view(j["out"])), out);
  EXPECT_DOUBLE_EQ(double(j["horizon_days"]), 28.0);
  simdjson::dom::array cutoffs = j["cutoffs"];
  EXPECT_EQ(cutoffs.size(), 2u);
  int64_t sum = 0;
  for (simdjson::dom::element c : cutoffs) sum += int64_t(c["rows"]);
  EXPECT_EQ(sum, rows);
  std::vector<std::string> columns;
  simdjson::dom::array column_names = j["columns"];
  for (simdjson::dom::element c : column_names) columns.emplace_back(std::string_view(c));
  for (const char* name : {"recency_days", "frequency", "monetary", "browse_without_buy_7d", "cart_abandon_30d",
                           "days_since_unbought_view", "tenure_days", "refund_rate", "bgnbd_p_alive"}) {
    EXPECT_NE(std::find(columns.begin(), columns.end(), name), columns.end()) << name;
  }

  // The CSV: header customer_key,cutoff,<columns>,label; one line per row; the labels add up.
  std::ifstream in(out);
  std::string header;
  ASSERT_TRUE(std::getline(in, header));
  std::string expected = "customer_key,cutoff";
  for (const auto& c : columns) expected += "," + c;
  EXPECT_EQ(header, expected + ",label");
  int64_t lines = 0, ones = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    ones += line.back() == '1';
  }
  EXPECT_EQ(lines, rows);
  EXPECT_EQ(ones, positives);
}

TEST_F(FeaturesE2eTest, BadFlagsAreUserErrors) {
  EXPECT_EQ(Omni("features build --cutoff 2025-07-01 --horizon 3x").exit_code, 1);
  EXPECT_EQ(Omni("features build --cutoff yesterday").exit_code, 1);
  EXPECT_EQ(Omni("behaviour window --by store").exit_code, 1);
}

TEST_F(FeaturesE2eTest, TheBrowseWindowAsJsonAndSvg) {
  const std::string svg = (*dir_ / "window.svg").string();
  RunResult r = Omni("--format json behaviour window --svg " + svg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r.out);
  simdjson::dom::array curves = j["curves"];
  ASSERT_GT(curves.size(), 2u);
  simdjson::dom::element first = curves.at(0);
  EXPECT_EQ(std::string_view(first["anchor"]), "view");
  EXPECT_EQ(std::string_view(first["channel"]), "all");
  double previous = 0;
  simdjson::dom::array shares = first["p_within"];
  for (simdjson::dom::element p : shares) {  // a cumulative share never falls
    const double v = double(p);
    EXPECT_GE(v, previous);
    EXPECT_LE(v, 1.0);
    previous = v;
  }
  EXPECT_GT(previous, 0);
  bool cross = false;
  for (simdjson::dom::element c : curves) cross = cross || std::string_view(c["channel"]) == "online→store";
  EXPECT_TRUE(cross);
  std::ifstream f(svg);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_NE(text.str().find("<polyline"), std::string::npos);
}

}  // namespace
}  // namespace omni::testing
