// The API's route table: every route the server registers, with the scope a
// key needs for it and a one-line description. The router registers exactly
// these (server.cc), the metrics label requests by them, and a test checks
// that docs/openapi.yaml describes each one — so a route cannot be served
// without being documented.
#pragma once

#include <span>
#include <string_view>

namespace omni::serve {

// What an API key must hold for a route. Admin keys hold every scope.
enum class Scope { kPublic, kIngest, kRead, kAdmin };
std::string_view ScopeName(Scope scope);  // "public", "ingest", "read", "admin"

struct Route {
  std::string_view method;  // "GET" / "POST"
  std::string_view path;    // OpenAPI form: /v1/customers/{identifier}
  Scope scope;
  std::string_view summary;
};

// In registration order.
std::span<const Route> ApiRoutes();

// The route's path as a regular expression for cpp-httplib: each {param}
// becomes a capture group of one path segment ([^/]+).
std::string RoutePattern(const Route& route);

// Routes other code registers on the same server (the dashboard, dashboard.h),
// by path prefix, with the scope the auth layer enforces for them.
struct RoutePrefix {
  std::string_view prefix;  // "/v1/dashboard/"
  std::string_view label;   // the metrics label: "/v1/dashboard/*"
  Scope scope;
};
std::span<const RoutePrefix> DelegatedRoutePrefixes();

}  // namespace omni::serve
