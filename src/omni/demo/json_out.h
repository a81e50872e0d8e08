// Text output helpers for the demo generator: a JSON string escaper and
// number formatting that produce canonical JSONL, RFC 4180 CSV fields, and a
// UTF-8 validator. The demo module depends on omni_common only (it must be
// usable to test ingest, which owns the parsers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "omni/common/csv_field.h"
#include "omni/common/json_escape.h"

namespace omni::demo {

// The JSON string escaper is common's (bytes >= 0x80 pass unchanged, so the
// lines the generator corrupts on purpose stay corrupt).
using ::omni::AppendJsonString;

// Appends an integer in decimal.
void AppendInt(std::string& out, int64_t v);

// Appends an amount held in cents as a JSON number with no trailing zeros:
// 5990 -> "59.9", 5900 -> "59", 5999 -> "59.99", -150 -> "-1.5". Money is
// kept in integer cents so output never shows binary-float noise.
void AppendCents(std::string& out, int64_t cents);

// CSV fields: omni::AppendCsvField (common/csv_field.h).

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace omni::demo
