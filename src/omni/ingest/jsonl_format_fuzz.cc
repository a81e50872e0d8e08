// libFuzzer target for the JSONL format: any bytes must end as one event or
// one rejection, never a crash, a hang or a sanitizer report. Built only with
// -DOMNI_FUZZ=ON and clang:
//   ./build-fuzz/src/omni/ingest/jsonl_format_fuzz -max_total_time=60
// The input is split on '\n' like the importer frames a file, so one run
// also exercises the parser's state carried from line to line. Each line is
// also fed to the timestamp parsers (the CSV formats reach them with text
// JSONL never produces, like "12/1/2010 8:26"), checking that whatever they
// accept formats and parses back to the same instant.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "omni/ingest/event.h"
#include "omni/ingest/jsonl_format.h"
#include "omni/ingest/timestamp.h"

namespace {

omni::ingest::Format& TheFormat() {
  static omni::ingest::Format* format = [] {
    omni::ingest::IngestConfig config;
    config.max_record_bytes = 4096;  // small, so the oversized path is reached too
    return omni::ingest::MakeJsonlFormat(config).release();
  }();
  return *format;
}

void CheckTimestamp(std::string_view text) {
  for (int32_t offset : {0, 480, -300}) {
    omni::StatusOr<omni::ingest::ParsedTime> t = omni::ingest::ParseLocalTimestamp(text, offset);
    if (!t.ok()) continue;
    const std::string formatted = omni::ingest::FormatTimestamp(t->ts_ms, t->tz_offset_min);
    omni::StatusOr<omni::ingest::ParsedTime> back = omni::ingest::ParseTimestamp(formatted);
    // A 1970 or 2100 wall time may leave the range once written with its
    // offset; anything else must come back unchanged.
    if (back.ok() && (back->ts_ms != t->ts_ms || back->tz_offset_min != t->tz_offset_min)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  omni::ingest::Batch batch;
  int64_t line_no = 0;
  while (true) {
    const size_t nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    ++line_no;
    const size_t before = batch.events.size() + batch.rejected.size();
    TheFormat().Parse(line, line_no, batch);
    if (line.size() < 64) CheckTimestamp(line);
    const size_t added = batch.events.size() + batch.rejected.size() - before;
    // One outcome per record; a blank line may yield none.
    if (added > 1) std::abort();
    for (const auto& r : batch.rejected) {
      if (r.raw.size() > 4096) std::abort();
    }
    if (nl == std::string_view::npos) break;
    input.remove_prefix(nl + 1);
  }
  return 0;
}
