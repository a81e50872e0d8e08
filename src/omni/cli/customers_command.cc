// Placeholder until the identity commands land.
#include "omni/cli/commands.h"

namespace omni::cli {

void AddCustomersCommand(CLI::App& app, Context&, CommandRegistry& registry) {
  CLI::App* sub = app.add_subcommand("customers", "show | explain | split | forget IDENTIFIER (not available yet)");
  sub->allow_extras();
  registry.emplace_back(sub, []() -> Status { return Unimplemented("'omni customers' is not available yet"); });
}

}  // namespace omni::cli
