// Profiles, segments, CLV and the customer view, end to end through the real
// binary on a small generated retailer: generate, import, build, then use.
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace omni::testing {
namespace {

class ProfileE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(TempDir("profile-e2e"));
    data_ = "--data " + (*dir_ / "d").string();
    const std::string events = (*dir_ / "demo" / "events.jsonl").string();
    std::filesystem::create_directories(*dir_ / "demo");
    RunResult r = RunOmni("demo generate --out " + events + " --customers 2000 --events 50000", *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunOmni(data_ + " import " + (*dir_ / "demo" / "events.catalogue.csv").string() + " --as catalogue", *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunOmni(data_ + " import " + events, *dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    build_ = new RunResult(RunOmni(data_ + " --format json profiles build", *dir_));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete build_;
  }

  RunResult Omni(const std::string& args) { return RunOmni(data_ + " " + args, *dir_); }

  simdjson::dom::element Json(const std::string& out) {
    auto doc = parser_.parse(out);
    EXPECT_FALSE(doc.error()) << "not one JSON object: " << out;
    return doc.value_unsafe();
  }

  // A phone the generator gave one person (not a guest checkout or a shared one).
  std::string PhoneFromTruth() {
    std::ifstream in(*dir_ / "demo" / "events.truth.csv");
    std::string line;
    while (std::getline(in, line)) {
      std::stringstream row(line);
      std::string person, type, value, shared;
      std::getline(row, person, ',');
      std::getline(row, type, ',');
      std::getline(row, value, ',');
      std::getline(row, shared, ',');
      if (type == "phone" && shared.empty()) return value;
    }
    return "";
  }

  static std::filesystem::path* dir_;
  static std::string data_;
  static RunResult* build_;
  simdjson::dom::parser parser_;
};

std::filesystem::path* ProfileE2eTest::dir_ = nullptr;
std::string ProfileE2eTest::data_;
RunResult* ProfileE2eTest::build_ = nullptr;

TEST_F(ProfileE2eTest, BuildWritesOneProfilePerCustomer) {
  ASSERT_EQ(build_->exit_code, 0) << build_->err;
  auto b = Json(build_->out);
  const int64_t customers = int64_t(b["customers"]);
  EXPECT_GT(customers, 100);
  EXPECT_GT(int64_t(b["buyers"]), 50);
  EXPECT_EQ(int64_t(b["events_read"]), QueryInt(*dir_ / "d", "SELECT COUNT(*) FROM events"));
  EXPECT_EQ(QueryInt(*dir_ / "d", "SELECT COUNT(*) FROM profiles"), customers);
  EXPECT_FALSE(b["clv"]["r"].error()) << build_->out;
  EXPECT_EQ(QueryInt(*dir_ / "d", "SELECT COUNT(*) FROM profiles WHERE rfm_group IS NOT NULL"), int64_t(b["buyers"]));
  // A second build replaces the first instead of adding to it.
  RunResult again = Omni("--format json profiles build");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(QueryInt(*dir_ / "d", "SELECT COUNT(*) FROM profiles"), customers);
}

// `profiles export` writes every profile of the build as a JSON line, each
// the same profile object `customers show` gives for that customer.
TEST_F(ProfileE2eTest, ExportWritesEveryProfileAsTheCustomerViewShowsIt) {
  const std::string out = (*dir_ / "profiles.jsonl").string();
  RunResult r = Omni("--format json profiles export --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int64_t profiles = QueryInt(*dir_ / "d", "SELECT COUNT(*) FROM profiles");
  EXPECT_EQ(int64_t(Json(r.out)["profiles"]), profiles);
  std::ifstream in(out);
  std::string line, first_key, first_profile;
  int64_t lines = 0;
  simdjson::dom::parser lines_parser;
  while (std::getline(in, line)) {
    simdjson::dom::element doc;
    ASSERT_FALSE(lines_parser.parse(line).get(doc)) << "line " << lines + 1 << ": " << line;
    std::string_view key;
    ASSERT_FALSE(doc["customer_key"].get(key)) << line;
    simdjson::dom::object profile;
    ASSERT_FALSE(doc["profile"].get(profile)) << line;
    if (lines == 0) {
      first_key = std::string(key);
      first_profile = simdjson::minify(doc["profile"]);
    }
    ++lines;
  }
  EXPECT_EQ(lines, profiles);
  ASSERT_FALSE(first_key.empty());
  r = Omni("--format json customers show " + first_key);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(simdjson::minify(Json(r.out)["profile"]), first_profile);
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
}

TEST_F(ProfileE2eTest, CustomerShowFindsAPersonByPhone) {
  ASSERT_EQ(build_->exit_code, 0) << build_->err;
  const std::string phone = PhoneFromTruth();
  ASSERT_FALSE(phone.empty());
  // As a clerk would type it: spaces, national prefix.
  std::string typed = phone;  // "+8613800138000"
  if (typed.rfind("+86", 0) == 0) typed = "+86 " + typed.substr(3, 3) + " " + typed.substr(6, 4) + " " + typed.substr(10);
  RunResult r = Omni("--format json customers show 'phone:" + typed + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto c = Json(r.out);
  EXPECT_EQ(std::string_view(c["customer_key"]).substr(0, 1), "C");
  bool saw_phone = false;
  for (auto id : c["identifiers"].get_array()) {
    if (std::string_view(id["type"]) == "phone") {
      saw_phone = true;
      EXPECT_TRUE(bool(id["hashed"]));
      EXPECT_EQ(std::string_view(id["value"]).find(phone.substr(3)), std::string_view::npos);
    }
  }
  EXPECT_TRUE(saw_phone);
  EXPECT_FALSE(c["profile"]["rfm"].error());
  EXPECT_GT(c["timeline"].get_array().size(), 0u);
  EXPECT_LE(c["timeline"].get_array().size(), 20u);
  // The raw number never appears in the output.
  EXPECT_EQ(r.out.find(phone.substr(3)), std::string::npos);

  RunResult table = Omni("customers show 'phone:" + typed + "'");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("latest events"), std::string::npos);

  RunResult unknown = Omni("customers show 'phone:+86 139 0000 0000'");
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_EQ(unknown.err.find("139 0000 0000"), std::string::npos) << unknown.err;
}

TEST_F(ProfileE2eTest, SegmentsCreateListExportWithKAnonymity) {
  ASSERT_EQ(build_->exit_code, 0) << build_->err;
  RunResult r = Omni("--format json segments create store_buyers '\"store\" in purchase_channels and frequency >= 2'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto created = Json(r.out);
  EXPECT_EQ(std::string_view(created["expression"]), "\"store\" in purchase_channels and frequency >= 2");
  // The busiest customer(s): a segment that small must not show its size.
  const int64_t most = QueryInt(*dir_ / "d", "SELECT MAX(events) FROM profiles");
  r = Omni("--format json segments create one 'events >= " + std::to_string(most) + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Omni("segments create broken 'rfm.recncy >= 4'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("rfm.recency"), std::string::npos) << r.err;  // the suggestion
  r = Omni("segments create store_buyers 'true'");
  EXPECT_EQ(r.exit_code, 1);  // exists

  r = Omni("--format json segments list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = Json(r.out);
  int64_t store_size = -1;
  for (auto s : list["segments"].get_array()) {
    if (std::string_view(s["name"]) == "one") {
      EXPECT_TRUE(s["size"].is_null());
      EXPECT_TRUE(bool(s["size_suppressed"]));
    }
    if (std::string_view(s["name"]) == "store_buyers") store_size = int64_t(s["size"]);
  }
  EXPECT_GT(store_size, 10);
  RunResult table = Omni("segments list");
  EXPECT_NE(table.out.find("<10"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("suppressed"), std::string::npos) << table.out;

  r = Omni("--format json segments export store_buyers");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto keys = Json(r.out);
  EXPECT_EQ(int64_t(keys["count"]), store_size);
  r = Omni("--format json segments export store_buyers --as channel-hashes --channel sms");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto hashes = Json(r.out);
  EXPECT_GT(int64_t(hashes["count"]), 0);
  for (auto v : hashes["values"].get_array()) EXPECT_EQ(std::string_view(v).size(), 32u);
  EXPECT_EQ(Omni("segments export nope").exit_code, 1);
  EXPECT_EQ(Omni("segments export store_buyers --as channel-hashes --channel store").exit_code, 1);
}

TEST_F(ProfileE2eTest, ClvFitPrintsPublishedParameterNames) {
  RunResult r = Omni("--format json clv fit");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto fit = Json(r.out);
  for (const char* key : {"r", "alpha", "a", "b", "p", "q", "v"}) {
    double v = 0;
    EXPECT_FALSE(fit[key].get(v)) << key << " in " << r.out;
    EXPECT_GT(v, 0) << key;
  }
  EXPECT_FALSE(fit["log_likelihood"]["bgnbd"].error());
  r = Omni("--format json clv fit --calibration-end 2025-08-31 --holdout-end 2025-12-31 --unit week");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto holdout = Json(r.out)["holdout"];
  EXPECT_GT(double(holdout["actual_total"]), 0);
  EXPECT_EQ(holdout["by_frequency"].get_array().size(), 8u);
}

TEST_F(ProfileE2eTest, ClusterReportsSizesAndSilhouette) {
  ASSERT_EQ(build_->exit_code, 0) << build_->err;
  RunResult r = Omni("--format json segments cluster kmeans:k=3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = Json(r.out);
  EXPECT_EQ(c["clusters"].get_array().size(), 3u);
  double silhouette = double(c["silhouette"]);
  EXPECT_GT(silhouette, -1);
  EXPECT_LE(silhouette, 1);
}

}  // namespace
}  // namespace omni::testing
