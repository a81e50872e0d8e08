// Placeholder until the profile commands land.
#include "omni/cli/customer_show.h"

namespace omni::cli {

Status ShowCustomer(const Context&, const std::string&) {
  return Unimplemented("'omni customers show' is not available yet");
}

}  // namespace omni::cli
