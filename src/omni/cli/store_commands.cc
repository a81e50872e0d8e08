// omni quarantine list · omni status: what the store holds and what it refused.
#include <fmt/format.h>

#include "omni/cli/commands.h"
#include "omni/ingest/timestamp.h"
#include "omni/store/store.h"

namespace omni::cli {
namespace {

std::string Clip(std::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return std::string(s.substr(0, cut)) + "…";
}

}  // namespace

void AddQuarantineCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  CLI::App* q = app.add_subcommand("quarantine", "Records rejected by imports, with their reasons");
  q->require_subcommand(1);
  struct Flags {
    int64_t limit = 50;
    int64_t offset = 0;
    std::string reason;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* list = q->add_subcommand("list", "List quarantined records, newest first");
  list->add_option("--limit", flags->limit, "rows to show")->capture_default_str();
  list->add_option("--offset", flags->offset, "rows to skip");
  list->add_option("--reason", flags->reason, "only this reason (e.g. bad_timestamp)");
  registry.emplace_back(list, [&ctx, flags]() -> Status {
    OMNI_ASSIGN_OR_RETURN(auto store, store::Store::OpenSqlite(ctx.data_dir));
    OMNI_ASSIGN_OR_RETURN(auto counts, store->QuarantineCounts());
    OMNI_ASSIGN_OR_RETURN(auto rows, store->ListQuarantine(flags->limit, flags->offset, flags->reason));
    if (ctx.json()) {
      JsonWriter w;
      w.BeginObject().Key("by_reason").BeginObject();
      int64_t total = 0;
      for (const auto& [reason, n] : counts) {
        w.Key(reason).Int(n);
        total += n;
      }
      w.EndObject().Key("total").Int(total).Key("records").BeginArray();
      for (const auto& r : rows) {
        w.BeginObject();
        w.Key("id").Int(r.id).Key("source").String(r.source).Key("line").Int(r.line_no);
        w.Key("reason").String(r.reason).Key("field").String(r.field);
        w.Key("message").String(r.message).Key("raw").String(r.raw);
        w.Key("quarantined_at").String(ingest::FormatTimestamp(r.quarantined_at_ms, 0));
        w.EndObject();
      }
      w.EndArray().EndObject();
      PrintJson(w);
      return Status::Ok();
    }
    Table summary({"reason", "records"});
    for (const auto& [reason, n] : counts) summary.AddRow({reason, std::to_string(n)});
    summary.Print();
    std::printf("\n");
    Table t({"source", "line", "reason", "field", "message"});
    for (const auto& r : rows) {
      t.AddRow({r.source, std::to_string(r.line_no), r.reason, r.field, Clip(r.message, 90)});
    }
    t.Print();
    return Status::Ok();
  });
}

void AddStatusCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  CLI::App* sub = app.add_subcommand("status", "What the data directory holds: events, imports, quarantine");
  registry.emplace_back(sub, [&ctx]() -> Status {
    OMNI_ASSIGN_OR_RETURN(auto store, store::Store::OpenSqlite(ctx.data_dir));
    OMNI_ASSIGN_OR_RETURN(store::StoreStats s, store->Stats());
    OMNI_ASSIGN_OR_RETURN(auto imports, store->ListImports(10));
    if (ctx.json()) {
      JsonWriter w;
      w.BeginObject();
      w.Key("data_dir").String(ctx.data_dir).Key("schema_version").Int(s.schema_version);
      w.Key("events").Int(s.events).Key("quarantined").Int(s.quarantined);
      w.Key("items").Int(s.items).Key("availability").Int(s.availability).Key("imports").Int(s.imports);
      if (s.events > 0) {
        w.Key("first_event").String(ingest::FormatTimestamp(s.min_ts_ms, 0));
        w.Key("last_event").String(ingest::FormatTimestamp(s.max_ts_ms, 0));
      }
      w.Key("recent_imports").BeginArray();
      for (const auto& r : imports) {
        w.BeginObject().Key("id").Int(r.id).Key("source").String(r.source).Key("format").String(r.format);
        w.Key("accepted").Int(r.accepted).Key("duplicates").Int(r.duplicates).Key("rejected").Int(r.rejected);
        w.Key("status").String(r.status).EndObject();
      }
      w.EndArray().EndObject();
      PrintJson(w);
      return Status::Ok();
    }
    Table t({"store", ctx.data_dir});
    t.AddRow({"schema version", std::to_string(s.schema_version)});
    t.AddRow({"events", std::to_string(s.events)});
    if (s.events > 0) {
      t.AddRow({"first event", ingest::FormatTimestamp(s.min_ts_ms, 0)});
      t.AddRow({"last event", ingest::FormatTimestamp(s.max_ts_ms, 0)});
    }
    t.AddRow({"quarantined", std::to_string(s.quarantined)});
    t.AddRow({"catalogue items", std::to_string(s.items)});
    t.AddRow({"availability rows", std::to_string(s.availability)});
    t.Print();
    if (!imports.empty()) {
      std::printf("\n");
      Table it({"import", "source", "format", "accepted", "duplicates", "rejected", "status"});
      for (const auto& r : imports) {
        it.AddRow({std::to_string(r.id), r.source, r.format, std::to_string(r.accepted),
                   std::to_string(r.duplicates), std::to_string(r.rejected), r.status});
      }
      it.Print();
    }
    return Status::Ok();
  });
}

}  // namespace omni::cli
