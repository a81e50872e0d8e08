// The server's Prometheus metrics, written in the text exposition format
// (version 0.0.4) by /metrics:
//   omni_http_requests_total{route,method,code}        counter
//   omni_http_request_duration_seconds{route,method}   histogram
//   omni_events_total{outcome="accepted|duplicate|erased|rejected"} counter
//   omni_events_quarantined_total{reason}              counter
//   omni_event_commits_total, omni_event_commit_duration_seconds (histogram),
//   omni_event_commit_requests (histogram: requests grouped per commit)
//   omni_model_info{component,version} 1              gauge
//   omni_reloads_total{result}                        counter
// Routes are the route table's paths (routes.h), never raw URLs, so label
// values are few and carry no identifiers. Recording is lock-free on the
// request path (atomics in fixed arrays).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "omni/ingest/event.h"

namespace omni::serve {

// Cumulative histogram with fixed bucket bounds (seconds or counts).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Appends `name_bucket{labels,le=..}`, `_sum` and `_count` lines; `labels`
  // is "" or `route="/x",method="GET"` (no braces).
  void Write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last = +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // sum * 1e6, so it can be atomic
};

class Metrics {
 public:
  // `routes` labels (the route table's paths plus the delegated prefixes and
  // "unmatched"); requests are recorded by index into it.
  explicit Metrics(std::vector<std::pair<std::string, std::string>> method_and_route);

  void RecordRequest(size_t route, int status, double seconds);
  void RecordEvents(const ingest::BatchResult& result, int64_t rejected);
  void RecordRejected(ingest::RejectReason reason);
  void RecordCommit(double seconds, int64_t requests);
  void RecordReload(bool ok);
  // Replaces the version of a loaded component ("identity", "profiles",
  // and later "recommender").
  void SetModelVersion(const std::string& component, const std::string& version);

  std::string Render() const;

 private:
  static constexpr std::array<int, 14> kCodes = {200, 201, 204, 400, 401, 403, 404,
                                                 405, 409, 413, 429, 500, 501, 503};
  struct RouteStats {
    std::string method;
    std::string route;
    std::array<std::atomic<uint64_t>, kCodes.size() + 1> by_code{};  // last = other
    Histogram latency;
    RouteStats(std::string m, std::string r);
  };
  std::vector<std::unique_ptr<RouteStats>> routes_;
  std::atomic<uint64_t> accepted_{0}, duplicates_{0}, erased_{0}, rejected_{0};
  std::array<std::atomic<uint64_t>, ingest::kRejectReasonCount> quarantined_{};
  std::atomic<uint64_t> commits_{0};
  Histogram commit_seconds_;
  Histogram commit_requests_;
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
  mutable std::mutex versions_mu_;
  std::map<std::string, std::string> versions_;
};

}  // namespace omni::serve
