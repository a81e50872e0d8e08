#include "omni/cli/importing.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "omni/common/progress.h"
#include "omni/ingest/config_file.h"
#include "omni/store/store.h"

namespace omni::cli {

StatusOr<ImportOutcome> ImportIntoStore(const std::string& data_dir, const std::string& path,
                                        const std::string& source, const std::string& format_spec,
                                        int64_t batch_records) {
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<ingest::Format> format, ingest::MakeFormat(format_spec, config));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(data_dir));

  ImportOutcome outcome;
  outcome.source = source;
  outcome.format = std::string(format->name());
  OMNI_ASSIGN_OR_RETURN(outcome.import_id, store->BeginImport(source, outcome.format));

  ProgressReporter progress("import " + source, "records", ingest::SourceSize(path));
  ingest::ImportOptions options;
  options.batch_records = batch_records;
  options.progress = [&](int64_t bytes, int64_t records) { progress.Update(bytes, records); };
  StatusOr<ingest::ImportSummary> summary = ingest::ImportFile(path, source, *format, *store, options);
  progress.Finish();

  store::ImportRun run;
  if (summary.ok()) {
    run.accepted = summary->accepted;
    run.duplicates = summary->duplicates;
    run.rejected = summary->rejected;
    run.status = "done";
  } else {
    run.status = "failed: " + summary.status().message();
  }
  Status finish = store->FinishImport(outcome.import_id, run);
  if (!summary.ok()) return summary.status();
  OMNI_RETURN_IF_ERROR(finish);
  outcome.summary = *summary;
  spdlog::info("imported {}: {} records in {:.2f} s ({}/s)", source, outcome.summary.records,
               outcome.summary.seconds,
               HumanCount(outcome.summary.records / std::max(1e-9, outcome.summary.seconds)));
  return outcome;
}

void WriteImportSummaryJson(JsonWriter& w, const ImportOutcome& outcome) {
  const ingest::ImportSummary& s = outcome.summary;
  w.BeginObject();
  w.Key("source").String(outcome.source);
  w.Key("format").String(outcome.format);
  w.Key("import_id").Int(outcome.import_id);
  w.Key("records").Int(s.records);
  w.Key("accepted").Int(s.accepted);
  w.Key("duplicates").Int(s.duplicates);
  w.Key("erased").Int(s.erased);
  w.Key("rejected").Int(s.rejected);
  w.Key("rejected_by_reason").BeginObject();
  for (int r = 0; r < ingest::kRejectReasonCount; ++r) {
    if (s.rejected_by_reason[r] > 0) {
      w.Key(ingest::RejectReasonName(static_cast<ingest::RejectReason>(r))).Int(s.rejected_by_reason[r]);
    }
  }
  w.EndObject();
  w.Key("items").Int(s.items);
  w.Key("availability").Int(s.availability);
  w.Key("seconds").Double(s.seconds);
  w.Key("records_per_second").Double(s.seconds > 0 ? s.records / s.seconds : 0);
  w.Key("parse_cpu_seconds").Double(s.parse_cpu_seconds).Key("write_cpu_seconds").Double(s.write_cpu_seconds);
  w.EndObject();
}

void PrintImportOutcome(const Context& ctx, const ImportOutcome& outcome) {
  if (ctx.json()) {
    JsonWriter w;
    WriteImportSummaryJson(w, outcome);
    PrintJson(w);
    return;
  }
  const ingest::ImportSummary& s = outcome.summary;
  Table t({"import", outcome.source + " (" + outcome.format + ")"});
  t.AddRow({"records", std::to_string(s.records)});
  t.AddRow({"accepted", std::to_string(s.accepted)});
  t.AddRow({"duplicates", std::to_string(s.duplicates)});
  if (s.erased > 0) t.AddRow({"erased (forgotten customers)", std::to_string(s.erased)});
  t.AddRow({"rejected", std::to_string(s.rejected)});
  for (int r = 0; r < ingest::kRejectReasonCount; ++r) {
    if (s.rejected_by_reason[r] > 0) {
      t.AddRow({std::string("  ") + std::string(ingest::RejectReasonName(static_cast<ingest::RejectReason>(r))),
                std::to_string(s.rejected_by_reason[r])});
    }
  }
  if (s.items > 0) t.AddRow({"catalogue rows", std::to_string(s.items)});
  if (s.availability > 0) t.AddRow({"availability rows", std::to_string(s.availability)});
  t.AddRow({"time", fmt::format("{:.2f} s ({} records/s)", s.seconds,
                                HumanCount(s.seconds > 0 ? s.records / s.seconds : 0))});
  t.Print();
  if (s.rejected > 0) std::printf("rejected records are in quarantine: omni quarantine list\n");
}

}  // namespace omni::cli
