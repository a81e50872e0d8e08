// The marketer's dashboard: static pages under /ui (ECharts from the npm
// registry, installed by scripts/setup.sh) and the read-only JSON they draw
// from under /v1/dashboard/*.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "omni/identity/identity.h"

namespace httplib {
class Server;
}

namespace omni::serve {

// The One-ID resolution the server is serving, so the overview counts the
// same customers as the API without loading the directory per request.
struct DashboardIdentity {
  std::shared_ptr<const identity::CustomerDirectory> directory;  // null: none resolved
  std::string version;  // changes whenever the resolution does
};

struct DashboardOptions {
  std::string data_dir;  // the omni data directory (SQLite store and friends)
  std::string ui_dir;    // the folder holding index.html, the pages' JS/CSS and echarts.min.js
  // The current resolution; when empty, the overview loads the stored one
  // itself.
  std::function<DashboardIdentity()> identity;
};

// Registers GET /ui and /ui/* (static files; public: the pages hold no data)
// and GET /v1/dashboard/* (JSON; the server's auth layer requires a key with
// the read scope, sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`).
// Handlers open their own read-only view of the store, so they never block
// the event writer. Called once by the server before it starts listening.
void AddDashboardRoutes(httplib::Server& server, const DashboardOptions& options);

}  // namespace omni::serve
