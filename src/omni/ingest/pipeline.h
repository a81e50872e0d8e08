// Import: reads a source (a file, gzip-compressed or not, or stdin), frames
// it into records, parses them with a Format and hands batches to an
// EventSink. Parsing runs on the calling thread while the sink commits the
// previous batch on a writer thread, so JSON parsing and hashing overlap with
// SQLite inserts (the two costs are of the same size; see bench/).
//
// Guarantees: every record is counted exactly once in the summary — accepted,
// duplicate, erased or rejected with a reason; a header error fails before
// anything is written; a sink error stops the import after the last committed
// batch and is returned (batches are atomic, so a rerun completes the file).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "omni/common/status.h"
#include "omni/ingest/event.h"
#include "omni/ingest/format.h"

namespace omni::ingest {

struct ImportOptions {
  // Records per batch = per transaction. Large batches amortise the commit;
  // 50k keeps a batch's memory to a few tens of MB.
  int64_t batch_records = 50000;
  // Called on the reading thread after each batch is queued, with bytes read
  // (compressed bytes for .gz) and records parsed so far.
  std::function<void(int64_t bytes_read, int64_t records)> progress;
};

struct ImportSummary {
  int64_t records = 0;  // records read (header excluded)
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t erased = 0;
  int64_t rejected = 0;
  std::array<int64_t, kRejectReasonCount> rejected_by_reason{};
  int64_t items = 0;
  int64_t availability = 0;
  int64_t bytes = 0;
  double seconds = 0;
  // CPU time of the two threads (reading + parsing, and the store writer): on
  // a busy machine the larger one bounds the wall time an idle one would see.
  double parse_cpu_seconds = 0;
  double write_cpu_seconds = 0;
};

// `path` "-" reads standard input. `source` names the input in quarantine rows
// (usually the file's name).
StatusOr<ImportSummary> ImportFile(const std::string& path, std::string_view source, Format& format,
                                   EventSink& sink, const ImportOptions& options = {});

// Size of the file in bytes (for progress), 0 for stdin or on error.
int64_t SourceSize(const std::string& path);

}  // namespace omni::ingest
