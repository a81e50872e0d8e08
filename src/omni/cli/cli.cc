#include "omni/cli/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "omni/cli/commands.h"
#include "omni/cli/context.h"

namespace omni::cli {

int Run(int argc, char** argv) {
  // Logs go to stderr so stdout carries only the answer (one JSON object
  // with --format json).
  auto logger = spdlog::get("omni");
  if (!logger) logger = spdlog::stderr_color_mt("omni");
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);

  Context ctx;
  CLI::App app{"omni — omnichannel marketing engine"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string format = "table";
  std::string log_level = "info";
  app.add_option("--data", ctx.data_dir, "data directory (database, keys, models)")
      ->capture_default_str();
  app.add_option("--format", format, "output: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  CommandRegistry registry;
  AddImportCommand(app, ctx, registry);
  AddQuarantineCommand(app, ctx, registry);
  AddStatusCommand(app, ctx, registry);
  AddDemoCommand(app, ctx, registry);
  AddCustomersCommand(app, ctx, registry);
  AddProfileCommands(app, ctx, registry);
  AddRecommendCommands(app, ctx, registry);
  AddFeaturesCommand(app, ctx, registry);
  AddPropensityCommands(app, ctx, registry);
  AddServeCommand(app, ctx, registry);
  const std::vector<std::string> planned_names = AddPlannedCommands(app);
  if (std::string planned = PlannedCommandIn(planned_names, argc, argv); !planned.empty()) {
    std::fprintf(stderr, "omni: '%s' is not available yet\n", planned.c_str());
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;  // --help exits 0; every parse error is a usage error
  }
  ctx.format = format == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  spdlog::set_level(spdlog::level::from_str(log_level));

  const std::function<Status()>* chosen = nullptr;
  for (const auto& [sub, fn] : registry) {
    if (sub->parsed()) chosen = &fn;
  }
  if (!chosen) {
    std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  Status status = (*chosen)();
  return status.ok() ? 0 : ReportError(ctx, status);
}

}  // namespace omni::cli
