// Placeholder until the profile commands land.
#include "omni/cli/commands.h"

namespace omni::cli {

void AddProfileCommands(CLI::App& app, Context&, CommandRegistry& registry) {
  for (const char* name : {"profiles", "segments", "clv"}) {
    CLI::App* sub = app.add_subcommand(name, "(not available yet)");
    sub->allow_extras();
    std::string n = name;
    registry.emplace_back(sub, [n]() -> Status { return Unimplemented("'omni " + n + "' is not available yet"); });
  }
}

}  // namespace omni::cli
