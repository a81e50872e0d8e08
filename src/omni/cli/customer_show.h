// `omni customers show IDENTIFIER`: the unified profile across channels (a
// store clerk's or CRM agent's view). Lives beside the profile commands; the
// customers command group calls it.
#pragma once

#include <string>

#include "omni/cli/context.h"

namespace omni::cli {

Status ShowCustomer(const Context& ctx, const std::string& identifier);

}  // namespace omni::cli
