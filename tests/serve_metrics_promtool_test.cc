// /metrics as Prometheus itself reads it: after real traffic (events in,
// a bad batch quarantined, lookups, a 404, a 401), the exposition text goes
// through `promtool check metrics` (Debian's prometheus package, installed by
// scripts/setup.sh), which parses it and applies Prometheus' naming lints.
// Skipped only when promtool is not installed.
#include <gtest/gtest.h>
#include <stdio.h>

#include <string>

#include "serve_test_util.h"

namespace omni::testing {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs `command` with `input` on its stdin; stdout and stderr together.
CommandResult RunWithInput(const std::string& command, const std::string& input,
                           const std::filesystem::path& dir) {
  const auto in_file = dir / "promtool-input.txt";
  {
    std::ofstream out(in_file, std::ios::binary);
    out << input;
  }
  CommandResult r;
  FILE* p = popen((command + " < '" + in_file.string() + "' 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(MetricsPromtool, ExpositionPassesPromtoolCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian's prometheus package; scripts/setup.sh installs it)";
  }
  const auto dir = TempDir("serve-promtool");
  const auto data = dir / "data";
  std::filesystem::create_directories(data);
  const std::string key = CreateKey(data, "admin");
  ServerProcess server;
  ASSERT_TRUE(server.Start(data)) << server.Log();
  httplib::Client http("127.0.0.1", server.port());

  const std::string good =
      R"({"event_id":"p-1","ts":"2026-03-01T10:00:00+08:00","channel":"store","type":"purchase",)"
      R"("identities":{"member_card":"M0042"},"item_id":"SKU-1","quantity":1,"price":9.5})"
      "\n"
      R"({"event_id":"p-2","ts":"2026-03-01T10:05:00+08:00","channel":"web","type":"view",)"
      R"("identities":{"cookie_id":"c-1"},"item_id":"SKU-2"})"
      "\n"
      R"({"event_id":"p-3","ts":"not a time","channel":"web","type":"view","identities":{"cookie_id":"c-1"}})";
  auto posted = http.Post("/v1/events", Auth(key), good, "application/x-ndjson");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  ASSERT_TRUE(http.Get("/v1/customers/member_card:M0042", Auth(key)));
  ASSERT_TRUE(http.Get("/v1/customers/member_card:NOBODY", Auth(key)));
  ASSERT_TRUE(http.Get("/v1/segments", httplib::Headers{}));  // 401

  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  // The traffic above is in it, so the check covers histograms and labelled
  // counters, not an empty page.
  EXPECT_NE(metrics->body.find("_bucket{"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("le=\"+Inf\""), std::string::npos);

  const CommandResult check = RunWithInput("promtool check metrics", metrics->body, dir);
  EXPECT_EQ(check.exit_code, 0) << "promtool check metrics:\n" << check.output << "\n--- exposition:\n"
                                << metrics->body;
}

}  // namespace
}  // namespace omni::testing
