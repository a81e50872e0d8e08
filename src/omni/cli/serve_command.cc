// serve: the HTTP API and dashboard (issue 6)
#include "omni/cli/commands.h"

namespace omni::cli {

// Not built yet: the command stays in the planned list (planned_commands.cc).
void AddServeCommand(CLI::App&, Context&, CommandRegistry&) {}

}  // namespace omni::cli
