// features build: the point-in-time feature table (issue 5)
#include "omni/cli/commands.h"

namespace omni::cli {

// Not built yet: the command stays in the planned list (planned_commands.cc).
void AddFeaturesCommand(CLI::App&, Context&, CommandRegistry&) {}

}  // namespace omni::cli
