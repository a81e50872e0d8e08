// The command-line contract of DESIGN.md: exit codes 0/1/2, exactly one JSON
// object on stdout with --format json, the import summary's keys.
#include <simdjson.h>

#include <fstream>

#include "test_util.h"

namespace omni::testing {
namespace {

simdjson::dom::element ParseOne(simdjson::dom::parser& parser, const std::string& out) {
  auto doc = parser.parse(out);
  EXPECT_FALSE(doc.error()) << "stdout is not one JSON object: " << out;
  return doc.value_unsafe();
}

TEST(CliTest, UsageErrorsExitTwo) {
  auto dir = TempDir("cli-usage");
  EXPECT_EQ(RunOmni("--no-such-flag", dir).exit_code, 2);
  EXPECT_EQ(RunOmni("", dir).exit_code, 2);
  RunResult r = RunOmni("--data " + (dir / "d").string() + " serve", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not available yet"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(CliTest, MissingFileIsAUserErrorWithJsonError) {
  auto dir = TempDir("cli-missing");
  RunResult r = RunOmni("--data " + (dir / "d").string() + " --format json import /nonexistent.jsonl", dir);
  EXPECT_EQ(r.exit_code, 1);
  simdjson::dom::parser parser;
  auto obj = ParseOne(parser, r.out);
  EXPECT_FALSE(obj["error"]["message"].error());
  std::filesystem::remove_all(dir);
}

TEST(CliTest, ImportJsonSummaryCountsEveryRecordAndSecondImportAddsNothing) {
  auto dir = TempDir("cli-import");
  auto file = dir / "events.jsonl";
  {
    std::ofstream out(file);
    out << R"({"event_id":"e1","ts":"2026-03-01T10:15:02+08:00","channel":"store","type":"purchase","identities":{"member_card":"M0042","phone":"+86 138 0013 8000"},"item_id":"SKU-991","quantity":2,"price":59.0,"currency":"CNY","order_id":"R-1","store_id":"SH-07"})" "\n";
    out << R"({"event_id":"e2","ts":1709259302123,"channel":"web","type":"view","identities":{"cookie_id":"c-1"},"item_id":"SKU-1"})" "\n";
    out << R"({"event_id":"e1","ts":"2026-03-01T10:15:02+08:00","channel":"store","type":"purchase","identities":{"member_card":"M0042"}})" "\n";
    out << R"({"event_id":"e3","ts":"yesterday","channel":"web","type":"view","identities":{"cookie_id":"c-1"}})" "\n";
    out << R"({"event_id":"e4","ts":"2026-03-01T10:15:02+08:00","channel":"fax","type":"view","identities":{"cookie_id":"c-1"}})" "\n";
    out << "{not json\n";
  }
  std::string data = "--data " + (dir / "d").string();
  RunResult r = RunOmni(data + " --format json import " + file.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser parser;
  auto obj = ParseOne(parser, r.out);
  EXPECT_EQ(int64_t(obj["accepted"]), 2);
  EXPECT_EQ(int64_t(obj["duplicates"]), 1);
  EXPECT_EQ(int64_t(obj["rejected"]), 3);
  EXPECT_EQ(int64_t(obj["rejected_by_reason"]["bad_timestamp"]), 1);
  EXPECT_EQ(int64_t(obj["rejected_by_reason"]["unknown_channel"]), 1);
  EXPECT_EQ(int64_t(obj["rejected_by_reason"]["invalid_json"]), 1);
  // The raw phone number never reaches the database.
  EXPECT_EQ(QueryInt(dir / "d", "SELECT COUNT(*) FROM events WHERE identities LIKE '%138%'"), 0);

  r = RunOmni(data + " --format json import " + file.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto again = ParseOne(parser, r.out);
  EXPECT_EQ(int64_t(again["accepted"]), 0);
  EXPECT_EQ(int64_t(again["duplicates"]), 3);
  EXPECT_EQ(QueryInt(dir / "d", "SELECT COUNT(*) FROM events"), 2);
  // Quarantine keeps each rejected record once, with line and reason.
  EXPECT_EQ(QueryInt(dir / "d", "SELECT COUNT(*) FROM quarantine"), 3);

  r = RunOmni(data + " --format json quarantine list", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto q = ParseOne(parser, r.out);
  EXPECT_EQ(int64_t(q["total"]), 3);
  bool saw_line4 = false;
  for (auto rec : q["records"].get_array()) {
    if (int64_t(rec["line"]) == 4) {
      saw_line4 = true;
      EXPECT_EQ(std::string_view(rec["reason"]), "bad_timestamp");
      EXPECT_EQ(std::string_view(rec["field"]), "ts");
    }
  }
  EXPECT_TRUE(saw_line4);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
