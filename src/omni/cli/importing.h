// Importing a file into the data directory's store, shared by `omni import`
// and `omni demo`: config + PII key, format by spec, an import run recorded in
// the store, progress on a terminal.
#pragma once

#include <string>

#include "omni/cli/context.h"
#include "omni/ingest/pipeline.h"

namespace omni::cli {

struct ImportOutcome {
  std::string source;
  std::string format;
  int64_t import_id = 0;
  ingest::ImportSummary summary;
};

StatusOr<ImportOutcome> ImportIntoStore(const std::string& data_dir, const std::string& path,
                                        const std::string& source, const std::string& format_spec,
                                        int64_t batch_records);

// Table: counts and rejections by reason; json: the summary object
// {"accepted":N,"duplicates":N,"rejected":N,"rejected_by_reason":{...},...}.
void PrintImportOutcome(const Context& ctx, const ImportOutcome& outcome);
void WriteImportSummaryJson(JsonWriter& w, const ImportOutcome& outcome);

}  // namespace omni::cli
