// omni import FILE|- [--as FORMAT] [--map field=column,...]
#include <filesystem>

#include <spdlog/spdlog.h>

#include "omni/cli/commands.h"
#include "omni/cli/importing.h"

namespace omni::cli {

void AddImportCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  struct Flags {
    std::string path;
    std::string as;
    std::string map;
    int64_t batch = 50000;
    std::string source;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "import", "Import events, a catalogue or availability from a file or stdin ('-')");
  sub->add_option("file", flags->path, "file (plain or .gz) or - for standard input")->required();
  sub->add_option("--as", flags->as,
                  "format: jsonl, csv, online-retail, retailrocket, movielens, taobao, catalogue, "
                  "availability (default: jsonl, or csv when --map is given)");
  sub->add_option("--map", flags->map,
                  "CSV column mapping: field=Column,... (e.g. ts=OrderTime,phone=Mobile,"
                  "channel=const:store); see docs/formats.md");
  sub->add_option("--batch", flags->batch, "records per transaction")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}))
      ->capture_default_str();
  sub->add_option("--source", flags->source, "name of the input in quarantine (default: the file name)");
  registry.emplace_back(sub, [&ctx, flags]() -> Status {
    std::string spec = flags->as.empty() ? (flags->map.empty() ? "jsonl" : "csv") : flags->as;
    if (!flags->map.empty()) {
      if (spec != "csv") return InvalidArgument("--map applies to --as csv only");
      spec += ":" + flags->map;
    }
    std::string source = flags->source;
    if (source.empty()) {
      source = flags->path == "-" ? "stdin" : std::filesystem::path(flags->path).filename().string();
    }
    OMNI_ASSIGN_OR_RETURN(ImportOutcome outcome,
                          ImportIntoStore(ctx.data_dir, flags->path, source, spec, flags->batch));
    PrintImportOutcome(ctx, outcome);
    return Status::Ok();
  });
}

}  // namespace omni::cli
