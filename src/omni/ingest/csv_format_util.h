// Plumbing shared by the CSV-family formats (csv_formats.h): record checks,
// rejections, number and time parsing, identity normalisation and derived
// event ids. Internal to src/omni/ingest; not part of the Format contract.
#pragma once

#include <array>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/spec.h"
#include "omni/common/status.h"
#include "omni/ingest/config.h"
#include "omni/ingest/event.h"
#include "omni/ingest/format.h"
#include "omni/ingest/pii.h"

namespace omni::ingest {

// Quarantined raw text is cut to this many bytes (event.h: "4 KiB").
inline constexpr size_t kMaxRejectedRawBytes = 4096;

// Strips ASCII spaces and tabs at both ends.
std::string_view TrimSpaces(std::string_view s);

// At most `max_bytes` of `s`, cut before a UTF-8 sequence rather than inside
// one, so a truncated quarantine row is still valid UTF-8.
std::string_view TruncateUtf8(std::string_view s, size_t max_bytes);

bool IsValidUtf8(std::string_view s);

// Only spaces, tabs and '\r' (or nothing): a blank line, not a record.
bool IsBlank(std::string_view s);

// The whole of `s` (after trimming) as a finite decimal number; no locale, no
// allocation. Accepts a leading '+' and exponents; rejects "", "nan", "1,5".
bool ParseFiniteDouble(std::string_view s, double& out);
// The whole of `s` (after trimming) as a decimal integer, optionally signed.
bool ParseInt64(std::string_view s, int64_t& out);

// True for 1970-01-01 <= ts < 2101-01-01 (UTC), the range timestamp.h accepts.
bool EpochMsInRange(int64_t ts_ms);

// "+08:00", "-05:30", "+0800", "Z", "UTC" → minutes east of UTC.
std::optional<int32_t> ParseUtcOffset(std::string_view s);

// Delimiter option of a spec: ",", ";", "tab" (or "\t"), "comma", "semicolon".
StatusOr<char> DelimiterOption(const Spec& spec, char def);

// Appends 16 lower-case hex chars: the first 8 bytes of the unkeyed BLAKE2b
// (libsodium crypto_generichash, 16-byte output — its minimum) of `record`.
// Identical records give identical ids, so a re-import and a duplicated row
// are both recognised as duplicates by the store.
void AppendRecordHash(std::string& out, std::string_view record);

// Appends the shortest text that reads back as `v` (JSON number syntax for
// finite values).
void AppendNumber(std::string& out, double v);

// True for an event type the config accepts: one of its list or one with the
// custom prefix and a non-empty name after it.
bool IsAcceptedEventType(const IngestConfig& config, std::string_view type);

// Names a value for a rejection message: quoted, at most 64 bytes, with
// anything that looks like a phone number or e-mail masked.
std::string DescribeValue(std::string_view value);

// Column positions by name, learnt from a header record.
class CsvHeader {
 public:
  // Splits the header (a leading UTF-8 BOM is ignored) and trims the names.
  // InvalidArgument for invalid UTF-8 or bad quoting.
  Status Parse(std::string_view record, char delimiter);
  // 0-based position, or -1.
  int Find(std::string_view name) const;
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  // "InvoiceNo, StockCode, ..." for error messages.
  std::string List() const;
  // InvalidArgument "missing column 'X' (columns: ...)" unless every name exists.
  Status Require(std::string_view format_name, const std::vector<std::string_view>& required) const;

 private:
  std::vector<std::string> names_;
};

// Base of the CSV-family formats: owns a copy of the config, the
// Pseudonymiser and the reusable split buffers.
class CsvFormatBase : public Format {
 public:
  RecordFraming framing() const override { return RecordFraming::kCsvQuoted; }

 protected:
  CsvFormatBase(const IngestConfig& config, char delimiter);

  // Rejects oversized and invalid UTF-8 records and returns false for them
  // and for blank ones; true when the record may be split.
  bool CheckRecord(std::string_view record, int64_t line_no, Batch& out);

  // CheckRecord, then rejects badly quoted records; else splits
  // `record` into fields_ and returns true. When it returns false it has
  // added exactly one rejection to `out`, except for a blank record (only
  // spaces, tabs, '\r'), which is not a record and yields nothing, as in jsonl.
  bool SplitOrReject(std::string_view record, int64_t line_no, Batch& out);

  // Checks fields_.size() == expected, rejecting with kBadCsvRecord otherwise.
  bool CheckColumnCount(std::string_view record, int64_t line_no, size_t expected, Batch& out);

  // Adds one RejectedRecord. `column` is the source column ("" for the whole
  // record); the message becomes "line N: column 'C': <what>".
  void Reject(Batch& out, std::string_view record, int64_t line_no, RejectReason reason,
              std::string_view column, std::string_view what);

  // Normalises `raw` as an identity of `type` and appends it to `event`. On
  // failure rejects the record (kInvalidIdentity, naming the column but not
  // the value, which may be PII) and returns false.
  bool AddIdentity(Event& event, IdentityType type, std::string_view raw, std::string_view column,
                   std::string_view record, int64_t line_no, Batch& out);

  // The field at `index` with spaces trimmed ("" when out of range).
  std::string_view Field(int index) const {
    return index >= 0 && static_cast<size_t>(index) < fields_.size() ? TrimSpaces(fields_[index])
                                                                       : std::string_view();
  }

  IngestConfig config_;  // a copy: the Format may outlive the caller's config
  Pseudonymiser pseudonymiser_;
  char delimiter_;
  std::vector<std::string_view> fields_;
  std::string scratch_;
};

// A CSV export whose header names fixed columns (Online Retail,
// RetailRocket): learns the columns' positions from the header, checks each
// record's width, and turns it into one event through Fill(), which rejects
// the record (one RejectedRecord) and returns false on a bad field.
template <size_t N>
class NamedColumnCsvFormat : public CsvFormatBase {
 public:
  bool has_header() const override { return true; }

  Status Header(std::string_view record) override {
    CsvHeader header;
    OMNI_RETURN_IF_ERROR(header.Parse(record, delimiter_));
    OMNI_RETURN_IF_ERROR(header.Require(name(), {names_.begin(), names_.end()}));
    for (size_t i = 0; i < N; ++i) columns_[i] = header.Find(names_[i]);
    width_ = header.size();
    return Status::Ok();
  }

  void Parse(std::string_view record, int64_t line_no, Batch& out) override {
    if (!SplitOrReject(record, line_no, out)) return;
    if (!CheckColumnCount(record, line_no, width_, out)) return;
    Event& e = out.events.emplace_back();
    if (!Fill(e, record, line_no, out)) out.events.pop_back();
  }

 protected:
  NamedColumnCsvFormat(const IngestConfig& config, const std::array<std::string_view, N>& names)
      : CsvFormatBase(config, ','), names_(names) {
    columns_.fill(-1);
  }
  virtual bool Fill(Event& e, std::string_view record, int64_t line_no, Batch& out) = 0;
  std::string_view Col(size_t column) const { return Field(columns_[column]); }
  std::string_view ColumnName(size_t column) const { return names_[column]; }

 private:
  std::array<std::string_view, N> names_;
  std::array<int, N> columns_;
  size_t width_ = 0;
};

}  // namespace omni::ingest
