// Per-event costs of the import hot path, to see where time goes: parsing and
// validation of one canonical JSONL event, phone normalisation + keyed hash
// (cold and cached), and the store's batch write.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "omni/ingest/format.h"
#include "omni/ingest/pii.h"
#include "omni/store/store.h"

namespace {

using omni::ingest::Batch;
using omni::ingest::IngestConfig;

std::string EventLine(int i) {
  return R"({"event_id":"pos-88123-)" + std::to_string(i) +
         R"(","ts":"2026-03-01T10:15:02+08:00","channel":"store","type":"purchase","identities":{"member_card":"M)" +
         std::to_string(i % 50000) + R"(","phone":"+86 138 00)" + std::to_string(100000 + i % 50000) +
         R"("},"item_id":"SKU-991","quantity":2,"price":59.0,"currency":"CNY","order_id":"R-88123","store_id":"SH-07","campaign_id":"spring-sms","properties":{"coupon":"SPRING10"}})";
}

IngestConfig Config() {
  IngestConfig c;
  for (size_t i = 0; i < c.pii_key.size(); ++i) c.pii_key[i] = static_cast<unsigned char>(i);
  return c;
}

void BM_ParseJsonlEvent(benchmark::State& state) {
  IngestConfig config = Config();
  auto format = omni::ingest::MakeFormat("jsonl", config);
  std::vector<std::string> lines;
  for (int i = 0; i < 100000; ++i) lines.push_back(EventLine(i));
  Batch batch;
  size_t i = 0;
  for (auto _ : state) {
    (*format)->Parse(lines[i % lines.size()], static_cast<int64_t>(i), batch);
    if (batch.events.size() >= 50000) batch = Batch();
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseJsonlEvent);

void BM_PhoneNormaliseAndHash(benchmark::State& state) {
  IngestConfig config = Config();
  omni::ingest::Pseudonymiser p(config);
  const int distinct = static_cast<int>(state.range(0));
  std::vector<std::string> phones;
  for (int i = 0; i < distinct; ++i) phones.push_back("138 " + std::to_string(10000000 + i));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.Normalise(omni::ingest::IdentityType::kPhone, phones[i++ % phones.size()]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
// 1,000 distinct numbers: served from the cache; 2,000,000: mostly cold.
BENCHMARK(BM_PhoneNormaliseAndHash)->Arg(1000)->Arg(2000000);

void BM_StoreWriteBatch(benchmark::State& state) {
  IngestConfig config = Config();
  auto format = omni::ingest::MakeFormat("jsonl", config);
  auto dir = std::filesystem::temp_directory_path() / "omni-bench-store";
  std::filesystem::remove_all(dir);
  auto store = omni::store::Store::OpenSqlite(dir.string());
  int64_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Batch batch;
    for (int j = 0; j < 20000; ++j, ++next) (*format)->Parse(EventLine(static_cast<int>(next)), next, batch);
    state.ResumeTiming();
    auto r = (*store)->Write("bench", batch);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 20000);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreWriteBatch)->Unit(benchmark::kMillisecond)->Iterations(50);

}  // namespace

BENCHMARK_MAIN();
