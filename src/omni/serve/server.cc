// omni serve: wiring of the API on cpp-httplib. See server.h for the request
// flow and routes.h for the route table.
#include "omni/serve/server.h"

#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "omni/common/json_writer.h"
#include "omni/identity/erasure.h"
#include "omni/identity/identifier.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/jsonl_format.h"
#include "omni/ingest/pii.h"
#include "omni/profile/k_anonymity.h"
#include "omni/profile/profile_fields.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/segment_expression.h"
#include "omni/profile/segment_sizing.h"
#include "omni/profile/segments_store.h"
#include "omni/serve/api_keys.h"
#include "omni/serve/customer_view.h"
#include "omni/serve/dashboard.h"
#include "omni/serve/event_ingest.h"
#include "omni/serve/http_error.h"
#include "omni/serve/metrics.h"
#include "omni/serve/rate_limiter.h"
#include "omni/recommend/artefact_store.h"
#include "omni/recommend/serving.h"
#include "omni/recommend/serving_json.h"
#include "omni/serve/reloadable.h"
#include "omni/serve/routes.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::serve {

std::string DefaultUiDir() {
#ifdef OMNI_UI_DIR
  return OMNI_UI_DIR;
#else
  return "ui";
#endif
}

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A free list of per-thread resources (SQLite connections, parsers): each is
// used by one request at a time, and a pool of them serves any thread.
template <typename T>
class Pool {
 public:
  explicit Pool(std::function<StatusOr<std::unique_ptr<T>>()> make) : make_(std::move(make)) {}

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<T> item) : pool_(pool), item_(std::move(item)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (item_) pool_->Release(std::move(item_));
    }
    T& operator*() { return *item_; }
    T* operator->() { return item_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<T> item_;
  };

  StatusOr<Lease> Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<T> item = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(item));
      }
    }
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<T> item, make_());
    return Lease(this, std::move(item));
  }

 private:
  void Release(std::unique_ptr<T> item) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(item));
  }
  std::function<StatusOr<std::unique_ptr<T>>()> make_;
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;
};

// What requests read, swapped as a whole by a reload (reloadable.h).
struct ServingState {
  std::shared_ptr<const identity::CustomerDirectory> directory;
  std::string identity_version;  // "w<watermark>-l<log id>", "none" before any resolution
  std::string profiles_version;  // "build-<id>", "none" before any build
  int64_t loaded_at_ms = 0;
  // Recommendations and frequently-bought-together with the serving rules;
  // null when loading failed (the routes answer 503). Immutable and
  // thread-safe (serving.h), rebuilt when identity, profiles or a model change.
  std::shared_ptr<const recommend::RecommendationService> recommendations;
  std::string models_version;  // "<ranking model>/<fbt rules>" versions, "none" parts when absent
};

// One read-side connection set for a request.
struct Readers {
  std::unique_ptr<store::Store> store;              // read-only
  std::unique_ptr<profile::ProfileStore> profiles;  // its own connection
  std::unique_ptr<ingest::Pseudonymiser> pseudonymiser;
};

// The request being served on this thread: set by pre-routing, read by the
// handlers and post-routing (httplib runs all three on one thread).
struct RequestContext {
  bool valid = false;
  size_t route = 0;
  Clock::time_point start;
  std::string key_prefix;  // for logs: "omk_3fA9xQ2b" or ""
};
thread_local RequestContext t_request;

void SendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

void SendError(httplib::Response& res, const Status& status, std::string_view field = {}) {
  SendJson(res, HttpStatusOf(status.code()), ErrorJson(status, field));
}

std::string_view ErrorCodeForHttpStatus(int status) {
  switch (status) {
    case 400: return "invalid_argument";
    case 401: return "unauthenticated";
    case 403: return "permission_denied";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 429: return "rate_limited";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "invalid_argument";
  }
}

// The parser's messages start "line N: " (right for files); over HTTP the
// answer carries the record's index instead.
std::string WithoutLinePrefix(const std::string& message) {
  if (message.compare(0, 5, "line ") != 0) return message;
  size_t i = 5;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
  if (i == 5 || message.compare(i, 2, ": ") != 0) return message;
  return message.substr(i + 2);
}

// Path segments equal, "{x}" in the template matching any one segment.
bool PathMatches(std::string_view pattern, std::string_view path) {
  while (!pattern.empty() && !path.empty()) {
    const size_t ps = pattern.find('/', 1);
    const size_t qs = path.find('/', 1);
    std::string_view pseg = pattern.substr(0, ps);
    std::string_view qseg = path.substr(0, qs);
    if (pseg.size() > 2 && pseg[1] == '{') {
      if (qseg.size() < 2) return false;  // "/" alone: empty parameter
    } else if (pseg != qseg) {
      return false;
    }
    pattern.remove_prefix(pseg.size());
    path.remove_prefix(qseg.size());
  }
  return pattern.empty() && path.empty();
}

class Api {
 public:
  explicit Api(const ServerOptions& options)
      : options_(options), metrics_(MetricLabels()), readers_([this] { return OpenReaders(); }),
        formats_([this] { return std::make_unique<std::unique_ptr<ingest::Format>>(ingest::MakeJsonlFormat(config_)); }) {}

  ~Api() { StopBackground(); }

  Status Open() {
    OMNI_ASSIGN_OR_RETURN(config_, ingest::LoadIngestConfig(options_.data_dir));
    OMNI_ASSIGN_OR_RETURN(identity_config_, identity::LoadIdentityConfig(options_.data_dir));
    OMNI_ASSIGN_OR_RETURN(min_group_size_, profile::LoadMinGroupSize(options_.data_dir));
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> writer_store, store::Store::OpenSqlite(options_.data_dir));
    writer_ = std::make_unique<EventWriter>(std::move(writer_store), &metrics_);
    OMNI_ASSIGN_OR_RETURN(control_sql_, store::OpenSqliteSql(options_.data_dir));
    OMNI_ASSIGN_OR_RETURN(ApiKeyStore keys, ApiKeyStore::Over(*control_sql_));
    key_store_.emplace(keys);
    OMNI_RETURN_IF_ERROR(RefreshKeys());
    OMNI_RETURN_IF_ERROR(Reload(/*force=*/true));
    background_ = std::thread([this] { Background(); });
    return Status::Ok();
  }

  // What the dashboard's overview counts customers with: the resolution
  // being served (reloaded with it).
  DashboardIdentity CurrentIdentity() const {
    std::shared_ptr<const ServingState> state = state_.Get();
    if (!state) return {};
    return {state->directory, state->identity_version};
  }

  void Register(httplib::Server& server) {
    using Handler = void (Api::*)(const httplib::Request&, httplib::Response&);
    const std::map<std::string_view, Handler> handlers = {
        {"/healthz", &Api::Healthz},
        {"/readyz", &Api::Readyz},
        {"/metrics", &Api::MetricsText},
        {"/v1/events", &Api::PostEvents},
        {"/v1/customers/{identifier}", &Api::GetCustomer},
        {"/v1/customers/{identifier}/forget", &Api::ForgetCustomer},
        {"/v1/customers/{identifier}/recommendations", &Api::Recommendations},
        {"/v1/items/{item_id}/together", &Api::Together},
        {"/v1/segments", &Api::ListSegments},
        {"/v1/segments/{name}", &Api::GetSegment},
        {"/v1/admin/reload", &Api::AdminReload},
    };
    for (const Route& route : ApiRoutes()) {
      auto it = handlers.find(route.path);
      OMNI_CHECK(it != handlers.end());  // every route in the table has a handler
      Handler h = it->second;
      auto fn = [this, h](const httplib::Request& req, httplib::Response& res) { (this->*h)(req, res); };
      if (route.method == "GET") {
        server.Get(RoutePattern(route), fn);
      } else {
        server.Post(RoutePattern(route), fn);
      }
    }
    server.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return PreRouting(req, res); });
    server.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { PostRouting(req, res); });
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.body.empty()) {
        std::string_view code = ErrorCodeForHttpStatus(res.status);
        // cpp-httplib caps form-encoded bodies at 8 KiB before any handler
        // runs; that is what `curl --data-binary` sends unless told otherwise,
        // so say how to fix it rather than only "too large".
        const bool form = req.get_header_value("Content-Type") == "application/x-www-form-urlencoded";
        std::string message = res.status == 413 && form
                                  ? "request body too large for Content-Type application/x-www-form-urlencoded "
                                    "(8 KiB); send events as application/json or application/x-ndjson"
                              : res.status == 413 ? "request body too large"
                              : res.status == 404 ? "no such route"
                              : res.status == 408 ? "request not received in time"
                                                  : "request failed with HTTP status " + std::to_string(res.status);
        res.set_content(ErrorJson(code, message), "application/json");
      }
    });
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unexpected error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      spdlog::error("handler threw: {}", what);
      SendJson(res, 500, ErrorJson("internal", "internal error"));
    });
  }

  void StopBackground() {
    {
      std::lock_guard lock(background_mu_);
      stop_ = true;
    }
    background_cv_.notify_all();
    if (background_.joinable()) background_.join();
  }

  // Stops the writer after it committed what is queued (shutdown).
  void StopWriter() { writer_.reset(); }

 private:
  // ------------------------------------------------------------ plumbing

  static std::vector<std::pair<std::string, std::string>> MetricLabels() {
    std::vector<std::pair<std::string, std::string>> labels;
    for (const Route& r : ApiRoutes()) labels.emplace_back(r.method, r.path);
    for (const RoutePrefix& p : DelegatedRoutePrefixes()) labels.emplace_back("ANY", p.label);
    labels.emplace_back("ANY", "unmatched");
    return labels;
  }

  size_t RouteIndex(const httplib::Request& req, Scope* scope) const {
    const auto routes = ApiRoutes();
    for (size_t i = 0; i < routes.size(); ++i) {
      if (routes[i].method == req.method && PathMatches(routes[i].path, req.path)) {
        *scope = routes[i].scope;
        return i;
      }
    }
    const auto prefixes = DelegatedRoutePrefixes();
    for (size_t j = 0; j < prefixes.size(); ++j) {
      if (req.path.compare(0, prefixes[j].prefix.size(), prefixes[j].prefix) == 0) {
        *scope = prefixes[j].scope;
        return routes.size() + j;
      }
    }
    *scope = Scope::kPublic;  // httplib answers 404 (or 405)
    return routes.size() + prefixes.size();
  }

  httplib::Server::HandlerResponse PreRouting(const httplib::Request& req, httplib::Response& res) {
    t_request = RequestContext{true, 0, Clock::now(), {}};
    Scope scope;
    t_request.route = RouteIndex(req, &scope);
    if (scope == Scope::kPublic) return httplib::Server::HandlerResponse::Unhandled;

    std::string presented;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
      presented = auth.substr(7);
    } else {
      presented = req.get_header_value("X-API-Key");
    }
    if (presented.empty()) {
      res.set_header("WWW-Authenticate", "Bearer");
      SendJson(res, 401,
               ErrorJson("unauthenticated", "an API key is required: Authorization: Bearer <key> or X-API-Key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    std::optional<ApiKey> key = FindKey(HashApiKey(presented));
    if (!key) {
      res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      SendJson(res, 401, ErrorJson("unauthenticated", "unknown or revoked API key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    t_request.key_prefix = key->prefix;
    if (!key->Has(scope)) {
      SendJson(res, 403,
               ErrorJson("permission_denied", "this key lacks the '" + std::string(ScopeName(scope)) +
                                                  "' scope (it has: " + ScopesText(key->scopes) + ")"));
      return httplib::Server::HandlerResponse::Handled;
    }
    const double rate = key->rate_per_s > 0 ? key->rate_per_s : options_.rate_per_key;
    RateLimiter::Decision d = limiter_.Take(key->id, rate, rate * options_.burst_seconds);
    if (!d.allowed) {
      const int64_t retry = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(d.retry_after_s)));
      res.set_header("Retry-After", std::to_string(retry));
      SendJson(res, 429, ErrorJson("rate_limited", "rate limit of this key exceeded; retry after " +
                                                       std::to_string(retry) + " s"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  void PostRouting(const httplib::Request& req, httplib::Response& res) {
    const auto routes = ApiRoutes();
    const size_t unmatched = routes.size() + DelegatedRoutePrefixes().size();
    size_t route = unmatched;
    double seconds = 0;
    if (t_request.valid) {
      route = t_request.route;
      seconds = std::chrono::duration<double>(Clock::now() - t_request.start).count();
    }
    metrics_.RecordRequest(route, res.status, seconds);
    // The route pattern, never req.path: a path may carry a phone number.
    if (res.status >= 500) {
      spdlog::warn("{} {} -> {} ({:.1f} ms) key {}", req.method, RouteLabel(route), res.status, seconds * 1e3,
                   t_request.key_prefix.empty() ? "-" : t_request.key_prefix);
    } else {
      spdlog::debug("{} {} -> {} ({:.1f} ms) key {}", req.method, RouteLabel(route), res.status, seconds * 1e3,
                    t_request.key_prefix.empty() ? "-" : t_request.key_prefix);
    }
    t_request.valid = false;
  }

  static std::string RouteLabel(size_t route) {
    const auto routes = ApiRoutes();
    const auto prefixes = DelegatedRoutePrefixes();
    if (route < routes.size()) return std::string(routes[route].path);
    if (route < routes.size() + prefixes.size()) return std::string(prefixes[route - routes.size()].label);
    return "unmatched";
  }

  StatusOr<std::unique_ptr<Readers>> OpenReaders() {
    auto r = std::make_unique<Readers>();
    store::StoreOptions ro;
    ro.read_only = true;
    OMNI_ASSIGN_OR_RETURN(r->store, store::Store::OpenSqlite(options_.data_dir, ro));
    OMNI_ASSIGN_OR_RETURN(r->profiles, profile::ProfileStore::Open(options_.data_dir));
    // A connection per worker: with the default 64 MiB page cache each,
    // random event reads filled ~2 GB of heap in a soak. Reads go through a
    // memory map instead (the OS page cache, shared by every connection and
    // reclaimable), with a small private cache for the B-tree's upper pages.
    OMNI_RETURN_IF_ERROR(r->profiles->sql().Execute("PRAGMA mmap_size=1073741824").status());
    OMNI_RETURN_IF_ERROR(r->profiles->sql().Execute("PRAGMA cache_size=-2048").status());
    r->pseudonymiser = std::make_unique<ingest::Pseudonymiser>(config_);
    return r;
  }

  // ------------------------------------------------------------ keys, reload

  std::optional<ApiKey> FindKey(const std::string& hash) {
    std::lock_guard lock(keys_mu_);
    auto it = keys_.find(hash);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }

  // Keys are created and revoked by `omni serve keys` in another process:
  // the table is re-read every second, so a revocation takes effect within it.
  Status RefreshKeys() {
    std::lock_guard control(control_mu_);
    OMNI_ASSIGN_OR_RETURN(std::vector<ApiKey> keys, key_store_->List());
    std::unordered_map<std::string, ApiKey> active;
    for (ApiKey& k : keys) {
      if (k.revoked_at_ms == 0) active.emplace(k.hash, std::move(k));
    }
    std::lock_guard lock(keys_mu_);
    keys_.swap(active);
    return Status::Ok();
  }

  // Cheap signatures of what a reload would load; equal = nothing to do.
  std::pair<std::string, std::string> Versions() {
    std::string identity = "none";
    std::string profiles = "none";
    (void)control_sql_->Query("SELECT watermark, (SELECT coalesce(max(id), 0) FROM identity_log) FROM identity_state",
                              {}, [&](const store::SqlRow& r) {
                                identity = "w" + std::to_string(r.Int(0)) + "-l" + std::to_string(r.Int(1));
                                return false;
                              });
    (void)control_sql_->Query("SELECT max(id) FROM profile_builds", {}, [&](const store::SqlRow& r) {
      if (!r.IsNull(0)) profiles = "build-" + std::to_string(r.Int(0));
      return false;
    });
    return {identity, profiles};
  }

  // The newest ranking model and FBT rules, as "<name>-<version>/fbt-<version>".
  std::string ModelsVersion() const {
    std::string ranking = "none", rules = "none";
    if (auto m = recommend::LatestModel(options_.data_dir, "", {"fbt"}); m.ok() && m->has_value()) {
      ranking = (*m)->name + "-" + std::to_string((*m)->version);
    }
    if (auto m = recommend::LatestModel(options_.data_dir, "fbt"); m.ok() && m->has_value()) {
      rules = "fbt-" + std::to_string((*m)->version);
    }
    return ranking + "/" + rules;
  }

  Status Reload(bool force) {
    std::lock_guard reload(reload_mu_);
    std::pair<std::string, std::string> versions;
    {
      std::lock_guard control(control_mu_);
      versions = Versions();
    }
    const std::string models = ModelsVersion();
    std::shared_ptr<const ServingState> current = state_.Get();
    if (!force && current && current->identity_version == versions.first &&
        current->profiles_version == versions.second && current->models_version == models) {
      return Status::Ok();
    }
    auto next = std::make_shared<ServingState>();
    StatusOr<std::unique_ptr<store::Sql>> sql = store::OpenSqliteSql(options_.data_dir);
    Status st = sql.status();
    if (st.ok()) {
      StatusOr<std::unique_ptr<identity::CustomerDirectory>> directory =
          identity::LoadDirectory(**sql, identity_config_);
      st = directory.status();
      if (st.ok()) next->directory = std::move(*directory);
    }
    metrics_.RecordReload(st.ok());
    if (!st.ok()) {
      spdlog::error("reload failed, still serving the previous version: {}", st.ToString());
      return st;
    }
    next->identity_version = versions.first;
    next->profiles_version = versions.second;
    next->models_version = models;
    {
      // The recommender reads every customer's history: seconds on a large
      // store, done before the swap so requests keep the old one meanwhile.
      recommend::ServingOptions serving;
      StatusOr<recommend::ServingRules> rules = recommend::LoadServingRules(options_.data_dir);
      if (rules.ok()) serving.rules = *rules;
      StatusOr<std::shared_ptr<const recommend::RecommendationService>> service =
          rules.ok() ? recommend::RecommendationService::Load(options_.data_dir, serving)
                     : StatusOr<std::shared_ptr<const recommend::RecommendationService>>(rules.status());
      if (service.ok()) {
        next->recommendations = std::move(*service);
      } else {
        spdlog::warn("recommendations not served: {}", service.status().ToString());
      }
    }
    next->loaded_at_ms = NowMs();
    metrics_.SetModelVersion("recommend", models);
    metrics_.SetModelVersion("identity", next->identity_version);
    metrics_.SetModelVersion("profiles", next->profiles_version);
    spdlog::info("serving identity {} ({} customers), profiles {}", next->identity_version,
                 next->directory->customer_count(), next->profiles_version);
    state_.Swap(std::move(next));
    return Status::Ok();
  }

  void Background() {
    auto last_reload_check = Clock::now();
    std::unique_lock lock(background_mu_);
    while (!stop_) {
      background_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
      if (stop_) break;
      lock.unlock();
      Status st = RefreshKeys();
      if (!st.ok()) spdlog::warn("API keys not refreshed: {}", st.ToString());
      if (options_.reload_interval_s > 0 &&
          Clock::now() - last_reload_check >= std::chrono::seconds(options_.reload_interval_s)) {
        last_reload_check = Clock::now();
        (void)Reload(/*force=*/false);
      }
      lock.lock();
    }
  }

  // ------------------------------------------------------------ handlers

  void Healthz(const httplib::Request&, httplib::Response& res) { SendJson(res, 200, R"({"status":"ok"})"); }

  void Readyz(const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const ServingState> state = state_.Get();
    const bool writer = writer_ && writer_->running();
    JsonWriter w;
    w.BeginObject().Key("ready").Bool(writer && state != nullptr);
    w.Key("event_writer").Bool(writer);
    w.Key("identity").String(state ? state->identity_version : "");
    w.Key("profiles").String(state ? state->profiles_version : "");
    w.EndObject();
    SendJson(res, writer && state ? 200 : 503, w.Take());
  }

  void MetricsText(const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  }

  void PostEvents(const httplib::Request& req, httplib::Response& res) {
    StatusOr<std::vector<std::string_view>> records = SplitEventBody(req.body);
    if (!records.ok()) return SendError(res, records.status(), "body");

    ingest::Batch batch;
    {
      StatusOr<Pool<std::unique_ptr<ingest::Format>>::Lease> format = formats_.Acquire();
      if (!format.ok()) return SendError(res, format.status());
      batch.events.reserve(records->size());
      for (size_t i = 0; i < records->size(); ++i) {
        (**format)->Parse((*records)[i], static_cast<int64_t>(i) + 1, batch);
      }
    }
    // Kept for the answer: the store takes the batch.
    std::vector<int64_t> event_index(batch.events.size());
    for (size_t i = 0; i < batch.events.size(); ++i) event_index[i] = batch.events[i].line_no - 1;
    std::vector<ingest::RejectedRecord> rejected_copy;
    rejected_copy.reserve(batch.rejected.size());
    for (const auto& r : batch.rejected) {
      rejected_copy.push_back({r.line_no, r.reason, r.field, WithoutLinePrefix(r.message), {}});
    }

    StatusOr<ingest::BatchResult> result =
        writer_ ? writer_->Commit(std::move(batch)) : StatusOr<ingest::BatchResult>(Unavailable("shutting down"));
    if (!result.ok()) return SendError(res, result.status());

    JsonWriter w;
    w.BeginObject();
    const bool all_rejected = !rejected_copy.empty() && rejected_copy.size() == records->size();
    if (all_rejected) {
      const auto& first = rejected_copy.front();
      w.Key("error").BeginObject().Key("code").String("invalid_argument");
      w.Key("message").String(records->size() == 1 ? first.message
                                                   : "all " + std::to_string(records->size()) +
                                                         " records were rejected (see errors)");
      if (!first.field.empty()) w.Key("field").String(first.field);
      w.EndObject();
    }
    w.Key("records").Int(static_cast<int64_t>(records->size()));
    w.Key("accepted").Int(result->accepted).Key("duplicates").Int(result->duplicates);
    w.Key("erased").Int(result->erased).Key("rejected").Int(static_cast<int64_t>(rejected_copy.size()));
    w.Key("errors").BeginArray();
    for (const auto& r : rejected_copy) {
      w.BeginObject().Key("index").Int(r.line_no - 1);
      w.Key("reason").String(ingest::RejectReasonName(r.reason));
      if (!r.field.empty()) w.Key("field").String(r.field);
      w.Key("message").String(r.message).EndObject();
    }
    w.EndArray();
    if (result->duplicates > 0) {
      w.Key("duplicate_indexes").BeginArray();
      for (size_t i = 0; i < result->event_outcomes.size(); ++i) {
        if (result->event_outcomes[i] == ingest::EventOutcome::kDuplicate) w.Int(event_index[i]);
      }
      w.EndArray();
    }
    w.EndObject();
    SendJson(res, all_rejected ? 400 : 200, w.Take());
  }

  void GetCustomer(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const ServingState> state = state_.Get();
    if (!state) return SendError(res, Unavailable("not loaded yet"));
    StatusOr<Pool<Readers>::Lease> readers = readers_.Acquire();
    if (!readers.ok()) return SendError(res, readers.status());
    const CustomerSources sources{config_,           *(*readers)->pseudonymiser, *state->directory,
                                  *(*readers)->store, *(*readers)->profiles,      &(*readers)->profiles->sql()};
    CustomerViewOptions options;
    options.max_new_events = options_.max_timeline_scan;
    StatusOr<CustomerView> view = LoadCustomerView(sources, req.matches[1].str(), options);
    if (!view.ok()) {
      return SendError(res, view.status(), view.status().code() == StatusCode::kInvalidArgument ? "identifier" : "");
    }
    JsonWriter w;
    WriteCustomerViewJson(w, *view, config_);
    SendJson(res, 200, w.Take());
  }

  void ForgetCustomer(const httplib::Request& req, httplib::Response& res) {
    // Erasure is rare and heavy (it re-resolves): one at a time, on its own
    // connections, beside the event writer (SQLite's lock orders the writes).
    std::lock_guard forget(forget_mu_);
    auto run = [&]() -> StatusOr<std::string> {
      OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(options_.data_dir));
      OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(options_.data_dir));
      ingest::Pseudonymiser pseudonymiser(config_);
      OMNI_ASSIGN_OR_RETURN(ingest::Identity id, identity::ParseIdentifier(req.matches[1].str(), pseudonymiser));
      OMNI_ASSIGN_OR_RETURN(identity::ForgetResult r, identity::Forget(*store, *sql, identity_config_, id));
      auto show = [&](const ingest::Identity& i) { return identity::DisplayIdentifier(i, config_); };
      JsonWriter w;
      w.BeginObject();
      if (r.customer_key.empty()) {
        w.Key("customer_key").Null();
      } else {
        w.Key("customer_key").String(r.customer_key);
      }
      w.Key("already_forgotten").Bool(r.already_forgotten);
      w.Key("identifiers").BeginArray();
      for (const auto& i : r.identifiers) w.String(show(i));
      w.EndArray();
      w.Key("events_deleted").Int(r.events_deleted).Key("identifiers_deleted").Int(r.identifiers_deleted);
      w.Key("tombstones").Int(static_cast<int64_t>(r.identifiers.size()));
      w.Key("quarantine_deleted").Int(r.quarantine_deleted).Key("profile_rows_deleted").Int(r.profile_rows_deleted);
      w.Key("shared_kept").BeginArray();
      for (const auto& i : r.shared_kept) w.String(show(i));
      w.EndArray().EndObject();
      return w.Take();
    };
    StatusOr<std::string> body = run();
    if (!body.ok()) {
      return SendError(res, body.status(),
                       body.status().code() == StatusCode::kInvalidArgument ? "identifier" : "");
    }
    // The forgotten customer must disappear from lookups now, not at the
    // next periodic check.
    (void)Reload(/*force=*/true);
    spdlog::info("erasure done (key {})", t_request.key_prefix);
    SendJson(res, 200, std::move(*body));
  }

  // GET /v1/customers/{identifier}/recommendations?channel=&store=&k=
  void Recommendations(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const ServingState> state = state_.Get();
    if (!state || !state->recommendations) {
      return SendError(res, Unavailable("recommendations are not loaded (omni train SPEC, then reload)"));
    }
    recommend::RecommendRequest request;
    request.customer = req.matches[1].str();
    request.channel = req.get_param_value("channel");
    request.store_id = req.get_param_value("store");
    if (req.has_param("k")) {
      StatusOr<int> k = ParseK(req.get_param_value("k"));
      if (!k.ok()) return SendError(res, k.status(), "k");
      request.k = *k;
    }
    StatusOr<recommend::RecommendResponse> r = state->recommendations->Recommend(request);
    if (!r.ok()) {
      return SendError(res, r.status(), r.status().code() == StatusCode::kInvalidArgument ? "identifier" : "");
    }
    JsonWriter w;
    w.BeginObject();
    if (r->customer_key.empty()) {
      w.Key("customer_key").Null();
    } else {
      w.Key("customer_key").String(r->customer_key);
    }
    w.Key("model").String(r->model).Key("model_version").Int(r->model_version);
    w.Key("history_items").Int(r->history_items).Key("fallback").Bool(r->fallback);
    recommend::WriteRecommendedItemsJson(w, r->items);
    w.EndObject();
    SendJson(res, 200, w.Take());
  }

  // GET /v1/items/{item_id}/together?k=&channel=&store=
  void Together(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const ServingState> state = state_.Get();
    if (!state || !state->recommendations) {
      return SendError(res, Unavailable("recommendations are not loaded (omni train fbt:..., then reload)"));
    }
    int k = 10;
    if (req.has_param("k")) {
      StatusOr<int> parsed = ParseK(req.get_param_value("k"));
      if (!parsed.ok()) return SendError(res, parsed.status(), "k");
      k = *parsed;
    }
    StatusOr<recommend::TogetherResponse> r = state->recommendations->Together(
        req.matches[1].str(), k, req.get_param_value("channel"), req.get_param_value("store"));
    if (!r.ok()) return SendError(res, r.status(), r.status().code() == StatusCode::kNotFound ? "item_id" : "");
    JsonWriter w;
    w.BeginObject().Key("item_id").String(r->item_id).Key("title").String(r->title).Key("baskets").Int(r->baskets);
    w.Key("items").BeginArray();
    for (const auto& t : r->items) {
      w.BeginObject().Key("item_id").String(t.item_id).Key("title").String(t.title).Key("category").String(t.category);
      w.Key("count").Int(t.count).Key("support").Double(t.support).Key("confidence").Double(t.confidence);
      w.Key("lift").Double(t.lift).EndObject();
    }
    w.EndArray().EndObject();
    SendJson(res, 200, w.Take());
  }

  static StatusOr<int> ParseK(const std::string& text) {
    int k = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), k);
    if (ec != std::errc() || p != text.data() + text.size() || k < 1 || k > 1000) {
      return InvalidArgument("k must be a whole number from 1 to 1000");
    }
    return k;
  }

  struct SegmentRow {
    profile::SegmentDefinition definition;
    std::optional<profile::SegmentExpression> expression;
    std::string error;
    int64_t size = 0;
  };

  // Sizes are computed in one pass over the latest build's profiles and
  // cached by (build, expression) so repeated calls cost one SELECT.
  Status LoadSegments(Readers& r, std::optional<std::string> only, std::vector<SegmentRow>& rows,
                      std::optional<profile::ProfileBuildInfo>& build) {
    OMNI_ASSIGN_OR_RETURN(profile::SegmentStore store, profile::SegmentStore::Over(r.profiles->sql()));
    std::vector<profile::SegmentDefinition> defs;
    if (only) {
      OMNI_ASSIGN_OR_RETURN(auto def, store.Get(*only));
      if (!def) return NotFound("no segment named '" + *only + "'");
      defs.push_back(*def);
    } else {
      OMNI_ASSIGN_OR_RETURN(defs, store.List());
    }
    OMNI_ASSIGN_OR_RETURN(build, r.profiles->LatestBuild());
    profile::ProfileFields fields(config_.channels);
    std::vector<SegmentRow*> to_size;
    std::lock_guard lock(segments_mu_);
    if (!build || build->id != segment_sizes_build_) {
      segment_sizes_.clear();
      segment_sizes_build_ = build ? build->id : -1;
    }
    for (auto& d : defs) {
      SegmentRow row;
      row.definition = d;
      auto expr = profile::SegmentExpression::Parse(d.expression, fields.catalog());
      if (expr.ok()) {
        row.expression = *expr;
      } else {
        row.error = expr.status().message();
      }
      rows.push_back(std::move(row));
    }
    for (auto& row : rows) {
      if (!row.expression || !build) continue;
      auto it = segment_sizes_.find(row.definition.expression);
      if (it != segment_sizes_.end()) {
        row.size = it->second;
      } else {
        to_size.push_back(&row);
      }
    }
    if (!to_size.empty()) {
      std::vector<const profile::SegmentExpression*> expressions;
      for (SegmentRow* s : to_size) expressions.push_back(&*s->expression);
      OMNI_ASSIGN_OR_RETURN(profile::SegmentSizes sized, profile::SizeSegments(*r.profiles, fields, expressions));
      for (size_t i = 0; i < to_size.size(); ++i) {
        to_size[i]->size = sized.sizes[i];
        segment_sizes_[to_size[i]->definition.expression] = sized.sizes[i];
      }
    }
    return Status::Ok();
  }

  void WriteSegment(JsonWriter& w, const SegmentRow& s, bool built) {
    w.BeginObject().Key("name").String(s.definition.name).Key("expression").String(s.definition.expression);
    w.Key("description").String(s.definition.description);
    const bool suppressed = built && profile::Suppressed(s.size, min_group_size_);
    w.Key("size");
    if (!built || suppressed || !s.expression) {
      w.Null();
    } else {
      w.Int(s.size);
    }
    w.Key("size_suppressed").Bool(suppressed);
    if (!s.error.empty()) w.Key("error").String(s.error);
    w.EndObject();
  }

  void ListSegments(const httplib::Request&, httplib::Response& res) { Segments(std::nullopt, res); }
  void GetSegment(const httplib::Request& req, httplib::Response& res) { Segments(req.matches[1].str(), res); }

  void Segments(std::optional<std::string> name, httplib::Response& res) {
    if (name) {
      Status valid = profile::ValidateSegmentName(*name);
      if (!valid.ok()) return SendError(res, valid, "name");
    }
    StatusOr<Pool<Readers>::Lease> readers = readers_.Acquire();
    if (!readers.ok()) return SendError(res, readers.status());
    std::vector<SegmentRow> rows;
    std::optional<profile::ProfileBuildInfo> build;
    Status st = LoadSegments(**readers, name, rows, build);
    if (!st.ok()) return SendError(res, st);
    JsonWriter w;
    if (name) {
      WriteSegment(w, rows.front(), build.has_value());
    } else {
      w.BeginObject().Key("segments").BeginArray();
      for (const auto& s : rows) WriteSegment(w, s, build.has_value());
      w.EndArray();
      w.Key("min_group_size").Int(min_group_size_);
      w.Key("profiles_build");
      if (build) {
        w.Int(build->id);
      } else {
        w.Null();
      }
      w.EndObject();
    }
    SendJson(res, 200, w.Take());
  }

  void AdminReload(const httplib::Request&, httplib::Response& res) {
    Status st = Reload(/*force=*/true);
    if (!st.ok()) return SendError(res, st);
    std::shared_ptr<const ServingState> state = state_.Get();
    JsonWriter w;
    w.BeginObject().Key("reloaded").Bool(true);
    w.Key("identity").String(state->identity_version).Key("profiles").String(state->profiles_version);
    w.Key("customers").Int(state->directory->customer_count());
    w.EndObject();
    SendJson(res, 200, w.Take());
  }

  const ServerOptions options_;
  ingest::IngestConfig config_;
  identity::IdentityConfig identity_config_;
  int64_t min_group_size_ = profile::kDefaultMinGroupSize;
  Metrics metrics_;
  RateLimiter limiter_;
  std::unique_ptr<EventWriter> writer_;
  Reloadable<ServingState> state_;
  Pool<Readers> readers_;
  Pool<std::unique_ptr<ingest::Format>> formats_;

  std::mutex control_mu_;  // control_sql_ (keys, version checks)
  std::unique_ptr<store::Sql> control_sql_;
  std::optional<ApiKeyStore> key_store_;  // over control_sql_
  std::mutex keys_mu_;
  std::unordered_map<std::string, ApiKey> keys_;  // active keys by hash
  std::mutex reload_mu_;
  std::mutex forget_mu_;
  std::mutex segments_mu_;
  int64_t segment_sizes_build_ = -1;
  std::unordered_map<std::string, int64_t> segment_sizes_;

  std::mutex background_mu_;
  std::condition_variable background_cv_;
  bool stop_ = false;
  std::thread background_;
};

Status ParseListen(const std::string& listen, std::string& host, int& port) {
  std::string text = listen;
  host = "127.0.0.1";
  std::string port_text = text;
  if (!text.empty() && text.front() == '[') {  // [::1]:8080
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("--listen '" + listen + "': expected [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else if (const size_t colon = text.rfind(':'); colon != std::string::npos) {
    if (colon > 0) host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  char* end = nullptr;
  const long p = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || p < 0 || p > 65535) {
    return InvalidArgument("--listen '" + listen + "': expected host:port with a port 0..65535");
  }
  port = static_cast<int>(p);
  return Status::Ok();
}

}  // namespace

Status Serve(const ServerOptions& options) {
  std::string host;
  int port = 0;
  OMNI_RETURN_IF_ERROR(ParseListen(options.listen, host, port));
  if (options.threads < 1) return InvalidArgument("--threads must be at least 1");

  // SIGINT/SIGTERM are taken by one thread with sigwait, so the server
  // stops cleanly (queued events committed) instead of dying mid-request.
  // Blocked before any thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Api api(options);
  OMNI_RETURN_IF_ERROR(api.Open());

  httplib::Server server;
  const int threads = options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_payload_max_length(options.max_body_bytes);
  server.set_read_timeout(options.read_timeout_s, 0);
  server.set_write_timeout(options.write_timeout_s, 0);
  server.set_keep_alive_timeout(options.keep_alive_timeout_s);
  // httplib closes a keep-alive connection after 5 requests by default; a
  // till or a load balancer reuses its connection for far more.
  server.set_keep_alive_max_count(100000);
  server.set_tcp_nodelay(true);
  api.Register(server);
  AddDashboardRoutes(server, DashboardOptions{options.data_dir, options.ui_dir, [&api] { return api.CurrentIdentity(); }});

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
    if (bound < 0) return Unavailable("cannot listen on " + host + ": " + std::strerror(errno));
  } else if (!server.bind_to_port(host, port)) {
    return Unavailable("cannot listen on " + options.listen + " (in use, or not an address of this machine)");
  }
  if (!options.port_file.empty()) {
    const std::string tmp = options.port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << bound << "\n";
    }
    std::filesystem::rename(tmp, options.port_file);
  }
  spdlog::info("omni serve: listening on http://{}:{} (data {}, {} threads)", host, bound, options.data_dir,
               threads);

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("omni serve: signal {}, stopping", sig);
    server.stop();
  });
  const bool listened = server.listen_after_bind();
  if (!listened) {
    // listen failed or stop() came before listening: wake the signal thread.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  api.StopBackground();
  api.StopWriter();
  spdlog::info("omni serve: stopped");
  return Status::Ok();
}

}  // namespace omni::serve
