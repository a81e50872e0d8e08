// A source format turns one raw record (a JSONL line, a CSV record) into
// canonical events, catalogue rows or a rejection. Formats are built by name
// from a spec string (`MakeFormat("csv:map=event_id=id,ts=time")`), the same
// string the CLI's --as/--map flags produce.
//
// Parse() must never throw or crash on any input (each format has a fuzz
// target); every record ends as events/items in the batch or as exactly one
// RejectedRecord naming its line, field and reason.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "omni/common/status.h"
#include "omni/ingest/config.h"
#include "omni/ingest/event.h"

namespace omni::ingest {

enum class RecordFraming {
  kLines,      // one record per '\n'-terminated line (JSONL, u.data, ratings.dat)
  kCsvQuoted,  // RFC 4180: a quoted field may contain newlines
};

class Format {
 public:
  virtual ~Format() = default;
  virtual std::string_view name() const = 0;
  virtual RecordFraming framing() const = 0;
  // True when the first record is a header to pass to Header() instead of Parse().
  virtual bool has_header() const = 0;
  // Validates the header and learns column positions. A bad header fails the
  // whole import before anything is written.
  virtual Status Header(std::string_view record) { (void)record; return Status::Ok(); }
  // Parses one record (without its line terminator). line_no is 1-based and
  // counts physical lines, so a user can open the file at that line.
  virtual void Parse(std::string_view record, int64_t line_no, Batch& out) = 0;
};

// Spec strings: "jsonl", "csv:<mapping>", "online-retail", "retailrocket",
// "movielens" (u.data / ratings.dat / ratings.csv, detected per record),
// "taobao", "catalogue", "availability". See docs/formats.md.
StatusOr<std::unique_ptr<Format>> MakeFormat(std::string_view spec, const IngestConfig& config);

}  // namespace omni::ingest
