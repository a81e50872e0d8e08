#include "omni/serve/event_ingest.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>

namespace omni::serve {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Scans JSON structure only (strings, escapes, brackets) from `pos`, which
// is at an opening '{' or '['. Returns the offset just past the matching
// close, or npos when the text ends first. With `split` (array mode), calls
// split(begin, end) for each top-level element of the array.
template <typename Split>
size_t ScanValue(std::string_view text, size_t pos, Split&& split) {
  int depth = 0;
  bool in_string = false;
  bool escape = false;
  size_t element_start = pos + 1;
  for (size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '{':
      case '[': ++depth; break;
      case '}':
      case ']':
        --depth;
        if (depth == 0) {
          split(element_start, i, /*last=*/true);
          return i + 1;
        }
        break;
      case ',':
        if (depth == 1) {
          split(element_start, i, /*last=*/false);
          element_start = i + 1;
        }
        break;
      default: break;
    }
  }
  return std::string_view::npos;
}

}  // namespace

StatusOr<std::vector<std::string_view>> SplitEventBody(std::string_view body) {
  std::vector<std::string_view> records;
  std::string_view text = body;
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.remove_prefix(3);
  size_t start = 0;
  while (start < text.size() && IsSpace(text[start])) ++start;
  if (start == text.size()) return InvalidArgument("empty body: expected an event, a JSON array of events or JSONL");

  if (text[start] == '[') {
    bool empty_element = false;
    size_t elements = 0;
    const size_t end = ScanValue(text, start, [&](size_t b, size_t e, bool last) {
      std::string_view element = Trim(text.substr(b, e - b));
      if (element.empty()) {
        // "[]" is an empty array; "[1,]" and "[,1]" are malformed.
        if (!(last && elements == 0)) empty_element = true;
        return;
      }
      ++elements;
      records.push_back(element);
    });
    if (end == std::string_view::npos) {
      return InvalidArgument("body: the JSON array is not closed (truncated body?)");
    }
    if (empty_element) return InvalidArgument("body: the JSON array has an empty element");
    if (!Trim(text.substr(end)).empty()) return InvalidArgument("body: text after the JSON array");
    if (records.empty()) return InvalidArgument("body: the JSON array holds no events");
    return records;
  }

  if (text[start] == '{') {
    const size_t end = ScanValue(text, start, [](size_t, size_t, bool) {});
    if (end != std::string_view::npos && Trim(text.substr(end)).empty()) {
      records.push_back(Trim(text.substr(start)));
      return records;
    }
  }
  // JSONL: one record per line; blank lines are no records (as in import).
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) continue;
    records.push_back(line);
  }
  return records;
}

struct EventWriter::Pending {
  ingest::Batch batch;
  std::promise<StatusOr<ingest::BatchResult>> done;
};

EventWriter::EventWriter(std::unique_ptr<store::Store> store, Metrics* metrics, EventWriterOptions options)
    : store_(std::move(store)), metrics_(metrics), options_(std::move(options)) {
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

EventWriter::~EventWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool EventWriter::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

StatusOr<ingest::BatchResult> EventWriter::Commit(ingest::Batch batch) {
  Pending pending;
  pending.batch = std::move(batch);
  std::future<StatusOr<ingest::BatchResult>> result = pending.done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stop_) return Unavailable("the server is shutting down");
    queue_.push_back(&pending);
  }
  cv_.notify_one();
  return result.get();
}

void EventWriter::Run() {
  std::vector<Pending*> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      size_t events = 0;
      // Everything waiting right now joins this group (at least one batch).
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front()->batch.events.size() <= options_.max_group_events)) {
        events += queue_.front()->batch.events.size();
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    group.clear();
  }
  std::lock_guard lock(mu_);
  running_ = false;
}

void EventWriter::CommitGroup(std::vector<Pending*>& group) {
  const auto start = std::chrono::steady_clock::now();
  ingest::Batch merged;
  std::vector<size_t> offsets;  // first event of each request in merged.events
  size_t total = 0;
  size_t total_rejected = 0;
  for (Pending* p : group) {
    total += p->batch.events.size();
    total_rejected += p->batch.rejected.size();
  }
  merged.events.reserve(total);
  merged.rejected.reserve(total_rejected);
  for (Pending* p : group) {
    offsets.push_back(merged.events.size());
    for (auto& e : p->batch.events) merged.events.push_back(std::move(e));
    for (auto& r : p->batch.rejected) merged.rejected.push_back(std::move(r));
  }
  offsets.push_back(merged.events.size());
  merged.want_event_outcomes = true;

  StatusOr<ingest::BatchResult> result = store_->Write(options_.source, merged);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) {
    spdlog::error("event writer: a group of {} requests ({} events) failed: {}", group.size(), total,
                  result.status().ToString());
    for (Pending* p : group) p->done.set_value(result.status());
    return;
  }
  metrics_->RecordCommit(seconds, static_cast<int64_t>(group.size()));
  metrics_->RecordEvents(*result, static_cast<int64_t>(total_rejected));
  for (const auto& r : merged.rejected) metrics_->RecordRejected(r.reason);
  for (size_t g = 0; g < group.size(); ++g) {
    ingest::BatchResult own;
    own.event_outcomes.assign(result->event_outcomes.begin() + static_cast<std::ptrdiff_t>(offsets[g]),
                              result->event_outcomes.begin() + static_cast<std::ptrdiff_t>(offsets[g + 1]));
    for (ingest::EventOutcome o : own.event_outcomes) {
      switch (o) {
        case ingest::EventOutcome::kAccepted: ++own.accepted; break;
        case ingest::EventOutcome::kDuplicate: ++own.duplicates; break;
        case ingest::EventOutcome::kErased: ++own.erased; break;
      }
    }
    group[g]->done.set_value(std::move(own));
  }
}

}  // namespace omni::serve
