// Placeholder until the recommendation commands land.
#include "omni/cli/commands.h"

namespace omni::cli {

void AddRecommendCommands(CLI::App& app, Context&, CommandRegistry& registry) {
  for (const char* name : {"train", "recommend", "evaluate"}) {
    CLI::App* sub = app.add_subcommand(name, "(not available yet)");
    sub->prefix_command();
    std::string n = name;
    registry.emplace_back(sub, [n]() -> Status { return Unimplemented("'omni " + n + "' is not available yet"); });
  }
}

}  // namespace omni::cli
