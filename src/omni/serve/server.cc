#include "omni/serve/server.h"

namespace omni::serve {

Status Serve(const ServerOptions&) { return Unimplemented("omni serve is not available yet"); }

}  // namespace omni::serve
