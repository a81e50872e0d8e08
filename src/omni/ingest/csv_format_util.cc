#include "omni/ingest/csv_format_util.h"

#include <sodium.h>

#include <charconv>
#include <cmath>

#include "omni/ingest/csv.h"
// Only for simdjson::validate_utf8 (several GB/s); the header is large, so it
// stays out of csv_format_util.h.
#include "simdjson.h"

namespace omni::ingest {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut sequence.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

namespace {

// Plain decimals ("6", "-2.55", "1000.0"), the usual quantity and price
// columns, without std::from_chars: at most 15 significant digits read into
// an integer m (exactly representable) and k <= 15 decimals, so m / 10^k is
// one correctly rounded IEEE division of two exact doubles, the same value
// from_chars returns (Clinger's fast path). Anything else returns false.
bool ParsePlainDecimal(std::string_view s, double& out) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  uint64_t m = 0;
  int digits = 0;
  int decimals = 0;
  bool point = false;
  const size_t start = i;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      m = m * 10 + static_cast<uint64_t>(c - '0');
      if (m != 0 && ++digits > 15) return false;
      if (point) ++decimals;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return false;
    }
  }
  // At least one digit before the end, and not a lone "." or "-".
  if (i == start || (point && i - start == 1)) return false;
  if (decimals > 15) return false;
  const double v = static_cast<double>(m) / kPow10[decimals];
  out = negative ? -v : v;
  return true;
}

}  // namespace

bool ParseFiniteDouble(std::string_view s, double& out) {
  s = TrimSpaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  if (ParsePlainDecimal(s, out)) return true;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool ParseInt64(std::string_view s, int64_t& out) {
  s = TrimSpaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  out = v;
  return true;
}

bool EpochMsInRange(int64_t ts_ms) {
  constexpr int64_t kYear2101Ms = 4133980800000;  // 2101-01-01T00:00:00Z
  return ts_ms >= 0 && ts_ms < kYear2101Ms;
}

std::optional<int32_t> ParseUtcOffset(std::string_view s) {
  s = TrimSpaces(s);
  if (s == "Z" || s == "z" || s == "UTC" || s == "utc") return 0;
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  int sign = s[0] == '-' ? -1 : 1;
  std::string_view rest = s.substr(1);
  auto two_digits = [](std::string_view d, int& v) {
    if (d.size() != 2 || d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9') return false;
    v = (d[0] - '0') * 10 + (d[1] - '0');
    return true;
  };
  int hours = 0;
  int minutes = 0;
  if (rest.size() == 2) {
    if (!two_digits(rest, hours)) return std::nullopt;
  } else if (rest.size() == 5 && rest[2] == ':') {
    if (!two_digits(rest.substr(0, 2), hours) || !two_digits(rest.substr(3, 2), minutes)) return std::nullopt;
  } else if (rest.size() == 4) {
    if (!two_digits(rest.substr(0, 2), hours) || !two_digits(rest.substr(2, 2), minutes)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (minutes >= 60 || hours * 60 + minutes > 14 * 60) return std::nullopt;  // the widest offsets in use
  return sign * (hours * 60 + minutes);
}

StatusOr<char> DelimiterOption(const Spec& spec, char def) {
  if (!spec.Has("delimiter")) return def;
  StatusOr<std::string> value = spec.GetString("delimiter", "");
  if (!value.ok()) return value.status();
  std::string_view d = *value;
  if (d == "," || d == "comma") return ',';
  if (d == ";" || d == "semicolon") return ';';
  if (d == "tab" || d == "\t" || d == "\\t") return '\t';
  return InvalidArgument("spec '" + spec.ToString() + "': delimiter='" + std::string(d) +
                         "' is not one of ',', ';', 'tab'");
}

void AppendRecordHash(std::string& out, std::string_view record) {
  // A CRLF file and its LF copy must give the same ids.
  if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(record.data()),
                     record.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  char hex[16];
  for (int i = 0; i < 8; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  out.append(hex, sizeof hex);
}

void AppendNumber(std::string& out, double v) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) {
    out += "null";
    return;
  }
  out.append(buf, static_cast<size_t>(ptr - buf));
}

bool IsAcceptedEventType(const IngestConfig& config, std::string_view type) {
  if (config.IsEventType(type)) return true;
  const std::string& prefix = config.custom_type_prefix;
  return !prefix.empty() && type.size() > prefix.size() && type.substr(0, prefix.size()) == prefix;
}

std::string DescribeValue(std::string_view value) {
  constexpr size_t kMaxShown = 64;
  std::string_view shown = TruncateUtf8(value, kMaxShown);
  std::string out = "'" + MaskPii(shown);
  if (shown.size() < value.size()) out += "...";
  out += "'";
  return out;
}

Status CsvHeader::Parse(std::string_view record, char delimiter) {
  if (record.size() >= 3 && record.substr(0, 3) == "\xEF\xBB\xBF") record.remove_prefix(3);
  // Names end up as JSON keys (catalogue attributes) and in messages.
  if (!IsValidUtf8(record)) return InvalidArgument("header is not valid UTF-8 (save the file as UTF-8)");
  std::vector<std::string_view> fields;
  std::string scratch;
  Status st = SplitCsvRecord(record, delimiter, fields, scratch);
  if (!st.ok()) return InvalidArgument("header: " + st.message());
  names_.clear();
  for (std::string_view f : fields) names_.emplace_back(TrimSpaces(f));
  return Status::Ok();
}

int CsvHeader::Find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string CsvHeader::List() const {
  std::string out;
  for (const auto& n : names_) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

Status CsvHeader::Require(std::string_view format_name, const std::vector<std::string_view>& required) const {
  for (std::string_view name : required) {
    if (Find(name) < 0) {
      return InvalidArgument(std::string(format_name) + ": missing column '" + std::string(name) +
                             "' (columns: " + List() + ")");
    }
  }
  return Status::Ok();
}

CsvFormatBase::CsvFormatBase(const IngestConfig& config, char delimiter)
    : config_(config), pseudonymiser_(config_), delimiter_(delimiter) {
  // Picks libsodium's fastest BLAKE2b for AppendRecordHash; idempotent. On
  // failure (no entropy source) hashing still works with the portable code.
  if (sodium_init() < 0) return;
}

void CsvFormatBase::Reject(Batch& out, std::string_view record, int64_t line_no, RejectReason reason,
                           std::string_view column, std::string_view what) {
  RejectedRecord& r = out.rejected.emplace_back();
  r.line_no = line_no;
  r.reason = reason;
  r.field = std::string(column);
  r.message = "line " + std::to_string(line_no) + ": ";
  if (!column.empty()) {
    r.message += "column '";
    r.message += column;
    r.message += "': ";
  }
  r.message += what;
  // Mask before the final cut so a number straddling the cut is still masked;
  // the first cut bounds the work for oversized records.
  std::string masked = MaskPii(TruncateUtf8(record, 2 * kMaxRejectedRawBytes));
  r.raw = std::string(TruncateUtf8(masked, kMaxRejectedRawBytes));
}

bool CsvFormatBase::CheckRecord(std::string_view record, int64_t line_no, Batch& out) {
  if (record.size() > config_.max_record_bytes) {
    Reject(out, record, line_no, RejectReason::kOversizedRecord, "",
           "record of " + std::to_string(record.size()) + " bytes exceeds the limit of " +
               std::to_string(config_.max_record_bytes));
    return false;
  }
  if (!IsValidUtf8(record)) {
    Reject(out, record, line_no, RejectReason::kInvalidUtf8, "", "record is not valid UTF-8");
    return false;
  }
  return !IsBlank(record);  // a blank line is not a record (as in jsonl)
}

bool CsvFormatBase::SplitOrReject(std::string_view record, int64_t line_no, Batch& out) {
  if (!CheckRecord(record, line_no, out)) return false;
  Status st = SplitCsvRecord(record, delimiter_, fields_, scratch_);
  if (!st.ok()) {
    Reject(out, record, line_no, RejectReason::kBadCsvRecord, "", st.message());
    return false;
  }
  return true;
}

bool CsvFormatBase::CheckColumnCount(std::string_view record, int64_t line_no, size_t expected, Batch& out) {
  if (fields_.size() == expected) return true;
  Reject(out, record, line_no, RejectReason::kBadCsvRecord, "",
         "expected " + std::to_string(expected) + " columns, found " + std::to_string(fields_.size()));
  return false;
}

bool CsvFormatBase::AddIdentity(Event& event, IdentityType type, std::string_view raw, std::string_view column,
                                std::string_view record, int64_t line_no, Batch& out) {
  // (A value repeating the previous row's of its type is answered from the
  // pseudonymiser's last-value entry.)
  std::string value;
  if (Status st = pseudonymiser_.NormaliseTo(type, raw, value); !st.ok()) {
    Reject(out, record, line_no, RejectReason::kInvalidIdentity, column,
           "invalid " + std::string(IdentityTypeName(type)) + ": " + st.message());
    return false;
  }
  event.identities.push_back(Identity{type, std::move(value)});
  return true;
}

}  // namespace omni::ingest
