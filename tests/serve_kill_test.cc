// No acknowledged event lost, none stored twice, when the server is killed
// with SIGKILL while tills are sending batches (issue 6, "Crash").
//
// Four clients POST batches of 50 events with ids unique to (client, batch);
// the server is SIGKILLed at a random moment, restarted, and the clients
// carry on — each first resending the batch it had no answer for, as a till
// would. After a few rounds: every event id that was in a 2xx answer is in
// the events table exactly once, and no event id is there twice.
#include <random>
#include <map>
#include <set>

#include "serve_test_util.h"

namespace omni::testing {
namespace {

std::string Batch(int client, int batch, int size) {
  std::string body = "[";
  for (int i = 0; i < size; ++i) {
    if (i > 0) body += ",";
    body += R"({"event_id":"k-)" + std::to_string(client) + "-" + std::to_string(batch) + "-" + std::to_string(i) +
            R"(","ts":"2026-03-01T10:15:02+08:00","channel":"app","type":"view",)" +
            R"("identities":{"device_id":"D-)" + std::to_string(client) + R"("},"item_id":"SKU-)" +
            std::to_string(i) + R"("})";
  }
  return body + "]";
}

TEST(ServeKill, AcknowledgedEventsSurviveSigkillExactlyOnce) {
  const auto dir = TempDir("serve-kill");
  const auto data = dir / "data";
  std::filesystem::create_directories(data);
  const std::string key = CreateKey(data, "ingest");
  constexpr int kClients = 4, kBatch = 50, kRounds = 4;

  std::mutex mu;
  std::set<std::string> acked;     // batch names "client-batch" answered 2xx
  std::vector<int> next(kClients, 0);  // the batch each client sends next
  std::mt19937 rng(12345);
  int kills_mid_traffic = 0;

  for (int round = 0; round < kRounds; ++round) {
    ServerProcess server;
    ASSERT_TRUE(server.Start(data, {"--rate-limit", "0"})) << server.Log();
    std::atomic<bool> stop{false};
    std::atomic<int64_t> answered{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        httplib::Client http("127.0.0.1", server.port());
        http.set_connection_timeout(2);
        http.set_read_timeout(10);
        while (!stop) {
          const int b = next[c];
          auto r = http.Post("/v1/events", Auth(key), Batch(c, b, kBatch), "application/json");
          if (!r) break;  // the server is gone: resend this batch next round
          if (r->status == 200) {
            std::lock_guard lock(mu);
            acked.insert(std::to_string(c) + "-" + std::to_string(b));
            next[c] = b + 1;
            ++answered;
          } else {
            ADD_FAILURE() << "status " << r->status << ": " << r->body;
            break;
          }
        }
      });
    }
    // Kill at a random moment once traffic flows. Waiting for the first
    // answer first keeps a loaded machine (slow server start) from turning
    // the random delay into a kill before any client got through.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (answered == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::uniform_int_distribution<int> delay_ms(20, 750);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    if (answered > 0) ++kills_mid_traffic;
    server.Stop(SIGKILL);
    stop = true;
    for (auto& t : clients) t.join();
  }

  // Count via SQLite, not through the server.
  ASSERT_FALSE(acked.empty());
  EXPECT_GE(kills_mid_traffic, kRounds - 1) << "the server was not killed while clients were sending";
  const int64_t total = QueryInt(data, "SELECT count(*) FROM events");
  const int64_t distinct = QueryInt(data, "SELECT count(DISTINCT event_id) FROM events");
  EXPECT_EQ(total, distinct) << "an event id is stored twice";
  // Events stored per batch ("k-C-B-I" -> "C-B").
  std::map<std::string, int> stored;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((data / "omni.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT event_id FROM events", -1, &stmt, nullptr), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string id(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      ++stored[id.substr(2, id.rfind('-') - 2)];
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  for (const std::string& b : acked) {
    EXPECT_EQ(stored[b], kBatch) << "acknowledged batch " << b << " is not stored exactly once";
  }
  // Everything stored is either acknowledged or the one batch per client
  // whose answer the kill cut off (committed, never acknowledged).
  EXPECT_LE(total, static_cast<int64_t>(acked.size() + kClients * kRounds) * kBatch);
  std::printf("serve kill test: %d rounds, %zu batches (%zu events) acknowledged, %lld events stored\n", kRounds,
              acked.size(), acked.size() * kBatch, static_cast<long long>(total));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
