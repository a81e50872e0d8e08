#include "omni/ingest/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "omni/ingest/jsonl_format.h"

namespace omni::ingest {
namespace {

namespace fs = std::filesystem;

// Keeps what it is given, as a store would, and remembers the batches' sizes.
class RecordingSink final : public EventSink {
 public:
  StatusOr<BatchResult> Write(std::string_view, Batch& batch) override {
    sizes.push_back(static_cast<int64_t>(batch.events.size() + batch.rejected.size()));
    for (const Event& e : batch.events) ids.push_back(e.event_id);
    BatchResult result;
    result.accepted = static_cast<int64_t>(batch.events.size());
    return result;
  }
  std::vector<int64_t> sizes;
  std::vector<std::string> ids;
};

std::string WriteEvents(int n, int bad_every) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  const fs::path dir = base != nullptr ? fs::path(base) : fs::temp_directory_path();
  const fs::path path = dir / ("pipeline_test_" + std::to_string(getpid()) + ".jsonl");
  std::ofstream out(path);
  for (int i = 1; i <= n; ++i) {
    if (bad_every > 0 && i % bad_every == 0) {
      out << "{not json\n";
      continue;
    }
    out << R"({"event_id":"e-)" << i << R"(","ts":1700000000,"channel":"web","type":"view",)"
        << R"("identities":{"customer_id":"C)" << i % 97 << R"("},"item_id":"SKU-)" << i % 13 << "\"}\n";
  }
  return path.string();
}

// Imports `n` generated records (every `bad_every`-th malformed) into `sink`
// in batches of at most `batch_records`.
StatusOr<ImportSummary> ImportEvents(int n, int bad_every, int64_t batch_records, RecordingSink& sink) {
  const std::string path = WriteEvents(n, bad_every);
  IngestConfig config;
  auto format = MakeJsonlFormat(config);
  ImportOptions options;
  options.batch_records = batch_records;
  StatusOr<ImportSummary> summary = ImportFile(path, "events.jsonl", *format, sink, options);
  fs::remove(path);
  return summary;
}

// Both ends of the file go in small batches (the writer waits for the first,
// the reader for the last), the middle in full ones; every record arrives
// once, in order, and is counted once.
TEST(ImportFileTest, SmallBatchesAtBothEndsFullOnesBetweenEveryRecordOnce) {
  constexpr int kRecords = 30000;
  RecordingSink sink;
  StatusOr<ImportSummary> summary = ImportEvents(kRecords, 1000, 8192, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->records, kRecords);
  EXPECT_EQ(summary->rejected, kRecords / 1000);
  EXPECT_EQ(summary->accepted, kRecords - kRecords / 1000);

  ASSERT_GE(sink.sizes.size(), 4u);
  EXPECT_EQ(sink.sizes.front(), 4096);  // the first batch: small
  int64_t total = 0;
  for (int64_t size : sink.sizes) {
    EXPECT_LE(size, 8192);
    total += size;
  }
  EXPECT_EQ(total, kRecords);
  EXPECT_EQ(sink.sizes[2], 8192);           // full batches in the middle
  EXPECT_LE(sink.sizes.back(), 4096);      // the last: small
  EXPECT_LE(sink.sizes.size(), 8u);        // and only a few more batches for it

  ASSERT_EQ(sink.ids.size(), static_cast<size_t>(kRecords - kRecords / 1000));
  size_t k = 0;
  for (int i = 1; i <= kRecords; ++i) {
    if (i % 1000 == 0) continue;
    ASSERT_EQ(sink.ids[k++], "e-" + std::to_string(i));
  }
}

// A batch size below the edge batch is used as it is.
TEST(ImportFileTest, SmallBatchSizeIsKept) {
  RecordingSink sink;
  StatusOr<ImportSummary> summary = ImportEvents(100, 0, 7, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->accepted, 100);
  for (int64_t size : sink.sizes) EXPECT_LE(size, 7);
  EXPECT_EQ(sink.sizes.front(), 7);
}

}  // namespace
}  // namespace omni::ingest
