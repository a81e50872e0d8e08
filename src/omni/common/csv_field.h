// Writing CSV that spreadsheets, pandas and our own reader (ingest/csv.h) read back.
#pragma once

#include <string>
#include <string_view>

namespace omni {

// Appends one RFC 4180 field: as is, or quoted (with '"' doubled) when it
// holds a comma, a quote or a line break.
void AppendCsvField(std::string& out, std::string_view value);

}  // namespace omni
