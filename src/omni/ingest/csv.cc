#include "omni/ingest/csv.h"

#include <cstring>

namespace omni::ingest {
namespace {

const char* FindByte(const char* p, const char* end, char c) {
  if (p == end) return nullptr;  // memchr on an empty (maybe null) range is undefined
  return static_cast<const char*>(std::memchr(p, c, static_cast<size_t>(end - p)));
}

template <typename IsDelimiter>
bool RecordComplete(std::string_view text, IsDelimiter is_delimiter) {
  // Fast path: most records hold no quote at all.
  if (text.empty() || std::memchr(text.data(), '"', text.size()) == nullptr) return true;
  bool in_quotes = false;
  bool field_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c != '"') continue;
      if (i + 1 < text.size() && text[i + 1] == '"') {
        ++i;  // doubled quote: still inside the field
      } else {
        in_quotes = false;
        field_start = false;
      }
    } else if (c == '"' && field_start) {
      in_quotes = true;
      field_start = false;
    } else {
      // A '\n' outside quotes is field data, as for SplitCsvRecord (the
      // reader only joins lines while a quote is open, so it never sees one).
      field_start = is_delimiter(c);
    }
  }
  return !in_quotes;
}

}  // namespace

Status SplitCsvRecord(std::string_view record, char delimiter, std::vector<std::string_view>& fields,
                      std::string& scratch) {
  fields.clear();
  scratch.clear();
  if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
  // Unescaped text is never longer than the record, so reserving once means
  // appends below never reallocate and earlier views into scratch stay valid.
  if (scratch.capacity() < record.size()) scratch.reserve(record.size());

  const char* p = record.data();
  const char* const end = p + record.size();
  for (;;) {  // at the start of a field
    if (p == end || *p != '"') {
      const char* d = FindByte(p, end, delimiter);
      if (d == nullptr) {
        fields.emplace_back(p, static_cast<size_t>(end - p));
        return Status::Ok();
      }
      fields.emplace_back(p, static_cast<size_t>(d - p));
      p = d + 1;
      continue;
    }
    // Quoted field.
    const char* start = ++p;
    const char* q = FindByte(p, end, '"');
    if (q == nullptr) {
      return InvalidArgument("unterminated quoted field in column " + std::to_string(fields.size() + 1));
    }
    if (q + 1 < end && q[1] == '"') {
      // Doubled quotes: unescape into scratch.
      size_t offset = scratch.size();
      for (;;) {
        scratch.append(start, static_cast<size_t>(q - start) + 1);  // text and one '"'
        start = q + 2;
        q = FindByte(start, end, '"');
        if (q == nullptr) {
          return InvalidArgument("unterminated quoted field in column " + std::to_string(fields.size() + 1));
        }
        if (q + 1 < end && q[1] == '"') continue;
        scratch.append(start, static_cast<size_t>(q - start));
        break;
      }
      fields.emplace_back(scratch.data() + offset, scratch.size() - offset);
    } else {
      fields.emplace_back(start, static_cast<size_t>(q - start));
    }
    p = q + 1;
    if (p == end) return Status::Ok();
    if (*p != delimiter) {
      return InvalidArgument("unexpected character after the closing quote of column " +
                             std::to_string(fields.size()));
    }
    ++p;
  }
}

bool CsvRecordComplete(std::string_view text) {
  return RecordComplete(text, [](char c) { return c == ',' || c == ';' || c == '\t'; });
}

bool CsvRecordComplete(std::string_view text, char delimiter) {
  return RecordComplete(text, [delimiter](char c) { return c == delimiter; });
}

}  // namespace omni::ingest
