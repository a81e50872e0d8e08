// propensity train | score | report and the purchase-after-browse window (issue 5)
#include "omni/cli/commands.h"

namespace omni::cli {

// Not built yet: the command stays in the planned list (planned_commands.cc).
void AddPropensityCommands(CLI::App&, Context&, CommandRegistry&) {}

}  // namespace omni::cli
