// `omni serve` end to end, over loopback, as tills, web shops and operators
// use it: keys and scopes, limits, bad input of every kind, idempotent
// retries, customer look-up by a hashed identifier, reload and erasure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>

#include <regex>

#include "serve_test_util.h"

namespace omni::testing {
namespace {

simdjson::dom::element Parse(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element doc;
  auto error = parser.parse(body).get(doc);
  EXPECT_FALSE(error) << "not JSON: " << body;
  return doc;
}

std::string ErrorCode(const std::string& body) {
  simdjson::dom::parser parser;
  std::string_view code;
  if (parser.parse(body)["error"]["code"].get(code)) return "(no error.code in " + body + ")";
  return std::string(code);
}

std::string Event(const std::string& id, const std::string& identities = R"({"member_card":"M-E2E-1"})",
                  const std::string& extra = "") {
  return R"({"event_id":")" + id + R"(","ts":"2025-12-30T10:15:02+08:00","channel":"store","type":"purchase",)" +
         R"("identities":)" + identities + R"(,"item_id":"SKU-1","quantity":1,"price":59.0)" + extra + "}";
}

class ServeE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(TempDir("serve-e2e"));
    data_ = new std::filesystem::path(*dir_ / "data");
    const std::string events = (*dir_ / "events.jsonl").string();
    RunResult gen = RunOmni("demo generate --out " + events + " --customers 300 --events 6000 --seed 7", *dir_);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    RunResult imp = RunOmni("--data " + data_->string() + " import " + events, *dir_);
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
    // Identity resolution is all a look-up needs (profiles are optional in
    // the answer) and keeps the suite fast.
    RunResult resolve = RunOmni("--data " + data_->string() + " customers resolve", *dir_);
    ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
    // A ranking model and basket rules for the recommendation routes.
    RunResult knn = RunOmni("--data " + data_->string() + " train itemknn:k=50", *dir_);
    ASSERT_EQ(knn.exit_code, 0) << knn.err;
    RunResult fbt = RunOmni("--data " + data_->string() + " train fbt:support=0.001,confidence=0.05", *dir_);
    ASSERT_EQ(fbt.exit_code, 0) << fbt.err;
    keys_ = new std::map<std::string, std::string>;
    for (const char* scope : {"ingest", "read", "admin"}) (*keys_)[scope] = CreateKey(*data_, scope);
    (*keys_)["limited"] = CreateKey(*data_, "read", 2);  // 2/s, burst 4
    server_ = new ServerProcess;
    ASSERT_TRUE(server_->Start(*data_, {"--max-body", "1000000", "--read-timeout", "2", "--reload-interval", "0"}))
        << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    std::filesystem::remove_all(*dir_);
    delete keys_;
    delete data_;
    delete dir_;
  }
  static std::string Key(const std::string& scope) { return keys_->at(scope); }

  static std::filesystem::path* dir_;
  static std::filesystem::path* data_;
  static std::map<std::string, std::string>* keys_;
  static ServerProcess* server_;
};
std::filesystem::path* ServeE2E::dir_ = nullptr;
std::filesystem::path* ServeE2E::data_ = nullptr;
std::map<std::string, std::string>* ServeE2E::keys_ = nullptr;
ServerProcess* ServeE2E::server_ = nullptr;

TEST_F(ServeE2E, KeysAndScopes) {
  auto c = server_->Client();
  auto none = c.Get("/v1/segments");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(ErrorCode(none->body), "unauthenticated");
  EXPECT_EQ(none->get_header_value("Content-Type"), "application/json");

  auto wrong = c.Get("/v1/segments", Auth("omk_not-a-key-at-all-000000000000"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);

  // An ingest key (the one in a web page or a till) reads nothing...
  auto ingest_reads = c.Get("/v1/segments", Auth(Key("ingest")));
  ASSERT_TRUE(ingest_reads);
  EXPECT_EQ(ingest_reads->status, 403);
  EXPECT_EQ(ErrorCode(ingest_reads->body), "permission_denied");
  // ...a read key sends no events and erases no one...
  auto read_posts = c.Post("/v1/events", Auth(Key("read")), Event("scope-1"), "application/json");
  ASSERT_TRUE(read_posts);
  EXPECT_EQ(read_posts->status, 403);
  auto read_forgets = c.Post("/v1/customers/member_card:M-E2E-1/forget", Auth(Key("read")), "", "application/json");
  ASSERT_TRUE(read_forgets);
  EXPECT_EQ(read_forgets->status, 403);
  // ...X-API-Key works as well as Bearer, and the dashboard's data needs read.
  auto x_api_key = c.Get("/v1/segments", {{"X-API-Key", Key("read")}});
  ASSERT_TRUE(x_api_key);
  EXPECT_EQ(x_api_key->status, 200) << x_api_key->body;
  auto dashboard = c.Get("/v1/dashboard/overview");
  ASSERT_TRUE(dashboard);
  EXPECT_EQ(dashboard->status, 401);

  // Public: health and metrics.
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = c.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
}

TEST_F(ServeE2E, RevokedKeyIsRefusedWithinSeconds) {
  const std::string key = CreateKey(*data_, "read");
  auto c = server_->Client();
  // New keys are picked up by the server's refresh (every second).
  int status = 0;
  for (int i = 0; i < 40 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = c.Get("/v1/segments", Auth(key));
    status = r ? r->status : -1;
  }
  ASSERT_EQ(status, 200);
  RunResult revoke = RunOmni("--data " + data_->string() + " serve keys revoke " + key.substr(0, 12), *dir_);
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  for (int i = 0; i < 40 && status != 401; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = c.Get("/v1/segments", Auth(key));
    status = r ? r->status : -1;
  }
  EXPECT_EQ(status, 401);
}

TEST_F(ServeE2E, RateLimitAnswers429WithRetryAfter) {
  auto c = server_->Client();
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    auto r = c.Get("/v1/segments", Auth(Key("limited")));
    ASSERT_TRUE(r);
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      retry_after = r->get_header_value("Retry-After");
      EXPECT_EQ(ErrorCode(r->body), "rate_limited");
    }
  }
  EXPECT_GE(ok, 4);  // the burst
  EXPECT_GE(limited, 5);
  EXPECT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
  // Other keys are not affected.
  auto other = c.Get("/v1/segments", Auth(Key("read")));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST_F(ServeE2E, HugeBodyIs413AndServerStaysUp) {
  auto c = server_->Client();
  std::string huge = "[";
  while (huge.size() < 2'000'000) huge += Event("huge-" + std::to_string(huge.size())) + ",";
  huge.back() = ']';
  auto r = c.Post("/v1/events", Auth(Key("ingest")), huge, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(ErrorCode(r->body), "payload_too_large");
  auto after = server_->Client().Get("/healthz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(QueryInt(*data_, "SELECT count(*) FROM events WHERE event_id LIKE 'huge-%'"), 0);
}

// What `curl --data-binary @events.jsonl` sends without -H: a form-encoded
// content type, which the HTTP library caps at 8 KiB. The answer names the fix.
TEST_F(ServeE2E, FormEncodedBatchIs413NamingTheContentType) {
  auto c = server_->Client();
  std::string body;
  for (int i = 0; body.size() < 20'000; ++i) body += Event("form-" + std::to_string(i)) + "\n";
  auto r = c.Post("/v1/events", Auth(Key("ingest")), body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(ErrorCode(r->body), "payload_too_large");
  EXPECT_NE(r->body.find("application/json"), std::string::npos) << r->body;
  auto ok = c.Post("/v1/events", Auth(Key("ingest")), body, "application/x-ndjson");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(ServeE2E, BadInputGetsClear4xxPerRecord) {
  auto c = server_->Client();
  simdjson::dom::parser parser;
  // Malformed JSON.
  auto malformed = c.Post("/v1/events", Auth(Key("ingest")), R"({"event_id": "m-1", "ts": )", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(ErrorCode(malformed->body), "invalid_argument");
  // Unclosed array: the body itself cannot be framed.
  auto unclosed = c.Post("/v1/events", Auth(Key("ingest")), "[" + Event("u-1") + ",", "application/json");
  ASSERT_TRUE(unclosed);
  EXPECT_EQ(unclosed->status, 400);
  EXPECT_EQ(std::string(Parse(parser, unclosed->body)["error"]["field"].get_string().value()), "body");
  // Empty body.
  auto empty = c.Post("/v1/events", Auth(Key("ingest")), "", "application/json");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);

  // Wrong types and invalid UTF-8 beside a good record: the good one is
  // stored, each bad one is named by index, field and reason.
  const std::string bad_utf8 = Event("bad-utf8-\xC3\x28");
  const std::string body = "[" + Event("mix-ok") + "," + Event("mix-qty", R"({"member_card":"M-E2E-1"})") +
                           "," + R"({"event_id":"mix-ids","ts":"2026-03-01T10:15:02+08:00","channel":"store",)" +
                           R"("type":"view","identities":5})" + "," + bad_utf8 + "," +
                           R"({"event_id":"mix-price","ts":"2026-03-01T10:15:02+08:00","channel":"store",)" +
                           R"("type":"purchase","identities":{"member_card":"M-E2E-1"},"price":"abc"})" + "]";
  auto mixed = c.Post("/v1/events", Auth(Key("ingest")), body, "application/json");
  ASSERT_TRUE(mixed);
  ASSERT_EQ(mixed->status, 200) << mixed->body;
  auto doc = Parse(parser, mixed->body);
  EXPECT_EQ(int64_t(doc["records"]), 5);
  EXPECT_EQ(int64_t(doc["accepted"]), 2);
  EXPECT_EQ(int64_t(doc["rejected"]), 3);
  std::map<int64_t, std::pair<std::string, std::string>> errors;
  for (auto e : doc["errors"].get_array()) {
    std::string_view field;
    if (e["field"].get(field)) field = "";
    errors[int64_t(e["index"])] = {std::string(std::string_view(e["reason"])), std::string(field)};
  }
  ASSERT_EQ(errors.size(), 3u) << mixed->body;
  EXPECT_EQ(errors[2], std::make_pair(std::string("wrong_type"), std::string("identities")));
  EXPECT_EQ(errors[3].first, "invalid_utf8");
  EXPECT_EQ(errors[4], std::make_pair(std::string("bad_number"), std::string("price")));
  // Quarantined like an import's rejects, under source "http".
  EXPECT_GE(QueryInt(*data_, "SELECT count(*) FROM quarantine WHERE source = 'http' AND reason = 'bad_number'"), 1);

  // Unknown route: the same error shape.
  auto unknown = c.Get("/v1/nothing-here");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(ErrorCode(unknown->body), "not_found");
  auto bad_id = c.Get("/v1/customers/no-colon", Auth(Key("read")));
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->status, 400);
  EXPECT_EQ(std::string(Parse(parser, bad_id->body)["error"]["field"].get_string().value()), "identifier");
}

TEST_F(ServeE2E, SlowClientIsCutOffAndOthersAreServed) {
  // A client that sends half a request and stalls (slowloris).
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n";
  ASSERT_EQ(send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));

  // Meanwhile everyone else is served.
  auto c = server_->Client();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // After its read timeout (2 s) the server gives up on the stalled request:
  // it answers with a 4xx (or closes) instead of waiting for ever.
  timeval tv{8, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto start = std::chrono::steady_clock::now();
  char buf[4096];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(n, 0) << "no answer and no close after " << waited << " s";
  if (n > 0) {
    EXPECT_EQ(std::string(buf, 10), "HTTP/1.1 4") << std::string(buf, static_cast<size_t>(n));
  }
  EXPECT_LT(waited, 6.0);
  close(fd);
  EXPECT_TRUE(server_->Alive());
}

TEST_F(ServeE2E, RetryIsIdempotent) {
  auto c = server_->Client();
  simdjson::dom::parser parser;
  const std::string body = Event("retry-1") + "\n" + Event("retry-2") + "\n" + Event("retry-3") + "\n";
  auto first = c.Post("/v1/events", Auth(Key("ingest")), body, "application/x-ndjson");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(int64_t(Parse(parser, first->body)["accepted"]), 3);
  // The till timed out and sends the same batch again.
  auto again = c.Post("/v1/events", Auth(Key("ingest")), body, "application/x-ndjson");
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200);
  auto doc = Parse(parser, again->body);
  EXPECT_EQ(int64_t(doc["accepted"]), 0);
  EXPECT_EQ(int64_t(doc["duplicates"]), 3);
  EXPECT_EQ(QueryInt(*data_, "SELECT count(*) FROM events WHERE event_id LIKE 'retry-%'"), 3);

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("omni_http_requests_total{route=\"/v1/events\",method=\"POST\",code=\"200\"}"),
            std::string::npos);
  EXPECT_TRUE(std::regex_search(metrics->body, std::regex(R"(omni_events_total\{outcome="duplicate"\} [1-9])")));
  EXPECT_NE(metrics->body.find("omni_model_info{component=\"profiles\""), std::string::npos);
}

// A till sends a purchase with a member card and a raw phone number; after
// the next resolution (and a reload) the customer is found by the phone as a
// person types it, and the raw number is nowhere: not in the answer, not in
// the database, not in the server's log. Then the customer is erased.
TEST_F(ServeE2E, CustomerLookupReloadAndForget) {
  auto c = server_->Client();
  simdjson::dom::parser parser;
  const std::string ids = R"({"member_card":"M-E2E-42","phone":"+86 138 0013 8000","email":"Wei.Li@163.com"})";
  auto sent = c.Post("/v1/events", Auth(Key("ingest")),
                     "[" + Event("cust-1", ids) + "," + Event("cust-2", R"({"member_card":"M-E2E-42"})") + "]",
                     "application/json");
  ASSERT_TRUE(sent);
  ASSERT_EQ(sent->status, 200) << sent->body;

  RunResult resolve = RunOmni("--data " + data_->string() + " customers resolve", *dir_);
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  auto reload = c.Post("/v1/admin/reload", Auth(Key("admin")), "", "application/json");
  ASSERT_TRUE(reload);
  ASSERT_EQ(reload->status, 200) << reload->body;

  auto by_phone = c.Get("/v1/customers/phone:%2B86%20138%200013%208000", Auth(Key("read")));
  ASSERT_TRUE(by_phone);
  ASSERT_EQ(by_phone->status, 200) << by_phone->body;
  auto doc = Parse(parser, by_phone->body);
  const std::string key{std::string_view(doc["customer_key"])};
  bool has_card = false;
  for (auto id : doc["identifiers"].get_array()) {
    if (std::string_view(id["type"]) == "member_card") has_card = std::string_view(id["value"]) == "M-E2E-42";
  }
  EXPECT_TRUE(has_card) << by_phone->body;
  EXPECT_EQ(by_phone->body.find("13800138000"), std::string::npos);
  EXPECT_EQ(by_phone->body.find("0013"), std::string::npos);
  EXPECT_EQ(by_phone->body.find("Wei.Li"), std::string::npos);
  auto by_email = c.Get("/v1/customers/email:wei.li@163.com", Auth(Key("read")));
  ASSERT_TRUE(by_email);
  EXPECT_EQ(by_email->status, 200);
  auto by_key = c.Get("/v1/customers/customer:" + key, Auth(Key("read")));
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->status, 200);
  auto unknown = c.Get("/v1/customers/phone:%2B8613900000001", Auth(Key("read")));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(unknown->body.find("13900000001"), std::string::npos) << "a raw phone echoed in an error";

  // Erasure.
  auto forget = c.Post("/v1/customers/member_card:M-E2E-42/forget", Auth(Key("admin")), "", "application/json");
  ASSERT_TRUE(forget);
  ASSERT_EQ(forget->status, 200) << forget->body;
  EXPECT_GE(int64_t(Parse(parser, forget->body)["events_deleted"]), 2);
  EXPECT_EQ(QueryInt(*data_, "SELECT count(*) FROM events WHERE identities LIKE '%M-E2E-42%'"), 0);
  auto gone = c.Get("/v1/customers/member_card:M-E2E-42", Auth(Key("read")));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  // A till that has not heard of the erasure sends another event: not stored.
  auto late = c.Post("/v1/events", Auth(Key("ingest")), Event("cust-3", R"({"member_card":"M-E2E-42"})"),
                     "application/json");
  ASSERT_TRUE(late);
  ASSERT_EQ(late->status, 200) << late->body;
  EXPECT_EQ(int64_t(Parse(parser, late->body)["erased"]), 1);
  EXPECT_EQ(QueryInt(*data_, "SELECT count(*) FROM events WHERE identities LIKE '%M-E2E-42%'"), 0);

  // No PII in the server's log (it runs at debug level, access log on).
  const std::string log = server_->Log();
  EXPECT_NE(log.find("/v1/customers/{identifier}"), std::string::npos) << "access log missing";
  for (const char* pii : {"13800138000", "138 0013", "Wei.Li", "wei.li", "13900000001"}) {
    EXPECT_EQ(log.find(pii), std::string::npos) << pii << " in the server log";
  }
}

TEST_F(ServeE2E, RecommendationsAndTogetherWithRulesAndErrors) {
  auto c = server_->Client();
  simdjson::dom::parser parser;
  auto r = c.Get("/v1/customers/C000000001/recommendations?k=5&channel=web", Auth(Key("read")));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto body = Parse(parser, r->body);
  EXPECT_EQ(std::string_view(body["customer_key"]), "C000000001");
  EXPECT_EQ(std::string_view(body["model"]).substr(0, 7), "itemknn");
  auto items = body["items"].get_array();
  ASSERT_FALSE(items.error());
  EXPECT_EQ(items.size(), 5u);
  for (auto item : items) {
    EXPECT_FALSE(std::string_view(item["item_id"]).empty());
    EXPECT_FALSE(std::string_view(item["explanation"]).empty()) << "every recommendation says why";
  }
  // Ingest keys cannot read; unknown customers and bad k are clear errors.
  auto denied = c.Get("/v1/customers/C000000001/recommendations", Auth(Key("ingest")));
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  auto unknown = c.Get("/v1/customers/member_card:NOBODY/recommendations", Auth(Key("read")));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  auto bad_k = c.Get("/v1/customers/C000000001/recommendations?k=0", Auth(Key("read")));
  ASSERT_TRUE(bad_k);
  EXPECT_EQ(bad_k->status, 400);
  EXPECT_EQ(ErrorCode(bad_k->body), "invalid_argument") << bad_k->body;

  // Frequently bought together for the first recommended item (known to the
  // catalogue, so 200 with or without rules), and 404 for an unknown item.
  const std::string item(Parse(parser, r->body)["items"].at(0)["item_id"].get_string().value_unsafe());
  auto together = c.Get("/v1/items/" + item + "/together?k=3", Auth(Key("read")));
  ASSERT_TRUE(together);
  ASSERT_EQ(together->status, 200) << together->body;
  EXPECT_EQ(std::string_view(Parse(parser, together->body)["item_id"]), item);
  auto nothing = c.Get("/v1/items/NO-SUCH-ITEM/together", Auth(Key("read")));
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 404) << nothing->body;
}

}  // namespace
}  // namespace omni::testing
