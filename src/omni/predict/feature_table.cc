#include "omni/predict/feature_table.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "omni/common/csv_field.h"
#include "omni/ingest/csv.h"
#include "omni/ingest/timestamp.h"

namespace omni::predict {

int32_t FeatureTable::ColumnIndex(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int32_t>(i);
  }
  return -1;
}

Status FeatureTable::Append(const FeatureTable& other) {
  if (other.columns != columns) return InvalidArgument("feature tables with different columns cannot be stacked");
  if (other.labelled() != labelled() && rows() > 0) {
    return InvalidArgument("a labelled and an unlabelled feature table cannot be stacked");
  }
  customer_keys.insert(customer_keys.end(), other.customer_keys.begin(), other.customer_keys.end());
  cutoff_ms.insert(cutoff_ms.end(), other.cutoff_ms.begin(), other.cutoff_ms.end());
  values.insert(values.end(), other.values.begin(), other.values.end());
  label.insert(label.end(), other.label.begin(), other.label.end());
  return Status::Ok();
}

Status WriteFeatureCsv(const FeatureTable& table, const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return InvalidArgument(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  std::string line = "customer_key,cutoff";
  for (const auto& c : table.columns) {
    line.push_back(',');
    AppendCsvField(line, c);
  }
  if (table.labelled()) line += ",label";
  line.push_back('\n');
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  for (int64_t r = 0; r < table.rows() && ok; ++r) {
    line.clear();
    AppendCsvField(line, table.customer_keys[r]);
    line.push_back(',');
    line += ingest::FormatTimestamp(table.cutoff_ms.empty() ? 0 : table.cutoff_ms[r], 0);
    for (int32_t c = 0; c < table.cols(); ++c) {
      line.push_back(',');
      float v = table.at(r, c);
      if (std::isnan(v)) continue;
      if (v == std::trunc(v) && std::fabs(v) < 10000.0f && !(v == 0 && std::signbit(v))) {
        // Counts and flags, most cells: the digits "{}" prints for a whole
        // float below 10^4 (checked for every one), without its shortest-
        // round-trip search.
        const fmt::format_int digits(static_cast<int>(v));
        line.append(digits.data(), digits.size());
      } else {
        fmt::format_to(std::back_inserter(line), "{}", v);  // shortest round-trip
      }
    }
    if (table.labelled()) fmt::format_to(std::back_inserter(line), ",{}", table.label[r] > 0.5f ? 1 : 0);
    line.push_back('\n');
    ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return Internal("write failed: " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Internal(fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message()));
  return Status::Ok();
}

StatusOr<FeatureTable> ReadFeatureCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open feature table " + path);
  FeatureTable t;
  std::string line, scratch;
  std::vector<std::string_view> fields;
  if (!std::getline(in, line)) return InvalidArgument(path + ": empty file, expected a header line");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  OMNI_RETURN_IF_ERROR(ingest::SplitCsvRecord(line, ',', fields, scratch));
  int key_col = -1, cutoff_col = -1, label_col = -1;
  std::vector<int> feature_of(fields.size(), -1);
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string name(fields[i]);
    if (name == "customer_key") key_col = static_cast<int>(i);
    else if (name == "cutoff") cutoff_col = static_cast<int>(i);
    else if (name == "label") label_col = static_cast<int>(i);
    else {
      feature_of[i] = static_cast<int>(t.columns.size());
      t.columns.push_back(name);
    }
  }
  const size_t width = fields.size();
  std::vector<std::string> header;
  for (auto f : fields) header.emplace_back(f);
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Status s = ingest::SplitCsvRecord(line, ',', fields, scratch);
    if (!s.ok()) return InvalidArgument(fmt::format("{} line {}: {}", path, line_no, s.message()));
    if (fields.size() != width) {
      return InvalidArgument(fmt::format("{} line {}: {} fields, the header has {}", path, line_no, fields.size(), width));
    }
    const size_t base = t.values.size();
    t.values.resize(base + t.columns.size(), std::numeric_limits<float>::quiet_NaN());
    for (size_t i = 0; i < width; ++i) {
      std::string_view v = fields[i];
      if (static_cast<int>(i) == key_col) {
        t.customer_keys.emplace_back(v);
      } else if (static_cast<int>(i) == cutoff_col) {
        auto ts = ingest::ParseTimestamp(v);
        // A user's own table may carry plain dates or wall times: read them as UTC.
        if (!ts.ok()) ts = ingest::ParseLocalTimestamp(v, 0);
        if (!ts.ok()) {
          return InvalidArgument(fmt::format("{} line {} column 'cutoff': {}", path, line_no, ts.status().message()));
        }
        t.cutoff_ms.push_back(ts->ts_ms);
      } else if (static_cast<int>(i) == label_col) {
        if (v == "1" || v == "true" || v == "True" || v == "1.0") t.label.push_back(1.0f);
        else if (v == "0" || v == "false" || v == "False" || v == "0.0") t.label.push_back(0.0f);
        else return InvalidArgument(fmt::format("{} line {} column 'label': '{}' is not 0/1", path, line_no, v));
      } else if (!v.empty()) {
        double d = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
        if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(d)) {
          return InvalidArgument(
              fmt::format("{} line {} column '{}': '{}' is not a number", path, line_no, header[i], v));
        }
        t.values[base + feature_of[i]] = static_cast<float>(d);
      }
    }
    if (key_col < 0) t.customer_keys.push_back(fmt::format("row{}", line_no - 1));
    if (cutoff_col < 0) t.cutoff_ms.push_back(0);
  }
  return t;
}

}  // namespace omni::predict
