// `omni demo` end to end on a small generated retailer: every planted defect is
// quarantined under its reason, every duplicate delivery is detected, and One-ID
// finds the generator's persons.
#include <simdjson.h>

#include "test_util.h"

namespace omni::testing {
namespace {

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
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
