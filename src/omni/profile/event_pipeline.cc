#include "omni/profile/event_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace omni::profile {
namespace {

struct Batch {
  std::vector<int64_t> seqs;
  std::vector<ingest::Event> events;  // slots reused: their strings keep their capacity
  size_t size = 0;
};

// The fields a profile build reads (PipelineOptions::full_events = false).
void CopyProfileFields(const ingest::Event& from, ingest::Event& to) {
  to.ts_ms = from.ts_ms;
  to.tz_offset_min = from.tz_offset_min;
  to.channel = from.channel;
  to.type = from.type;
  to.identities = from.identities;
  to.item_id = from.item_id;
  to.quantity = from.quantity;
  to.price = from.price;
  to.order_id = from.order_id;
  if (from.type == "consent") {
    to.properties_json = from.properties_json;
  } else {
    to.properties_json.clear();
  }
}

}  // namespace

Status ScanEventsPipelined(store::Store& store, int64_t after_seq,
                           const std::function<void(int64_t seq, const ingest::Event&)>& fn,
                           const PipelineOptions& options) {
  const size_t batch_events = std::max<size_t>(1, options.batch_events);
  constexpr int kBatches = 3;  // one being filled, one being consumed, one spare
  std::vector<Batch> batches(kBatches);
  for (Batch& b : batches) {
    b.seqs.resize(batch_events);
    b.events.resize(batch_events);
  }
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Batch*> free_batches;
  std::deque<Batch*> full_batches;
  for (Batch& b : batches) free_batches.push_back(&b);
  bool done = false;
  Status scan_status;

  std::thread producer([&] {
    Batch* current = nullptr;
    auto take_free = [&] {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !free_batches.empty(); });
      current = free_batches.front();
      free_batches.pop_front();
      current->size = 0;
    };
    auto hand_over = [&] {
      std::lock_guard lock(mu);
      full_batches.push_back(current);
      current = nullptr;
      cv.notify_all();
    };
    Status st = store.ScanEvents(after_seq, [&](int64_t seq, const ingest::Event& e) {
      if (!current) take_free();
      current->seqs[current->size] = seq;
      if (options.full_events) {
        current->events[current->size] = e;
      } else {
        CopyProfileFields(e, current->events[current->size]);
      }
      if (++current->size == current->seqs.size()) hand_over();
      return true;
    });
    if (current && current->size > 0) hand_over();
    std::lock_guard lock(mu);
    scan_status = std::move(st);
    done = true;
    cv.notify_all();
  });

  for (;;) {
    Batch* batch = nullptr;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !full_batches.empty() || done; });
      if (full_batches.empty()) break;
      batch = full_batches.front();
      full_batches.pop_front();
    }
    for (size_t i = 0; i < batch->size; ++i) fn(batch->seqs[i], batch->events[i]);
    std::lock_guard lock(mu);
    free_batches.push_back(batch);
    cv.notify_all();
  }
  producer.join();
  return scan_status;
}

}  // namespace omni::profile
