// The dashboard's routes (dashboard.h): the static pages under /ui and the
// read-only JSON under /v1/dashboard/* (dashboard_data.h).
//
// Static files are served by this handler rather than cpp-httplib's mount
// point for two reasons: ui/ also holds package.json and node_modules (the
// npm tree that brings ECharts and the browser test's playwright-core),
// which must not be served, and the text types need "; charset=utf-8" so
// Chinese renders whatever the browser's default encoding is.
#include "omni/serve/dashboard.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "omni/serve/dashboard_data.h"
#include "omni/serve/http_error.h"
#include "omni/serve/overview_counts.h"

namespace omni::serve {
namespace {

namespace fs = std::filesystem;

// The pages' own content security policy: no inline script, no third-party
// origin (ECharts is served from /ui too), so a rejected line or an item
// title holding markup can never run as script even if a page mishandled
// it. ECharts sets element styles from script, hence 'unsafe-inline' for
// styles only.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const char* ContentTypeOf(const fs::path& path) {
  static const std::map<std::string, const char*> kTypes = {
      {".html", "text/html; charset=utf-8"},     {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},                 {".png", "image/png"},
      {".ico", "image/x-icon"},                  {".woff2", "font/woff2"},
  };
  auto it = kTypes.find(path.extension().string());
  return it == kTypes.end() ? nullptr : it->second;
}

// The file under `root` that a request for /ui/REL may read, or empty when
// none may: every part must be a plain name (letters, digits, '_', '-', '.',
// not starting with '.'), the npm tree is out, the type must be one of the
// pages' types, and the resolved file (symbolic links followed) must still
// lie inside the ui folder.
fs::path ResolveStatic(const fs::path& root, std::string_view rel) {
  if (rel.empty()) rel = "index.html";
  if (rel.size() > 200) return {};
  fs::path out = root;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    std::string_view part = rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part.front() == '.' || part == "node_modules") return {};
    for (char c : part) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.';
      if (!ok) return {};
    }
    out /= std::string(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (!ContentTypeOf(out)) return {};
  std::error_code ec;
  const fs::path real = fs::canonical(out, ec);
  if (ec || !fs::is_regular_file(real, ec)) return {};
  const fs::path real_root = fs::canonical(root, ec);
  if (ec) return {};
  auto [r, f] = std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
  if (r != real_root.end()) return {};
  return real;
}

void SendError(httplib::Response& res, const Status& status, std::string_view field = {}) {
  res.status = HttpStatusOf(status.code());
  res.set_content(ErrorJson(status, field), "application/json; charset=utf-8");
}

// One page's answer, kept until what it depends on changes (dashboard_data.h:
// the versions). Several marketers opening the same page, or one page
// refreshing, cost one computation per profile build or per batch of
// events, not one per request.
class PageCache {
 public:
  // The cached body for `key` if it was computed at `version`; else
  // computes, stores and returns it.
  StatusOr<std::string> Get(const std::string& key, const std::string& version,
                            const std::function<StatusOr<std::string>()>& compute) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.version == version) return it->second.body;
    }
    // Computed outside the lock: a slow page never blocks another one. Two
    // requests racing on a new version both compute; the last one stays.
    OMNI_ASSIGN_OR_RETURN(std::string body, compute());
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() > 64) entries_.clear();  // bounded: a few keys per page
    entries_[key] = {version, body};
    return body;
  }

 private:
  struct Entry {
    std::string version;
    std::string body;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// The overview's counts kept between requests (overview_counts.h): a
// request reads only the events committed since the previous one, so the
// page stays current under live ingest without recounting a year of events
// per batch. A new resolution (or an erasure, which changes it) starts the
// counts afresh; concurrent requests take turns.
class OverviewIndex {
 public:
  // The widest window the page offers.
  static constexpr int kCoverDays = 366;

  ~OverviewIndex() {
    if (warm_.joinable()) warm_.join();
  }

  // Counts the widest window once on a thread of its own as the server
  // starts, so the first marketer to open the page does not wait for a year
  // of events to be read (seconds on a large store). A request arriving
  // meanwhile waits for it rather than counting twice.
  void WarmUp(std::string data_dir, std::function<DashboardIdentity()> identity) {
    warm_ = std::thread([this, data_dir = std::move(data_dir), identity = std::move(identity)] {
      StatusOr<DashboardData> data = DashboardData::Open(data_dir);
      if (!data.ok()) return;  // no store yet: the page says so when asked
      StatusOr<std::string> counted = Overview(*data, kCoverDays, identity());
      if (!counted.ok()) spdlog::warn("dashboard: overview not counted ahead: {}", counted.status().ToString());
    });
  }

  StatusOr<std::string> Overview(DashboardData& data, int days, const DashboardIdentity& identity) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!counts_ || identity.version != version_ || identity.directory != directory_) {
      OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig config, data.LoadIdentityConfig());
      counts_ = std::make_unique<OverviewCounts>(identity.directory, std::move(config), kCoverDays);
      version_ = identity.version;
      directory_ = identity.directory;
    }
    StatusOr<std::string> out = data.Overview(days, *counts_);
    if (!out.ok()) counts_.reset();  // half-added counts are not trusted: start afresh next time
    return out;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<OverviewCounts> counts_;
  std::string version_;
  std::shared_ptr<const identity::CustomerDirectory> directory_;
  std::thread warm_;
};

int IntParam(const httplib::Request& req, const char* name, int fallback, Status* error) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  *error = InvalidArgument(std::string(name) + " must be an integer");
  return fallback;
}

}  // namespace

void AddDashboardRoutes(httplib::Server& server, const DashboardOptions& options) {
  const fs::path root = options.ui_dir;
  const std::string data_dir = options.data_dir;
  auto cache = std::make_shared<PageCache>();
  auto overview = std::make_shared<OverviewIndex>();

  // /ui → /ui/ so the pages' relative URLs (app.js, vendor/...) resolve.
  server.Get("/ui", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/", 308); });
  server.Get(R"(/ui/(.*))", [root](const httplib::Request& req, httplib::Response& res) {
    const fs::path file = ResolveStatic(root, req.matches[1].str());
    if (file.empty()) {
      SendError(res, NotFound("no such dashboard file: " + ValidUtf8(req.path)));
      return;
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    if (!in) {
      SendError(res, Internal("cannot read dashboard file " + file.filename().string()));
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_content(body.str(), ContentTypeOf(file));
  });

  // The JSON pages. Each request reads through its own read-only connection
  // (DashboardData::Open), so nothing here can hold up the event writer.
  using Page = std::function<StatusOr<std::string>(DashboardData&, const httplib::Request&, Status*)>;
  auto json = [data_dir](Page page) {
    return [data_dir, page](const httplib::Request& req, httplib::Response& res) {
      StatusOr<DashboardData> data = DashboardData::Open(data_dir);
      if (!data.ok()) return SendError(res, data.status());
      Status bad_param;
      StatusOr<std::string> body = page(*data, req, &bad_param);
      if (!bad_param.ok()) return SendError(res, bad_param);
      if (!body.ok()) return SendError(res, body.status());
      // Aggregates of customers: never kept by a browser or a proxy.
      res.set_header("Cache-Control", "no-store");
      res.set_content(std::move(*body), "application/json; charset=utf-8");
    };
  };

  server.Get("/v1/dashboard/overview", json([cache, overview, identity = options.identity](
                                                DashboardData& d, const httplib::Request& req,
                                                Status* err) -> StatusOr<std::string> {
               const int days = IntParam(req, "days", 30, err);
               if (!err->ok()) return *err;
               if (days < 1 || days > 366) return InvalidArgument("days must be between 1 and 366");
               OMNI_ASSIGN_OR_RETURN(std::string version, d.EventsVersion());
               if (!identity) {
                 // No server state to share: count afresh, cached per version.
                 OMNI_ASSIGN_OR_RETURN(std::string resolution, d.IdentityVersion());
                 return cache->Get("overview/" + std::to_string(days), version + "/" + resolution,
                                   [&] { return d.Overview(days); });
               }
               DashboardIdentity current = identity();
               return cache->Get("overview/" + std::to_string(days), version + "/" + current.version,
                                 [&] { return overview->Overview(d, days, current); });
             }));
  if (options.identity) overview->WarmUp(data_dir, options.identity);
  server.Get("/v1/dashboard/rfm", json([cache](DashboardData& d, const httplib::Request&, Status*) -> StatusOr<std::string> {
               OMNI_ASSIGN_OR_RETURN(std::string version, d.ProfilesVersion());
               return cache->Get("rfm", version, [&] { return d.Rfm(); });
             }));
  server.Get("/v1/dashboard/clv",
             json([cache](DashboardData& d, const httplib::Request& req, Status* err) -> StatusOr<std::string> {
               const int bins = IntParam(req, "bins", 20, err);
               if (!err->ok()) return *err;
               if (bins < 2 || bins > 100) return InvalidArgument("bins must be between 2 and 100");
               OMNI_ASSIGN_OR_RETURN(std::string version, d.ProfilesVersion());
               return cache->Get("clv/" + std::to_string(bins), version, [&] { return d.Clv(bins); });
             }));
  server.Get("/v1/dashboard/quarantine",
             json([](DashboardData& d, const httplib::Request& req, Status* err) -> StatusOr<std::string> {
               const int limit = IntParam(req, "limit", 50, err);
               if (!err->ok()) return *err;
               if (limit < 0 || limit > 500) return InvalidArgument("limit must be between 0 and 500");
               return d.Quarantine(limit, req.has_param("reason") ? req.get_param_value("reason") : "");
             }));
  server.Get("/v1/dashboard/recommendations",
             json([](DashboardData& d, const httplib::Request&, Status*) { return d.Recommendations(); }));
}

}  // namespace omni::serve
