// The marketer's dashboard: static pages under /ui (ECharts from the npm
// registry, installed by scripts/setup.sh) and the read-only JSON they draw
// from under /v1/dashboard/*.
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace omni::serve {

struct DashboardOptions {
  std::string data_dir;  // the omni data directory (SQLite store and friends)
  std::string ui_dir;    // the folder holding index.html, the pages' JS/CSS and echarts.min.js
};

// Registers GET /ui and /ui/* (static files; public: the pages hold no data)
// and GET /v1/dashboard/* (JSON; the server's auth layer requires a key with
// the read scope, sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`).
// Handlers open their own read-only view of the store, so they never block
// the event writer. Called once by the server before it starts listening.
void AddDashboardRoutes(httplib::Server& server, const DashboardOptions& options);

}  // namespace omni::serve
