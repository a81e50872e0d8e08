#include "omni/serve/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace omni::serve {
namespace {

std::vector<double> LatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// Prometheus label values escape backslash, quote and newline.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Bound(double b) { return fmt::format("{}", b); }

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(std::max(0.0, value) * 1e6)),
                        std::memory_order_relaxed);
}

void Histogram::Write(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? Bound(bounds_[i]) : "+Inf";
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cumulative);
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n", name, braces, sum_micros_.load(std::memory_order_relaxed) / 1e6);
  out += fmt::format("{}_count{} {}\n", name, braces, count_.load(std::memory_order_relaxed));
}

Metrics::RouteStats::RouteStats(std::string m, std::string r)
    : method(std::move(m)), route(std::move(r)), latency(LatencyBounds()) {}

Metrics::Metrics(std::vector<std::pair<std::string, std::string>> method_and_route)
    : commit_seconds_(LatencyBounds()), commit_requests_({1, 2, 4, 8, 16, 32, 64, 128, 256}) {
  for (auto& [m, r] : method_and_route) routes_.push_back(std::make_unique<RouteStats>(m, r));
}

void Metrics::RecordRequest(size_t route, int status, double seconds) {
  if (route >= routes_.size()) return;
  RouteStats& s = *routes_[route];
  size_t i = 0;
  while (i < kCodes.size() && kCodes[i] != status) ++i;
  s.by_code[i].fetch_add(1, std::memory_order_relaxed);
  s.latency.Observe(seconds);
}

void Metrics::RecordEvents(const ingest::BatchResult& result, int64_t rejected) {
  accepted_.fetch_add(static_cast<uint64_t>(result.accepted), std::memory_order_relaxed);
  duplicates_.fetch_add(static_cast<uint64_t>(result.duplicates), std::memory_order_relaxed);
  erased_.fetch_add(static_cast<uint64_t>(result.erased), std::memory_order_relaxed);
  rejected_.fetch_add(static_cast<uint64_t>(rejected), std::memory_order_relaxed);
}

void Metrics::RecordRejected(ingest::RejectReason reason) {
  quarantined_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RecordCommit(double seconds, int64_t requests) {
  commits_.fetch_add(1, std::memory_order_relaxed);
  commit_seconds_.Observe(seconds);
  commit_requests_.Observe(static_cast<double>(requests));
}

void Metrics::RecordReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed); }

void Metrics::SetModelVersion(const std::string& component, const std::string& version) {
  std::lock_guard lock(versions_mu_);
  versions_[component] = version;
}

std::string Metrics::Render() const {
  std::string out;
  out += "# HELP omni_http_requests_total HTTP requests by route, method and status code.\n";
  out += "# TYPE omni_http_requests_total counter\n";
  for (const auto& s : routes_) {
    for (size_t i = 0; i <= kCodes.size(); ++i) {
      const uint64_t n = s->by_code[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += fmt::format("omni_http_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n",
                         LabelValue(s->route), s->method, i < kCodes.size() ? std::to_string(kCodes[i]) : "other",
                         n);
    }
  }
  out += "# HELP omni_http_request_duration_seconds Time from request parsed to response produced.\n";
  out += "# TYPE omni_http_request_duration_seconds histogram\n";
  for (const auto& s : routes_) {
    s->latency.Write(out, "omni_http_request_duration_seconds",
                     fmt::format("route=\"{}\",method=\"{}\"", LabelValue(s->route), s->method));
  }
  out += "# HELP omni_events_total Events received over HTTP by outcome.\n";
  out += "# TYPE omni_events_total counter\n";
  out += fmt::format("omni_events_total{{outcome=\"accepted\"}} {}\n", accepted_.load());
  out += fmt::format("omni_events_total{{outcome=\"duplicate\"}} {}\n", duplicates_.load());
  out += fmt::format("omni_events_total{{outcome=\"erased\"}} {}\n", erased_.load());
  out += fmt::format("omni_events_total{{outcome=\"rejected\"}} {}\n", rejected_.load());
  out += "# HELP omni_events_quarantined_total Records rejected into the quarantine, by reason.\n";
  out += "# TYPE omni_events_quarantined_total counter\n";
  for (int r = 0; r < ingest::kRejectReasonCount; ++r) {
    out += fmt::format("omni_events_quarantined_total{{reason=\"{}\"}} {}\n",
                       ingest::RejectReasonName(static_cast<ingest::RejectReason>(r)),
                       quarantined_[static_cast<size_t>(r)].load());
  }
  out += "# HELP omni_event_commits_total Store transactions committed by the event writer.\n";
  out += "# TYPE omni_event_commits_total counter\n";
  out += fmt::format("omni_event_commits_total {}\n", commits_.load());
  out += "# HELP omni_event_commit_duration_seconds Time of one group commit.\n";
  out += "# TYPE omni_event_commit_duration_seconds histogram\n";
  commit_seconds_.Write(out, "omni_event_commit_duration_seconds", "");
  out += "# HELP omni_event_commit_requests Requests answered by one group commit.\n";
  out += "# TYPE omni_event_commit_requests histogram\n";
  commit_requests_.Write(out, "omni_event_commit_requests", "");
  out += "# HELP omni_reloads_total Reloads of identity, profiles and models.\n";
  out += "# TYPE omni_reloads_total counter\n";
  out += fmt::format("omni_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_.load());
  out += fmt::format("omni_reloads_total{{result=\"failed\"}} {}\n", reloads_failed_.load());
  out += "# HELP omni_model_info The loaded version of each served component (value always 1).\n";
  out += "# TYPE omni_model_info gauge\n";
  std::lock_guard lock(versions_mu_);
  for (const auto& [component, version] : versions_) {
    out += fmt::format("omni_model_info{{component=\"{}\",version=\"{}\"}} 1\n", LabelValue(component),
                       LabelValue(version));
  }
  return out;
}

}  // namespace omni::serve
