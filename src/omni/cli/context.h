// What every command gets: the global flags, and the two ways to answer.
#pragma once

#include <string>
#include <vector>

#include "omni/common/json_writer.h"
#include "omni/common/status.h"

namespace omni::cli {

enum class OutputFormat { kTable, kJson };

struct Context {
  std::string data_dir = "./omni-data";
  OutputFormat format = OutputFormat::kTable;
  bool json() const { return format == OutputFormat::kJson; }
};

// Exit code for a status: 0 ok, 2 unimplemented (usage), 1 everything else.
int ExitCode(const Status& status);

// Prints a failed status to stderr as "omni: error: ..." (and, with
// --format json, also {"error":{"code":..,"message":..}} on stdout so a
// machine caller still gets exactly one object). Returns the exit code.
int ReportError(const Context& ctx, const Status& status);

// Writes the one JSON object to stdout, newline-terminated.
void PrintJson(const JsonWriter& json);

// A plain aligned text table for --format table. Column widths count UTF-8
// code points, with CJK characters as two columns, so Chinese names line up.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string ToString() const;
  void Print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text in terminal columns.
size_t DisplayWidth(std::string_view text);

}  // namespace omni::cli
