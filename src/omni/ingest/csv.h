// RFC 4180 CSV, one record at a time. The reader (pipeline.cc) frames the
// input into records with CsvRecordComplete(); a format then splits each
// record into fields with SplitCsvRecord().
//
// Dialect (what Excel, pandas, R and PostgreSQL COPY write):
//  - fields are separated by one delimiter byte (',', ';' or '\t');
//  - a field that starts with '"' is quoted: it ends at the next lone '"',
//    may contain the delimiter and newlines, and '""' inside it is one '"';
//  - after a closing quote only the delimiter or the end of the record may
//    follow (`"abc"x` is an error: silently keeping or dropping `x` would
//    change the value);
//  - a '"' inside an unquoted field is an ordinary character (`12" ruler`),
//    as in Python's csv module, because hand-written exporters emit such
//    fields and rejecting every one of them would lose real rows;
//  - one trailing '\r' (a CRLF line end) is ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"

namespace omni::ingest {

// Splits `record` (one whole record without its final line terminator) into
// `fields`, which is cleared first. Fields are views: into `record` when the
// field needs no unescaping (the common case: no copy), else into `scratch`,
// which is overwritten. The views stay valid until `record` changes or the
// next call with the same `scratch`. Reuse `fields` and `scratch` across
// records: after warm-up a call allocates nothing.
//
// An empty record yields one empty field. Errors (InvalidArgument, message
// naming the 1-based column): an unterminated quoted field, or a character
// other than the delimiter after a closing quote.
Status SplitCsvRecord(std::string_view record, char delimiter, std::vector<std::string_view>& fields,
                      std::string& scratch);

// True when `text` ends outside a quoted field, i.e. it is a whole record; a
// reader with RecordFraming::kCsvQuoted appends the next line (joined by
// '\n') while this is false. Agrees with SplitCsvRecord: a quote opens a
// field only at the start of the text or right after a delimiter.
//
// The one-argument form serves readers that do not know the format's
// delimiter: it treats any of ',', ';' and '\t' as a field boundary. It
// differs from the exact form only for an unquoted field containing `;"` or
// `\t"` in a ','-separated file (or similar), which is rare; the cost of a
// mistake is that the record absorbs following lines and is then rejected.
bool CsvRecordComplete(std::string_view text);
bool CsvRecordComplete(std::string_view text, char delimiter);

}  // namespace omni::ingest
