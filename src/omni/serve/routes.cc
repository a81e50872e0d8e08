#include "omni/serve/routes.h"

#include <array>
#include <string>

namespace omni::serve {

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kPublic: return "public";
    case Scope::kIngest: return "ingest";
    case Scope::kRead: return "read";
    case Scope::kAdmin: return "admin";
  }
  return "?";
}

namespace {

constexpr std::array kRoutes = {
    Route{"GET", "/healthz", Scope::kPublic, "Liveness: the process answers"},
    Route{"GET", "/readyz", Scope::kPublic, "Readiness: the store is open and the event writer is running"},
    Route{"GET", "/metrics", Scope::kPublic, "Prometheus text: requests, latency, events, quarantine, model version"},
    Route{"POST", "/v1/events", Scope::kIngest,
          "One event, a JSON array of events or JSONL; 2xx only once committed; idempotent on event_id"},
    Route{"GET", "/v1/customers/{identifier}", Scope::kRead, "The unified profile of one customer across channels"},
    Route{"POST", "/v1/customers/{identifier}/forget", Scope::kAdmin, "Erasure of a customer (PIPL / GDPR)"},
    Route{"GET", "/v1/customers/{identifier}/recommendations", Scope::kRead,
          "Recommendations for a customer with the serving rules"},
    Route{"GET", "/v1/items/{item_id}/together", Scope::kRead, "Items frequently bought together with an item"},
    Route{"GET", "/v1/segments", Scope::kRead, "Named segments with their sizes (k-anonymous)"},
    Route{"GET", "/v1/segments/{name}", Scope::kRead, "One segment: expression and size"},
    Route{"POST", "/v1/admin/reload", Scope::kAdmin,
          "Reloads identity resolution, profiles and models without a restart"},
};

constexpr std::array kPrefixes = {
    RoutePrefix{"/v1/dashboard/", "/v1/dashboard/*", Scope::kRead},
    RoutePrefix{"/ui", "/ui/*", Scope::kPublic},
};

}  // namespace

std::span<const Route> ApiRoutes() { return kRoutes; }
std::span<const RoutePrefix> DelegatedRoutePrefixes() { return kPrefixes; }

std::string RoutePattern(const Route& route) {
  std::string out;
  std::string_view p = route.path;
  while (!p.empty()) {
    size_t open = p.find('{');
    if (open == std::string_view::npos) {
      out.append(p);
      break;
    }
    out.append(p.substr(0, open));
    size_t close = p.find('}', open);
    out += "([^/]+)";
    p.remove_prefix(close == std::string_view::npos ? p.size() : close + 1);
  }
  return out;
}

}  // namespace omni::serve
