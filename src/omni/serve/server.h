// omni serve: the HTTP/1.1 JSON API under /v1 and the dashboard under /ui.
//
// Routes, scopes and descriptions: routes.h (and docs/openapi.yaml, which a
// test keeps in step with it). Request flow on a worker thread:
//   pre-routing: find the route, check the API key and its scope (401/403),
//                take a token from the key's bucket (429 + Retry-After)
//   httplib:     reads the body (413 over ServerOptions::max_body_bytes,
//                408 when the client is slower than the read timeout)
//   handler:     answers JSON; errors in the one shape of http_error.h
//   post-routing: per-route request counts and latency (metrics.h)
// Logs carry the route pattern, status and key prefix — never the URL (it
// may hold a phone number) nor the body.
#pragma once

#include <cstdint>
#include <string>

#include "omni/common/status.h"

namespace omni::serve {

// The source tree's ui/ folder (the dashboard's static files), so a server
// started from the build tree finds them.
std::string DefaultUiDir();

struct ServerOptions {
  std::string data_dir = "./omni-data";
  // host:port; a bare port binds 127.0.0.1. Port 0 picks a free port (see
  // port_file). Binding anything but loopback is the operator's choice.
  std::string listen = "127.0.0.1:8080";
  std::string ui_dir = DefaultUiDir();
  // Worker threads. A keep-alive connection holds one while it is open, so
  // this is also the number of concurrent connections served.
  int threads = 64;
  size_t max_body_bytes = 32u << 20;  // 413 above
  int read_timeout_s = 10;            // a client slower than this is cut off
  int write_timeout_s = 10;
  int keep_alive_timeout_s = 5;
  // Per-key token bucket: requests per second (0 = unlimited) unless the key
  // has its own rate; the bucket holds `burst_seconds` worth of requests.
  double rate_per_key = 1000;
  double burst_seconds = 2;
  // How often the server checks for a newer identity resolution / profile
  // build and swaps it in (0 = only on POST /v1/admin/reload).
  int reload_interval_s = 30;
  // GET /v1/customers scans at most this many events stored since the last
  // profile build for the customer's newest activity (each costs a few
  // microseconds per look-up); 0 = the timeline is the build's, with
  // timeline_complete false when newer events exist.
  int64_t max_timeline_scan = 0;
  // When set, the bound port is written here once the server listens (tests
  // and scripts start it on port 0).
  std::string port_file;
};

// Serves until SIGINT/SIGTERM, then stops accepting, answers the requests in
// flight and commits queued events. Errors: a bad listen address, a port in
// use, a data directory that cannot be opened.
Status Serve(const ServerOptions& options);

}  // namespace omni::serve
