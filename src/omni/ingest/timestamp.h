// Timestamps as sources write them, to UTC epoch milliseconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "omni/common/status.h"

namespace omni::ingest {

struct ParsedTime {
  int64_t ts_ms = 0;           // UTC
  int32_t tz_offset_min = 0;   // offset written in the source (0 for Z / epoch)
};

// Accepts:
//  - RFC 3339 / ISO 8601 with offset: "2026-03-01T10:15:02+08:00",
//    "2026-03-01T02:15:02Z", fractional seconds ".123" (any digits, ms kept),
//    a space instead of 'T';
//  - epoch seconds ("1709259302") and epoch milliseconds ("1709259302123"),
//    told apart by magnitude (>= 1e11 means milliseconds), as string or number;
//  - with `assume_offset_min` set (CSV formats whose exports carry local wall
//    time without offset, like Online Retail's "2010-12-01 08:26:00"):
//    "YYYY-MM-DD HH:MM[:SS]" and "YYYY-MM-DD".
// Rejects impossible dates (2026-02-30), years outside 1970..2100, trailing
// garbage. Error: InvalidArgument naming the problem.
StatusOr<ParsedTime> ParseTimestamp(std::string_view text);
StatusOr<ParsedTime> ParseLocalTimestamp(std::string_view text, int32_t assume_offset_min);
StatusOr<ParsedTime> TimestampFromEpochNumber(double value);

// "2026-03-01T10:15:02.000+08:00" — for output.
std::string FormatTimestamp(int64_t ts_ms, int32_t tz_offset_min);

}  // namespace omni::ingest
