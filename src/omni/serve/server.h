// omni serve: the HTTP/1.1 JSON API under /v1 and the dashboard under /ui.
#pragma once

#include <string>

#include "omni/common/status.h"

namespace omni::serve {

struct ServerOptions {
  std::string data_dir = "./omni-data";
  std::string listen = "127.0.0.1:8080";
};

// Serves until SIGINT/SIGTERM. (Being built: issue 6.)
Status Serve(const ServerOptions& options);

}  // namespace omni::serve
