// POST /v1/events: from an HTTP body to committed events.
//
// SplitEventBody frames a body into records — a JSON array's elements, one
// JSON object (pretty-printed or not), or JSONL lines — without parsing them:
// each record then goes through the same JSONL format (ingest/jsonl_format.h)
// as `omni import`, so validation, reject reasons, pseudonymisation and the
// quarantine are the importer's, byte for byte.
//
// EventWriter is the server's one writer. Request threads parse their own
// records and hand the batch to Commit(), which blocks until it is durable;
// the writer thread takes every batch waiting at that moment, commits them in
// ONE store transaction (group commit: under load, the per-transaction cost is
// paid once per group, not per request), then answers each request with its
// own counts from the store's per-event outcomes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/event.h"
#include "omni/serve/metrics.h"
#include "omni/store/store.h"

namespace omni::serve {

// The records of a body, in order. InvalidArgument when the body is empty or
// is a JSON array that is not closed or has an empty element ("[1,,2]");
// anything else is framed and left to the parser to reject per record.
StatusOr<std::vector<std::string_view>> SplitEventBody(std::string_view body);

struct EventWriterOptions {
  // A group stops growing at this many events (one transaction's memory).
  size_t max_group_events = 200000;
  // The quarantine's source name for records that came over HTTP.
  std::string source = "http";
};

class EventWriter {
 public:
  EventWriter(std::unique_ptr<store::Store> store, Metrics* metrics, EventWriterOptions options = {});
  // Commits what is queued, then stops the writer thread.
  ~EventWriter();

  // Commits the batch (events and rejected records) and returns what
  // happened to it: accepted / duplicates / erased, and event_outcomes (one
  // per event) for the caller's per-record answer. Blocks until the group it
  // joined is committed or failed; on failure nothing of the group is stored.
  StatusOr<ingest::BatchResult> Commit(ingest::Batch batch);

  bool running() const;

 private:
  struct Pending;
  void Run();
  void CommitGroup(std::vector<Pending*>& group);

  std::unique_ptr<store::Store> store_;
  Metrics* metrics_;
  EventWriterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;
  bool stop_ = false;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace omni::serve
