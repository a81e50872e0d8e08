// Unit tests of the serve module's parts; the server as a whole is tested
// through the real binary in tests/serve_e2e_test.cc and serve_kill_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "omni/ingest/config.h"
#include "omni/ingest/jsonl_format.h"
#include "omni/serve/api_keys.h"
#include "omni/serve/event_ingest.h"
#include "omni/serve/http_error.h"
#include "omni/serve/metrics.h"
#include "omni/serve/rate_limiter.h"
#include "omni/serve/routes.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::serve {
namespace {

std::filesystem::path TempDir(const std::string& name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  auto dir = root / (name + "-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// (method, path) pairs under `paths:` of docs/openapi.yaml: a path is a
// two-space-indented key starting with '/', a method a four-space one.
std::set<std::pair<std::string, std::string>> DocumentedOperations() {
  std::ifstream in(std::string(OMNI_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(in.good()) << "docs/openapi.yaml missing";
  std::set<std::pair<std::string, std::string>> ops;
  const std::regex path_re(R"(^  (/[^:\s]*):\s*$)");
  const std::regex method_re(R"(^    (get|post|put|delete|patch):\s*$)");
  std::string line, path;
  bool in_paths = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_re) && !path.empty()) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      ops.emplace(method, path);
    }
  }
  return ops;
}

TEST(Routes, EveryServedRouteIsInOpenApiAndNothingElse) {
  const auto documented = DocumentedOperations();
  std::set<std::pair<std::string, std::string>> served;
  for (const Route& r : ApiRoutes()) {
    served.emplace(std::string(r.method), std::string(r.path));
    EXPECT_TRUE(documented.count({std::string(r.method), std::string(r.path)}))
        << r.method << " " << r.path << " is served but not described in docs/openapi.yaml";
  }
  for (const auto& op : documented) {
    bool delegated = false;
    for (const RoutePrefix& p : DelegatedRoutePrefixes()) {
      delegated |= op.second.compare(0, p.prefix.size(), p.prefix) == 0;
    }
    EXPECT_TRUE(served.count(op) || delegated)
        << op.first << " " << op.second << " is described in docs/openapi.yaml but the server has no such route";
  }
  EXPECT_GE(served.size(), 11u);
}

// The dashboard registers its routes itself (dashboard.cc): every literal
// path it registers must be documented too, and lie under a prefix the auth
// layer knows (so it gets the right scope).
TEST(Routes, DashboardRoutesAreDocumentedAndScoped) {
  const auto documented = DocumentedOperations();
  const std::regex get_re(R"re(server\.(Get|Post)\(\s*"([^"(]*)")re");
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(OMNI_SOURCE_DIR) + "/src/omni/serve")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("dashboard", 0) != 0 || entry.path().extension() != ".cc") continue;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    for (std::sregex_iterator it(text.begin(), text.end(), get_re), end; it != end; ++it) {
      std::string method = (*it)[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const std::string path = (*it)[2];
      ++found;
      EXPECT_TRUE(documented.count({method, path})) << name << " registers " << method << " " << path
                                                    << " but docs/openapi.yaml does not describe it";
      bool scoped = false;
      for (const RoutePrefix& p : DelegatedRoutePrefixes()) scoped |= path.compare(0, p.prefix.size(), p.prefix) == 0;
      EXPECT_TRUE(scoped) << path << " is under no prefix of DelegatedRoutePrefixes() (routes.cc)";
    }
  }
  if (found == 0) GTEST_SKIP() << "no dashboard*.cc in this tree";
}

TEST(Routes, PatternsCaptureOneSegment) {
  const Route r{"GET", "/v1/customers/{identifier}/forget", Scope::kAdmin, ""};
  const std::regex re(RoutePattern(r));
  std::smatch m;
  const std::string ok = "/v1/customers/phone:+8613800138000/forget";
  ASSERT_TRUE(std::regex_match(ok, m, re));
  EXPECT_EQ(m[1], "phone:+8613800138000");
  const std::string two = "/v1/customers/a/b/forget";
  EXPECT_FALSE(std::regex_match(two, re));
}

TEST(HttpError, StatusMappingAndShape) {
  EXPECT_EQ(HttpStatusOf(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusOf(StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusOf(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(StatusCode::kInternal), 500);
  EXPECT_EQ(ErrorJson(InvalidArgument("bad \"ts\""), "ts"),
            R"({"error":{"code":"invalid_argument","message":"bad \"ts\"","field":"ts"}})");
  EXPECT_EQ(ErrorJson("rate_limited", "slow down"), R"({"error":{"code":"rate_limited","message":"slow down"}})");
}

TEST(SplitEventBody, ArrayObjectAndJsonl) {
  auto array = SplitEventBody(R"( [ {"a":"x,]}"} , {"b":[1,2]} ] )");
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  ASSERT_EQ(array->size(), 2u);
  EXPECT_EQ((*array)[0], R"({"a":"x,]}"})");
  EXPECT_EQ((*array)[1], R"({"b":[1,2]})");

  auto pretty = SplitEventBody("{\n  \"event_id\": \"e1\",\n  \"x\": {\"y\": 1}\n}\n");
  ASSERT_TRUE(pretty.ok());
  ASSERT_EQ(pretty->size(), 1u);

  auto jsonl = SplitEventBody("{\"a\":1}\r\n\n{\"b\":2}\nnot json\n");
  ASSERT_TRUE(jsonl.ok());
  ASSERT_EQ(jsonl->size(), 3u);
  EXPECT_EQ((*jsonl)[0], "{\"a\":1}");
  EXPECT_EQ((*jsonl)[2], "not json");

  auto escaped = SplitEventBody(R"([{"a":"quote \" and ] bracket"}])");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->size(), 1u);
}

TEST(SplitEventBody, MalformedBodiesAreInvalidArgument) {
  for (std::string_view body : {"", "   \n", "[", R"([{"a":1},)", "[{\"a\":1},,{}]", "[]", "[{\"a\":1}] x"}) {
    auto r = SplitEventBody(body);
    EXPECT_FALSE(r.ok()) << "body: " << body;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(RateLimiter, BurstThenRefusesThenRefills) {
  RateLimiter limiter;
  const auto t0 = RateLimiter::Clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.Take(1, 2.0, 4.0, t0).allowed) << i;
  RateLimiter::Decision refused = limiter.Take(1, 2.0, 4.0, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_NEAR(refused.retry_after_s, 0.5, 1e-9);
  EXPECT_TRUE(limiter.Take(2, 2.0, 4.0, t0).allowed) << "buckets are per key";
  EXPECT_TRUE(limiter.Take(1, 2.0, 4.0, t0 + std::chrono::milliseconds(500)).allowed);
  EXPECT_FALSE(limiter.Take(1, 2.0, 4.0, t0 + std::chrono::milliseconds(500)).allowed);
  EXPECT_TRUE(limiter.Take(1, 0.0, 0.0, t0).allowed) << "rate 0 = unlimited";
}

TEST(ApiKeys, StoredHashedWithScopes) {
  const auto dir = TempDir("serve-keys");
  auto sql = store::OpenSqliteSql(dir.string());
  ASSERT_TRUE(sql.ok());
  auto keys = ApiKeyStore::Over(**sql);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  auto scopes = ParseScopes("ingest, read");
  ASSERT_TRUE(scopes.ok());
  auto created = keys->Create("till-07", *scopes, 5);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->secret.rfind("omk_", 0), 0u);
  EXPECT_EQ(created->secret.size(), 36u);
  EXPECT_TRUE(created->key.Has(Scope::kIngest));
  EXPECT_TRUE(created->key.Has(Scope::kRead));
  EXPECT_FALSE(created->key.Has(Scope::kAdmin));

  // The key itself is nowhere in the table, only its hash.
  bool secret_stored = false;
  ASSERT_TRUE((*sql)->Query("SELECT name, prefix, hash, scopes FROM api_keys", {}, [&](const store::SqlRow& r) {
                     for (int c = 0; c < 4; ++c) secret_stored |= r.Text(c).find(created->secret) != std::string::npos;
                     EXPECT_EQ(r.Text(2), HashApiKey(created->secret));
                     return true;
                   }).ok());
  EXPECT_FALSE(secret_stored);

  auto admin = keys->Create("ops", *ParseScopes("admin"), 0);
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(admin->key.Has(Scope::kIngest) && admin->key.Has(Scope::kRead)) << "admin holds every scope";
  EXPECT_NE(admin->secret, created->secret);

  auto revoked = keys->Revoke("till-07");
  ASSERT_TRUE(revoked.ok());
  EXPECT_GT(revoked->revoked_at_ms, 0);
  auto list = keys->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_GT((*list)[0].revoked_at_ms, 0);
  EXPECT_EQ((*list)[1].revoked_at_ms, 0);
  EXPECT_EQ(keys->Revoke("nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseScopes("write").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseScopes("").status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

std::string EventLine(const std::string& id) {
  return R"({"event_id":")" + id +
         R"(","ts":"2026-03-01T10:15:02+08:00","channel":"store","type":"view","identities":{"member_card":"M1"}})";
}

// Many request threads commit at once: every event id is stored once, each
// request is answered for its own events, and requests share transactions.
TEST(EventWriter, GroupCommitAnswersEachRequestForItsOwnEvents) {
  const auto dir = TempDir("serve-writer");
  auto store = store::Store::OpenSqlite(dir.string());
  ASSERT_TRUE(store.ok());
  std::vector<std::pair<std::string, std::string>> labels = {{"POST", "/v1/events"}};
  Metrics metrics(labels);
  ingest::IngestConfig config;
  {
    EventWriter writer(std::move(*store), &metrics);
    constexpr int kThreads = 8, kRequests = 40, kPerRequest = 25;
    std::atomic<int64_t> accepted{0}, duplicates{0};
    std::atomic<bool> mismatch{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        auto format = ingest::MakeJsonlFormat(config);
        for (int r = 0; r < kRequests; ++r) {
          ingest::Batch batch;
          for (int i = 0; i < kPerRequest; ++i) {
            // Threads 0-3 and 4-7 send the same ids: half are duplicates.
            const std::string id = "e-" + std::to_string(t % 4) + "-" + std::to_string(r) + "-" + std::to_string(i);
            format->Parse(EventLine(id), i + 1, batch);
          }
          auto result = writer.Commit(std::move(batch));
          if (!result.ok() || result->event_outcomes.size() != kPerRequest ||
              result->accepted + result->duplicates != kPerRequest) {
            mismatch = true;
            continue;
          }
          accepted += result->accepted;
          duplicates += result->duplicates;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_FALSE(mismatch);
    EXPECT_EQ(accepted.load(), 4 * kRequests * kPerRequest);
    EXPECT_EQ(duplicates.load(), 4 * kRequests * kPerRequest);
  }
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("omni_events_total{outcome=\"accepted\"} 4000"), std::string::npos) << text;
  // 320 requests in fewer commits than requests: grouping happened.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(omni_event_commits_total (\d+))")));
  EXPECT_LT(std::stoi(m[1]), 320);
  auto reopened = store::Store::OpenSqlite(dir.string());
  ASSERT_TRUE(reopened.ok());
  auto stats = (*reopened)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 4000);
  std::filesystem::remove_all(dir);
}

TEST(Metrics, PrometheusTextFormat) {
  std::vector<std::pair<std::string, std::string>> labels = {{"GET", "/v1/customers/{identifier}"}};
  Metrics metrics(labels);
  metrics.RecordRequest(0, 200, 0.003);
  metrics.RecordRequest(0, 404, 0.0004);
  metrics.RecordRejected(ingest::RejectReason::kBadTimestamp);
  metrics.SetModelVersion("profiles", "build-3");
  const std::string text = metrics.Render();
  EXPECT_NE(text.find(R"(omni_http_requests_total{route="/v1/customers/{identifier}",method="GET",code="200"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(
                R"(omni_http_request_duration_seconds_bucket{route="/v1/customers/{identifier}",method="GET",le="0.0005"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(
                R"(omni_http_request_duration_seconds_bucket{route="/v1/customers/{identifier}",method="GET",le="+Inf"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(omni_events_quarantined_total{reason="bad_timestamp"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(omni_model_info{component="profiles",version="build-3"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace omni::serve
